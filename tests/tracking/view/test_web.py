"""The web view: the demo on the built-in scene with --serve, fetched over HTTP as a browser would."""

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from mlfn_keras.tracking.app.demo import DemoConfig, run_demo
from mlfn_keras.tracking.app.scene import SceneConfig
from mlfn_keras.tracking.view import LiveViews
from mlfn_keras.tracking.view.web import (
    ServeError,
    WebView,
    bind_error_message,
    parse_serve,
    start_web_view,
)

from repo import ROOT  # noqa: E402
from repo import load_script
WEIGHTS = os.path.join(ROOT, "demo", "weights", "mlfn_small_synthetic.keras")
# Long enough (1800 ticks) that the run is still going while the test fetches.
SCENE = SceneConfig(num_people=6, num_frames=1800, width=384, height=288, seed=0, pass_seconds=(2.5, 4.0), transit_seconds=(0.5, 1.5))


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def read_mjpeg_frames(url, count, timeout=60):
    """Reads ``count`` parts of an MJPEG stream with a raw socket; returns the JPEGs."""
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    path = "/" + url.split("//")[1].split("/", 1)[1]
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    buf, frames = b"", []
    deadline = time.monotonic() + timeout
    while len(frames) < count and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        while True:
            start = buf.find(b"Content-Length: ")
            if start < 0:
                break
            end = buf.find(b"\r\n\r\n", start)
            if end < 0:
                break
            n = int(buf[start + 16 : buf.find(b"\r\n", start)])
            if len(buf) < end + 4 + n:
                break
            frames.append(buf[end + 4 : end + 4 + n])
            buf = buf[end + 4 + n :]
    head = buf
    return sock, frames, head


def test_demo_serves_page_frames_and_api_while_running(tmp_path):
    urls = []
    ready = threading.Event()
    result = {}

    def on_serve(url):
        urls.append(url)
        ready.set()

    def run():
        try:
            result["summary"], _ = run_demo(
                DemoConfig(reid=WEIGHTS, scene=SCENE, output_dir=str(tmp_path / "run"), progress=False,
                           write_video=False, serve="127.0.0.1:0", on_serve=on_serve)
            )
        except BaseException as exc:  # surfaced below
            result["error"] = exc
        ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(300), "the demo did not start serving"
    assert "error" not in result, result.get("error")
    url = urls[0]
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")

    status, ctype, page = get(url)
    assert status == 200 and ctype.startswith("text/html")
    assert b"/api/live" in page and b"/api/identities" in page and b".mjpg" in page
    assert b"http://" not in page and b"https://" not in page  # nothing fetched from the internet

    # A few live MJPEG frames from camera 0: decodable JPEGs of the camera's size, changing over time.
    sock, frames, _ = read_mjpeg_frames(url + "cam/0.mjpg", 3)
    sock.close()
    assert len(frames) == 3
    images = []
    for jpeg in frames:
        assert jpeg[:3] == b"\xff\xd8\xff" and jpeg[-2:] == b"\xff\xd9"
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (288, 384, 3)
        images.append(image)
    assert any(np.abs(images[0].astype(int) - im.astype(int)).mean() > 0.1 for im in images[1:])
    status, ctype, jpeg = get(url + "cam/1.jpg")
    assert status == 200 and ctype == "image/jpeg" and jpeg[:3] == b"\xff\xd8\xff"

    # The API: both cameras live, the run moves on, identities appear with thumbnails.
    cams = json.loads(get(url + "api/cameras")[2])
    assert [c["name"] for c in cams] == ["cam0", "cam1"] and all(c["state"] == "live" and c["fps"] > 0 for c in cams)
    run = json.loads(get(url + "api/run")[2])
    deadline = time.monotonic() + 120
    later = run
    while time.monotonic() < deadline and (not json.loads(get(url + "api/identities")[2])
                                           or later["ticks"] <= run["ticks"]):
        time.sleep(0.5)
        later = json.loads(get(url + "api/run")[2])
    assert later["state"] == "running" and later["ticks"] > run["ticks"] > 0
    cards = json.loads(get(url + "api/identities")[2])
    assert cards and all(isinstance(c["id"], int) and c["colour"].startswith("#") for c in cards)
    with_thumb = [c for c in cards if c["thumbnails"]]
    assert with_thumb
    status, ctype, jpeg = get(url + next(iter(with_thumb[0]["thumbnails"].values())).lstrip("/"))
    assert status == 200 and ctype == "image/jpeg" and jpeg[:3] == b"\xff\xd8\xff"
    events = json.loads(get(url + "api/events?since=0")[2])
    assert events["events"] and all("-1" not in e["text"] for e in events["events"])

    # Garbage, an unknown camera, and a viewer that disconnects mid-stream do no harm.
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/"))), timeout=10) as s:
        s.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert b"400" in reply and b"Bad request" in reply  # http.server answers it and closes
    with pytest.raises(urllib.error.HTTPError) as info:
        get(url + "cam/7.mjpg")
    assert info.value.code == 404
    sock, frames, _ = read_mjpeg_frames(url + "cam/1.mjpg", 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST, not FIN
    sock.close()
    sock, frames, _ = read_mjpeg_frames(url + "cam/0.mjpg", 2)  # still serving others
    sock.close()
    assert len(frames) == 2

    thread.join(600)
    assert not thread.is_alive() and "error" not in result
    summary = result["summary"]
    assert not summary.interrupted and [c["frames"] for c in summary.cameras] == [1800, 1800]
    written = json.loads((tmp_path / "run" / "summary.json").read_text())  # outputs complete
    assert written["ticks"] == summary.ticks and [c["frames"] for c in written["cameras"]] == [1800, 1800]
    ends = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert sorted(e["camera"] for e in ends if e["event"] == "stream_end") == [0, 1]
    with pytest.raises(OSError):  # the server is gone after the run
        get(url, timeout=5)


def _tick(view, names=("a", "b"), size=(48, 64)):
    hub = LiveViews([view], list(names), print)
    images = [np.full((*size, 3), 40 * (i + 1), np.uint8) for i in range(len(names))]
    hub.update(images, [[] for _ in names], [], [10.0] * len(names))
    return hub


def test_no_encoding_while_nobody_watches():
    view = WebView("127.0.0.1", 0, ["a", "b"])
    try:
        hub = _tick(view)
        assert not view.wants_images and not hub.wants_images
        time.sleep(0.3)
        assert view.frames_encoded == 0
        status, _, jpeg = get(view.url + "cam/1.jpg")  # a watcher: encoding starts
        assert status == 200 and jpeg[:3] == b"\xff\xd8\xff"
        assert view.frames_encoded >= 1
        assert view.watchers == 0 and not view.wants_images
    finally:
        view.close()


def test_port_in_use_is_a_clear_message_and_no_view():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    lines = []
    try:
        assert start_web_view(f"127.0.0.1:{port}", ["a"], lines.append) is None
    finally:
        busy.close()
    assert len(lines) == 1 and "already in use" in lines[0] and "runs on without it" in lines[0]


def test_bind_error_messages_name_the_cause():
    import errno

    assert "below 1024" in bind_error_message("0.0.0.0", 80, OSError(errno.EACCES, "Permission denied"))
    assert "already in use" in bind_error_message("127.0.0.1", 8080, OSError(errno.EADDRINUSE, "in use"))


def test_other_interface_warns_and_url_is_printed():
    lines = []
    view = start_web_view("0.0.0.0:0", ["a"], lines.append)
    try:
        assert view is not None
        assert any(line.startswith("WARNING") and "anyone" in line for line in lines)
        assert any(view.url in line for line in lines)
    finally:
        view.close()


@pytest.mark.parametrize("value, expected", [("8080", ("127.0.0.1", 8080)), ("0.0.0.0:0", ("0.0.0.0", 0)), ("[::1]:9000", ("::1", 9000))])
def test_parse_serve(value, expected):
    assert parse_serve(value) == expected


@pytest.mark.parametrize("value", ["abc", "host:", "127.0.0.1:70000", ":80x"])
def test_parse_serve_rejects(value):
    with pytest.raises(ServeError, match="expected \\[HOST:\\]PORT"):
        parse_serve(value)


def test_cli_bad_serve_value_exits_2(capsys):
    module = load_script("demo/multicam.py", "demo_multicam")
    with pytest.raises(SystemExit) as info:
        module.main(["--serve", "nope", "--no-show"])
    assert info.value.code == 2 and "[HOST:]PORT" in capsys.readouterr().err


def test_a_stalled_viewer_does_not_hold_up_others():
    """One client opens a stream and never reads; frames keep flowing to another, nothing queues."""
    view = WebView("127.0.0.1", 0, ["a"])
    stop = threading.Event()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (480, 640, 3), np.uint8) for _ in range(4)]  # noisy: large JPEGs

    def feed():
        hub = LiveViews([view], ["a"], print)
        k = 0
        while not stop.is_set():
            hub.update([frames[k % 4]], [[]], [], [15.0])
            k += 1
            time.sleep(0.01)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    stalled = socket.create_connection(("127.0.0.1", view.port), timeout=10)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /cam/0.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        time.sleep(1.0)  # its server thread is now blocked on a full socket
        sock, got, _ = read_mjpeg_frames(view.url + "cam/0.mjpg", 5)
        sock.close()
        assert len(got) == 5
        assert view.watchers >= 1  # the stalled viewer is still connected
        assert len(view._jpegs) == 1  # one latest JPEG per camera, never a backlog
    finally:
        stop.set()
        stalled.close()
        feeder.join(5)
        view.close()


def test_demo_runs_on_without_the_web_view_when_the_port_is_taken(tmp_path, capsys):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        summary, _ = run_demo(DemoConfig(reid=WEIGHTS, scene=SCENE, output_dir=str(tmp_path / "run"), progress=False,
                                         write_video=False, max_frames=20, serve=f"127.0.0.1:{busy.getsockname()[1]}"))
    finally:
        busy.close()
    assert summary.ticks == 20 and (tmp_path / "run" / "summary.json").is_file()
    err = capsys.readouterr().err
    assert err.count("No web view") == 1 and "already in use" in err


@pytest.mark.skipif(os.geteuid() != 0 or not __import__("shutil").which("setpriv"),
                    reason="needs root and setpriv to take away the right to bind ports below 1024")
def test_port_below_1024_without_rights_is_a_clear_message():
    import subprocess
    import sys

    code = "from mlfn_keras.tracking.view.web import start_web_view; print(start_web_view('127.0.0.1:80', ['a']))"
    out = subprocess.run(["setpriv", "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service", sys.executable, "-c", code],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.stdout.strip().endswith("None"), out.stdout + out.stderr[-2000:]
    assert "ports below 1024 need root or CAP_NET_BIND_SERVICE" in out.stderr and "--serve 8080" in out.stderr


# ----------------------------------------------------------------- the API
def _feed():
    from mlfn_keras.tracking.core.pipeline import TrackedObject
    from mlfn_keras.tracking.view.feed import IdentityFeed

    feed = IdentityFeed(["cam0", "cam1"])
    img = np.full((240, 320, 3), 90, np.uint8)
    img[20:140, 10:60] = (40, 80, 220)
    for f in range(20):
        feed.observe(0, f, f / 10, [TrackedObject(0, f, 1, 7, np.asarray((10, 20, 60, 140), np.float32), 0.9)], img)
    for f in range(60, 80):
        feed.observe(1, f, f / 10, [TrackedObject(1, f, 2, 7, np.asarray((10, 20, 60, 140), np.float32), 0.9)], img)
    return feed


def raw(port, data, read=True, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        reply = b""
        while read and (chunk := s.recv(65536)):
            reply += chunk
    return reply


def test_api_serves_identities_cameras_events_transitions_and_thumbnails():
    view = WebView("127.0.0.1", 0, ["cam0", "cam1"], feed=_feed())
    try:
        index = json.loads(get(view.url + "api/")[2])
        assert {"identities", "identity", "thumbnail", "cameras", "events", "transitions"} <= set(index)
        cards = json.loads(get(view.url + "api/identities")[2])
        assert [c["id"] for c in cards] == [7] and cards[0]["cameras"] == ["cam0", "cam1"]
        detail = json.loads(get(view.url + "api/identities/7")[2])
        assert [a["camera"] for a in detail["appearances"]] == ["cam0", "cam1"]
        for url in [cards[0]["thumbnails"]["cam0"], "/api/identities/7/cam1.jpg", "/api/identities/7/1.jpg", detail["appearances"][1]["thumbnail"]]:
            status, ctype, body = get(view.url + url.lstrip("/"))
            assert status == 200 and ctype == "image/jpeg" and body[:3] == b"\xff\xd8\xff", url
        assert [c["name"] for c in json.loads(get(view.url + "api/cameras")[2])] == ["cam0", "cam1"]
        events = json.loads(get(view.url + "api/events?since=1")[2])
        assert [e["text"] for e in events["events"]] == ["ID 7 entered cam1 from cam0 after 4 s"]
        assert json.loads(get(view.url + "api/transitions")[2])[0]["median_travel_s"] == 4.1
        live = json.loads(get(view.url + "api/live?since=0")[2])
        assert set(live) == {"run", "cameras", "events"}
    finally:
        view.close()


@pytest.mark.parametrize("path, code", [
    ("/api/identities/8", 404), ("/api/identities/7/cam9.jpg", 404), ("/api/identities/x", 404),
    ("/api/identities/7/../../../etc/passwd", 400), ("/api/identities/7/%2e%2e%2fsecret.jpg", 400),
    ("/..%2f..%2fetc/passwd", 400), ("/api/events?since=-3", 400), ("/api/events?since=abc", 400),
    ("/cam/9.mjpg", 404), ("/nothing", 404), ("/api/appearances/999.jpg", 404), ("/" + "a" * 3000, 414),
])
def test_bad_paths_get_4xx(path, code):
    view = WebView("127.0.0.1", 0, ["cam0", "cam1"], feed=_feed())
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            get(view.url + path.lstrip("/"))
        assert info.value.code == code
    finally:
        view.close()


def test_huge_and_odd_requests_get_4xx_and_the_view_serves_on():
    view = WebView("127.0.0.1", 0, ["cam0"], feed=_feed())
    try:
        assert b" 414 " in raw(view.port, b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n")
        assert b" 431 " in raw(view.port, b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"b" * 8000 + b"\r\n" + b"X-More: " + b"c" * 9000 + b"\r\n\r\n")
        assert b" 405 " in raw(view.port, b"POST /api/identities HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        assert b" 405 " in raw(view.port, b"DELETE /api/identities/7 HTTP/1.1\r\n\r\n")
        assert b" 400 " in raw(view.port, b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
        assert get(view.url + "api/identities")[0] == 200
    finally:
        view.close()


def test_no_thumbnails_means_none_served():
    from mlfn_keras.tracking.view.feed import IdentityFeed

    feed = IdentityFeed(["cam0"], thumbnails=False)
    view = WebView("127.0.0.1", 0, ["cam0"], feed=feed)
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            get(view.url + "api/identities/1/cam0.jpg")
        assert info.value.code == 404 and b"--no-thumbnails" in info.value.read()
    finally:
        view.close()


def test_serve_token_is_required_and_becomes_a_cookie():
    token = "s3cret-token"
    view = WebView("127.0.0.1", 0, ["cam0"], feed=_feed(), token=token)
    try:
        for path in ("", "api/identities", "api/identities/7/cam0.jpg", "cam/0.jpg", "api/identities?token=wrong-token"):
            with pytest.raises(urllib.error.HTTPError) as info:
                get(view.url + path)
            assert info.value.code == 401, path
        assert get(view.url + f"api/identities?token={token}")[0] == 200
        req = urllib.request.Request(view.url + "api/run", headers={"Authorization": f"Bearer {token}"})
        assert urllib.request.urlopen(req, timeout=10).status == 200
        # The page with ?token= sets a cookie and redirects to a clean address.
        reply = raw(view.port, f"GET /?token={token} HTTP/1.1\r\nHost: x\r\n\r\n".encode()).decode("latin-1")
        assert " 303 " in reply and "Location: /\r\n" in reply and f"mlfn_live_token={token}; HttpOnly" in reply
        reply = raw(view.port, f"GET / HTTP/1.1\r\nCookie: other=1; mlfn_live_token={token}\r\n\r\n".encode())
        assert b" 200 " in reply and b"<!doctype html>" in reply
    finally:
        view.close()


@pytest.mark.parametrize("token", ["short", "has space in it", "x" * 200, ""])
def test_bad_tokens_are_refused(token):
    from mlfn_keras.tracking.view.web import check_token

    with pytest.raises(ValueError, match="8-128 letters"):
        check_token(token)


def test_lan_without_token_warns_and_with_token_does_not():
    lines = []
    view = start_web_view("0.0.0.0:0", ["a"], lines.append, token="abcdefgh12")
    try:
        assert not any(line.startswith("WARNING") for line in lines) and any("token=" in line for line in lines)
    finally:
        view.close()


# ------------------------------------------------------------ slow clients
def _tricklers(port, count, address=None):
    socks = []
    for i in range(count):
        s = socket.socket()
        s.settimeout(5)
        if address is not None:
            s.bind((address(i), 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def _trickle(socks, stop, period=3.0):
    """Each client sends one byte of its request every ``period`` s (never finishing the headers)."""
    text = b"GET /api/identities HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 1000
    k = 0
    while not stop.wait(0 if k == 0 else period):
        for s in socks:
            try:
                s.send(text[k : k + 1])
            except OSError:
                pass
        k += 1


@pytest.mark.parametrize("same_address", [False, True], ids=["64 addresses", "one address"])
def test_page_stays_reachable_while_64_clients_trickle(same_address):
    view = WebView("127.0.0.1", 0, ["cam0"], feed=_feed())
    stop = threading.Event()
    address = None if same_address else (lambda i: f"127.0.0.{i + 2}")
    socks = _tricklers(view.port, 64, address)
    feeder = threading.Thread(target=_trickle, args=(socks, stop), daemon=True)
    feeder.start()
    try:
        time.sleep(1.0)
        for _ in range(5):  # a normal viewer: the page, its data and a thumbnail
            assert get(view.url, timeout=5)[0] == 200
            assert get(view.url + "api/live?since=0", timeout=5)[0] == 200
            assert get(view.url + "api/identities/7/cam0.jpg", timeout=5)[0] == 200
            time.sleep(0.5)
        assert view.open_connections <= view.limits.max_connections
        if same_address:  # one client never holds more than its share
            assert view.open_connections <= view.limits.per_client + 2
    finally:
        stop.set()
        feeder.join(5)
        for s in socks:
            s.close()
        view.close()


def test_a_request_whose_headers_take_too_long_is_dropped():
    from mlfn_keras.tracking.view.web import ServeLimits

    view = WebView("127.0.0.1", 0, ["cam0"], feed=_feed(), limits=ServeLimits(header_seconds=1.5))
    try:
        s = socket.create_connection(("127.0.0.1", view.port), timeout=10)
        t0 = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\n")
        reply = b"x"
        while reply:
            try:
                s.sendall(b"X: y\r\n")  # a header line every 0.2 s: never idle, never done
                time.sleep(0.2)
                s.setblocking(False)
                reply = s.recv(100)
            except BlockingIOError:
                reply = b"x"
            except OSError:
                break
            finally:
                s.setblocking(True)
            assert time.monotonic() - t0 < 8, "the slow request was never dropped"
        assert 1.4 <= time.monotonic() - t0 < 8
        s.close()
        assert get(view.url + "api/run")[0] == 200
    finally:
        view.close()


@pytest.mark.parametrize("argv, message", [
    (["--serve-token", "abcdefgh12"], "--serve-token needs --serve"),
    (["--serve", "0", "--serve-token", "short"], "8-128 letters"),
    (["--gt", "a.txt"], "--gt needs --cams"),
])
def test_cli_checks_token_and_ground_truth(argv, message, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_multicam", os.path.join(ROOT, "demo", "multicam.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as info:
        module.main([*argv, "--no-show"])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_cli_evaluate_with_cams_needs_one_gt_per_camera(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_multicam", os.path.join(ROOT, "demo", "multicam.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"")
    b.write_bytes(b"")
    for extra, message in ((["--evaluate"], "needs --gt FILE per camera"), (["--gt", str(a)], "--gt got 1 files for 2 --cams")):
        with pytest.raises(SystemExit) as info:
            module.main(["--cams", str(a), str(b), "--no-show", "--output", str(tmp_path / "o"), *extra])
        assert info.value.code == 2 and message in capsys.readouterr().err
