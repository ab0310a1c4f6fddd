"""Typed events: what events.jsonl holds, and per-camera results of a tick."""

import json

import numpy as np
import supervision as sv

from mlfn_keras.tracking.app.recorder import RunRecorder
from mlfn_keras.tracking.core import events as ev
from mlfn_keras.tracking.core.frames import FramePacket
from mlfn_keras.tracking.core.pipeline import MultiCameraTracker, PipelineConfig


def test_events_serialise_with_their_kind_and_null_for_nan():
    e = ev.GlobalIdAssigned(1, 7, 0.123456, track=3, global_id=2, new=False, similarity=float("nan"))
    d = e.to_dict()
    assert d == {"event": "global_id_assigned", "camera": 1, "frame": 7, "time": 0.1235, "track": 3, "global_id": 2,
                 "new": False, "similarity": None}
    assert e["event"] == "global_id_assigned" and ev.Reentry(0, 1, 0.0, 1, 1, 0, 0.9).to_dict()["event"] == "reentry"
    assert ev.as_dict({"event": "stream_end", "camera": 0}) == {"event": "stream_end", "camera": 0}


def test_recorder_writes_typed_and_plain_events(tmp_path):
    rec = RunRecorder(str(tmp_path), ["cam0"], [10.0], write_video=False)
    rec.events([ev.IdentitiesMerged(-1, -1, 2.0, kept=1, removed=4, similarity=0.8), {"event": "camera_message", "message": "x"}])
    rec.close({})
    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [line["event"] for line in lines] == ["identities_merged", "camera_message"]
    assert lines[0]["kept"] == 1 and lines[0]["removed"] == 4


def test_tick_results_come_per_camera_as_detections():
    class Flat:
        def __call__(self, crops):
            return np.tile(np.array([[1.0, 0.0]], np.float32), (len(crops), 1))

    mct = MultiCameraTracker(2, Flat(), fps=10, config=PipelineConfig(threshold=0.5))
    img = np.full((240, 320, 3), 90, np.uint8)
    dets = sv.Detections(xyxy=np.array([[50, 40, 90, 160]], np.float32), confidence=np.array([0.9], np.float32))
    for t in range(4):
        result = mct.step([FramePacket(0, t, img, t / 10), FramePacket(1, t, img, t / 10)], [dets, sv.Detections.empty()])
    assert set(result.cameras) == {0, 1}
    cam0 = result.cameras[0]
    assert len(cam0.detections) == 1 and cam0.detections.tracker_id.tolist() == [1]
    assert cam0.detections.data["global_id"].tolist() == [cam0.objects[0].global_id] == [1]
    assert len(result.cameras[1].detections) == 0 and result.cameras[1].objects == []
    assert all(isinstance(e, ev.Event) for e in result.events)
