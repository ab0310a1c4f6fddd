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


def int8_parity(
    fp32_detector,
    int8_detector,
    frames: Iterable[tuple[int, np.ndarray]],
    cameras: Sequence,
    camera_gt: Sequence[np.ndarray],
    split: str = "full",
    tolerance: float | None = None,
) -> dict:
    """The int8 detector's parity gate: recall and precision within ``tolerance`` of fp32's on the same frames.

    Both detectors see every frame (one after the other, so a busy machine
    slows both alike); :func:`score_split` counts their matches at the
    detector's own score threshold *and* at the scores where the tracker
    decides (ByteTrack's activation and high thresholds,
    :class:`~mlfn_keras.tracking.core.pipeline.PipelineConfig`): a graph whose
    scores shift keeps recall at the low threshold but starts and keeps
    fewer tracks (measured: within 0.4 points at 0.12, 10 points of
    cross-camera IDF1 lost on PETS09 ``lr``).

    Args:
        fp32_detector: the reference.
        int8_detector: the candidate.
        frames: ``(video frame index, BGR frame)`` pairs (PETS09).
        cameras: the split's pseudo-cameras.
        camera_gt: their ground truth (:func:`mlfn_keras.data.pets09.camera_ground_truth`).
        split: the split's name.
        tolerance: largest allowed change of recall and of precision (a
            fraction; default :data:`~mlfn_keras.tracking.detection.quantize.PARITY_TOLERANCE`).

    Returns:
        ``{"fp32": {...}, "int8": {...}, "frames", "split", "tolerance", "passed"}``
        with recall, precision and CPU milliseconds per camera frame of each,
        and ``"at_scores"``: per tracker threshold, both graphs' recall and precision.
    """
    from mlfn_keras.tracking.core.pipeline import PipelineConfig
    from mlfn_keras.tracking.detection.quantize import PARITY_TOLERANCE

    tolerance = PARITY_TOLERANCE if tolerance is None else tolerance
    tracker = PipelineConfig()
    thresholds = sorted({tracker.activation_threshold, tracker.high_threshold})
    frames = list(frames)
    ranges = {"gate": (0, 10**9)}
    scores = {
        name: score_split(det, frames, cameras, camera_gt, split, ranges, thresholds=thresholds)
        for name, det in (("fp32", fp32_detector), ("int8", int8_detector))
    }
    out: dict = {"split": split, "frames": len(frames), "tolerance": tolerance, "at_scores": {}}
    for name, s in scores.items():
        c = s.total
        out[name] = {"recall": c.recall, "precision": c.precision, "tp": c.tp, "fp": c.fp, "fn": c.fn,
                     "ms_per_frame": s.ms_per_frame, "cpu_ms_per_frame": s.cpu_ms_per_frame}
    within = [(out["fp32"], out["int8"])]
    for t in thresholds:
        pair = [{"recall": scores[n].sweep[t]["gate"].recall, "precision": scores[n].sweep[t]["gate"].precision}
                for n in ("fp32", "int8")]
        out["at_scores"][str(t)] = {"fp32": pair[0], "int8": pair[1]}
        within.append(tuple(pair))
    out["passed"] = all(  # 1e-9: exactly one point off is within one point
        abs(q["recall"] - f["recall"]) <= tolerance + 1e-9 and abs(q["precision"] - f["precision"]) <= tolerance + 1e-9
        for f, q in within
    )
    return out


def video_frames(path, start: int = 0, stop: int | None = None, every: int = 1):
    """``(index, BGR frame)`` for every ``every``-th frame of ``[start, stop)`` of a video."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        from mlfn_keras.errors import InputPathError

        raise InputPathError(f"cannot open {str(path)!r}; expected a video file OpenCV can read")
    try:
        index = 0
        while stop is None or index < stop:
            ok, frame = cap.read()
            if not ok:
                return
            if index >= start and (index - start) % every == 0:
                yield index, frame
            index += 1
    finally:
        cap.release()


def build_int8_detector(
    video=None, calibration: str | None = None, tiles: int = 64, every: int = 2, threads: int | None = None,
    progress: bool = True, log=print,
):
    """Quantises the SSDLite detector to int8 and runs its parity gate on PETS09; returns the record.

    Calibration: detector tiles of PETS09 frames 0–399 (or of ``calibration``,
    a video of the user's site). Gate: full 768×576 PETS09 frames 400–794,
    every ``every``-th, recall and precision within 1 point of fp32's
    (:func:`int8_parity`). The verdict is written into the record, which
    ``--detector ssdlite`` reads.
    """
    import cv2
    from mlfn_keras.progress import tqdm

    from mlfn_keras.data import pets09
    from mlfn_keras.tracking.detection.quantize import calibration_tiles, quantize_ssdlite, write_record
    from mlfn_keras.tracking.detection.ssdlite import SSDLiteDetector

    video = pets09.locate_video(video, log=log)
    fp32 = SSDLiteDetector(threads=threads, precision="fp32")
    if calibration:
        cap = cv2.VideoCapture(str(calibration))
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or 1000
        cap.release()
        source, frames = str(calibration), video_frames(calibration, 0, None, max(1, total // tiles))
    else:
        source = f"PETS09 frames 0-{pets09.HALF - 1}"
        frames = video_frames(video, 0, pets09.HALF, max(1, 2 * pets09.HALF // tiles))
    record = quantize_ssdlite(fp32.onnx_path, calibration_tiles(fp32, (f for _, f in frames), tiles), source, log=log)
    candidate = SSDLiteDetector(threads=threads, model_path=record.model)
    cameras = pets09.split_cameras("full")
    camera_gt = [pets09.camera_ground_truth(pets09.load_ground_truth(), c) for c in cameras]
    gate = video_frames(video, pets09.HALF, pets09.NUM_FRAMES, every)
    n = (pets09.NUM_FRAMES - pets09.HALF + every - 1) // every
    gate = tqdm(gate, total=n, desc="int8 parity gate", disable=not progress, leave=False)
    record.parity = int8_parity(fp32, candidate, gate, cameras, camera_gt, "full")
    record.parity["frames_range"] = f"{pets09.HALF}-{pets09.NUM_FRAMES - 1} every {every}"
    write_record(record, fp32.onnx_path)
    return record
