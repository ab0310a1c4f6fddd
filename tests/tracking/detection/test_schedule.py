"""The detection scheduler: interval, staggering, forced detections, motion gating per tile."""

import numpy as np
import pytest
import supervision as sv

from mlfn_keras.tracking.core.frames import FramePacket
from mlfn_keras.tracking.core.pipeline import MultiCameraTracker, PipelineConfig
from mlfn_keras.tracking.core.tracker import CameraTracker
from mlfn_keras.tracking.detection.schedule import DetectionScheduler, ScheduleConfig
from mlfn_keras.tracking.detection.tiling import Tile


class FrameDetector:
    """One box per frame; records which (camera, frame) it saw."""

    def __init__(self):
        self.seen = []

    def __call__(self, frames, cameras=(), indices=()):
        self.seen += list(zip(cameras, indices))
        return [sv.Detections(xyxy=np.array([[10, 10, 30, 70]], np.float32), confidence=np.array([0.9], np.float32))
                for _ in frames]


class TiledDetector:
    """Two side-by-side tiles; a tile's output is one box whose score is the tile's mean pixel / 255."""

    def __init__(self):
        self.runs = []

    def layout(self, width, height):
        return [Tile(0, 0, width // 2, height), Tile(width // 2, 0, width, height)]

    def detect_tiles(self, frames, tiles):
        self.runs.append([len(t) for t in tiles])
        out = []
        for frame, frame_tiles in zip(frames, tiles):
            out.append([(np.array([[1, 1, 5, 20]], np.float32),
                         np.array([frame[t.y0:t.y1, t.x0:t.x1].mean() / 255], np.float32)) for t in frame_tiles])
        return out

    def merge_tiles(self, shape, tiles, outputs):
        xyxy = np.concatenate([o[0] + [t.x0, t.y0, t.x0, t.y0] for t, o in zip(tiles, outputs)])
        return sv.Detections(xyxy=xyxy.astype(np.float32), confidence=np.concatenate([o[1] for o in outputs]))


def _packet(cam, index, image=None):
    return FramePacket(cam, index, np.zeros((64, 128, 3), np.uint8) if image is None else image, index / 10)


def test_every_frame_is_the_detector_alone():
    det = FrameDetector()
    scheduler = DetectionScheduler(det)
    out = scheduler([_packet(0, 0), _packet(1, 0)])
    assert det.seen == [(0, 0), (1, 0)] and all(isinstance(d, sv.Detections) for d in out)
    assert not scheduler.gating


def test_interval_is_staggered_across_cameras_and_predicts_in_between():
    det = FrameDetector()
    scheduler = DetectionScheduler(det, ScheduleConfig(every=3, force_uncertain=False))
    detected = {0: [], 1: []}
    for t in range(9):
        out = scheduler([_packet(0, t), _packet(1, t)])
        for cam, d in zip((0, 1), out):
            if d is not None:
                detected[cam].append(t)
    assert detected[0] == [0, 3, 6]
    assert detected[1] == [0, 2, 5, 8]  # its first frame, then on its own phase
    assert scheduler.stats.frames == 18 and scheduler.stats.detected == 7 and scheduler.stats.forced == 0


def test_uncertain_tracks_force_the_next_detection():
    det = FrameDetector()
    tracker = CameraTracker(fps=10, min_hits=3)
    scheduler = DetectionScheduler(det, ScheduleConfig(every=10))
    got = []
    for t in range(6):
        (d,) = scheduler([_packet(0, t)], [tracker])
        update = tracker.update(d) if d is not None else tracker.predict()
        got.append(update.measured)
    # detections until the track is confirmed (3 hits), then predictions
    assert got == [True, True, True, False, False, False]
    assert scheduler.stats.forced == 2


def test_motion_gating_runs_only_the_tiles_that_changed():
    det = TiledDetector()
    scheduler = DetectionScheduler(det, ScheduleConfig(motion=True, motion_scale=0.5))
    still = np.full((64, 128, 3), 100, np.uint8)
    (first,) = scheduler([_packet(0, 0, still.copy())])
    (same,) = scheduler([_packet(0, 1, still.copy())])
    assert det.runs == [[2]]  # nothing moved: the second frame ran no tile
    np.testing.assert_array_equal(same.xyxy, first.xyxy)
    moved = still.copy()
    moved[10:40, 80:100] = 250  # something appears in the right tile only
    (d,) = scheduler([_packet(0, 2, moved)])
    assert det.runs == [[2], [1]]
    assert d.confidence[0] == pytest.approx(100 / 255) and d.confidence[1] > 100 / 255
    assert scheduler.stats.tiles_run == 3 and scheduler.stats.tiles_reused == 3


def test_motion_gating_of_a_detector_without_tiles_and_camera_thread_prepare():
    det = FrameDetector()
    scheduler = DetectionScheduler(det, ScheduleConfig(motion=True))
    packet = _packet(0, 0)
    scheduler.prepare(packet)  # what the camera thread does
    assert packet.motion is not None and packet.motion.shape == (16, 32)
    scheduler([packet])
    scheduler([_packet(0, 1)])
    assert det.seen == [(0, 0)]
    noisy = np.random.default_rng(0).integers(0, 255, (64, 128, 3), np.uint8)
    scheduler([_packet(0, 2, noisy)])
    assert det.seen == [(0, 0), (0, 2)]


def test_schedule_config_refuses_bad_values():
    with pytest.raises(ValueError, match="every"):
        ScheduleConfig(every=0)
    with pytest.raises(ValueError, match="motion_scale"):
        ScheduleConfig(motion_scale=0)
    assert ScheduleConfig(every=3, motion=True).label == "every 3rd frame + motion gating"


def test_pipeline_predicts_undetected_frames_and_embeds_only_detected_boxes():
    class Embedder:
        def __init__(self):
            self.crops = 0

        def __call__(self, crops):
            self.crops += len(crops)
            return np.tile(np.eye(1, 8, dtype=np.float32), (len(crops), 1))

    emb = Embedder()
    mct = MultiCameraTracker(1, emb, fps=10, config=PipelineConfig(threshold=0.9, min_hits=1, embed_every=1))
    image = np.zeros((240, 320, 3), np.uint8)
    tracks = set()
    for t in range(12):
        x = 40 + 4 * t
        det = sv.Detections(xyxy=np.array([[x, 60, x + 40, 180]], np.float32), confidence=np.array([0.9], np.float32))
        before = emb.crops
        result = mct.step([FramePacket(0, t, image, t / 10)], [det if t % 3 == 0 else None])
        if t % 3:
            assert emb.crops == before  # predicted boxes are not embedded
        elif t >= 3:
            assert emb.crops > before
        if t >= 3:  # confirmed at its second detection (tentative tracks are not predicted)
            assert len(result.objects) == 1
        tracks.update(o.track_id for o in result.objects)
    assert tracks == {1}


def test_run_multicam_takes_a_scheduler_and_makes_motion_images_on_the_camera_threads(tmp_path):
    from mlfn_keras.tracking.app.runner import RunOptions, run_multicam
    from mlfn_keras.tracking.app.sources import SourceSpec

    def frames():
        for t in range(12):
            img = np.full((48, 64, 3), 90, np.uint8)
            img[10:40, 4 + 3 * t : 14 + 3 * t] = 220  # someone walking
            yield img

    import threading

    class Scheduler(DetectionScheduler):
        threads = set()

        def prepare(self, packet):
            if packet.motion is None:  # the work, not the main loop's check that it was done
                self.threads.add(threading.current_thread().name)
            super().prepare(packet)

    det = FrameDetector()
    scheduler = Scheduler(det, ScheduleConfig(every=3, motion=True, force_uncertain=False))
    specs = [SourceSpec("generator", frames, f"cam{i}", fps=10) for i in range(2)]
    summary = run_multicam(specs, scheduler, lambda crops: np.ones((len(crops), 4), np.float32) / 2, None,
                           RunOptions(progress=False, log=lambda line: None))
    assert summary.ticks == 12 and [c["frames"] for c in summary.cameras] == [12, 12]
    assert summary.detection["frames"] == 24 and summary.detection["detected"] == 9  # staggered: 4 + 5
    assert summary.cpu_seconds > 0
    assert Scheduler.threads == {"camera-cam0", "camera-cam1"}  # motion images made off the main loop
    assert len(det.seen) == 9 - summary.detection["tiles_reused"]


def test_default_schedule_gates_tiled_detectors_only_and_keeps_every_frame():
    from mlfn_keras.tracking.detection.schedule import default_schedule

    assert default_schedule(TiledDetector()) == ScheduleConfig(every=1, motion=True)
    assert default_schedule(FrameDetector()) == ScheduleConfig(every=1, motion=False)
    assert default_schedule(TiledDetector(), every=3, motion=False) == ScheduleConfig(every=3, motion=False)
