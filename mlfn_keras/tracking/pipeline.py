"""The multi-camera tracker: per-camera ByteTrack + batched re-id + a global gallery.

:class:`MultiCameraTracker` is the online core of the demo, free of threads
and windows so it can be tested directly. Each tick it takes at most one frame
per camera with that frame's detections and

1. advances each camera's :class:`~mlfn_keras.tracking.tracker.CameraTracker`;
2. picks the crops worth embedding (tracks without a global id yet, and every
   ``embed_every`` frames for the others, good boxes only), across all
   cameras, and embeds them in **one** call;
3. smooths each track's feature (:class:`~mlfn_keras.tracking.reid.TrackAppearance`)
   and gives tracks that have enough evidence a global id from the
   :class:`~mlfn_keras.tracking.gallery.IdentityGallery`;
4. reports events: ``track_start``, ``track_end``, ``global_id_assigned``,
   ``handoff`` (the identity was last seen in another camera) and ``reentry``
   (it comes back to the same camera).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import supervision as sv

from mlfn_keras.tracking.gallery import IdentityGallery
from mlfn_keras.tracking.reid import Embedder, TrackAppearance, good_box
from mlfn_keras.tracking.sources import FramePacket
from mlfn_keras.tracking.tracker import CameraTracker


@dataclass
class PipelineConfig:
    """Tuning knobs of the multi-camera tracker.

    Attributes:
        threshold: cosine similarity needed to reuse a global identity. The
            default was chosen on a calibration scene (the built-in scene with
            seed 1, not the default seed 0) for the shipped re-id weights; a
            stronger model separates people better and may want a lower one.
        expiry_seconds: gallery identities unseen this long are forgotten.
        embed_every: frames between embeddings of a track that has its global id.
        min_embeddings: good-box embeddings a track needs before it gets a global id.
        max_batch: most crops embedded per tick (new tracks first).
        momentum: EMA momentum of a track's feature.
        min_box_height: smallest box (pixels) that is embedded.
        aspect_range: allowed box height/width for embedding.
        border: boxes within this many pixels of the frame edge are not embedded.
        lost_seconds: ByteTrack keeps an unmatched track this long.
        min_hits: ByteTrack frames before a track is confirmed.
        activation_threshold: detection score that can start a track.
        high_threshold: ByteTrack's high/low score split.
        switch_similarity: a track whose new embeddings fall below this cosine
            similarity to its smoothed feature ``switch_patience`` times in a
            row has probably jumped to another person (two people merged and
            split again): it gives its global id back and is re-identified.
            ``None`` disables the check.
        switch_patience: consecutive disagreeing embeddings that trigger it.
    """

    threshold: float = 0.85
    expiry_seconds: float = 300.0
    embed_every: int = 5
    min_embeddings: int = 2
    max_batch: int = 32
    momentum: float = 0.8
    min_box_height: float = 48.0
    aspect_range: tuple[float, float] = (1.3, 5.0)
    border: float = 3.0
    lost_seconds: float = 1.5
    min_hits: int = 2
    activation_threshold: float = 0.4
    high_threshold: float = 0.5
    switch_similarity: float | None = 0.4
    switch_patience: int = 2


@dataclass
class TrackedObject:
    """One confirmed track in one frame.

    Attributes:
        camera: camera index.
        frame: frame index in that camera's stream (0-based).
        track_id: the per-camera tracker id.
        global_id: the cross-camera identity, ``None`` until assigned.
        xyxy: box in pixels.
        score: detection score.
    """

    camera: int
    frame: int
    track_id: int
    global_id: int | None
    xyxy: np.ndarray
    score: float


@dataclass
class TickResult:
    """What one tick produced."""

    objects: list[TrackedObject] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    embedded: int = 0


@dataclass
class _TrackState:
    appearance: TrackAppearance
    global_id: int | None = None
    last_embed_frame: int = -(10**9)
    first_frame: int = 0
    disagree: int = 0


class MultiCameraTracker:
    """Tracks people in several cameras and links them with global ids.

    Args:
        num_cameras: number of cameras.
        embedder: crops (RGB ``uint8``) → ``(B, d)`` L2-normalised features.
        fps: frame rate per camera (or one for all).
        config: tuning knobs.
    """

    def __init__(
        self,
        num_cameras: int,
        embedder: Embedder,
        fps: float | Sequence[float] = 15.0,
        config: PipelineConfig | None = None,
    ):
        if num_cameras < 1:
            raise ValueError(f"num_cameras must be >= 1, got {num_cameras}.")
        self.config = config or PipelineConfig()
        c = self.config
        fps_list = [float(fps)] * num_cameras if np.isscalar(fps) else [float(f) for f in fps]  # type: ignore[arg-type]
        if len(fps_list) != num_cameras:
            raise ValueError(f"Got {len(fps_list)} fps values for {num_cameras} cameras.")
        self.num_cameras = num_cameras
        self.embedder = embedder
        self.trackers = [
            CameraTracker(f, c.lost_seconds, c.min_hits, c.activation_threshold, c.high_threshold) for f in fps_list
        ]
        self.gallery = IdentityGallery(c.threshold, c.expiry_seconds)
        self._tracks: dict[tuple[int, int], _TrackState] = {}
        self.stats = {"embeddings": 0, "global_ids": 0, "handoffs": 0, "reentries": 0}

    def _event(self, kind: str, camera: int, frame: int, now: float, **extra: Any) -> dict[str, Any]:
        return {"event": kind, "camera": camera, "frame": frame, "time": round(float(now), 3), **extra}

    def _end_track(self, key: tuple[int, int], frame: int, now: float, events: list[dict[str, Any]]) -> None:
        state = self._tracks.pop(key, None)
        if state is None:
            return
        events.append(self._event("track_end", key[0], frame, now, track=key[1], global_id=state.global_id))

    def step(self, packets: Sequence[FramePacket], detections: Sequence[sv.Detections]) -> TickResult:
        """Processes one frame from each camera that has one this tick.

        Args:
            packets: this tick's frames (at most one per camera).
            detections: detections for each packet, same order.

        Returns:
            The tick's tracked objects, events and timings.
        """
        if len(packets) != len(detections):
            raise ValueError(f"Got {len(packets)} frames but {len(detections)} detection sets.")
        c = self.config
        result = TickResult()
        if not packets:
            return result
        now = max(p.timestamp for p in packets)

        # 1. Per-camera tracking.
        t0 = time.perf_counter()
        per_cam: list[tuple[FramePacket, sv.Detections]] = []
        for packet, dets in zip(packets, detections):
            update = self.trackers[packet.camera].update(dets)
            for tid in update.ended:
                self._end_track((packet.camera, tid), packet.index, now, result.events)
            for tid in update.started:
                self._tracks[(packet.camera, tid)] = _TrackState(TrackAppearance(c.momentum), first_frame=packet.index)
                result.events.append(self._event("track_start", packet.camera, packet.index, now, track=tid))
            per_cam.append((packet, update.detections))
        t1 = time.perf_counter()

        # 2. Choose crops worth embedding, all cameras together.
        wanted: list[tuple[int, tuple[int, int], np.ndarray, np.ndarray]] = []
        for packet, dets in per_cam:
            for xyxy, tid in zip(dets.xyxy, dets.tracker_id):
                key = (packet.camera, int(tid))
                state = self._tracks.get(key)
                if state is None:  # confirmed before we saw its start (should not happen)
                    state = self._tracks[key] = _TrackState(TrackAppearance(c.momentum), first_frame=packet.index)
                due = state.global_id is None or packet.index - state.last_embed_frame >= c.embed_every
                if not due or not good_box(xyxy, packet.image.shape, c.min_box_height, c.aspect_range, c.border):
                    continue
                priority = 0 if state.global_id is None else 1
                wanted.append((priority, key, xyxy, packet.image))
        wanted.sort(key=lambda w: w[0])
        wanted = wanted[: c.max_batch]
        if wanted:
            crops = []
            for _, _, xyxy, image in wanted:
                x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
                crops.append(np.ascontiguousarray(image[max(y1, 0) : y2, max(x1, 0) : x2, ::-1]))
            feats = np.asarray(self.embedder(crops), np.float32)
            frame_of = {p.camera: p.index for p in packets}
            for (_, key, _, _), feat in zip(wanted, feats):
                state = self._tracks[key]
                if state.global_id is not None and c.switch_similarity is not None and state.appearance.feature is not None:
                    if float(feat @ state.appearance.feature) < c.switch_similarity:
                        state.disagree += 1
                    else:
                        state.disagree = 0
                    if state.disagree >= c.switch_patience:
                        result.events.append(
                            self._event("appearance_change", key[0], frame_of[key[0]], now, track=key[1], global_id=state.global_id)
                        )
                        state.global_id, state.disagree = None, 0
                        state.appearance = TrackAppearance(c.momentum)
                smoothed = state.appearance.update(feat)
                state.last_embed_frame = frame_of[key[0]]
                if state.global_id is not None:
                    self.gallery.observe(state.global_id, key, smoothed, key[0], now)
            result.embedded = len(wanted)
            self.stats["embeddings"] += len(wanted)
        t2 = time.perf_counter()

        # 3. Global ids for tracks with enough evidence; one Hungarian problem per camera.
        for packet, _ in per_cam:
            cam = packet.camera
            live = [(k, s) for k, s in self._tracks.items() if k[0] == cam]
            busy = {s.global_id for _, s in live if s.global_id is not None}
            requests = {
                k: s.appearance.feature
                for k, s in live
                if s.global_id is None and s.appearance.count >= c.min_embeddings
            }
            if not requests:
                continue
            for key, a in self.gallery.assign(cam, requests, now, busy).items():
                state = self._tracks[key]
                state.global_id = a.global_id
                self.gallery.observe(a.global_id, key, state.appearance.feature, cam, now)
                self.stats["global_ids"] += 1
                sim = None if a.new else round(a.similarity, 4)
                result.events.append(
                    self._event("global_id_assigned", cam, packet.index, now, track=key[1], global_id=a.global_id, new=a.new, similarity=sim)
                )
                if not a.new and a.previous_camera >= 0:
                    kind = "reentry" if a.previous_camera == cam else "handoff"
                    self.stats["handoffs" if kind == "handoff" else "reentries"] += 1
                    result.events.append(
                        self._event(kind, cam, packet.index, now, track=key[1], global_id=a.global_id, from_camera=a.previous_camera, similarity=sim)
                    )
        for (cam, _), state in self._tracks.items():
            if state.global_id is not None:
                self.gallery.touch(state.global_id, cam, now)
        self.gallery.expire(now)
        t3 = time.perf_counter()

        for packet, dets in per_cam:
            for xyxy, tid, score in zip(dets.xyxy, dets.tracker_id, dets.confidence if dets.confidence is not None else np.ones(len(dets))):
                state = self._tracks.get((packet.camera, int(tid)))
                gid = state.global_id if state is not None else None
                result.objects.append(TrackedObject(packet.camera, packet.index, int(tid), gid, np.asarray(xyxy, np.float32), float(score)))
        result.timings = {"track": t1 - t0, "embed": t2 - t1, "associate": t3 - t2}
        return result

    def end_camera(self, camera: int, frame: int, now: float) -> list[dict[str, Any]]:
        """Ends every track of a camera whose stream ended; returns the events."""
        events: list[dict[str, Any]] = []
        for tid in self.trackers[camera].finish():
            self._end_track((camera, tid), frame, now, events)
        for key in [k for k in self._tracks if k[0] == camera]:
            self._end_track(key, frame, now, events)
        return events
