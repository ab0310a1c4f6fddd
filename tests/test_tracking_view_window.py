"""The live window under Xvfb: tiles, id labels and the roster are on screen; q, no display, display lost."""

import os
import shutil
import subprocess
import time

import numpy as np
import pytest

from mlfn_keras.tracking.core.pipeline import TrackedObject
from mlfn_keras.tracking.view import LiveViews
from mlfn_keras.tracking.view.draw import annotate, colour_for
from mlfn_keras.tracking.view.overlay import compose

XVFB = shutil.which("Xvfb")
needs_xvfb = pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (apt-get install xvfb); the window needs an X display")
pygame = pytest.importorskip("pygame", reason="pygame-ce (the window's toolkit, in the demo extra) is not installed")
W, H = 1280, 800


@pytest.fixture
def display(monkeypatch):
    """A private Xvfb display, set as $DISPLAY; yields (name, process)."""
    read, write = os.pipe()
    proc = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", f"{W}x{H}x24", "-nolisten", "tcp", "-maxclients", "512"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not report a display number"
    name = f":{number}"
    monkeypatch.setenv("DISPLAY", name)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    yield name, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def grab(name):
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=name).convert("RGB"))[:, :, ::-1]  # BGR like the frames


def scene_tick(step):
    """Two cameras: ids 1 and 2 in cam0, id 2 having just come from cam1."""
    objs = [
        [TrackedObject(0, step, 1, 1, np.array([60.0, 80, 160, 300]), 0.9),
         TrackedObject(0, step, 2, 2, np.array([300.0, 100, 420, 330]), 0.9)],
        [TrackedObject(1, step, 5, 3, np.array([200.0, 90, 300, 320]), 0.9)],
    ]
    images = []
    for cam in range(2):
        frame = np.full((480, 640, 3), (90, 110, 70) if cam == 0 else (70, 90, 120), np.uint8)
        images.append(annotate(frame, objs[cam], f"cam{cam}", 14.5))
    events = [{"event": "handoff", "camera": 0, "frame": step, "time": 1.0, "track": 2, "global_id": 2, "from_camera": 1}]
    return images, objs, events


def colour_present(image, bgr, tol=12, at_least=30):
    return int((np.abs(image.astype(int) - np.array(bgr)).max(axis=2) <= tol).sum()) >= at_least


@needs_xvfb
def test_window_shows_tiles_labels_and_roster(display):
    from mlfn_keras.tracking.view.window import WindowView

    name, _ = display
    lines = []
    view = WindowView(lines.append)
    try:
        assert view.active, lines
        hub = LiveViews([view], ["cam0", "cam1"], lines.append)
        shot, step, deadline = None, 0, time.monotonic() + 60
        while time.monotonic() < deadline:  # until the window shows (bounded; slow under load)
            images, objs, events = scene_tick(step)
            assert hub.update(images, objs, events if step == 3 else [], [14.5, 15.0])
            step += 1
            time.sleep(0.05)
            if step > 10:
                shot = grab(name)
                if colour_present(shot, colour_for(3)) and colour_present(shot, (32, 28, 24)):
                    break
        assert shot is not None
        # The window (scaled to fit the screen) shows: both tiles' backgrounds, a box colour per id
        # (ids 1 and 2 in cam0, 3 in cam1), and the roster panel's background.
        for bgr in [(90, 110, 70), (70, 90, 120), colour_for(1), colour_for(2), colour_for(3), (32, 28, 24)]:
            assert colour_present(shot, bgr), f"colour {bgr} not on screen"
        # Layout: cam0 on the left, cam1 right of it, the panel at the right edge of the picture.
        _, xs = np.nonzero(np.abs(shot.astype(int) - (90, 110, 70)).max(axis=2) <= 12)
        _, xs1 = np.nonzero(np.abs(shot.astype(int) - (70, 90, 120)).max(axis=2) <= 12)
        _, xsp = np.nonzero(np.abs(shot.astype(int) - (32, 28, 24)).max(axis=2) <= 6)
        assert xs.mean() < xs1.mean() < xsp.mean()
        assert not [line for line in lines if "No live window" in line]
    finally:
        view.close()
    assert view._proc.poll() is not None  # the window process has ended


@needs_xvfb
def test_q_stops_the_run(display):
    from mlfn_keras.tracking.view.window import WindowView

    name, _ = display
    view = WindowView(print)
    try:
        hub = LiveViews([view], ["cam0", "cam1"], print)
        images, objs, events = scene_tick(0)
        hub.update(images, objs, events, [15.0, 15.0])
        deadline = time.monotonic() + 60
        keep, sent = True, 0.0
        while keep and time.monotonic() < deadline:
            if time.monotonic() - sent > 2.0:  # again, in case the window was not up yet
                _send_q(name)
                sent = time.monotonic()
            keep = hub.update(images, objs, [], [15.0, 15.0])
            time.sleep(0.05)
        assert not keep, "q did not stop the run"
    finally:
        view.close()


def _send_q(name):
    """Presses q in the focused window with the XTEST extension (python-xlib not needed: ctypes)."""
    import ctypes
    import ctypes.util

    libs = {n: ctypes.util.find_library(n) for n in ("X11", "Xtst")}
    assert all(libs.values()), f"libX11/libXtst not found ({libs}); apt-get install libx11-6 libxtst6"
    x11, xtst = ctypes.CDLL(libs["X11"]), ctypes.CDLL(libs["Xtst"])
    x11.XOpenDisplay.restype = ctypes.c_void_p
    dpy = x11.XOpenDisplay(name.encode())
    assert dpy, f"cannot open {name}"
    x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    code = x11.XKeysymToKeycode(ctypes.c_void_p(dpy), ord("q"))
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
    xtst.XTestFakeKeyEvent(ctypes.c_void_p(dpy), code, 1, 0)
    xtst.XTestFakeKeyEvent(ctypes.c_void_p(dpy), code, 0, 0)
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XFlush(ctypes.c_void_p(dpy))
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay(ctypes.c_void_p(dpy))


@needs_xvfb
def test_display_lost_mid_run_keeps_running_with_one_message(display):
    from mlfn_keras.tracking.view.window import WindowView

    _, xvfb = display
    lines = []
    view = WindowView(lines.append)
    try:
        assert view.active
        hub = LiveViews([view], ["cam0", "cam1"], lines.append)
        images, objs, events = scene_tick(0)
        for _ in range(5):
            assert hub.update(images, objs, events, [15.0, 15.0])
            time.sleep(0.05)
        xvfb.kill()
        xvfb.wait(10)
        deadline = time.monotonic() + 20
        while view.active and time.monotonic() < deadline:
            assert hub.update(images, objs, [], [15.0, 15.0])
            time.sleep(0.05)
        for _ in range(5):  # the pipeline goes on
            assert hub.update(images, objs, [], [15.0, 15.0])
        assert not hub.wants_images
    finally:
        view.close()
    lost = [line for line in lines if "display lost" in line]
    assert len(lost) == 1, lines


def test_no_display_is_one_clear_message(monkeypatch):
    from mlfn_keras.tracking.view.window import WindowView

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    lines = []
    view = WindowView(lines.append)
    hub = LiveViews([view], ["cam0"], lines.append)
    images, objs, _ = scene_tick(0)
    assert hub.update(images[:1], objs[:1], [], [15.0]) and hub.update(images[:1], objs[:1], [], [15.0])
    assert not view.active and not hub.wants_images
    view.close()
    assert len(lines) == 1 and "No live window" in lines[0] and "no display" in lines[0] and "--serve" in lines[0]


def test_compose_puts_the_roster_beside_the_tiles():
    images, objs, events = scene_tick(0)
    hub = LiveViews([], ["cam0", "cam1"], print)
    captured = {}

    class Keep:
        wants_images = True

        def update(self, state):
            captured["state"] = state
            return True

        def close(self):
            pass

    hub.views.append(Keep())
    hub.update(images, objs, events, [14.5, 15.0])
    picture = compose(captured["state"])
    assert picture.shape[1] == 2 * 640 + 300 and picture.shape[0] >= 480
    panel = picture[:, 1280:]
    for gid in (1, 2, 3):
        assert colour_present(panel, colour_for(gid), tol=2, at_least=20), gid
    roster = captured["state"].roster()
    assert [c["ids"] for c in roster["cameras"]] == [[1, 2], [3]]
    assert roster["last_handoff"]["from_camera_name"] == "cam1" and roster["last_handoff"]["global_id"] == 2


@needs_xvfb
def test_demo_with_show_draws_the_scene_in_the_window(display, capsys):
    """The demo library call with the window on the built-in scene: the window shows the run."""
    import threading

    from mlfn_keras.tracking.app.demo import DemoConfig, run_demo
    from mlfn_keras.tracking.app.scene import SceneConfig

    name, _ = display
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    scene = SceneConfig(num_people=6, num_frames=200, width=384, height=288, seed=0, pass_seconds=(2.5, 4.0), transit_seconds=(0.5, 1.5))
    blank = grab(name)
    result = {}
    thread = threading.Thread(target=lambda: result.update(run=run_demo(DemoConfig(
        reid=os.path.join(root, "demo", "weights", "mlfn_small_synthetic.keras"), scene=scene, show=True, progress=False))))
    thread.start()
    changed = 0
    deadline = time.monotonic() + 300
    while thread.is_alive() and time.monotonic() < deadline:
        shot = grab(name)
        changed = max(changed, int((np.abs(shot.astype(int) - blank.astype(int)).max(axis=2) > 30).sum()))
        # Each grab is a new X client; a slow (loaded) run must not exhaust the server's client slots.
        time.sleep(1.0)
    thread.join(60)
    err = capsys.readouterr().err
    assert "run" in result, err[-3000:]
    summary, _ = result["run"]
    assert [c["frames"] for c in summary.cameras] == [200, 200]
    assert "No live window" not in err and "closed unexpectedly" not in err, err[-3000:]
    assert changed > 0.2 * W * H, f"the window did not show the tiles ({changed} pixels changed)"
