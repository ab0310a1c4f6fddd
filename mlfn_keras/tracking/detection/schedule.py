"""Detecting only where and when it pays: a detection interval and motion gating.

Detection is most of an edge box's work (one network run per tile per frame),
while people move a few pixels between frames. :class:`DetectionScheduler`
decides, each tick, which cameras and which of their tiles are detected, and
calls the detector on just those:

* **Interval** (``every=k``, ``--detect-every k``): a camera is detected on
  every ``k``-th frame; in between, its tracks follow their Kalman
  predictions (:meth:`~mlfn_keras.tracking.core.tracker.CameraTracker.predict`).
  Cameras are staggered (camera ``c`` on frames where ``(n + c) % k == 0``)
  so every tick carries about the same load. A detection is *forced* on the
  next frame when the camera's tracks are uncertain
  (:class:`~mlfn_keras.tracking.core.tracker.TrackerStatus`: a track waiting for
  confirmation, a track the last detection lost, two tracked boxes
  overlapping), the moments where a prediction is most likely wrong.
* **Motion gating** (``motion=True``, ``--motion-gating``): when a camera is
  detected, each tile of its frame is compared with the same tile at that
  tile's last detection on a small, blurred grey copy of the frame (made on
  the camera's reader thread, :meth:`DetectionScheduler.prepare`). A tile
  where nothing changed is not run again: its previous boxes are reused,
  which is what the network would return for the same pixels. Detectors
  without tiles are gated as one tile, the whole frame.

Frigate detects only in motion regions; NVIDIA DeepStream's ``interval``
detects every ``k``-th frame and lets the tracker carry boxes in between.
Both trade detection work for the risk of a late or missed box; the
throughput benchmark (``benchmarks/throughput.py``, ``docs/speed.md``) measures
that trade against tracking quality.

Example:

    scheduler = DetectionScheduler(build_detector("ssdlite"), ScheduleConfig(every=3, motion=True))
    detections = scheduler(packets, trackers)   # sv.Detections, or None: predict this frame
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import supervision as sv

from mlfn_keras.tracking.core.frames import FramePacket
from mlfn_keras.tracking.core.tracker import CameraTracker


@dataclass(frozen=True)
class ScheduleConfig:
    """When and where to detect.

    Attributes:
        every: detect each camera every ``every`` frames (1: every frame);
            tracks are predicted in between.
        force_uncertain: detect the next frame anyway when the camera's tracks
            are uncertain (see :class:`~mlfn_keras.tracking.core.tracker.TrackerStatus`).
        overlap_iou: IoU between two tracked boxes that makes them uncertain.
        motion: skip tiles with no motion since their last detection.
        motion_scale: size of the grey motion image relative to the frame.
        motion_threshold: grey-level change (0–255, after a 5×5 blur) that
            counts as motion in a pixel of the motion image.
        motion_pixels: share of a tile's motion-image pixels that must change
            for the tile to be detected again.
    """

    every: int = 1
    force_uncertain: bool = True
    overlap_iou: float = 0.3
    motion: bool = False
    motion_scale: float = 0.25
    motion_threshold: int = 18
    motion_pixels: float = 0.001

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"every (--detect-every) must be >= 1; got {self.every!r}.")
        if not 0 < self.motion_scale <= 1:
            raise ValueError(f"motion_scale must be in (0, 1]; got {self.motion_scale!r}.")
        if not 0 <= self.motion_pixels < 1:
            raise ValueError(f"motion_pixels must be in [0, 1); got {self.motion_pixels!r}.")

    @property
    def label(self) -> str:
        """A short description (``"every frame"``, ``"every 3rd frame + motion gating"``)."""
        text = "every frame" if self.every == 1 else f"every {_ordinal(self.every)} frame"
        return text + (" + motion gating" if self.motion else "")


def default_schedule(detector, every: int | None = None, motion: bool | None = None) -> ScheduleConfig:
    """The demo's schedule unless told otherwise (``--detect-every``, ``--motion-gating``).

    Every frame is detected: on PETS09 a detection interval of 2 or 3 cost
    more than a point of per-camera or cross-camera IDF1 (``docs/speed.md``).
    Motion gating is on for detectors with tiles: there it changed no
    figure by more than 0.2 points (it reuses a tile's boxes only where the
    pixels did not change); detectors without tiles (background subtraction,
    YOLO-style ONNX) see every frame.
    """
    tiled = all(hasattr(detector, a) for a in ("layout", "detect_tiles", "merge_tiles"))
    return ScheduleConfig(every=1 if every is None else every, motion=tiled if motion is None else motion)


def _ordinal(n: int) -> str:
    return f"{n}{'tsnrhtdd'[(n // 10 % 10 != 1) * (n % 10 < 4) * n % 10::4]}"


def motion_image(frame: np.ndarray, scale: float) -> np.ndarray:
    """A small, blurred grey copy of a BGR frame for frame differencing (``uint8``)."""
    import cv2

    h, w = frame.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return cv2.GaussianBlur(grey, (5, 5), 0)


@dataclass
class ScheduleStats:
    """What the scheduler did over a run.

    Attributes:
        frames: frames seen.
        detected: frames detected (on the interval, forced or first).
        forced: of those, detections forced by uncertain tracks.
        tiles_run: tiles the network ran on.
        tiles_reused: tiles whose previous boxes were reused (no motion).
    """

    frames: int = 0
    detected: int = 0
    forced: int = 0
    tiles_run: int = 0
    tiles_reused: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _CameraState:
    seen: int = 0
    tiles: list[Any] | None = None  # the detector's tiles for this camera's frame size
    reference: list[np.ndarray | None] = field(default_factory=list)  # motion image at each tile's last run
    outputs: list[Any] = field(default_factory=list)  # each tile's last network output


class DetectionScheduler:
    """Runs a detector on the cameras and tiles that need it this tick.

    Args:
        detector: any detector (``frames, cameras, indices -> [sv.Detections]``).
            Detectors with tiles (``layout``, ``detect_tiles`` and
            ``merge_tiles``, like
            :class:`~mlfn_keras.tracking.detection.ssdlite.SSDLiteDetector`)
            are gated tile by tile, others frame by frame.
        config: the schedule (default: every frame, no gating: exactly the
            detector alone).
    """

    def __init__(self, detector, config: ScheduleConfig | None = None):
        self.detector = detector
        self.config = config or ScheduleConfig()
        self.stats = ScheduleStats()
        self._cameras: dict[int, _CameraState] = {}
        self._tiled = all(hasattr(detector, a) for a in ("layout", "detect_tiles", "merge_tiles"))

    @property
    def gating(self) -> bool:
        return self.config.motion

    def prepare(self, packet: FramePacket) -> None:
        """Camera-thread work for one frame: its motion image, when gating is on."""
        if self.config.motion and packet.motion is None:
            packet.motion = motion_image(packet.image, self.config.motion_scale)

    # ------------------------------------------------------------ the hook
    def __call__(
        self, packets: Sequence[FramePacket], trackers: Sequence[CameraTracker] | None = None
    ) -> list[sv.Detections | None]:
        """Detects this tick's frames that need it.

        Args:
            packets: this tick's frames (at most one per camera).
            trackers: every camera's tracker, indexed by camera (``None``:
                no forcing on uncertain tracks).

        Returns:
            Per packet: its detections, or ``None`` where the frame is not
            detected (the tracker predicts it).
        """
        due = self.plan(packets, trackers)
        out: list[sv.Detections | None] = [None] * len(packets)
        chosen = [i for i, d in enumerate(due) if d]
        if not chosen:
            return out
        frames = [packets[i] for i in chosen]
        if self.config.motion:
            results = self._detect_gated(frames)
        else:
            results = self.detector([p.image for p in frames], [p.camera for p in frames], [p.index for p in frames])
        for i, det in zip(chosen, results):
            out[i] = det
        return out

    def plan(self, packets: Sequence[FramePacket], trackers: Sequence[CameraTracker] | None = None) -> list[bool]:
        """Which of this tick's frames are detected (interval, staggered, forced when uncertain)."""
        c = self.config
        due = []
        for p in packets:
            state = self._cameras.setdefault(p.camera, _CameraState())
            first = state.seen == 0
            on_interval = (state.seen + p.camera) % c.every == 0
            forced = False
            if not (first or on_interval) and c.force_uncertain and trackers is not None:
                forced = trackers[p.camera].status(c.overlap_iou).uncertain
            state.seen += 1
            self.stats.frames += 1
            detect = first or on_interval or forced
            self.stats.detected += detect
            self.stats.forced += forced
            due.append(detect)
        return due

    # ------------------------------------------------------------- gating
    def _detect_gated(self, packets: Sequence[FramePacket]) -> list[sv.Detections]:
        for p in packets:
            self.prepare(p)  # packets that did not come through a camera thread
        if not self._tiled:
            return self._detect_gated_frames(packets)
        run_lists = []
        for p in packets:
            state = self._cameras[p.camera]
            tiles = self.detector.layout(p.image.shape[1], p.image.shape[0])
            if state.tiles != tiles:  # first frame or a new frame size: start over
                state.tiles, state.reference, state.outputs = tiles, [None] * len(tiles), [None] * len(tiles)
            run_lists.append([k for k in range(len(tiles)) if self._moved(p, state, k)])
        fresh: list[list[Any]] = [[] for _ in packets]
        if any(run_lists):  # nothing moved anywhere: no network run at all
            fresh = self.detector.detect_tiles(
                [p.image for p in packets], [[self._cameras[p.camera].tiles[k] for k in ks] for p, ks in zip(packets, run_lists)]
            )
        results = []
        for p, ks, outputs in zip(packets, run_lists, fresh):
            state = self._cameras[p.camera]
            for k, output in zip(ks, outputs):
                state.outputs[k], state.reference[k] = output, p.motion
            self.stats.tiles_run += len(ks)
            self.stats.tiles_reused += len(state.tiles) - len(ks)
            results.append(self.detector.merge_tiles(p.image.shape, state.tiles, state.outputs))
        return results

    def _detect_gated_frames(self, packets: Sequence[FramePacket]) -> list[sv.Detections]:
        """Gating for detectors without tiles: the whole frame is the one tile."""
        run = []
        for p in packets:
            state = self._cameras[p.camera]
            if state.tiles is None:
                state.tiles, state.reference, state.outputs = [None], [None], [None]
            run.append(self._moved(p, state, 0))
        todo = [p for p, r in zip(packets, run) if r]
        fresh = iter(self.detector([p.image for p in todo], [p.camera for p in todo], [p.index for p in todo]) if todo else [])
        results = []
        for p, r in zip(packets, run):
            state = self._cameras[p.camera]
            if r:
                state.outputs[0], state.reference[0] = next(fresh), p.motion
            self.stats.tiles_run += r
            self.stats.tiles_reused += not r
            results.append(state.outputs[0])
        return results

    def _moved(self, packet: FramePacket, state: _CameraState, k: int) -> bool:
        """Whether tile ``k`` changed since its last run (a tile never run has)."""
        ref = state.reference[k]
        if ref is None or state.outputs[k] is None or ref.shape != packet.motion.shape:
            return True
        tile = state.tiles[k]
        if tile is None:
            a, b = packet.motion, ref
        else:
            s = self.config.motion_scale
            y0, y1 = int(tile.y0 * s), max(int(tile.y0 * s) + 1, int(round(tile.y1 * s)))
            x0, x1 = int(tile.x0 * s), max(int(tile.x0 * s) + 1, int(round(tile.x1 * s)))
            a, b = packet.motion[y0:y1, x0:x1], ref[y0:y1, x0:x1]
        changed = np.count_nonzero(np.abs(a.astype(np.int16) - b) > self.config.motion_threshold)
        return changed > self.config.motion_pixels * a.size
