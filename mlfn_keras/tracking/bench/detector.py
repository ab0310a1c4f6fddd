"""Scores a detector on PETS09 pseudo-cameras: recall/precision at IoU 0.5 per frame range, and its speed.

Used by ``benchmarks/detector_pets09.py``. Each video frame is cut into the
split's pseudo-cameras (:data:`mlfn_keras.data.pets09.SPLITS`) and all cameras
of a frame go to the detector in one call, as in the demo's ticks. Ground
truth with ``consider = 0`` (MOT15's flag, or less than 60 % inside a camera)
is an ignore region (:mod:`~mlfn_keras.tracking.eval.detection`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlfn_keras.tracking.eval.detection import DetectionCounts, count_frame

#: Frame ranges reported by default: settings were chosen on the first.
DEFAULT_RANGES: dict[str, tuple[int, int]] = {"frames 0-399": (0, 400), "frames 400-794": (400, 795)}


@dataclass
class DetectorScore:
    """A detector's counts per frame range on one split, and its time per camera frame."""

    split: str
    counts: dict[str, DetectionCounts] = field(default_factory=dict)
    #: ``{score threshold: {range: counts}}`` for the thresholds asked for (detections re-filtered, not re-run).
    sweep: dict[float, dict[str, DetectionCounts]] = field(default_factory=dict)
    seconds: float = 0.0
    #: CPU time of the whole process (all threads) in the detector calls; far less
    #: sensitive than wall time to other jobs sharing the machine.
    cpu_seconds: float = 0.0
    camera_frames: int = 0
    ticks: int = 0

    @property
    def total(self) -> DetectionCounts:
        """Counts over all ranges."""
        out = DetectionCounts()
        for c in self.counts.values():
            out += c
        return out

    @property
    def ms_per_frame(self) -> float:
        """Detector milliseconds per camera frame (a tick's call divided by its cameras)."""
        return 1000.0 * self.seconds / max(self.camera_frames, 1)

    @property
    def cpu_ms_per_frame(self) -> float:
        """Process CPU milliseconds (all threads) per camera frame."""
        return 1000.0 * self.cpu_seconds / max(self.camera_frames, 1)

    @property
    def ms_per_tick(self) -> float:
        """Detector milliseconds per call with all cameras of a frame."""
        return 1000.0 * self.seconds / max(self.ticks, 1)


def _xyxy(rows: np.ndarray) -> np.ndarray:
    return np.stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]], axis=1)


def score_split(
    detector,
    frames: Iterable[tuple[int, np.ndarray]],
    cameras: Sequence,
    camera_gt: Sequence[np.ndarray],
    split: str,
    ranges: dict[str, tuple[int, int]] | None = None,
    iou: float = 0.5,
    thresholds: Sequence[float] = (),
) -> DetectorScore:
    """Runs ``detector`` over ``frames`` cut into ``cameras`` and counts matches per frame range.

    Args:
        detector: called as ``detector(images, camera_indices, frame_indices)``
            returning one ``sv.Detections`` per image.
        frames: ``(video frame index, BGR frame)`` pairs.
        cameras: pseudo-cameras with ``start, stop, x0, x1`` (video frames
            ``[start, stop)``, columns ``[x0, x1)``).
        camera_gt: per camera, rows ``frame, id, x, y, w, h, consider`` in
            the camera's own frames (from its ``start``) and pixels.
        split: the split's name, for the report.
        ranges: named ``[first, stop)`` ranges of video frame indices (default
            :data:`DEFAULT_RANGES`); a frame outside every range is skipped.
        iou: the match threshold.
        thresholds: also count detections at or above each of these scores
            (a precision/recall sweep from the same run; only thresholds
            above the detector's own make a difference).
    """
    ranges = DEFAULT_RANGES if ranges is None else ranges
    if len(cameras) != len(camera_gt):
        raise ValueError(f"score_split got {len(cameras)} cameras but {len(camera_gt)} ground-truth arrays.")
    by_frame = [{int(f): g[g[:, 0] == f] for f in np.unique(g[:, 0])} for g in camera_gt]
    score = DetectorScore(split, {name: DetectionCounts() for name in ranges})
    score.sweep = {float(t): {name: DetectionCounts() for name in ranges} for t in thresholds}
    empty = np.zeros((0, 7))
    for index, frame in frames:
        label = next((name for name, (a, b) in ranges.items() if a <= index < b), None)
        if label is None:
            continue
        live = [k for k, c in enumerate(cameras) if c.start <= index < c.stop]
        if not live:
            continue
        images = [np.ascontiguousarray(frame[:, cameras[k].x0 : cameras[k].x1]) for k in live]
        local = [index - cameras[k].start for k in live]
        t0, c0 = time.perf_counter(), time.process_time()
        detections = detector(images, live, local)
        score.seconds += time.perf_counter() - t0
        score.cpu_seconds += time.process_time() - c0
        score.ticks += 1
        score.camera_frames += len(live)
        for k, j, det in zip(live, local, detections):
            g = by_frame[k].get(j, empty)
            score.counts[label] += count_frame(det.xyxy, _xyxy(g), g[:, 6], iou)
            for t, counts in score.sweep.items():
                keep = det.confidence >= t
                counts[label] += count_frame(det.xyxy[keep], _xyxy(g), g[:, 6], iou)
    return score
