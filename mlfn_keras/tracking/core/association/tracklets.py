"""Tracklets: what cross-camera association and ``mlfn-adapt`` decide on.

A tracklet is one stretch of one per-camera track that shows one person: its
camera, its first and last frame and time, and a sample of its re-id
embeddings. A per-camera track whose appearance changes (the tracker jumped
from one person to another) is cut into two tracklets, so association never
has to give one answer for two people. ``mlfn-adapt``'s mined tracklets are
the same type with their crops attached (``crops``, ``crop_frames``) and the
exact frames they were seen on (``seen``).

**The cannot-link rule** (:func:`cannot_link`), the one rule of the package:
two tracklets of one camera seen on a common frame are two different people.
A tracklet that records the frames it was seen on (``seen``) is compared frame
by frame; one that records only its first and last frame counts as seen on
every frame between them (so two such tracklets cannot-link when their spans
overlap). Nothing is assumed across cameras, whose fields of view may overlap.

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
        seen: every frame it had a box on, when known (``None``: every frame
            from ``first_frame`` to ``last_frame``); what :func:`cannot_link`
            compares.
        crops: ``(n, H, W, 3)`` uint8 RGB crops at a model's input size
            (tracklets mined for ``mlfn-adapt``), else ``None``.
        crop_frames: the frame of each crop.
    """

    key: TrackletKey
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    embeddings: list[np.ndarray] = field(default_factory=list)
    points: list[tuple[float, float, float, float]] = field(default_factory=list)
    seen: frozenset[int] | None = None
    crops: np.ndarray | None = None
    crop_frames: np.ndarray | None = None

    @property
    def camera(self) -> int:
        return self.key[0]

    @property
    def track_id(self) -> int:
        """The per-camera tracker's id."""
        return self.key[1]

    @property
    def span(self) -> tuple[int, int]:
        """``(first_frame, last_frame)``."""
        return self.first_frame, self.last_frame

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
        """Same camera and seen on a common frame: different people (the :func:`cannot_link` rule)."""
        return (self.camera == other.camera and self.key != other.key
                and self.first_frame <= other.last_frame and other.first_frame <= self.last_frame
                and _seen_together(self, other))


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


def time_windows(tracklets: Iterable[Tracklet], seconds: float | None) -> list[list[Tracklet]]:
    """Splits a run's tracklets into windows of ``seconds``, each overlapping the next by half.

    Window ``k`` covers ``[t0 + k·seconds/2, t0 + k·seconds/2 + seconds)``
    (``t0``: the first tracklet's start); a tracklet is in every window its
    span touches, so any two tracklets within ``seconds / 2`` of each other
    share a window. A run no longer than ``seconds`` (or ``seconds=None``) is
    one window holding every tracklet. Empty windows are left out.

    Returns:
        The windows in time order, each sorted by ``(first_time, key)``.
    """
    items = sorted(tracklets, key=lambda t: (t.first_time, t.key))
    if not items:
        return []
    start = items[0].first_time
    end = max(t.last_time for t in items)
    if seconds is None or end - start <= seconds:
        return [items]
    step = seconds / 2
    count = int(np.floor((end - start - seconds) / step)) + 2  # the last window reaches past ``end``
    windows: list[list[Tracklet]] = [[] for _ in range(count)]
    for t in items:
        # windows k with start + k*step <= t.last_time and start + k*step + seconds > t.first_time
        lo = max(int(np.floor((t.first_time - start - seconds) / step)) + 1, 0)
        hi = min(int(np.floor((t.last_time - start) / step)), count - 1)
        for k in range(lo, hi + 1):
            windows[k].append(t)
    return [w for w in windows if w]


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


def cannot_link_pairs(tracklets: Sequence[Tracklet]) -> tuple[np.ndarray, np.ndarray]:
    """The cannot-link pairs as two index arrays ``(i, j)``, ``i < j``: one camera, seen on a common frame.

    See the module docstring for the rule. Only tracklets of one camera whose
    spans overlap are candidates, found per camera with a sweep over the
    tracklets sorted by first frame, so the cost grows with the number of
    such pairs, not with the square of the run's tracklets (a recorded day
    of many cameras is never held in one ``(N, N)`` matrix); candidates of
    which one records its ``seen`` frames are then checked frame by frame.
    """
    n = len(tracklets)
    cam = np.array([t.camera for t in tracklets], np.int64)
    first = np.array([t.first_frame for t in tracklets], np.int64)
    last = np.array([t.last_frame for t in tracklets], np.int64)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for c in np.unique(cam) if n else []:
        idx = np.flatnonzero(cam == c)
        idx = idx[np.argsort(first[idx], kind="stable")]
        firsts = first[idx]
        # tracklet idx[a] overlaps every later-starting idx[b] (b > a) that starts by its last frame
        ends = np.searchsorted(firsts, last[idx], side="right")
        for a in range(len(idx)):
            if ends[a] > a + 1:
                others = idx[a + 1 : ends[a]]
                rows.append(np.full(len(others), idx[a]))
                cols.append(others)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i, j = np.concatenate(rows), np.concatenate(cols)
    i, j = np.minimum(i, j), np.maximum(i, j)
    if any(t.seen is not None for t in tracklets):
        keep = np.array([_seen_together(tracklets[a], tracklets[b]) for a, b in zip(i, j)], bool)
        i, j = i[keep], j[keep]
    order = np.lexsort((j, i))
    return i[order], j[order]


def cannot_link(tracklets: Sequence[Tracklet]) -> np.ndarray:
    """``(N, N)`` bool: pairs of tracklets of one camera seen on a common frame (different people).

    The matrix form of :func:`cannot_link_pairs` (the same rule), for the
    clustering of a bounded set of tracklets.
    """
    n = len(tracklets)
    out = np.zeros((n, n), bool)
    i, j = cannot_link_pairs(tracklets)
    out[i, j] = out[j, i] = True
    return out


def _seen_together(a: Tracklet, b: Tracklet) -> bool:
    """Whether two tracklets (of one camera, spans overlapping) share a frame (see the module docstring)."""
    if a.seen is not None and b.seen is not None:
        return not a.seen.isdisjoint(b.seen)
    if a.seen is None and b.seen is None:
        return True
    seen, other = (a.seen, b) if a.seen is not None else (b.seen, a)
    return any(other.first_frame <= f <= other.last_frame for f in seen)
