"""Tracklet mining on a tiny generated scene and what the footage says without labels; bad footage."""

import cv2
import numpy as np
import pytest

from mlfn_keras.adapt.tracklets import cannot_link, check_enough, mine_tracklets
from mlfn_keras.errors import UserError
from mlfn_keras.tracking.app.scene import SceneConfig, write_scene
from mlfn_keras.tracking.app.sources import parse_cam
from mlfn_keras.tracking.detection.detectors import GroundTruthDetector

TINY_SCENE = SceneConfig(num_people=6, num_frames=90, width=320, height=240, fps=10.0,
                         pass_seconds=(2.0, 3.0), transit_seconds=(0.5, 1.0), seed=3)
MINING = dict(image_size=(64, 32), min_crops=3, max_crops=8, min_height=24.0, progress=False)


def gt_detector(gt_paths):
    """A detector that returns the scene's ground-truth boxes (no detection errors in unit tests)."""
    tables = [np.loadtxt(p, delimiter=",", ndmin=2) for p in gt_paths]

    def lookup(cam, index):
        if cam >= len(tables) or tables[cam].size == 0:
            return np.zeros((0, 4))
        rows = tables[cam][tables[cam][:, 0] == index + 1]
        return np.stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]], 1)

    return GroundTruthDetector(lookup)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_scene(TINY_SCENE, str(tmp_path_factory.mktemp("scene")), progress=False)


def test_tracklets_are_mined_and_cannot_link_pairs_are_seen_together(scene):
    specs = [parse_cam(v, i) for i, v in enumerate(scene["videos"])]
    result = mine_tracklets(specs, gt_detector(scene["gt"]), log=lambda m: None, **MINING)
    tracklets = result.tracklets
    assert len(tracklets) >= 4 and {t.camera for t in tracklets} == {0, 1}
    for t in tracklets:
        assert t.crops.shape[1:] == (64, 32, 3) and t.crops.dtype == np.uint8
        assert 3 <= len(t) <= 8 and np.all(np.diff(t.frames) > 0)
        assert t.span[0] <= t.frames.min() and t.frames.max() <= t.span[1]
    assert [c.frames for c in result.cameras] == [90, 90]
    cannot = cannot_link(tracklets)
    assert (cannot == cannot.T).all() and not cannot.diagonal().any()
    pairs = np.argwhere(np.triu(cannot, 1))
    assert len(pairs) >= 1
    for i, j in pairs:
        assert tracklets[i].camera == tracklets[j].camera and tracklets[i].seen & tracklets[j].seen
    # Tracklets of different cameras are never cannot-linked (they may be the same person).
    cams = np.array([t.camera for t in tracklets])
    assert not cannot[cams[:, None] != cams[None, :]].any()


def _folder(path, frames, corrupt_at=None):
    path.mkdir()
    for i, frame in enumerate(frames):
        name = path / f"{i:04d}.jpg"
        if i == corrupt_at:
            name.write_bytes(b"not a jpeg")
        else:
            cv2.imwrite(str(name), frame)
    return str(path)


def test_no_people_corrupt_frames_and_one_person_are_explained(tmp_path, scene):
    blank = [np.full((120, 160, 3), 90, np.uint8)] * 6
    spec = parse_cam(_folder(tmp_path / "empty", blank, corrupt_at=2), 0)
    logged = []
    result = mine_tracklets([spec], gt_detector([]), log=logged.append, **MINING)
    assert result.cameras[0].corrupt_frames == 1 and result.cameras[0].frames == 5
    assert any("nobody was detected" in m for m in logged)
    with pytest.raises(UserError, match="no usable tracklet"):
        check_enough(result.tracklets, result.cameras)

    # One person: keep a single ground-truth track of the scene.
    table = np.loadtxt(scene["gt"][0], delimiter=",", ndmin=2)
    one = table[table[:, 1] == table[0, 1]]
    np.savetxt(tmp_path / "one.txt", one, delimiter=",")
    result = mine_tracklets([parse_cam(scene["videos"][0], 0)], gt_detector([tmp_path / "one.txt"]),
                            log=lambda m: None, **MINING)
    assert len(result.tracklets) == 1
    with pytest.raises(UserError, match="one person"):
        check_enough(result.tracklets, result.cameras)
