"""Load on the web view: the demo's FPS with 0 and with N viewers (loopback only).

Runs the demo on the built-in scene with ``--serve 127.0.0.1:0`` (headless,
no outputs written), alternating runs with nobody watching and runs with
``--viewers`` simulated browsers for ``--seconds``. Each simulated browser
does what the live page does, from its own loopback address (127.0.0.2,
127.0.0.3, ...: the server limits connections per client): one MJPEG stream
per camera, ``/api/live`` every second, ``/api/identities`` and
``/api/transitions`` every 2 s, and the thumbnails of the cards it has not
loaded yet. Everything stays on 127.0.0.x; the viewers stop by themselves
after ``--seconds`` (or when the run ends), so the script is bounded.

Printed per run (a markdown table): the demo's FPS over the whole run (ticks
/ wall time, as in ``summary.json``), its tick rate over the window when the
viewers were connected (from ``/api/run``'s tick counter), what the viewers
got (MJPEG frames per second per stream, MB sent, API requests) and the CPU
time the viewers' own process used (on loopback the simulated browsers share
the machine with the demo, which a real deployment's browsers do not).

Examples:

    python benchmarks/live_view_load.py                       # 0 and 20 viewers, 30 s, 3 times
    python benchmarks/live_view_load.py --viewers 4 --seconds 10 --frames 300 --repeats 1
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import threading
import time
import urllib.request

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import cli_entry
from mlfn_keras.weights import SHIPPED_REID

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = str(SHIPPED_REID)


def run_ticks(url: str) -> int:
    with urllib.request.urlopen(url + "api/run", timeout=10) as r:
        return int(json.loads(r.read())["ticks"])


def _get(port: int, path: str, address: str, timeout: float = 10.0) -> bytes:
    """GET over a socket bound to ``address`` (one simulated client per loopback address)."""
    with socket.socket() as sock:
        sock.settimeout(timeout)
        sock.bind((address, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(262144):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200"):
        raise OSError(f"{path}: {head[:40]!r}")
    return body


class Stream(threading.Thread):
    """Reads an MJPEG stream until ``stop`` (counts parts and bytes)."""

    def __init__(self, port: int, camera: int, stop: threading.Event, address: str):
        super().__init__(daemon=True)
        self.port, self.camera, self.stop, self.address = port, camera, stop, address
        self.frames = 0
        self.bytes = 0

    def run(self) -> None:
        try:
            sock = socket.socket()
            sock.settimeout(2)
            sock.bind((self.address, 0))
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(f"GET /cam/{self.camera}.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            marker = b"Content-Type: image/jpeg"
            tail = b""
            while not self.stop.is_set():
                try:
                    chunk = sock.recv(262144)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                self.bytes += len(chunk)
                data = tail + chunk
                self.frames += data.count(marker)
                tail = data[-len(marker) + 1 :]
            sock.close()
        except OSError:
            pass


class Poller(threading.Thread):
    """Polls the API until ``stop`` as the page does (see the module docstring)."""

    def __init__(self, port: int, stop: threading.Event, address: str):
        super().__init__(daemon=True)
        self.port, self.stop, self.address = port, stop, address
        self.requests = 0
        self.errors = 0
        self.first_error = ""

    def run(self) -> None:
        since, k, thumbs = 0, 0, set()
        while not self.stop.wait(0 if k == 0 else 1.0):
            try:
                live = json.loads(_get(self.port, f"/api/live?since={since}", self.address))
                since = live["events"]["next"]
                self.requests += 1
                if k % 2 == 0:
                    cards = json.loads(_get(self.port, "/api/identities", self.address))
                    _get(self.port, "/api/transitions", self.address)
                    self.requests += 2
                    for card in cards:
                        for url in card["thumbnails"].values():
                            if url not in thumbs:
                                _get(self.port, url, self.address)
                                thumbs.add(url)
                                self.requests += 1
            except OSError as exc:
                self.errors += 1
                self.first_error = self.first_error or repr(exc)[:120]
            k += 1


def watch(port: int, viewers: int, seconds: float, results) -> None:
    """The simulated browsers (in a child process): reports ``"connected"``, watches ``seconds``, reports what they got."""
    stop = threading.Event()
    addresses = [f"127.0.0.{2 + v}" for v in range(viewers)]
    streams = [Stream(port, cam, stop, addresses[v]) for v in range(viewers) for cam in range(2)]
    pollers = [Poller(port, stop, addresses[v]) for v in range(viewers)]
    for t in streams + pollers:
        t.start()
    results.put("connected")
    t0, cpu0 = time.perf_counter(), time.process_time()
    stop.wait(seconds)
    stop.set()
    for t in streams + pollers:
        t.join(5)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    results.put(dict(viewer_cpu=cpu, stream_fps=[s.frames / max(elapsed, 1e-9) for s in streams], mbytes=sum(s.bytes for s in streams) / 1e6,
                     requests=sum(p.requests for p in pollers), errors=sum(p.errors for p in pollers),
                     first_error=next((p.first_error for p in pollers if p.first_error), "")))


def run_once(args, viewers: int, max_frames: int | None = None) -> dict:
    from mlfn_keras.tracking.app.demo import DemoConfig, run_demo
    from mlfn_keras.tracking.app.scene import SceneConfig

    width, height = (int(v) for v in args.size.lower().split("x"))
    scene = SceneConfig(num_people=args.people, num_frames=args.frames, width=width, height=height, seed=args.seed)
    served = threading.Event()
    info: dict = {}

    def on_serve(url: str) -> None:
        info["url"] = url
        served.set()

    def load() -> None:
        if not served.wait(600):
            return
        url = info["url"]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        if viewers == 0 and max_frames:
            return
        while run_ticks(url) < 1:  # the run has started (model loaded)
            time.sleep(0.1)
        # The viewers run in their own process, as browsers would: their reading
        # must not take the demo's interpreter lock.
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        child = ctx.Process(target=watch, args=(port, viewers, args.seconds, results), daemon=True)
        child.start()
        got = results.get(timeout=120)  # the viewers are connected
        t0, tick0 = time.perf_counter(), run_ticks(url)
        deadline = t0 + args.seconds
        tick1, t1 = tick0, t0
        while time.perf_counter() < deadline:
            time.sleep(0.5)
            try:
                tick1, t1 = run_ticks(url), time.perf_counter()
            except OSError:  # the run ended
                break
        got = results.get(timeout=60)
        child.join(10)
        info.update(window_s=t1 - t0, window_ticks=tick1 - tick0, **got)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    summary, _ = run_demo(DemoConfig(reid=args.reid, scene=scene, progress=False, serve="127.0.0.1:0",
                                     on_serve=on_serve, output_dir=None, max_frames=max_frames))
    loader.join(args.seconds + 30)
    info["summary_fps"] = summary.ticks / summary.wall_seconds
    info["ticks"] = summary.ticks
    return info


def encode_ms(args, repeats: int = 50) -> float:
    """Median time to JPEG-encode an annotated frame of the scene."""
    import cv2
    import numpy as np

    from mlfn_keras.tracking.app.demo import scene_specs
    from mlfn_keras.tracking.app.scene import SceneConfig

    width, height = (int(v) for v in args.size.lower().split("x"))
    specs, _ = scene_specs(SceneConfig(num_people=args.people, num_frames=args.frames, width=width, height=height, seed=args.seed))
    cap = cv2.VideoCapture(specs[0].target)
    for _ in range(100):  # a frame with people in it
        ok, frame = cap.read()
    cap.release()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


@cli_entry
def main(argv=None) -> int:
    parser = parser_from_doc(__doc__)
    parser.add_argument("--viewers", type=int, default=20, help="simulated browsers (default: 20; at most 25)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long they watch (default: 30; at most 120)")
    parser.add_argument("--frames", type=int, default=6000,
                        help="built-in scene frames per camera (default: 6000, so that the run outlasts the viewers' "
                             "30 s at about 180 FPS; a run that ends first shows up as API errors)")
    parser.add_argument("--people", type=int, default=10, help="built-in scene people (default: 10)")
    parser.add_argument("--size", default="768x576", help="built-in scene WIDTHxHEIGHT (default: 768x576)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="alternate 0 / N viewers this many times (default: 3)")
    parser.add_argument("--reid", default=WEIGHTS, help="re-id model (default: the shipped weights)")
    args = parser.parse_args(argv)
    if not 0 < args.viewers <= 25 or not 0 < args.seconds <= 120:
        parser.error(f"got --viewers {args.viewers} --seconds {args.seconds}; expected 1-25 viewers for 1-120 s")
    print(f"cpus: {os.cpu_count()}; scene {args.size}, {args.frames} frames; viewers watch {args.seconds:.0f} s", flush=True)
    print(f"JPEG encoding (quality 80) of one {args.size} scene frame: {encode_ms(args):.1f} ms "
          "(on the web view's encoder thread, once per frame whatever the number of viewers)", flush=True)
    run_once(args, 0, max_frames=30)  # warm-up: model tracing and first calls, not reported
    print("\n| viewers | demo FPS over the run | ticks/s while watched | MJPEG frames/s per stream | MB sent | API requests (errors) | viewers' own CPU s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in [0, args.viewers] * args.repeats:
        r = run_once(args, n)
        cells = [str(n), f"{r['summary_fps']:.1f}", f"{r['window_ticks'] / max(r['window_s'], 1e-9):.1f}"]
        if n:
            fps = r["stream_fps"]
            cells += [f"{min(fps):.1f}-{max(fps):.1f}", f"{r['mbytes']:.0f}", f"{r['requests']} ({r['errors']})", f"{r['viewer_cpu']:.1f}"]
        else:
            cells += ["", "", "", ""]
        print("| " + " | ".join(cells) + " |", flush=True)
        if r.get("first_error"):
            print(f"<!-- first API error: {r['first_error']} -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
