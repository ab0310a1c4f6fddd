"""Load on the web view: the demo's FPS with 0 and with N viewers (loopback only).

Runs the demo twice on the built-in scene with ``--serve 127.0.0.1:0``
(headless, no outputs written): once with nobody watching, once with
``--viewers`` simulated browsers for ``--seconds``. Each simulated browser
does what the page does: one MJPEG stream per camera and a poll of
``/roster.json`` and ``/events.json`` every 0.5 s. Everything stays on
127.0.0.1; the viewers stop by themselves after ``--seconds`` (or when the
run ends), so the script is bounded.

Printed per run: the demo's FPS over the whole run (ticks / wall time, as in
``summary.json``), its tick rate over the window when the viewers were
connected (from ``/roster.json``'s tick counter), and what the viewers got
(frames per second per stream, MB sent).

Examples:

    python benchmarks/live_view_load.py                       # 0 and 10 viewers, 30 s
    python benchmarks/live_view_load.py --viewers 4 --seconds 10 --frames 300
"""

from __future__ import annotations

import json
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


def roster_tick(url: str) -> int:
    with urllib.request.urlopen(url + "roster.json", timeout=10) as r:
        return int(json.loads(r.read())["tick"])


class Stream(threading.Thread):
    """Reads an MJPEG stream until ``stop`` (counts parts and bytes)."""

    def __init__(self, port: int, camera: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.camera, self.stop = port, camera, stop
        self.frames = 0
        self.bytes = 0

    def run(self) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
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
    """Polls the roster and events every 0.5 s until ``stop``, like the page."""

    def __init__(self, url: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.polls = 0

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                for path in ("roster.json", "events.json"):
                    with urllib.request.urlopen(self.url + path, timeout=5) as r:
                        r.read()
                self.polls += 1
            except OSError:
                return


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
        while roster_tick(url) < 1:  # the run has started (model loaded)
            time.sleep(0.1)
        stop = threading.Event()
        streams = [Stream(port, cam, stop) for _ in range(viewers) for cam in range(2)]
        pollers = [Poller(url, stop) for _ in range(viewers)]
        t0, tick0 = time.perf_counter(), roster_tick(url)
        for t in streams + pollers:
            t.start()
        deadline = t0 + args.seconds
        tick1, t1 = tick0, t0
        while time.perf_counter() < deadline:
            time.sleep(0.5)
            try:
                tick1, t1 = roster_tick(url), time.perf_counter()
            except OSError:  # the run ended
                break
        stop.set()
        for t in streams + pollers:
            t.join(5)
        info.update(window_s=t1 - t0, window_ticks=tick1 - tick0,
                    stream_fps=[s.frames / max(t1 - t0, 1e-9) for s in streams],
                    mbytes=sum(s.bytes for s in streams) / 1e6, polls=sum(p.polls for p in pollers))

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
    parser.add_argument("--viewers", type=int, default=10, help="simulated browsers (default: 10; at most 25)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long they watch (default: 30; at most 120)")
    parser.add_argument("--frames", type=int, default=600, help="built-in scene frames per camera (default: 600)")
    parser.add_argument("--people", type=int, default=10, help="built-in scene people (default: 10)")
    parser.add_argument("--size", default="768x576", help="built-in scene WIDTHxHEIGHT (default: 768x576)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="alternate 0 / N viewers this many times (default: 1)")
    parser.add_argument("--reid", default=WEIGHTS, help="re-id model (default: the shipped weights)")
    args = parser.parse_args(argv)
    if not 0 < args.viewers <= 25 or not 0 < args.seconds <= 120:
        parser.error(f"got --viewers {args.viewers} --seconds {args.seconds}; expected 1-25 viewers for 1-120 s")
    print(f"cpus: {os.cpu_count()}; scene {args.size}, {args.frames} frames; viewers watch {args.seconds:.0f} s", flush=True)
    print(f"JPEG encoding (quality 80) of one {args.size} scene frame: {encode_ms(args):.1f} ms "
          "(on the web view's encoder thread, once per frame whatever the number of viewers)", flush=True)
    run_once(args, 0, max_frames=30)  # warm-up: model tracing and first calls, not reported
    for n in [0, args.viewers] * args.repeats:
        r = run_once(args, n)
        line = (f"{n:2d} viewers: demo {r['summary_fps']:.1f} FPS over the run ({r['ticks']} ticks); "
                f"{r['window_ticks'] / max(r['window_s'], 1e-9):.1f} ticks/s over the {r['window_s']:.1f} s window")
        if n:
            fps = r["stream_fps"]
            line += (f"; each of {len(fps)} MJPEG streams got {min(fps):.1f}-{max(fps):.1f} frames/s, "
                     f"{r['mbytes']:.0f} MB sent, {r['polls']} roster+events polls")
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
