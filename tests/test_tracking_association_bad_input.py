"""Bad input for the multi-camera tracker: clear behaviour, no crash, nothing lost."""

import os

import numpy as np
import supervision as sv

from mlfn_keras.tracking.app.recorder import RunRecorder
from mlfn_keras.tracking.core.frames import FramePacket
from mlfn_keras.tracking.core.pipeline import MultiCameraTracker, PipelineConfig


class SameEmbedder:
    """A useless re-id model: everyone looks identical."""

    def __call__(self, crops):
        return np.tile(np.array([[1.0, 0.0, 0.0]], np.float32), (len(crops), 1))


class ColourEmbedder:
    def __call__(self, crops):
        f = np.stack([c.reshape(-1, 3).mean(0) for c in crops]).astype(np.float32) + 1.0
        return f / np.linalg.norm(f, axis=1, keepdims=True)


def _dets(boxes):
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    return sv.Detections(xyxy=xyxy, confidence=np.full(len(xyxy), 0.9, np.float32))


def _frame(h, w, boxes, colours):
    img = np.full((h, w, 3), 128, np.uint8)
    for (x1, y1, x2, y2), c in zip(boxes, colours):
        img[int(y1) : int(y2), int(x1) : int(x2)] = c
    return img


def test_missing_or_zero_frame_rate_falls_back_and_runs():
    mct = MultiCameraTracker(3, ColourEmbedder(), fps=[0.0, None, float("nan")])
    assert [t.fps for t in mct.trackers] == [15.0, 15.0, 15.0]
    img = _frame(240, 320, [(20, 40, 60, 160)], [(0, 0, 255)])
    for t in range(5):
        result = mct.step([FramePacket(c, t, img, t / 15) for c in range(3)], [_dets([(20, 40, 60, 160)])] * 3)
    assert set(result.cameras) == {0, 1, 2} and all(len(r.objects) == 1 for r in result.cameras.values())


def test_thirty_people_in_view_stay_thirty_people_even_with_a_useless_model():
    boxes = [(10 + 25 * (k % 15), 20 + 110 * (k // 15), 30 + 25 * (k % 15), 110 + 110 * (k // 15)) for k in range(30)]
    mct = MultiCameraTracker(1, SameEmbedder(), fps=10, config=PipelineConfig(max_batch=8, min_box_height=40))
    img = np.full((260, 400, 3), 100, np.uint8)
    for t in range(12):
        result = mct.step([FramePacket(0, t, img, t / 10)], [_dets(boxes)])
    assert len(result.cameras[0].objects) == 30  # every person reported, embedding budget or not
    assert max(1, result.embedded) <= 8
    final = mct.finalize()
    # all 30 are visible together: cannot-link keeps them apart whatever the model says
    assert len(set(final.ids.values())) == 30
    # online ids (if any were given) are never shared by two people in one frame
    gids = [o.global_id for o in result.cameras[0].objects if o.global_id is not None]
    assert len(gids) == len(set(gids))


def test_camera_with_no_people_for_minutes():
    mct = MultiCameraTracker(2, ColourEmbedder(), fps=2, config=PipelineConfig(expiry_seconds=60))
    empty = sv.Detections.empty()
    img = np.zeros((240, 320, 3), np.uint8)
    box = (100, 40, 140, 160)
    person = _frame(240, 320, [box], [(0, 200, 0)])
    events = []
    for t in range(2 * 400):  # 400 s at 2 FPS; camera 1 sees someone only at the very start
        dets1 = _dets([box]) if t < 10 else empty
        result = mct.step([FramePacket(0, t, img, t / 2), FramePacket(1, t, person if t < 10 else img, t / 2)], [empty, dets1])
        events += result.events
        assert result.cameras[0].objects == []
    assert not [e for e in events if e.camera == 0]
    assert len(mct.gallery) == 0  # the one identity expired after 60 s unseen
    assert len(mct.finalize().ids) == 1  # ... but its tracklet is still in the final answer


def test_track_that_lives_one_frame_is_kept_in_the_outputs(tmp_path):
    # ByteTrack reports a track from its second matched frame on, so a person
    # detected in frames 1-2 is a track that lives exactly one reported frame.
    mct = MultiCameraTracker(1, ColourEmbedder(), fps=10)
    rec = RunRecorder(str(tmp_path), ["cam0"], [10.0], write_video=False)
    img = np.full((240, 320, 3), 128, np.uint8)
    for t in range(4):
        boxes = [(0, 40, 40, 160)] if t in (1, 2) else []  # one frame, cut by the border: never embedded
        result = mct.step([FramePacket(0, t, img, t / 10)], [_dets(boxes)])
        rec.frame(0, t, result.cameras[0].objects, None)
    final = mct.finalize()
    rec.final_ids(final.ids)
    rec.close({})
    rows = open(os.path.join(tmp_path, "mot", "cam0.txt")).read().split()
    assert len(rows) == 1 and rows[0].startswith("3,1,")


def test_cameras_with_different_resolutions_and_frame_rates_hand_off():
    small, large = (240, 320), (480, 640)
    mct = MultiCameraTracker(2, ColourEmbedder(), fps=[10, 25], config=PipelineConfig(threshold=0.95))
    red = (0, 0, 255)
    gids = {0: set(), 1: set()}
    for t in range(60):  # camera 0 at 10 FPS for 3 s, then camera 1 at 25 FPS
        packets, dets = [], []
        if t < 30:
            b = (20 + 4 * t, 40, 60 + 4 * t, 160)
            packets.append(FramePacket(0, t, _frame(*small, [b], [red]), t / 10))
            dets.append(_dets([b]))
        for k in range(int(2.5 * t), int(2.5 * (t + 1))):
            ts = k / 25
            b = (40 + 2 * k, 80, 120 + 2 * k, 320)
            person = ts > 3.5 and b[2] < 630
            packets.append(FramePacket(1, k, _frame(*large, [b] if person else [], [red]), ts))
            dets.append(_dets([b] if person else []))
            result = mct.step(packets, dets)
            packets, dets = [], []
            for cam, r in result.cameras.items():
                gids[cam] |= {o.global_id for o in r.objects if o.global_id is not None}
    assert gids[0] == gids[1] == {1}
