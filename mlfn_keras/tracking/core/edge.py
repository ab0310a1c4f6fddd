"""The edge half of the multi-camera tracker: track, pick crops, embed, cut segments.

:class:`EdgeTracker` does everything that needs the frames: it advances each
camera's ByteTrack, picks the boxes worth embedding, embeds them in **one**
re-id call, and cuts a track in two when its look changes (the tracker jumped
to another person). What it learns comes out as one
:class:`~mlfn_keras.tracking.core.updates.CameraTick` per camera, which the
central half (:class:`~mlfn_keras.tracking.core.central.CentralAssociator`)
turns into global ids, in the same process (the single box) or behind a
broker (an edge box of a site).

The edge never waits for the central: whether a track has enough evidence
for a global id is known locally (``min_embeddings`` good embeddings in its
current segment; the gallery gives every such track an id in the same tick),
so crop choice and the appearance check read the same state in both modes.
The detector is not called here: the caller (runner or edge process) detects
and hands the detections in, so detection scheduling stays outside the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import supervision as sv

from mlfn_keras.tracking.core.frames import FramePacket
from mlfn_keras.tracking.core.reid import Embedder, TrackAppearance, good_box
from mlfn_keras.tracking.core.tracker import CameraTracker
from mlfn_keras.tracking.core.updates import CameraTick, TrackEmbedding


@dataclass
class _EdgeTrack:
    appearance: TrackAppearance
    last_embed_frame: int = -(10**9)
    segment: int = 0
    disagree: int = 0


@dataclass
class _Crop:
    key: tuple[int, int]
    frame: int
    identified: bool
    xyxy: np.ndarray
    image: np.ndarray


@dataclass
class EdgeStep:
    """One edge tick: per-camera ticks for the central, and stage timings.

    Attributes:
        cameras: one :class:`~mlfn_keras.tracking.core.updates.CameraTick` per
            frame, in the order the frames were given.
        timings: seconds per stage (``track``, ``embed``).
        embedded: crops embedded this tick.
    """

    cameras: list[CameraTick] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    embedded: int = 0


class EdgeTracker:
    """Per-camera tracking and re-id features for the cameras of one box.

    Args:
        fps: frame rate of each camera (its ByteTrack buffer's time scale).
        embedder: crops (RGB ``uint8``) → ``(B, d)`` L2-normalised features.
        config: a :class:`~mlfn_keras.tracking.core.pipeline.PipelineConfig`
            (its tracking, crop and appearance knobs are read here).
    """

    def __init__(self, fps: Sequence[float], embedder: Embedder, config):
        c = config
        self.config = config
        self.embedder = embedder
        self.trackers = [
            CameraTracker(f, c.lost_seconds, c.min_hits, c.activation_threshold, c.high_threshold) for f in fps
        ]
        self._tracks: dict[tuple[int, int], _EdgeTrack] = {}

    def identified(self, key: tuple[int, int]) -> bool:
        """Whether the track has enough evidence for a global id (same rule as the gallery's ``ready``)."""
        state = self._tracks.get(key)
        return state is not None and state.appearance.count >= self.config.min_embeddings

    def segment(self, key: tuple[int, int]) -> int:
        """The track's current tracklet number."""
        state = self._tracks.get(key)
        return 0 if state is None else state.segment

    def step(self, packets: Sequence[FramePacket], detections: Sequence[sv.Detections]) -> EdgeStep:
        """Tracks and embeds one frame per camera that has one this tick.

        Args:
            packets: this tick's frames (at most one per camera).
            detections: the detections of each frame, same order.

        Returns:
            One camera tick per frame, with timings.
        """
        import time

        if len(packets) != len(detections):
            raise ValueError(f"Got {len(packets)} frames but {len(detections)} detection sets.")
        out = EdgeStep()
        t0 = time.perf_counter()
        ticks = [self._track(p, d) for p, d in zip(packets, detections)]
        t1 = time.perf_counter()
        crops = self._select_crops(packets, ticks)
        self._embed(crops, {t.camera: t for t in ticks})
        t2 = time.perf_counter()
        out.cameras, out.embedded = ticks, len(crops)
        out.timings = {"track": t1 - t0, "embed": t2 - t1}
        return out

    def _track(self, packet: FramePacket, dets: sv.Detections) -> CameraTick:
        cam = packet.camera
        update = self.trackers[cam].update(dets)
        for tid in update.ended:
            self._tracks.pop((cam, tid), None)
        for tid in update.started:
            self._tracks[(cam, tid)] = _EdgeTrack(TrackAppearance(self.config.momentum))
        found = update.detections
        ids = np.asarray(found.tracker_id, int).reshape(-1)
        for tid in ids:
            self._tracks.setdefault((cam, int(tid)), _EdgeTrack(TrackAppearance(self.config.momentum)))
        scores = found.confidence if found.confidence is not None else np.ones(len(found), np.float32)
        return CameraTick(
            cam, packet.index, float(packet.timestamp), ids, np.asarray(found.xyxy).reshape(-1, 4),
            np.asarray(scores, np.float32).reshape(-1), list(update.started), list(update.ended), detections=found,
        )

    def _select_crops(self, packets: Sequence[FramePacket], ticks: Sequence[CameraTick]) -> list[_Crop]:
        c = self.config
        wanted = []
        for packet, tick in zip(packets, ticks):
            for xyxy, tid in zip(tick.boxes, tick.track_ids):
                key = (tick.camera, int(tid))
                state = self._tracks[key]
                identified = self.identified(key)
                due = not identified or tick.frame - state.last_embed_frame >= c.embed_every
                if due and good_box(xyxy, packet.image.shape, c.min_box_height, c.aspect_range, c.border):
                    wanted.append(_Crop(key, tick.frame, identified, xyxy, packet.image))
        wanted.sort(key=lambda w: w.identified)  # tracks waiting for an id first (stable)
        return wanted[: c.max_batch]

    def _embed(self, crops: Sequence[_Crop], ticks: dict[int, CameraTick]) -> None:
        if not crops:
            return
        images = []
        for crop in crops:
            x1, y1, x2, y2 = (int(round(v)) for v in crop.xyxy)
            images.append(np.ascontiguousarray(crop.image[max(y1, 0) : y2, max(x1, 0) : x2, ::-1]))
        feats = np.asarray(self.embedder(images), np.float32)
        for crop, feat in zip(crops, feats):
            state = self._tracks[crop.key]
            identified = self.identified(crop.key)
            split = self._appearance_changed(state, identified, feat)
            if split:
                state.appearance, state.disagree = TrackAppearance(self.config.momentum), 0
                state.segment += 1
            state.appearance.update(feat)
            state.last_embed_frame = crop.frame
            ticks[crop.key[0]].embeddings.append(TrackEmbedding(crop.key[1], state.segment, feat, split, crop.identified))

    def _appearance_changed(self, state: _EdgeTrack, identified: bool, feat: np.ndarray) -> bool:
        c = self.config
        if not identified or c.switch_similarity is None or state.appearance.feature is None:
            return False
        state.disagree = state.disagree + 1 if float(feat @ state.appearance.feature) < c.switch_similarity else 0
        return state.disagree >= c.switch_patience

    def end_camera(self, camera: int, frame: int, timestamp: float) -> CameraTick:
        """Ends a camera whose stream ended: every track it still had.

        Returns:
            The camera's last tick (``end_of_stream``), for the central.
        """
        ended = self.trackers[camera].finish()
        for key in [k for k in self._tracks if k[0] == camera]:
            del self._tracks[key]
        return CameraTick(camera, frame, float(timestamp), ended=ended, end_of_stream=True)
