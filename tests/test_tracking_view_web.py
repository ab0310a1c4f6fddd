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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def test_demo_serves_page_frames_and_roster_while_running(tmp_path):
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
    assert b"/roster.json" in page and b"/events.json" in page and b".mjpg" in page
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

    # The roster: both cameras, ids are ints with one colour each; it moves on.
    roster = json.loads(get(url + "roster.json")[2])
    assert [c["name"] for c in roster["cameras"]] == ["cam0", "cam1"]
    for cam in roster["cameras"]:
        assert all(isinstance(i, int) for i in cam["ids"]) and len(cam["colours"]) == len(cam["ids"])
        assert cam["fps"] > 0
    time.sleep(0.5)
    later = json.loads(get(url + "roster.json")[2])
    assert later["tick"] > roster["tick"] > 0
    events = json.loads(get(url + "events.json")[2])
    assert isinstance(events, list)

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

    thread.join(300)
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
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_multicam", os.path.join(ROOT, "demo", "multicam.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
