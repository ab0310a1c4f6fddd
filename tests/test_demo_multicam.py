"""demo/multicam.py, demo/evaluate.py, demo/benchmark.py: CLIs and an end-to-end run."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mlfn_keras.tracking.app.demo import DemoConfig, run_demo
from mlfn_keras.tracking.app.scene import SceneConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "demo", "weights", "mlfn_small_synthetic.keras")

# A short built-in scene: 6 people, 13 s per camera at 15 FPS, quick passes.
SHORT_SCENE = SceneConfig(
    num_people=6, num_frames=200, width=384, height=288, seed=0, pass_seconds=(2.5, 4.0), transit_seconds=(0.5, 1.5)
)
# Measured on this scene with the shipped weights and default settings (bgsub
# detector, threshold calibrated on the footage, offline re-clustering):
# cross-camera IDF1 0.694, MOTA 0.653 / 0.619; with ground-truth boxes 0.914.
# (Before tracklet association, with a fixed threshold 0.85: 0.460 and 0.574;
# an untrained mlfn_small then gave 0.434 with bgsub and 0.398 with
# ground-truth boxes, not re-measured since.) Bounds leave a margin for
# numeric differences between machines.
MIN_CROSS_CAMERA_IDF1 = 0.55
MIN_MOTA = 0.45
MIN_CROSS_CAMERA_IDF1_GT_BOXES = 0.75


def _load(name):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", os.path.join(ROOT, "demo", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["multicam", "evaluate", "benchmark"])
def test_help_has_examples(name, capsys):
    with pytest.raises(SystemExit) as info:
        _load(name).main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and "python demo/" in out


def test_bad_cams_value_is_a_clear_error(capsys, tmp_path):
    multicam = _load("multicam")
    with pytest.raises(SystemExit) as info:
        multicam.main(["--cams", "0", str(tmp_path / "missing.mp4"), "--no-show", "--reid", WEIGHTS])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "missing.mp4" in err and "webcam index" in err and "folder of images" in err


def test_gt_detector_needs_the_built_in_scene(capsys, tmp_path):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"")
    with pytest.raises(SystemExit):
        _load("multicam").main(["--cams", str(video), "--detector", "gt", "--no-show", "--reid", WEIGHTS])
    assert "only the built-in scene" in capsys.readouterr().err


def test_end_to_end_short_scene_keeps_ids_across_cameras(tmp_path):
    assert os.path.exists(WEIGHTS), f"the shipped re-id weights {WEIGHTS} are missing (demo/weights/README.md)"
    out = str(tmp_path / "run")
    summary, scores = run_demo(
        DemoConfig(reid=WEIGHTS, scene=SHORT_SCENE, output_dir=out, progress=False, evaluate=True, write_video=True)
    )
    assert not summary.interrupted
    assert [c["frames"] for c in summary.cameras] == [200, 200]
    for name in ("events.jsonl", "summary.json", "mot/cam0.txt", "mot/cam1.txt", "mot_local/cam0.txt", "gt/cam0.txt", "cam0.mp4", "cam1.mp4"):
        assert os.path.isfile(os.path.join(out, name)), name
    events = [json.loads(line) for line in open(os.path.join(out, "events.jsonl"))]
    kinds = {e["event"] for e in events}
    assert {"track_start", "track_end", "global_id_assigned", "stream_end", "threshold_calibrated", "final_identities"} <= kinds
    # a cross-camera link is reported as it happens: a hand-off, or a merge of two ids once evidence is in
    assert kinds & {"handoff", "identities_merged"}
    for cam in ("cam0", "cam1"):
        assert scores["per_camera"][cam]["MOTA"] > MIN_MOTA
    assert scores["cross_camera"]["IDF1"] >= MIN_CROSS_CAMERA_IDF1


def test_trained_reid_carries_identities_across_cameras(tmp_path):
    """Isolates re-id from detection: a model that has not learned fails this."""
    _, scores = run_demo(
        DemoConfig(reid=WEIGHTS, scene=SHORT_SCENE, output_dir=str(tmp_path / "gt"), progress=False,
                   evaluate=True, write_video=False, detector="gt")
    )
    assert scores["cross_camera"]["IDF1"] >= MIN_CROSS_CAMERA_IDF1_GT_BOXES


@pytest.mark.slow
def test_ctrl_c_flushes_and_closes_cleanly(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, os.path.join(ROOT, "demo", "multicam.py"), "--no-show", "--quiet", "--reid", WEIGHTS,
           "--people", "6", "--frames", "900", "--size", "384x288", "--output", str(out)]
    # Restore default SIGINT handling in the child (a background parent may ignore it).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 180
    events = out / "events.jsonl"  # flushed as events happen
    while time.monotonic() < deadline and proc.poll() is None:
        if events.exists() and "global_id_assigned" in events.read_text():
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0][-2000:]
    proc.send_signal(signal.SIGINT)
    log, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, log[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] and 0 < summary["ticks"] < 900
    frames = summary["cameras"][0]["frames"]
    rows = [line for line in (out / "mot_local" / "cam0.txt").read_text().splitlines() if line]
    assert all(int(r.split(",")[0]) <= frames for r in rows)
    import cv2

    cap = cv2.VideoCapture(str(out / "cam0.mp4"))  # a finalised, readable video
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    for line in (out / "events.jsonl").read_text().splitlines():
        json.loads(line)  # every line complete


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--start-times", "0"], "one per camera"),
        (["--start-times", "0", "-5"], "seconds >= 0"),
        (["--max-gap", "soon"], "'none'"),
        (["--max-gap", "-1"], "'none'"),
    ],
)
def test_start_times_and_max_gap_are_checked(extra, message, capsys, tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"")
    b.write_bytes(b"")
    with pytest.raises(SystemExit) as info:
        _load("multicam").main(["--cams", str(a), str(b), "--no-show", "--reid", WEIGHTS, *extra])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_start_times_need_cams(capsys):
    with pytest.raises(SystemExit) as info:
        _load("multicam").main(["--start-times", "0", "--no-show", "--reid", WEIGHTS])
    assert info.value.code == 2 and "needs --cams" in capsys.readouterr().err
