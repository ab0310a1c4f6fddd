"""The web view: ``--serve [HOST:]PORT``, the live identity page for boxes without a screen.

The page (``assets/``: inline HTML/CSS/JS, nothing from the internet) shows
one live MJPEG tile per camera with its health, an identity gallery, each
person's timeline, the camera transitions and the events in plain words. Its
data come from an :class:`~mlfn_keras.tracking.view.feed.IdentityFeed`
through a read-only JSON API under ``/api/`` (see ``docs/live-view.md``):

* ``/api/run``, ``/api/identities``, ``/api/identities/{id}``,
  ``/api/identities/{id}/{camera}.jpg``, ``/api/appearances/{n}.jpg``,
  ``/api/cameras``, ``/api/events?since=N``, ``/api/transitions``;
* ``/cam/{i}.mjpg`` (live tile) and ``/cam/{i}.jpg`` (its latest frame).

**Server.** The standard library's :class:`http.server.ThreadingHTTPServer`
(one thread per connection; nothing to install or keep up to date on an edge
box), bounded so that slow or hostile clients cannot lock the page out
(:class:`ServeLimits`): at most ``per_client`` connections per client address
and ``max_connections`` in all; the request line and headers must arrive
whole within ``header_seconds`` and within ``max_header_bytes``; a silent or
non-reading client is dropped after ``idle_seconds``. When a limit is reached
the oldest connection that is still sending its headers is dropped to make
room (a trickling client never completes them; a browser sends them at
once), else the new connection gets ``503``. Only ``GET`` is served; other
methods get ``405``, unknown or malformed paths ``404``/``400``, oversize
requests ``414``/``431``.

**Access.** ``--serve-token TOKEN``: every request needs the token (the
``token`` query parameter, which the page turns into a cookie, an
``Authorization: Bearer`` header, or that cookie); binding beyond loopback
without one prints a warning.

It never slows the pipeline: :meth:`WebView.update` only keeps a reference to
the tick; one encoder thread turns the latest frames into JPEG, and only while
someone is watching; each client's thread sends the newest JPEG it has not
sent yet, so a slow client skips frames (nothing queues).
"""

from __future__ import annotations

import errno
import hmac
import io
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlfn_keras.tracking.view import TickState
from mlfn_keras.tracking.view.feed import IdentityFeed

DEFAULT_HOST = "127.0.0.1"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
BOUNDARY = "mlfnframe"
TOKEN_COOKIE = "mlfn_live_token"
ASSETS = Path(__file__).resolve().parent / "assets"


class ServeError(ValueError):
    """A ``--serve`` value that cannot be used."""


@dataclass(frozen=True)
class ServeLimits:
    """How much the web view gives any client.

    Attributes:
        max_connections: open connections in all (each is a thread).
        per_client: open connections per client address (a page holds one
            per camera tile plus short polls).
        header_seconds: the whole request line and headers must arrive within this.
        idle_seconds: a client that neither sends nor reads for this long is dropped.
        max_request_line: longest request line (bytes; longer: ``414``).
        max_header_bytes: request line and headers together (bytes; more: ``431``).
    """

    max_connections: int = 128
    per_client: int = 32
    header_seconds: float = 10.0
    idle_seconds: float = 15.0
    max_request_line: int = 8192
    max_header_bytes: int = 16384


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


_TOKEN = re.compile(r"[A-Za-z0-9._~-]{8,128}")


def check_token(token: str) -> str:
    """A ``--serve-token`` value: 8-128 letters, digits or ``- _ . ~`` (it travels in URLs and cookies).

    Raises:
        ValueError: naming what was received and what is expected.
    """
    if not _TOKEN.fullmatch(str(token)):
        shown = f"{len(str(token))} characters" if token else "an empty value"
        raise ValueError(f"--serve-token got {shown}{' with other symbols' if token and len(str(token)) >= 8 else ''}; "
                         "expected 8-128 letters, digits or - _ . ~ (e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(16))')")
    return str(token)


# ---------------------------------------------------------------- connections
class _TooLarge(Exception):
    """The request line and headers went over ``max_header_bytes``."""


class _Conn:
    """One open connection: who, since when, still sending its headers or served."""

    def __init__(self, sock: socket.socket, ip: str, limits: ServeLimits):
        self.sock = sock
        self.ip = ip
        self.opened = time.monotonic()
        self.deadline: float | None = self.opened + limits.header_seconds
        self.header_bytes = 0
        self.evicted = False


class _DeadlineReader(io.RawIOBase):
    """The socket's read side, held to the connection's header deadline and size."""

    def __init__(self, conn: _Conn, limits: ServeLimits):
        self.conn, self.limits = conn, limits

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        conn = self.conn
        if conn.deadline is None:
            conn.sock.settimeout(self.limits.idle_seconds)
            return conn.sock.recv_into(buffer)
        left = conn.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request line and headers did not arrive in time")
        room = self.limits.max_header_bytes - conn.header_bytes
        if room <= 0:
            raise _TooLarge
        conn.sock.settimeout(min(left, self.limits.idle_seconds))
        view = memoryview(buffer)[: min(len(buffer), room)]
        n = conn.sock.recv_into(view)
        conn.header_bytes += n
        return n


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, view: WebView, limits: ServeLimits):
        self.view = view
        self.limits = limits
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._lock = threading.Lock()
        self._conns: dict[int, _Conn] = {}
        self.refused = 0
        self.evicted = 0
        super().__init__(address, handler)

    # -- admission (runs on the accepting thread, so it must never block) --
    def process_request(self, request, client_address):
        ip = str(client_address[0])
        with self._lock:
            mine = [c for c in self._conns.values() if c.ip == ip]
            if len(mine) >= self.limits.per_client:
                room = self._make_room(mine)
            elif len(self._conns) >= self.limits.max_connections:
                room = self._make_room(list(self._conns.values()))
            else:
                room = True
            if room:
                self._conns[id(request)] = _Conn(request, ip, self.limits)
        if not room:
            self.refused += 1
            self._refuse(request)
            return
        super().process_request(request, client_address)

    def _make_room(self, candidates: list[_Conn]) -> bool:
        pending = [c for c in candidates if c.deadline is not None]
        if not pending:
            return False
        victim = min(pending, key=lambda c: c.opened)
        self._conns.pop(id(victim.sock), None)
        victim.evicted = True
        self.evicted += 1
        try:
            victim.sock.shutdown(socket.SHUT_RDWR)  # its thread's read returns at once
        except OSError:
            pass
        return True

    def _refuse(self, request) -> None:
        body = b"too many connections; try again in a few seconds\n"
        try:
            request.setblocking(False)
            request.send(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 5\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        self.shutdown_request(request)

    def conn_of(self, request) -> _Conn:
        with self._lock:
            conn = self._conns.get(id(request))
        return conn if conn is not None else _Conn(request, "?", self.limits)

    def served(self, conn: _Conn) -> None:
        """The connection's request has arrived whole: it leaves the header phase."""
        with self._lock:
            conn.deadline = None

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                conn = self._conns.get(id(request))
                if conn is not None and conn.sock is request:
                    del self._conns[id(request)]

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def handle_error(self, request, client_address):
        pass  # a client that goes away mid-response is not the server's error


# -------------------------------------------------------------------- routes
_IDENTITY = re.compile(r"/api/identities/(\d{1,9})")
_THUMB = re.compile(r"/api/identities/(\d{1,9})/([A-Za-z0-9_-]{1,64})\.jpg")
_APPEARANCE = re.compile(r"/api/appearances/(\d{1,9})\.jpg")
_TILE = re.compile(r"/cam/(\d{1,4})\.(mjpg|jpg)")
API_INDEX = {
    "run": "/api/run",
    "identities": "/api/identities",
    "identity": "/api/identities/{id}",
    "thumbnail": "/api/identities/{id}/{camera}.jpg",
    "appearance_thumbnail": "/api/appearances/{n}.jpg",
    "cameras": "/api/cameras",
    "events": "/api/events?since={n}",
    "transitions": "/api/transitions",
    "live": "/api/live?since={n}",
}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    server_version = "mlfn-keras-live"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # per-request lines would bury the demo's own output

    def setup(self) -> None:
        super().setup()
        self.conn = self.server.conn_of(self.request)
        self.rfile = io.BufferedReader(_DeadlineReader(self.conn, self.server.limits), 4096)

    def handle_one_request(self) -> None:
        limits = self.server.limits
        self.command, self.request_version, self.requestline = None, self.default_request_version, ""
        self.close_connection = True
        try:
            try:
                self.raw_requestline = self.rfile.readline(limits.max_request_line + 1)
                if len(self.raw_requestline) > limits.max_request_line:
                    self.send_error(414, "Request line too long")
                    return
                if not self.raw_requestline or not self.parse_request():
                    return
            except _TooLarge:
                self.send_error(431, "Request headers too large")
                return
            except (TimeoutError, socket.timeout):
                return  # too slow: dropped without a word (it would not read one)
            self.server.served(self.conn)
            self.conn.sock.settimeout(limits.idle_seconds)  # writes to a non-reading client give up after this
            if self.command != "GET":
                self.send_response(405)
                self.send_header("Allow", "GET")
                self._finish_headers("text/plain", 27)
                self.wfile.write(b"read-only: only GET works\n")
                return
            self.do_GET()
            self.wfile.flush()
        except (OSError, ValueError):
            pass  # the client went away, or was dropped to make room

    # -- access --
    def _token_ok(self, query: dict[str, list[str]]) -> str | None:
        """``None`` when allowed, else why not; sets ``self._set_cookie`` for a valid query token."""
        token = self.server.view.token
        self._set_cookie = False
        if not token:
            return None
        given = query.get("token", [None])[0]
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            self._set_cookie = True
            return None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), token.encode()):
            return None
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == TOKEN_COOKIE and hmac.compare_digest(value.encode(), token.encode()):
                return None
        return "wrong token" if given is not None or auth else "this live view needs its token"

    def do_GET(self) -> None:
        view = self.server.view
        if len(self.path) > 2048:
            return self._text(414, "path too long\n")
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        if ".." in path or "\\" in path or "\x00" in path or "//" in path:
            return self._text(400, "bad path\n")
        try:
            query = urllib.parse.parse_qs(split.query, max_num_fields=8, strict_parsing=False)
        except ValueError:
            return self._text(400, "bad query\n")
        refusal = self._token_ok(query)
        if refusal is not None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="mlfn-keras live"')
            body = f"{refusal}: open /?token=TOKEN (the --serve-token value)\n".encode()
            self._finish_headers("text/plain", len(body))
            self.wfile.write(body)
            return
        if self._set_cookie and path in ("/", "/index.html"):
            self.send_response(303)  # keep the token out of the address bar and history
            self.send_header("Location", "/")
            self.send_header("Set-Cookie", f"{TOKEN_COOKIE}={view.token}; HttpOnly; SameSite=Strict; Path=/")
            self._finish_headers("text/plain", 0)
            return
        feed = view.feed
        if path in ("/", "/index.html"):
            return self._send(200, "text/html; charset=utf-8", view.page())
        if path == "/favicon.ico":
            return self._send(204, "image/x-icon", b"")
        if m := _TILE.fullmatch(path):
            cam, ext = int(m.group(1)), m.group(2)
            if cam >= view.num_cameras:
                return self._text(404, f"no camera {cam}; there are {view.num_cameras}\n")
            return self._stream(cam) if ext == "mjpg" else self._snapshot(cam)
        if not path.startswith("/api"):
            return self._text(404, "not found; try / or /api/\n")
        if feed is None:
            return self._text(503, "no data yet\n")
        if path in ("/api", "/api/"):
            return self._json(API_INDEX)
        if path == "/api/run":
            return self._json(feed.run())
        if path == "/api/live":  # what the page polls every second, in one request
            since = query.get("since", ["0"])[0]
            if not since.isdigit() or len(since) > 12:
                return self._text(400, f"since={since!r}: expected a whole number >= 0\n")
            return self._json({"run": feed.run(), "cameras": feed.cameras(), "events": feed.events(int(since))})
        if path == "/api/identities":
            return self._json(feed.identities())
        if path == "/api/cameras":
            return self._json(feed.cameras())
        if path == "/api/transitions":
            return self._json(feed.transitions())
        if path == "/api/events":
            since = query.get("since", ["0"])[0]
            if not since.isdigit() or len(since) > 12:
                return self._text(400, f"since={since!r}: expected a whole number >= 0\n")
            return self._json(feed.events(int(since)))
        if m := _IDENTITY.fullmatch(path):
            card = feed.identity(int(m.group(1)))
            return self._json(card) if card is not None else self._text(404, f"no identity {m.group(1)}\n")
        if m := _THUMB.fullmatch(path):
            return self._jpeg(feed.thumbnail(int(m.group(1)), m.group(2)), feed)
        if m := _APPEARANCE.fullmatch(path):
            return self._jpeg(feed.appearance_thumbnail(int(m.group(1))), feed)
        return self._text(404, "not found; see /api/\n")

    # -- responses --
    def _finish_headers(self, ctype: str, length: int) -> None:
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self._finish_headers(ctype, len(body))
        self.wfile.write(body)

    def _text(self, code: int, text: str) -> None:
        self._send(code, "text/plain; charset=utf-8", text.encode())

    def _json(self, obj: Any) -> None:
        self._send(200, "application/json", json.dumps(obj, separators=(",", ":")).encode())

    def _jpeg(self, jpeg: bytes | None, feed: IdentityFeed) -> None:
        if jpeg is None:
            why = "thumbnails are off (--no-thumbnails)" if not feed.thumbnails else "no such thumbnail"
            return self._text(404, why + "\n")
        self._send(200, "image/jpeg", jpeg)

    def _snapshot(self, camera: int) -> None:
        view = self.server.view
        with view.watching():
            jpeg, _ = view.wait_jpeg(camera, -1, timeout=5.0)
        if jpeg is None:
            self._text(503, "no frame yet\n")
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
            while not view.stopping and not self.conn.evicted:
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
        tile_fps: most frames per second sent per tile (the encoder takes the
            newest frame at most this often; a monitor needs no more, and every
            viewer's streams cost the box CPU).
        feed: the identities to show (default: the one the ticks carry).
        token: required from every client (``None``: open to whoever reaches the port).
        limits: connection limits (:class:`ServeLimits`).

    Attributes:
        outlives_run: the runner leaves it open at the end of a run (the demo
            closes it after the person has looked at the final identities).

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
        tile_fps: float = 12.0,
        feed: IdentityFeed | None = None,
        token: str | None = None,
        limits: ServeLimits | None = None,
    ):
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.camera_names = list(camera_names or [])
        self.jpeg_quality = int(jpeg_quality)
        self.max_width = int(max_width)
        self.tile_fps = float(tile_fps)
        self.feed = feed
        self.token = check_token(token) if token else None
        self.limits = limits or ServeLimits()
        self.outlives_run = False
        self.stopping = False
        self.frames_encoded = 0
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # new ticks and watchers: wakes the encoder
        self._frames = threading.Condition(lock)  # new JPEGs: wakes the streaming clients (not every tick)
        self._watchers = 0
        self._state: TickState | None = None
        self._state_seq = 0
        self._jpegs: dict[int, tuple[bytes, int]] = {}
        self._last_images: dict[int, Any] = {}
        self._page: bytes | None = None
        self._server = _Server((host, port), _Handler, self, self.limits)
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

    @property
    def open_connections(self) -> int:
        """Connections open now (for tests and benchmarks)."""
        return self._server.open_connections

    def page(self) -> bytes:
        """The live page (built once from ``assets/``)."""
        if self._page is None:
            from mlfn_keras.tracking.view.report import render_page

            self._page = render_page(None, title="mlfn-keras live").encode()
        return self._page

    # -- the pipeline side ----------------------------------------------------

    def update(self, state: TickState) -> bool:
        """Keeps a reference to the tick (no copy, no encoding here)."""
        with self._cond:
            if not self.camera_names:
                self.camera_names = list(state.camera_names)
            if self.feed is None and state.feed is not None:
                self.feed = state.feed
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
            self._frames.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(2.0)

    # -- the clients' side ----------------------------------------------------

    def watching(self) -> _Watch:
        """Context manager: a client watching the tiles (JPEG encoding runs only then)."""
        return _Watch(self)

    def wait_jpeg(self, camera: int, after_seq: int, timeout: float) -> tuple[bytes | None, int]:
        """The newest JPEG of ``camera`` newer than ``after_seq`` (waits up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._frames:
            while not self.stopping:
                item = self._jpegs.get(camera)
                if item is not None and item[1] > after_seq:
                    return item
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._frames.wait(left)
        return None, after_seq

    def _encode_loop(self) -> None:
        import cv2

        done_seq = 0
        next_at = 0.0
        while True:
            with self._cond:
                while not self.stopping and (self._watchers == 0 or self._state_seq == done_seq):
                    self._cond.wait(0.5)
                while not self.stopping and time.monotonic() < next_at:  # at most tile_fps encodes a second
                    self._cond.wait(next_at - time.monotonic())
                if self.stopping:
                    return
                state, done_seq = self._state, self._state_seq
            next_at = time.monotonic() + 1.0 / self.tile_fps if self.tile_fps > 0 else 0.0
            encoded = {}
            for cam, image in enumerate(state.images if state is not None else []):
                if image is None or self._last_images.get(cam) is image:  # no new frame this tick
                    continue
                if image.shape[1] > self.max_width:
                    h = round(image.shape[0] * self.max_width / image.shape[1])
                    image = cv2.resize(image, (self.max_width, h), interpolation=cv2.INTER_AREA)
                ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                if ok:
                    encoded[cam] = buf.tobytes()
            self._last_images = dict(enumerate(state.images)) if state is not None else {}
            with self._cond:
                for cam, jpeg in encoded.items():
                    self._jpegs[cam] = (jpeg, done_seq)
                self.frames_encoded += len(encoded)
                self._frames.notify_all()


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


def start_web_view(
    serve: str,
    camera_names: list[str] | None = None,
    log: Callable[[str], None] | None = None,
    feed: IdentityFeed | None = None,
    token: str | None = None,
    limits: ServeLimits | None = None,
) -> WebView | None:
    """Starts the web view for a ``--serve`` value and prints its URL.

    If the address cannot be bound (port in use, a port below 1024 without the
    rights, an address not on this machine) it says why and returns ``None``:
    the demo then runs on without the web view, outputs complete.

    Args:
        serve: ``[HOST:]PORT``.
        camera_names: one name per camera.
        log: where messages go.
        feed: the identities to show (default: the run's, from its ticks).
        token: ``--serve-token``: required from every client.
        limits: connection limits.

    Raises:
        ServeError: for a malformed ``serve`` value.
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    host, port = parse_serve(serve)
    try:
        view = WebView(host, port, camera_names, log, feed=feed, token=token, limits=limits)
    except OSError as exc:
        log(f"No web view: {bind_error_message(host, port, exc)}. The demo runs on without it.")
        return None
    if host not in LOOPBACK and not token:
        log(
            f"WARNING: the live view is served on {host}:{view.port}, reachable from other machines, without a "
            "token: anyone who can reach this port can watch the cameras and the people in them; "
            "add --serve-token TOKEN (it has no encryption either: use it on a trusted network)."
        )
    if token:
        log(f"Live view: {view.url}?token=...  (open it with the --serve-token value)")
    else:
        log(f"Live view: {view.url}  (open it in a browser)")
    return view
