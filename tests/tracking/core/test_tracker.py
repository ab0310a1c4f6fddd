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


def test_predict_carries_tracks_between_detections_and_keeps_their_ids():
    tracker = CameraTracker(fps=10, min_hits=2)
    for t in range(6):  # learn the velocity: 4 px per frame
        tracker.update(_dets(_box(t)))
    ids = set()
    for t in range(6, 30):
        if t % 4 == 0:  # a detection every 4th frame
            update = tracker.update(_dets(_box(t)))
            assert update.measured
        else:
            update = tracker.predict()
            assert not update.measured and update.started == [] and update.ended == []
            assert len(update.detections) == 1
            # the prediction follows the walk (within a few pixels), it does not stand still
            np.testing.assert_allclose(update.detections.xyxy[0], _box(t), atol=3.0)
        ids.update(update.detections.tracker_id.tolist())
    assert ids == {1}


def test_predicted_frames_of_a_lost_track_count_against_lost_seconds():
    tracker = CameraTracker(fps=10, lost_seconds=0.5)
    for t in range(5):
        tracker.update(_dets(_box(t)))
    tracker.update(_dets())  # lost at this detection
    ended = []
    for t in range(6, 40):
        update = tracker.predict() if t % 4 else tracker.update(_dets())
        assert len(update.detections) == 0  # a lost track is not drawn at its prediction
        ended += update.ended
        if ended:
            break
    # 0.5 s at 10 FPS: ended by the first detection after about 5 frames, not after 5 detections
    assert ended == [1] and t <= 12


def test_status_says_when_the_tracks_are_uncertain():
    tracker = CameraTracker(fps=10, min_hits=2)
    tracker.update(_dets(_box(0)))
    assert tracker.status().tentative == 1 and tracker.status().uncertain
    for t in range(1, 4):
        tracker.update(_dets(_box(t)))
    status = tracker.status()
    assert status.tracked == 1 and not status.uncertain
    tracker.update(_dets())
    assert tracker.status().just_lost == 1 and tracker.status().uncertain
    tracker.predict()
    assert not tracker.status().uncertain  # lost for longer: no longer forces a detection

    crossing = CameraTracker(fps=10, min_hits=1)
    for t in range(3):
        crossing.update(_dets(_box(t, x0=0), _box(t, x0=8)))
    assert crossing.status().overlapping == 1 and crossing.status().uncertain
    assert crossing.status(overlap_iou=0.9).overlapping == 0
