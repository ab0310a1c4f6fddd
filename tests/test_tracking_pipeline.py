"""MultiCameraTracker: hand-off, re-entry, one re-id call per tick, events."""

import numpy as np
import supervision as sv

from mlfn_keras.tracking.core.frames import FramePacket
from mlfn_keras.tracking.core.pipeline import MultiCameraTracker, PipelineConfig

COLOURS = {1: (0, 0, 255), 2: (0, 255, 0), 3: (255, 0, 0)}  # BGR per person
H, W = 240, 320


class ColourEmbedder:
    """Mean colour of the crop: a perfect re-id model for flat-coloured people."""

    def __init__(self):
        self.calls = []

    def __call__(self, crops):
        self.calls.append(len(crops))
        f = np.stack([c.reshape(-1, 3).mean(0) for c in crops]).astype(np.float32) + 1.0
        return f / np.linalg.norm(f, axis=1, keepdims=True)


def _frame(people):
    """people: {pid: x} → BGR frame and detections."""
    img = np.full((H, W, 3), 128, np.uint8)
    boxes = []
    for pid, x in people.items():
        img[60:180, x : x + 40] = COLOURS[pid]
        boxes.append([x, 60, x + 40, 180])
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    return img, sv.Detections(xyxy=xyxy, confidence=np.full(len(xyxy), 0.9, np.float32))


def _run(schedule, frames, config=None):
    """schedule(cam, t) → {pid: x}; returns tracker, per-frame objects, events."""
    embedder = ColourEmbedder()
    mct = MultiCameraTracker(2, embedder, fps=10, config=config or PipelineConfig(threshold=0.95, lost_seconds=0.5))
    objects, events = [], []
    for t in range(frames):
        packets, dets = [], []
        for cam in (0, 1):
            img, d = _frame(schedule(cam, t))
            packets.append(FramePacket(cam, t, img, t / 10.0))
            dets.append(d)
        result = mct.step(packets, dets)
        objects += result.objects
        events += result.events
    return mct, embedder, objects, events


def _walk(t, start, frames, speed=6):
    return 20 + speed * (t - start) if start <= t < start + frames else None


def test_hand_off_between_cameras_keeps_the_global_id():
    def schedule(cam, t):
        people = {}
        if cam == 0:
            for pid, start in ((1, 0), (2, 5)):
                x = _walk(t, start, 30)
                if x is not None:
                    people[pid] = x + 60 * (pid - 1)
        else:
            for pid, start in ((2, 45), (1, 50)):
                x = _walk(t, start, 30)
                if x is not None:
                    people[pid] = x + 60 * (pid - 1)
        return people

    mct, embedder, objects, events = _run(schedule, 85)
    person_to_gid = {}
    for o in objects:
        if o.global_id is None:
            continue
        (pid,) = [p for p, x in schedule(o.camera, o.frame).items() if abs(x - o.xyxy[0]) < 8]
        person_to_gid.setdefault(pid, set()).add(o.global_id)
    # each person has one global id in both cameras, and the two differ
    assert all(len(v) == 1 for v in person_to_gid.values())
    assert person_to_gid[1] != person_to_gid[2]
    kinds = [e["event"] for e in events]
    assert kinds.count("handoff") == 2 and kinds.count("global_id_assigned") == 4
    assert len(mct.gallery) == 2
    for e in events:
        if e["event"] == "handoff":
            assert e["camera"] == 1 and e["from_camera"] == 0 and e["similarity"] >= 0.95
    # one batched re-id call per tick at most, never more crops than tracks
    assert len(embedder.calls) <= 85 and max(embedder.calls) <= 2


def test_reentry_in_same_camera_and_lookalike_gets_new_id():
    def schedule(cam, t):
        if cam == 1:
            return {}
        x = _walk(t, 0, 20)
        if x is None:
            x = _walk(t, 40, 20)  # back after 2 s: track ended (lost 0.5 s)
        people = {1: x} if x is not None else {}
        if 45 <= t < 60:
            people[3] = 250  # someone else
        return people

    mct, _, objects, events = _run(schedule, 60)
    kinds = [e["event"] for e in events]
    assert kinds.count("reentry") == 1
    assert kinds.count("track_end") >= 1
    tracks_of_1 = {o.track_id for o in objects if o.global_id == 1}
    assert len(tracks_of_1) == 2  # two local tracks, one global id
    assert {o.global_id for o in objects if o.xyxy[0] == 250} - {None} == {2}


def test_empty_ticks_and_empty_frames():
    mct = MultiCameraTracker(2, ColourEmbedder(), fps=10)
    assert mct.step([], []).objects == []
    img = np.zeros((H, W, 3), np.uint8)
    empty = sv.Detections.empty()
    result = mct.step([FramePacket(0, 0, img, 0.0), FramePacket(1, 0, img, 0.0)], [empty, empty])
    assert result.objects == [] and result.events == [] and result.embedded == 0


def test_boxes_cut_by_the_border_are_not_embedded():
    embedder = ColourEmbedder()
    mct = MultiCameraTracker(1, embedder, fps=10)
    for t in range(6):
        img, d = _frame({1: 0})  # touching the left edge
        mct.step([FramePacket(0, t, img, t / 10)], [d])
    assert embedder.calls == []


def test_track_that_jumps_to_another_person_is_re_identified():
    # Person 1 walks; at t=20 the local track continues on person 3 (same box
    # positions, different look), as after two people merge and split.
    def schedule(cam, t):
        if cam == 1:
            return {}
        return {1 if t < 20 else 3: 20 + 4 * t}

    config = PipelineConfig(threshold=0.95, embed_every=1, switch_similarity=0.9, switch_patience=2)
    mct, _, objects, events = _run(schedule, 40, config)
    assert len({o.track_id for o in objects}) == 1  # one local track throughout
    assert [e["event"] for e in events].count("appearance_change") == 1
    late = {o.global_id for o in objects if o.frame >= 30}
    early = {o.global_id for o in objects if 5 <= o.frame < 20}
    assert early == {1} and late == {2}


def test_pipeline_config_refuses_unknown_linkage_and_negative_gap():
    import pytest

    with pytest.raises(ValueError, match="linkage"):
        PipelineConfig(linkage="single")
    with pytest.raises(ValueError, match="max_gap_seconds"):
        PipelineConfig(max_gap_seconds=-1.0)
    with pytest.raises(ValueError, match="mutual_k"):
        PipelineConfig(mutual_k=0)
    assert PipelineConfig(max_gap_seconds=None).max_gap_seconds is None
