"""Mining tracklets from unlabelled footage: the project's detector and per-camera tracker.

Every camera's frames go through the detector (`mlfn_keras.tracking.detection.detectors`)
and one `CameraTracker` (ByteTrack). Each confirmed track becomes a
:class:`~mlfn_keras.tracking.core.association.tracklets.Tracklet` (the
tracker's own type) with its crops (only boxes that pass
`mlfn_keras.tracking.core.reid.good_box`: tall enough, person-shaped, not cut by the
frame edge), resized to the model's input, evenly thinned to at most
``max_crops`` per tracklet, and the frames it was seen on. Tracklets shorter
than ``min_crops`` good boxes are dropped (detector noise, people passing at
the border).

What the footage itself says, with no labels (TAUDL, Li et al. ECCV 2018):

* one tracklet is one person;
* two tracklets of one camera seen on a common frame are two people
  (:func:`~mlfn_keras.tracking.core.association.tracklets.cannot_link`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlfn_keras.errors import UserError
from mlfn_keras.preprocessing import crop_rgb
from mlfn_keras.tracking.core.association.tracklets import Tracklet


@dataclass
class CameraReport:
    """What mining saw in one camera."""

    name: str
    frames: int = 0
    corrupt_frames: int = 0
    detections: int = 0
    tracks: int = 0
    tracklets_kept: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class MiningResult:
    """Tracklets of all cameras and per-camera reports."""

    tracklets: list[Tracklet]
    cameras: list[CameraReport]
    seconds: float


def _thin(n: int, keep: int) -> np.ndarray:
    if n <= keep:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, keep).round().astype(int))


def _cut(frame: np.ndarray, xyxy, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(crop_rgb(frame, xyxy), (size[1], size[0]), interpolation=cv2.INTER_AREA)


def mine_camera(frames, detector, camera: int = 0, name: str = "cam0", fps: float = 15.0,
                image_size: tuple[int, int] = (128, 64), min_crops: int = 4, max_crops: int = 32,
                min_height: float = 48.0, every: int = 1, deadline: float | None = None,
                progress=None) -> tuple[list[Tracklet], CameraReport]:
    """Detects and tracks people over one camera's frames and cuts their tracklets.

    Args:
        frames: iterable of ``(index, BGR frame or None)``; ``None`` is a corrupt
            frame (counted, skipped; the tracker still advances).
        detector: a `mlfn_keras.tracking.detection.detectors.Detector`.
        camera: camera index stored in the tracklets.
        name: camera name for messages.
        fps: frame rate given to the tracker.
        image_size: ``(H, W)`` crops are resized to (the model's input).
        min_crops: tracklets with fewer good boxes are dropped.
        max_crops: crops kept per tracklet (evenly spaced in time).
        min_height: smallest box height (pixels) used as a crop.
        every: cut crops from every ``every``-th frame only (tracking uses all).
        deadline: ``time.monotonic()`` after which reading stops (live sources).
        progress: a tqdm bar to advance per frame.
    """
    from mlfn_keras.tracking.core.reid import good_box
    from mlfn_keras.tracking.core.tracker import CameraTracker

    tracker = CameraTracker(fps=fps)
    report = CameraReport(name)
    boxes: dict[int, list[tuple[int, np.ndarray]]] = {}
    seen: dict[int, list[int]] = {}
    for index, frame in frames:
        if deadline is not None and time.monotonic() > deadline:
            report.messages.append(f"[{name}] stopped at frame {index}: time budget for reading reached")
            break
        if progress is not None:
            progress.update(1)
        if frame is None:
            report.corrupt_frames += 1
            tracker.update(None)
            continue
        report.frames += 1
        detections = detector([frame], [camera], [index])[0]
        report.detections += len(detections)
        update = tracker.update(detections)
        dets = update.detections
        for xyxy, tid in zip(dets.xyxy, dets.tracker_id):
            tid = int(tid)
            seen.setdefault(tid, []).append(index)
            if index % every == 0 and good_box(xyxy, frame.shape, min_height=min_height):
                boxes.setdefault(tid, []).append((index, _cut(frame, xyxy, image_size)))
    report.tracks = len(seen)
    tracklets = []
    for tid, items in sorted(boxes.items()):
        if len(items) < min_crops:
            continue
        keep = _thin(len(items), max_crops)
        first, last = min(seen[tid]), max(seen[tid])
        tracklets.append(Tracklet(
            (camera, tid, 0), first, last, first / (fps or 1.0), last / (fps or 1.0), seen=frozenset(seen[tid]),
            crops=np.stack([items[i][1] for i in keep]), crop_frames=np.array([items[i][0] for i in keep]),
        ))
    report.tracklets_kept = len(tracklets)
    return tracklets, report


def stream_frames(spec, camera: int, deadline: float | None = None, messages: list | None = None,
                  stats: dict | None = None):
    """``(index, frame)`` pairs from a `SourceSpec` (video, image folder, live) via `CameraStream`.

    Corrupt frames of files and folders are skipped by the stream and reported
    in ``messages``; live sources run until ``deadline``.
    """
    from mlfn_keras.tracking.app.sources import CameraStream

    stream = CameraStream(spec, camera, queue_size=8, max_retries=3,
                          on_message=None if messages is None else messages.append).start()
    try:
        while True:
            if deadline is not None and time.monotonic() > deadline:
                return
            packet = stream.read(timeout=0.5)
            if packet is None:
                if stream.finished:
                    return
                continue
            yield packet.index, packet.image
    finally:
        stream.stop()
        if stats is not None:
            stats["stream"] = stream.stats


def mine_tracklets(specs: Sequence, detector, image_size: tuple[int, int] = (128, 64), min_crops: int = 4,
                   max_crops: int = 32, min_height: float = 48.0, every: int = 1,
                   live_seconds: float | None = None, progress: bool = True,
                   log: Callable[[str], None] = print) -> MiningResult:
    """Runs detector + tracker over every camera (`SourceSpec`) in turn and collects tracklets."""
    from mlfn_keras.progress import tqdm

    from mlfn_keras.tracking.app.cameras import probe_fps
    from mlfn_keras.tracking.app.sources import probe_source

    start = time.monotonic()
    tracklets: list[Tracklet] = []
    reports: list[CameraReport] = []
    for camera, spec in enumerate(specs):
        deadline = time.monotonic() + live_seconds if (spec.live and live_seconds) else None
        messages: list[str] = []
        stats: dict = {}
        total = probe_source(spec).frames
        bar = tqdm(total=total, desc=f"tracking {spec.name}", unit="frame", disable=not progress, leave=False)
        try:
            found, report = mine_camera(
                stream_frames(spec, camera, deadline, messages, stats), detector, camera=camera, name=spec.name,
                fps=probe_fps(spec), image_size=image_size, min_crops=min_crops, max_crops=max_crops,
                min_height=min_height, every=every, progress=bar)
        finally:
            bar.close()
        report.messages = messages + report.messages
        if "stream" in stats:
            report.corrupt_frames += stats["stream"].corrupt_skipped
        for m in report.messages:
            log(m)
        if report.frames == 0:
            log(f"[{spec.name}] no readable frame at all: this camera adds nothing")
        elif report.tracks == 0:
            log(f"[{spec.name}] {report.frames} frames but nobody was detected and tracked: this camera adds nothing")
        tracklets += found
        reports.append(report)
    return MiningResult(tracklets, reports, time.monotonic() - start)


def check_enough(tracklets: Sequence[Tracklet], reports: Sequence[CameraReport]) -> None:
    """Raises a `UserError` that says why when the footage cannot teach anything.

    Learning needs at least two tracklets that are known to be different
    people, or at least three tracklets to contrast.
    """
    frames = sum(r.frames for r in reports)
    if frames == 0:
        raise UserError("no readable frame in any of the given sources; expected videos or image folders "
                        "with people walking (check the paths and codecs)")
    if not tracklets:
        raise UserError(
            f"no usable tracklet in {frames} frames ({sum(r.detections for r in reports)} detections, "
            f"{sum(r.tracks for r in reports)} tracks): the footage shows no people the detector finds, or they are "
            "too small or too briefly visible; expected footage with people walking (try --detector or "
            "--min-height / --min-crops)")
    if len(tracklets) < 2:
        raise UserError(
            "only one tracklet (one person) found: adaptation learns by telling people apart and needs at "
            "least two people; give more or longer footage")
