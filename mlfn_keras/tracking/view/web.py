"""The web view: ``--serve [HOST:]PORT`` for edge boxes without a screen.

A page (inline HTML/JS, nothing from the internet) shows one live MJPEG tile
per camera and polls the roster (``/roster.json``: which global ids are in
which camera now, the last hand-off) and the latest events
(``/events.json``). Served by the standard library's
:class:`http.server.ThreadingHTTPServer` (one thread per client; no
dependency to install or keep up to date).

It never slows the pipeline: :meth:`WebView.update` only keeps a reference to
the tick; one encoder thread turns the latest frames into JPEG, and only while
someone is watching; each client's thread sends the newest JPEG it has not
sent yet, so a slow client skips frames (nothing queues) and a client that
disconnects or sends garbage only ends its own thread.

Endpoints: ``/`` the page; ``/cam/<i>.mjpg`` camera ``i`` as MJPEG;
``/cam/<i>.jpg`` its latest frame; ``/roster.json``; ``/events.json``.
"""

from __future__ import annotations

import errno
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlfn_keras.tracking.view import TickState

DEFAULT_HOST = "127.0.0.1"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
BOUNDARY = "mlfnframe"


class ServeError(ValueError):
    """A ``--serve`` value that cannot be used."""


def parse_serve(value: str) -> tuple[str, int]:
    """``"PORT"``, ``"HOST:PORT"`` or ``"[IPv6]:PORT"`` -> ``(host, port)``.

    Raises:
        ServeError: for anything else.
    """
    text = str(value).strip()
    host, port_text = DEFAULT_HOST, text
    if text.startswith("["):
        host, _, port_text = text[1:].partition("]:")
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not host or not 0 <= port <= 65535:
        raise ServeError(f"--serve got {value!r}; expected [HOST:]PORT, e.g. 8080, 127.0.0.1:8080 or 0.0.0.0:8080 (0: any free port).")
    return host, port


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    max_clients = 64

    def __init__(self, address, handler, view: WebView):
        self.view = view
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._clients = threading.BoundedSemaphore(self.max_clients)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._clients.acquire(blocking=False):  # too many clients: refuse, keep the others
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._clients.release()

    def handle_error(self, request, client_address):
        pass  # a client that goes away mid-response is not the server's error


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 15  # a client that neither sends nor reads for this long is dropped
    protocol_version = "HTTP/1.0"
    server_version = "mlfn-keras-live"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # per-request lines would bury the demo's own output

    def do_GET(self) -> None:
        view = self.server.view
        path = self.path.split("?", 1)[0]
        try:
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", PAGE.encode())
            elif path == "/roster.json":
                self._send_json(view.roster())
            elif path == "/events.json":
                self._send_json(view.events())
            elif path.startswith("/cam/") and path.endswith((".mjpg", ".jpg")):
                name, _, ext = path[len("/cam/") :].rpartition(".")
                if not name.isdigit() or int(name) >= view.num_cameras:
                    self._send(404, "text/plain", f"no camera {name!r}; there are {view.num_cameras}\n".encode())
                elif ext == "mjpg":
                    self._stream(int(name))
                else:
                    self._snapshot(int(name))
            else:
                self._send(404, "text/plain", b"not found; try /\n")
        except (BrokenPipeError, ConnectionError, TimeoutError):
            self.close_connection = True

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, obj: Any) -> None:
        self._send(200, "application/json", json.dumps(obj).encode())

    def _snapshot(self, camera: int) -> None:
        view = self.server.view
        with view.watching():
            jpeg, _ = view.wait_jpeg(camera, -1, timeout=5.0)
        if jpeg is None:
            self._send(503, "text/plain", b"no frame yet\n")
        else:
            self._send(200, "image/jpeg", jpeg)

    def _stream(self, camera: int) -> None:
        view = self.server.view
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        seq = -1
        with view.watching():
            while not view.stopping:
                jpeg, new_seq = view.wait_jpeg(camera, seq, timeout=0.5)
                if jpeg is None:
                    continue
                seq = new_seq
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                self.wfile.write(head + jpeg + b"\r\n")
                self.wfile.flush()


class WebView:
    """Serves the live page on ``host:port`` from construction until :meth:`close`.

    Args:
        host: interface to bind (``127.0.0.1``: this machine only).
        port: TCP port (0: any free one; see :attr:`port`).
        camera_names: one name per camera (their count sets the tiles).
        log: where messages go.
        jpeg_quality: JPEG quality of the tiles (lower: less bandwidth).
        max_width: tiles wider than this are scaled down before encoding.

    Raises:
        OSError: if the address cannot be bound (see :func:`start_web_view`).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 8080,
        camera_names: list[str] | None = None,
        log: Callable[[str], None] | None = None,
        jpeg_quality: int = 80,
        max_width: int = 960,
    ):
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.camera_names = list(camera_names or [])
        self.jpeg_quality = int(jpeg_quality)
        self.max_width = int(max_width)
        self.stopping = False
        self.frames_encoded = 0
        self._cond = threading.Condition()
        self._watchers = 0
        self._state: TickState | None = None
        self._state_seq = 0
        self._jpegs: dict[int, tuple[bytes, int]] = {}
        self._server = _Server((host, port), _Handler, self)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="web-server", daemon=True),
            threading.Thread(target=self._encode_loop, name="web-encoder", daemon=True),
        ]
        for t in self._threads:
            t.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def num_cameras(self) -> int:
        return len(self.camera_names)

    @property
    def watchers(self) -> int:
        return self._watchers

    @property
    def wants_images(self) -> bool:
        return self._watchers > 0

    # -- the pipeline side ----------------------------------------------------

    def update(self, state: TickState) -> bool:
        """Keeps a reference to the tick (no copy, no encoding here)."""
        with self._cond:
            if not self.camera_names:
                self.camera_names = list(state.camera_names)
            self._state = state
            self._state_seq += 1
            self._cond.notify_all()
        return True

    def close(self) -> None:
        """Stops serving; streaming clients see their stream end."""
        if self.stopping:
            return
        self.stopping = True
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(2.0)

    # -- the clients' side ----------------------------------------------------

    def roster(self) -> dict[str, Any]:
        state = self._state
        if state is None:
            return {"tick": 0, "cameras": [{"name": n, "fps": 0.0, "ids": [], "colours": [], "unassigned_tracks": []} for n in self.camera_names], "last_handoff": None}
        return state.roster()

    def events(self) -> list[dict[str, Any]]:
        state = self._state
        return [] if state is None else [state.describe(e) for e in state.events]

    def watching(self) -> _Watch:
        """Context manager: a client watching the tiles (JPEG encoding runs only then)."""
        return _Watch(self)

    def wait_jpeg(self, camera: int, after_seq: int, timeout: float) -> tuple[bytes | None, int]:
        """The newest JPEG of ``camera`` newer than ``after_seq`` (waits up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.stopping:
                item = self._jpegs.get(camera)
                if item is not None and item[1] > after_seq:
                    return item
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        return None, after_seq

    def _encode_loop(self) -> None:
        import cv2

        done_seq = 0
        while True:
            with self._cond:
                while not self.stopping and (self._watchers == 0 or self._state_seq == done_seq):
                    self._cond.wait(0.5)
                if self.stopping:
                    return
                state, done_seq = self._state, self._state_seq
            encoded = {}
            for cam, image in enumerate(state.images if state is not None else []):
                if image is None:
                    continue
                previous = getattr(self, "_last_images", {}).get(cam)
                if previous is image:  # this camera gave no new frame this tick
                    continue
                if image.shape[1] > self.max_width:
                    h = round(image.shape[0] * self.max_width / image.shape[1])
                    image = cv2.resize(image, (self.max_width, h), interpolation=cv2.INTER_AREA)
                ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                if ok:
                    encoded[cam] = buf.tobytes()
            self._last_images = {cam: im for cam, im in enumerate(state.images)} if state is not None else {}
            with self._cond:
                for cam, jpeg in encoded.items():
                    self._jpegs[cam] = (jpeg, done_seq)
                self.frames_encoded += len(encoded)
                self._cond.notify_all()


class _Watch:
    def __init__(self, view: WebView):
        self.view = view

    def __enter__(self) -> None:
        with self.view._cond:
            self.view._watchers += 1
            self.view._cond.notify_all()

    def __exit__(self, *exc: object) -> None:
        with self.view._cond:
            self.view._watchers -= 1


def bind_error_message(host: str, port: int, exc: OSError) -> str:
    """What to tell a person whose ``--serve`` address cannot be bound."""
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use (another demo or server?); pick another, e.g. --serve {port + 1}, or --serve 0 for any free port"
    if exc.errno == errno.EACCES:
        why = "ports below 1024 need root or CAP_NET_BIND_SERVICE" if port < 1024 else "permission denied"
        return f"cannot bind {host}:{port}: {why}; use a port >= 1024, e.g. --serve 8080"
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"{host!r} is not an address of this machine; use 127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces)"
    return f"cannot serve on {host}:{port}: {exc}"


def start_web_view(serve: str, camera_names: list[str] | None = None, log: Callable[[str], None] | None = None) -> WebView | None:
    """Starts the web view for a ``--serve`` value and prints its URL.

    If the address cannot be bound (port in use, a port below 1024 without the
    rights, an address not on this machine) it says why and returns ``None``:
    the demo then runs on without the web view, outputs complete.

    Raises:
        ServeError: for a malformed ``serve`` value.
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    host, port = parse_serve(serve)
    try:
        view = WebView(host, port, camera_names, log)
    except OSError as exc:
        log(f"No web view: {bind_error_message(host, port, exc)}. The demo runs on without it.")
        return None
    if host not in LOOPBACK:
        log(
            f"WARNING: the live view is served on {host}:{view.port}, reachable from other machines; it has no "
            "password or encryption: anyone who can reach this port can watch the cameras."
        )
    log(f"Live view: {view.url}  (open it in a browser)")
    return view


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mlfn-keras live</title>
<style>
body{margin:0;background:#181c20;color:#e8e8e8;font:14px/1.4 system-ui,sans-serif}
header{padding:8px 14px;background:#101316;display:flex;gap:16px;align-items:baseline}
header h1{font-size:17px;margin:0}#status{color:#9a9}
main{display:flex;gap:12px;padding:12px;flex-wrap:wrap;align-items:flex-start}
#tiles{flex:3 1 600px;display:grid;align-content:start;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px}
.tile{background:#000;position:relative}.tile img{width:100%;display:block;min-height:120px}
.tile span{position:absolute;left:6px;bottom:4px;background:#0008;padding:0 6px}
aside{flex:1 1 260px;background:#101316;padding:10px 14px;border-radius:4px}
h2{font-size:15px;margin:8px 0 6px}.cam{margin:6px 0}
.chip{display:inline-block;color:#000;border-radius:3px;padding:0 6px;margin:2px;font-weight:600}
.dim{color:#888}#events{list-style:none;padding:0;margin:0;font-size:13px}#events li{padding:1px 0}
</style></head><body>
<header><h1>mlfn-keras live</h1><span id="status">connecting&hellip;</span></header>
<main><section id="tiles"></section>
<aside><h2>Global ids now</h2><div id="roster"></div>
<h2>Last hand-off</h2><div id="handoff" class="dim">none yet</div>
<h2>Latest events</h2><ul id="events"></ul></aside></main>
<script>
"use strict";
const $ = id => document.getElementById(id);
let built = false;
function text(s){return document.createTextNode(s);}
function chip(id, colour){const c=document.createElement("span");c.className="chip";c.style.background=colour;c.textContent=id;return c;}
function describe(e){
  const cam = e.camera_name ?? e.camera, id = e.global_id;
  if (e.event === "handoff") return `ID ${id}: ${e.from_camera_name ?? e.from_camera} \\u2192 ${cam} (frame ${e.frame})`;
  if (e.event === "reentry") return `ID ${id} back in ${cam} (frame ${e.frame})`;
  if (e.event === "global_id_assigned") return `ID ${id} ${e.new ? "new" : "found"} in ${cam} (frame ${e.frame})`;
  if (e.event === "camera_message") return e.message;
  return `${e.event} ${cam ?? ""}`;
}
function build(cams){
  const tiles = $("tiles");
  cams.forEach((c, i) => {
    const d = document.createElement("div"); d.className = "tile";
    const img = document.createElement("img"); img.alt = c.name; img.src = `/cam/${i}.mjpg`;
    const label = document.createElement("span"); label.textContent = c.name;
    d.append(img, label); tiles.append(d);
  });
  built = true;
}
async function poll(){
  try {
    const r = await (await fetch("/roster.json", {cache: "no-store"})).json();
    if (!built && r.cameras.length) build(r.cameras);
    const roster = $("roster"); roster.replaceChildren();
    r.cameras.forEach(c => {
      const d = document.createElement("div"); d.className = "cam";
      d.append(text(`${c.name} \\u00b7 ${c.fps.toFixed(1)} FPS: `));
      if (!c.ids.length) { const s = document.createElement("span"); s.className = "dim"; s.textContent = "nobody"; d.append(s); }
      c.ids.forEach((id, k) => d.append(chip(id, c.colours[k])));
      roster.append(d);
    });
    $("handoff").textContent = r.last_handoff ? describe(r.last_handoff) : "none yet";
    const ev = await (await fetch("/events.json", {cache: "no-store"})).json();
    const ul = $("events"); ul.replaceChildren();
    ev.filter(e => e.event !== "track_start" && e.event !== "track_end").slice(-15).reverse().forEach(e => {
      const li = document.createElement("li"); li.textContent = describe(e); ul.append(li);
    });
    $("status").textContent = `tick ${r.tick}`;
  } catch (err) { $("status").textContent = "disconnected (demo ended?)"; }
}
window.addEventListener("load", () => { poll(); setInterval(poll, 500); });
</script></body></html>
"""
