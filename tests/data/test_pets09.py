import numpy as np
import pytest

from mlfn_keras.data import pets09
from mlfn_keras.errors import InputPathError, UserError


def test_shipped_ground_truth():
    gt = pets09.load_ground_truth()
    assert gt.shape == (4650, 7)
    assert gt[:, 0].min() == 0 and gt[:, 0].max() == pets09.NUM_FRAMES - 1
    assert sorted(np.unique(gt[:, 1]).astype(int)) == list(range(1, 20))
    assert int((gt[:, 6] == 0).sum()) == 174


def test_lr_cameras_overlap_by_64_px():
    left, right = pets09.split_cameras("lr")
    assert (left.width, right.width) == (416, 416)
    assert left.x1 - right.x0 == 64
    with pytest.raises(UserError, match="lr, time, full"):
        pets09.split_cameras("diagonal")


def test_camera_ground_truth_clips_and_ignores_mostly_hidden_boxes():
    gt = np.array(
        [
            [10, 1, 100, 50, 40, 80, 1],  # inside left only
            [10, 2, 396, 50, 40, 80, 1],  # 20 px of 40 in left (50 %): ignored there; all in right
            [10, 3, 380, 50, 40, 80, 1],  # 36 of 40 in left (90 %)
            [11, 4, 700, 50, 40, 80, 0],  # MOT15 says ignore
        ]
    )
    left, right = pets09.split_cameras("lr")
    lrows = pets09.camera_ground_truth(gt, left)
    assert lrows[:, 1].tolist() == [1, 2, 3]
    assert lrows[:, 6].tolist() == [1, 0, 1]
    assert lrows[1, 4] == pytest.approx(20)
    rrows = pets09.camera_ground_truth(gt, right)
    assert rrows[:, 1].tolist() == [2, 3, 4]
    assert rrows[:, 2].tolist() == [396 - 352, 380 - 352, 700 - 352]
    assert rrows[:, 6].tolist() == [1, 1, 0]
    second = pets09.split_cameras("time")[1]
    assert pets09.camera_ground_truth(np.array([[400, 1, 0, 0, 5, 5, 1]]), second)[0, 0] == 0


def test_time_split_matches_the_published_protocol_counts():
    gt = pets09.load_ground_truth()
    rows = gt[(gt[:, 0] % 5 == 0) & (gt[:, 6] > 0) & (gt[:, 0] >= 400)]
    crops = [pets09.Crop(int(r[1]), int(r[0]), tuple(r[2:6]), np.zeros((2, 2, 3), np.uint8)) for r in rows]
    query, gallery = pets09.time_split(crops)
    assert (len({c.pid for c in crops}), len(query), len(gallery)) == (12, 220, 229)
    assert all(max(c.frame for c in query if c.pid == p) < min(c.frame for c in gallery if c.pid == p)
               for p in {c.pid for c in query})


def test_missing_or_wrong_video_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(InputPathError, match="does not exist.*apt-get download opencv-doc"):
        pets09.locate_video(tmp_path / "nope.avi")
    (tmp_path / "other.avi").write_bytes(b"not a video")
    with pytest.raises(InputPathError, match="not PETS09"):
        pets09.locate_video(tmp_path / "other.avi")
    monkeypatch.setenv("MLFN_KERAS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(InputPathError, match="no PETS09 video"):
        pets09.locate_video(fetch=False)


def test_fetch_without_apt_names_the_manual_command(tmp_path, monkeypatch):
    monkeypatch.setattr(pets09.shutil, "which", lambda tool: None)
    with pytest.raises(UserError, match="apt-get.*not available.*dpkg -x"):
        pets09.fetch_video(tmp_path / "v.avi")
