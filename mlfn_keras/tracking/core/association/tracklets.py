"""Tracklets: what cross-camera association decides on.

A tracklet is one stretch of one per-camera track that shows one person: its
camera, its first and last frame and time, and a sample of its re-id
embeddings. A per-camera track whose appearance changes (the tracker jumped
from one person to another) is cut into two tracklets, so association never
has to give one answer for two people.

Two tracklets of one camera that are visible at the same time are two
different people (**cannot-link**); nothing is assumed across cameras, whose
fields of view may overlap.

Example:

    store = TrackletStore()
    store.observe((0, 3, 0), frame=10, time=0.4)
    store.add_embedding((0, 3, 0), feature)
    store.get((0, 3, 0)).feature()
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

#: A tracklet key: ``(camera, track_id, segment)``; ``segment`` counts the
#: appearance changes of that per-camera track.
TrackletKey = tuple[int, int, int]


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass
class Tracklet:
    """One per-camera track segment.

    Attributes:
        key: ``(camera, track_id, segment)``.
        first_frame: first frame it was reported in (the camera's frame index).
        last_frame: last frame it was reported in.
        first_time: timestamp (s) of ``first_frame``.
        last_time: timestamp (s) of ``last_frame``.
        embeddings: L2-normalised re-id embeddings of good boxes, oldest first
            (at most ``max_embeddings``; thinned evenly beyond that).
        points: where the person stood, oldest first: ``(time, foot_x,
            foot_y, box_height)`` per observed box (the foot point is the
            middle of the box's bottom edge; at most ``max_points``, thinned
            evenly beyond that). What
            :mod:`~mlfn_keras.tracking.core.association.overlap` compares across
            cameras.
    """

    key: TrackletKey
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    embeddings: list[np.ndarray] = field(default_factory=list)
    points: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def camera(self) -> int:
        return self.key[0]

    def _centred(self, centre: np.ndarray | Mapping[int, np.ndarray] | None) -> np.ndarray:
        e = np.stack(self.embeddings)
        if isinstance(centre, Mapping):
            centre = centre.get(self.camera)
        if centre is None:
            return e
        e = e - centre
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def feature(self, centre: np.ndarray | Mapping[int, np.ndarray] | None = None) -> np.ndarray | None:
        """Mean of the embeddings, L2-normalised (``None`` without embeddings).

        Args:
            centre: subtract this from every embedding first: the footage's
                mean embedding (:meth:`TrackletStore.centre`) or a mapping
                camera → that camera's mean (:meth:`TrackletStore.centres`).
        """
        if not self.embeddings:
            return None
        return _unit(self._centred(centre).mean(axis=0)).astype(np.float32)

    def halves(self, centre: np.ndarray | Mapping[int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """Mean features of the first and second half of the embeddings (``None`` with < 2)."""
        n = len(self.embeddings)
        if n < 2:
            return None
        e = self._centred(centre)
        return _unit(e[: n // 2].mean(0)), _unit(e[n // 2 :].mean(0))

    def overlaps(self, other: Tracklet) -> bool:
        """Same camera and visible in at least one common frame: different people."""
        return (
            self.camera == other.camera
            and self.key != other.key
            and self.first_frame <= other.last_frame
            and other.first_frame <= self.last_frame
        )


class TrackletStore:
    """All tracklets of a run (or of a live window), keyed by :data:`TrackletKey`.

    Args:
        max_embeddings: embeddings kept per tracklet; beyond it every other
            one is dropped (the sample stays spread over the whole tracklet).
        max_points: foot points kept per tracklet, thinned the same way.
    """

    def __init__(self, max_embeddings: int = 64, max_points: int = 1024):
        if max_embeddings < 2:
            raise ValueError(f"max_embeddings must be >= 2, got {max_embeddings}.")
        if max_points < 2:
            raise ValueError(f"max_points must be >= 2, got {max_points}.")
        self.max_embeddings = int(max_embeddings)
        self.max_points = int(max_points)
        self.tracklets: dict[TrackletKey, Tracklet] = {}

    def __len__(self) -> int:
        return len(self.tracklets)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.tracklets

    def get(self, key: TrackletKey) -> Tracklet:
        return self.tracklets[key]

    def observe(self, key: TrackletKey, frame: int, time: float, xyxy: Sequence[float] | None = None) -> Tracklet:
        """Records that the tracklet is visible in ``frame`` (creating it if new).

        Args:
            key: the tracklet.
            frame: the camera's frame index.
            time: the frame's timestamp on the cameras' common clock.
            xyxy: the person's box in that frame, if known (kept as a foot point).
        """
        t = self.tracklets.get(key)
        if t is None:
            t = self.tracklets[key] = Tracklet(key, frame, frame, time, time)
        t.first_frame, t.last_frame = min(t.first_frame, frame), max(t.last_frame, frame)
        t.first_time, t.last_time = min(t.first_time, time), max(t.last_time, time)
        if xyxy is not None:
            x1, y1, x2, y2 = (float(v) for v in xyxy)
            t.points.append((float(time), (x1 + x2) / 2.0, y2, y2 - y1))
            if len(t.points) > self.max_points:
                t.points = t.points[::2]
        return t

    def add_embedding(self, key: TrackletKey, embedding: np.ndarray) -> None:
        """Adds one L2-normalised embedding to an observed tracklet."""
        t = self.tracklets[key]
        t.embeddings.append(_unit(np.asarray(embedding, np.float32).ravel()))
        if len(t.embeddings) > self.max_embeddings:
            t.embeddings = t.embeddings[::2]

    def centre(self, min_tracklets: int = 10) -> np.ndarray | None:
        """The footage's mean embedding (over every stored embedding).

        ``None`` with fewer than ``min_tracklets`` embedded tracklets: the mean
        of a handful of people is mostly those people, not the footage.

        A re-id model trained elsewhere tends to put everyone of a new scene
        in a narrow cone (all cosine similarities near 1); subtracting the
        scene's mean embedding before comparing spreads them out again, a
        label-free adaptation to the footage.
        """
        embedded = [t for t in self.tracklets.values() if t.embeddings]
        if len(embedded) < max(1, min_tracklets):
            return None
        return np.mean(np.stack([e for t in embedded for e in t.embeddings]), axis=0).astype(np.float32)

    def centres(self, min_tracklets: int = 10, min_per_camera: int = 5) -> dict[int, np.ndarray] | None:
        """One mean embedding per camera (``None`` with fewer than ``min_tracklets`` in all).

        Each camera adds its own bias to every embedding (light, colour
        response, background, viewpoint): two people of one camera look more
        alike than one person in two cameras. Subtracting each camera's mean
        removes that bias, so a cross-camera similarity means what a
        same-camera one does (camera-aware normalisation, as multi-camera
        re-id systems do). A camera with fewer than ``min_per_camera``
        embedded tracklets gets the footage's mean instead: a handful of
        people is not a camera's bias.

        Measured with the shipped weights (offline clustering, benchmark
        dev settings): the built-in scene's seeds 1/2 and PETS09 frames
        0–399 as ``lr`` / ``time`` cameras moved from 47.8 / 63.7 / 56.2 /
        54.6 cross-camera IDF1 with one footage mean to 49.6 / 68.5 / 59.1 /
        58.7 with one mean per camera.
        """
        overall = self.centre(min_tracklets)
        if overall is None:
            return None
        out: dict[int, np.ndarray] = {}
        for camera in sorted({t.camera for t in self.tracklets.values()}):
            own = [t for t in self.tracklets.values() if t.camera == camera and t.embeddings]
            out[camera] = (
                np.mean(np.stack([e for t in own for e in t.embeddings]), axis=0).astype(np.float32)
                if len(own) >= min_per_camera else overall
            )
        return out

    def compact_before(self, time: float) -> int:
        """Keeps only the mean embedding of tracklets last seen before ``time`` (and no foot points).

        A live run's memory stays bounded (one vector per old tracklet) while
        every tracklet is still there for the final answer; returns how many
        were compacted.
        """
        n = 0
        for t in self.tracklets.values():
            if t.last_time < time and (len(t.embeddings) > 1 or t.points):
                t.embeddings = [t.feature()] if t.embeddings else []
                t.points = []
                n += 1
        return n

    def recent(self, time: float) -> list[Tracklet]:
        """Tracklets last seen at or after ``time``."""
        return [t for t in self.tracklets.values() if t.last_time >= time]

    def drop_before(self, time: float) -> list[TrackletKey]:
        """Forgets tracklets last seen before ``time``; returns their keys."""
        gone = [k for k, t in self.tracklets.items() if t.last_time < time]
        for k in gone:
            del self.tracklets[k]
        return gone

    def values(self) -> Iterable[Tracklet]:
        return self.tracklets.values()


def far_apart(tracklets: Sequence[Tracklet], max_gap_seconds: float | None) -> np.ndarray:
    """``(N, N)`` bool: pairs of tracklets of two cameras more than ``max_gap_seconds`` apart.

    The gap is the time between the end of the earlier tracklet and the start
    of the later one (0 when they overlap in time), on the cameras' common
    clock. ``None`` marks nothing.
    """
    n = len(tracklets)
    if n == 0 or max_gap_seconds is None:
        return np.zeros((n, n), bool)
    cam = np.array([t.camera for t in tracklets])
    first = np.array([t.first_time for t in tracklets], np.float64)
    last = np.array([t.last_time for t in tracklets], np.float64)
    gap = np.maximum(np.maximum(first[None] - last[:, None], first[:, None] - last[None]), 0.0)
    return (cam[:, None] != cam[None]) & (gap > float(max_gap_seconds))


def cannot_link(tracklets: Sequence[Tracklet]) -> np.ndarray:
    """``(N, N)`` bool: pairs of tracklets of one camera visible at the same time.

    Computed per camera with one broadcast over frame intervals (no Python loop
    over pairs), so a run with thousands of tracklets stays cheap.
    """
    n = len(tracklets)
    if n == 0:
        return np.zeros((0, 0), bool)
    cam = np.array([t.camera for t in tracklets])
    first = np.array([t.first_frame for t in tracklets])
    last = np.array([t.last_frame for t in tracklets])
    out = (cam[:, None] == cam[None]) & (first[:, None] <= last[None]) & (first[None] <= last[:, None])
    np.fill_diagonal(out, False)
    return out
