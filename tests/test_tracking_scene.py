"""The built-in generated multi-camera scene."""

import cv2
import numpy as np
import pytest

from mlfn_keras.data.mot import read_mot
from mlfn_keras.tracking.app.scene import Scene, SceneConfig, plan_scene, write_scene

SMALL = SceneConfig(
    num_people=4, num_frames=120, width=192, height=144, seed=3, pass_seconds=(2.0, 3.0), transit_seconds=(0.5, 1.0)
)


def test_plan_is_deterministic_and_people_change_cameras():
    a, b = plan_scene(SMALL), plan_scene(SMALL)
    assert a == b
    assert plan_scene(SceneConfig(**{**SMALL.__dict__, "seed": 4})) != a
    cams_of = {}
    for p in a:
        cams_of.setdefault(p.pid, []).append(p.camera)
        assert 0 <= p.start < SMALL.num_frames and p.frames > 0
    assert any(len(set(c)) == 2 for c in cams_of.values())  # someone is seen by both cameras


def test_frames_are_deterministic_and_cameras_look_different():
    s1, s2 = Scene(SMALL), Scene(SMALL)
    f1, b1 = s1.frame(0, 40)
    f2, b2 = s2.frame(0, 40)
    assert f1.shape == (144, 192, 3) and f1.dtype == np.uint8
    assert np.array_equal(f1, f2) and b1 == b2
    assert np.abs(s1.frame(0, 0)[0].astype(int).mean((0, 1)) - s1.frame(1, 0)[0].astype(int).mean((0, 1))).max() > 5


def test_ground_truth_boxes_cover_drawn_people():
    scene = Scene(SMALL)
    for cam in (0, 1):
        for t in range(0, SMALL.num_frames, 7):
            frame, boxes = scene.frame(cam, t)
            for pid, x, y, w, h, vis in boxes:
                assert pid in scene.identities
                assert 0 <= x and 0 <= y and x + w <= SMALL.width and y + h <= SMALL.height
                assert vis >= SMALL.min_visibility
                # a person is drawn there: the box differs from the empty view
                empty = scene._backgrounds[cam][int(y) : int(y + h), int(x) : int(x + w)].astype(int)
                lit = cv2.LUT(empty.astype(np.uint8), scene._luts[cam][:, :, ::-1].copy()).astype(int)
                drawn = frame[int(y) : int(y + h), int(x) : int(x + w)].astype(int)
                assert np.abs(drawn - lit).mean() > 3


def test_write_scene(tmp_path):
    cfg = SceneConfig(num_people=2, num_frames=30, width=128, height=96, seed=1)
    paths = write_scene(cfg, str(tmp_path), progress=False)
    assert len(paths["videos"]) == 2 and len(paths["gt"]) == 2
    cap = cv2.VideoCapture(paths["videos"][0])
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    ok, frame = cap.read()
    assert ok and frame.shape == (96, 128, 3)
    rows = read_mot(paths["gt"][0])
    assert rows.size == 0 or (rows[:, 0].min() >= 1 and rows[:, 0].max() <= 30)
    assert (tmp_path / "scene.json").exists()


def test_bad_config():
    with pytest.raises(ValueError, match="num_people"):
        plan_scene(SceneConfig(num_people=0))
