"""Per-camera ByteTrack wrapper: empty frames, occlusion gaps, re-entry."""

import numpy as np
import pytest
import supervision as sv

from mlfn_keras.tracking.core.tracker import CameraTracker


def _dets(*boxes, score=0.9):
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    return sv.Detections(xyxy=xyxy, confidence=np.full(len(xyxy), score, np.float32))


def _box(t, x0=10.0, speed=4.0, y=20.0):
    x = x0 + speed * t
    return [x, y, x + 20, y + 60]


def test_empty_frames_produce_nothing():
    tracker = CameraTracker(fps=10)
    for dets in (None, _dets(), sv.Detections.empty()):
        update = tracker.update(dets)
        assert len(update.detections) == 0
        assert update.started == [] and update.ended == []
        assert update.detections.tracker_id.shape == (0,)
    assert tracker.finish() == []


def test_track_is_confirmed_once_and_keeps_its_id():
    tracker = CameraTracker(fps=10, min_hits=2)
    starts, ids = [], set()
    for t in range(10):
        update = tracker.update(_dets(_box(t)))
        starts += update.started
        ids.update(update.detections.tracker_id.tolist())
    assert starts == [1] and ids == {1}


def test_occlusion_gap_keeps_the_id():
    tracker = CameraTracker(fps=10, lost_seconds=1.5)
    seen = []
    for t in range(25):
        occluded = 8 <= t < 16  # 0.8 s behind a pillar, still moving
        update = tracker.update(_dets() if occluded else _dets(_box(t)))
        assert update.ended == []
        seen += update.detections.tracker_id.tolist()
    assert set(seen) == {1}


def test_long_absence_ends_the_track_and_reentry_gets_a_new_local_id():
    tracker = CameraTracker(fps=10, lost_seconds=0.5)
    ended_at = None
    for t in range(5):
        tracker.update(_dets(_box(t)))
    for t in range(5, 20):
        update = tracker.update(_dets())
        if update.ended:
            ended_at = t
            assert update.ended == [1]
    assert ended_at is not None and ended_at <= 12
    ids = set()
    for t in range(20, 26):
        update = tracker.update(_dets(_box(t - 20, x0=100)))
        ids.update(update.detections.tracker_id.tolist())
    # The same person back in view is a new *local* track; the gallery gives
    # it back its global id (tested in test_tracking_gallery / pipeline).
    assert ids == {2}


def test_two_people_crossing_paths_keep_distinct_ids():
    tracker = CameraTracker(fps=10)
    for t in range(12):
        update = tracker.update(_dets(_box(t, x0=0, y=0), _box(t, x0=0, y=200)))
    assert sorted(update.detections.tracker_id.tolist()) == [1, 2]


def test_bad_fps():
    with pytest.raises(ValueError, match="fps"):
        CameraTracker(fps=0)
