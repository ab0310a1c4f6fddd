"""Overlapping camera views, found in the footage itself without calibration.

Where two cameras see the same ground (PETS09's ``lr`` pseudo-cameras share a
64 px strip; real sites often have cameras whose views overlap at a door or a
crossing), a person walking through the shared part is seen by both at the
same moment, and where they stand in one image fixes where they stand in the
other. That is evidence no re-id model can give: two tracklets that stand at
corresponding places at the same times are one person, however different the
two views make them look.

Nobody has to calibrate the cameras. Steps (:func:`find_overlaps`):

1. **co-visible pairs**: for every pair of tracklets of two cameras seen at
   the same times (on the cameras' common clock, within ``tolerance``) for at
   least ``min_common`` moments, the foot and head points (middle of the
   box's bottom and top edges) of both at those moments;
2. **hypotheses**: each pair that looks at least a little alike (similarity
   ≥ ``floor``, the median similarity of people seen together in one camera)
   proposes a mapping from one image to the other: rotation, uniform scale
   and translation (``cv2.estimateAffinePartial2D``, least median of squares),
   fitted to its own foot and head points (bottom and top of the box);
3. **support**: a mapping is kept when at least ``min_support`` alike pairs
   agree with it (median error of foot and head below ``max_error`` × the
   box height: a chance mapping that shrinks or turns the image to bring a
   few feet together gets the heads wrong); without such agreement the cameras do not overlap, or not
   visibly, and nothing is concluded (the generated scene's cameras do not
   overlap, and no mapping reaches 5 agreeing pairs there);
4. **refit** on the agreeing pairs;
5. **check that the mapping explains who is seen** (:func:`explained_share`):
   where two views really overlap, a person standing where the mapping puts
   them inside the other view is seen there by the other camera at that
   moment, nearly always (detection misses aside). A mapping that only
   fits a handful of pairs, such as one view recorded twice at different
   times and replayed on one clock, where people who stood at the same
   place minutes apart look simultaneous, explains almost nobody else: at
   most 1 in 4 of the people it maps into the other view have anyone there.
   A mapping must explain at least ``min_explained`` (one half) of them,
   counted both ways;
6. every co-visible, alike pair within ``max_error`` of the mapping is the
   same person.

A random mapping can agree with a few pairs by chance; requiring several
agreeing pairs that also look alike keeps that out. Measured with the shipped
weights on PETS09 (no ground truth used): on the ``lr`` cameras the mapping
found is a shift of 350 px (the true one is 352 px), and of its 21
same-person links 20 are right; on frames 400–794, 10 of 10.

Example:

    evidence = find_overlaps(tracklets, similarity, floor=0.1)
    for overlap in evidence.overlaps:
        print(overlap.cameras, overlap.support)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlfn_keras.tracking.core.association.tracklets import Tracklet


@dataclass(frozen=True)
class ViewOverlap:
    """Two cameras found to see the same ground.

    Attributes:
        cameras: ``(a, b)``, ``a < b``.
        transform: ``(2, 3)`` map from camera ``a``'s image to camera ``b``'s.
        support: co-visible, alike tracklet pairs that agree with it.
        candidates: co-visible tracklet pairs of these cameras.
        links: pairs taken as one person.
        explained: share of the people mapped into the other view that the
            other camera sees there at that moment (:func:`explained_share`).
        believed: whether the mapping explained enough to be taken as an
            overlap (``False``: enough alike pairs agreed, but it explains too
            little of what the cameras see; no links were made).
    """

    cameras: tuple[int, int]
    transform: np.ndarray
    support: int
    candidates: int
    links: int
    explained: float = float("nan")
    believed: bool = True


@dataclass(frozen=True)
class OverlapEvidence:
    """What the footage's overlapping views say.

    Attributes:
        same: ``(N, N)`` bool, symmetric: tracklets seen at the same place at
            the same time by two overlapping cameras (one person).
        overlaps: the camera pairs found to overlap.
        rejected: mappings that enough alike pairs agreed with but that
            explain too little of what the two cameras see (no links made).
    """

    same: np.ndarray
    overlaps: list[ViewOverlap]
    rejected: list[ViewOverlap] = field(default_factory=list)


def co_visible_points(
    a: Tracklet, b: Tracklet, tolerance: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Foot and head points of two tracklets at the moments both were seen.

    Args:
        a: a tracklet of one camera.
        b: a tracklet of another camera.
        tolerance: seconds within which two timestamps count as one moment.

    Returns:
        ``(points_a, points_b, heights_b)``: ``(K, 2, 2)`` foot and head
        point per moment in each camera, and ``(K,)`` box heights in ``b``;
        ``None`` where the two were never seen at the same moment.
    """
    if not a.points or not b.points or a.last_time < b.first_time - tolerance or b.last_time < a.first_time - tolerance:
        return None
    return _co_visible(_points(a), _sorted_points(b), tolerance)


def _points(t: Tracklet) -> np.ndarray:
    """``(K, 4)`` the tracklet's points as an array."""
    return np.asarray(t.points, np.float64).reshape(-1, 4)


def _sorted_points(t: Tracklet) -> np.ndarray:
    """``(K, 4)`` the tracklet's points in time order."""
    pb = _points(t)
    return pb[np.argsort(pb[:, 0], kind="stable")]


def _co_visible(pa: np.ndarray, pb: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`co_visible_points` on point arrays (``pb`` in time order)."""
    index = np.clip(np.searchsorted(pb[:, 0], pa[:, 0]), 1, len(pb) - 1) if len(pb) > 1 else np.zeros(len(pa), int)
    if len(pb) > 1:
        left = index - 1
        index = np.where(np.abs(pb[left, 0] - pa[:, 0]) <= np.abs(pb[index, 0] - pa[:, 0]), left, index)
    near = np.abs(pb[index, 0] - pa[:, 0]) <= tolerance
    if not near.any():
        return None
    return _foot_and_head(pa[near]), _foot_and_head(pb[index[near]]), pb[index[near], 3]


def _foot_and_head(points: np.ndarray) -> np.ndarray:
    """``(K, 2, 2)``: the foot point and the top of the box above it."""
    foot = points[:, 1:3]
    head = foot - np.stack([np.zeros(len(points)), points[:, 3]], axis=1)
    return np.stack([foot, head], axis=1)


def _error(transform: np.ndarray, a: np.ndarray, b: np.ndarray, heights: np.ndarray) -> float:
    """Median error of a mapping, in box heights: foot and head together.

    Mapping the head as well as the feet checks the person's height and
    uprightness too, so a chance mapping that happens to bring some feet
    together (by shrinking or turning the image) does not agree.
    """
    mapped = a @ transform[:, :2].T + transform[:, 2]
    error = np.linalg.norm(mapped - b, axis=2).max(axis=1)
    return float(np.median(error / np.maximum(heights, 1.0)))


class _Pairs:
    """Many tracklet pairs' co-visible points stacked, to score a mapping on all of them at once.

    :func:`_error` per pair, vectorised: the online reviser scores up to 200
    proposals against every alike pair of every camera pair every few
    seconds, which one call per pair made the most expensive step of a
    many-camera box.
    """

    def __init__(self, seen: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]):
        lengths = np.array([len(v[0]) for v in seen], int)
        self.a = np.concatenate([v[0] for v in seen]) if seen else np.zeros((0, 2, 2))
        self.b = np.concatenate([v[1] for v in seen]) if seen else np.zeros((0, 2, 2))
        self.heights = np.maximum(np.concatenate([v[2] for v in seen]), 1.0) if seen else np.zeros(0)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int) if seen else np.zeros(0, int)
        self.segment = np.repeat(np.arange(len(seen)), lengths)
        # a pair's sorted errors sit at starts..starts+length; its median is the mean of the middle one or two
        self.lo, self.hi = starts + (lengths - 1) // 2, starts + lengths // 2

    def errors(self, transform: np.ndarray) -> np.ndarray:
        """Each pair's :func:`_error` under ``transform``."""
        if not len(self.a):
            return np.zeros(0)
        mapped = self.a @ transform[:, :2].T + transform[:, 2]
        error = np.linalg.norm(mapped - self.b, axis=2).max(axis=1) / self.heights
        ranked = error[np.lexsort((error, self.segment))]
        return (ranked[self.lo] + ranked[self.hi]) / 2


def _fit(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    import cv2

    transform, _ = cv2.estimateAffinePartial2D(
        a.reshape(-1, 2).astype(np.float32), b.reshape(-1, 2).astype(np.float32), method=cv2.LMEDS
    )
    return None if transform is None else transform.astype(np.float64)


def _all_points(tracklets: Sequence[Tracklet]) -> np.ndarray:
    """``(K, 4)`` every foot point ``time, x, y, height`` of the tracklets, in time order."""
    rows = [p for t in tracklets for p in t.points]
    if not rows:
        return np.zeros((0, 4))
    out = np.asarray(rows, np.float64)
    return out[np.argsort(out[:, 0], kind="stable")]


def _explained(transform: np.ndarray, source: np.ndarray, target: np.ndarray, max_error: float, tolerance: float) -> tuple[int, int]:
    """``(explained, mapped)``: ``source`` points mapped inside the ground ``target`` sees, and those with a ``target`` box there then."""
    if not len(source) or not len(target):
        return 0, 0
    feet = target[:, 1:3]
    low, high = np.percentile(feet, 1, axis=0), np.percentile(feet, 99, axis=0)
    a = _foot_and_head(source)
    mapped = a @ transform[:, :2].T + transform[:, 2]
    inside = np.all((mapped[:, 0] >= low) & (mapped[:, 0] <= high), axis=1)
    b = _foot_and_head(target)
    lo = np.searchsorted(target[:, 0], source[:, 0] - tolerance, "left")
    hi = np.searchsorted(target[:, 0], source[:, 0] + tolerance, "right")
    ks = np.flatnonzero(inside & (hi > lo))
    if not len(ks):
        return 0, int(inside.sum())
    # every (source point, target point at that moment) pair at once; the best match per source point
    counts = hi[ks] - lo[ks]
    first = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(ks)), counts)
    near = np.arange(int(counts.sum())) + np.repeat(lo[ks] - first, counts)
    error = np.linalg.norm(b[near] - mapped[ks][owner], axis=2).max(axis=1) / np.maximum(target[near, 3], 1.0)
    explained = int((np.minimum.reduceat(error, first) < max_error).sum())
    return explained, int(inside.sum())


def explained_share(
    transform: np.ndarray, tracklets_a: Sequence[Tracklet], tracklets_b: Sequence[Tracklet],
    max_error: float = 0.2, tolerance: float = 0.05,
) -> float:
    """How much of what two cameras see a mapping between their views explains.

    Every foot point (with the head above it) of camera ``a`` that the mapping
    puts inside the ground camera ``b`` sees (the central 98 % of ``b``'s
    foot points, per axis) should have a box of ``b`` at the same moment
    (within ``tolerance`` seconds) and place (foot and head within
    ``max_error`` box heights); the same the other way with the inverse
    mapping. Two views of one ground at one time explain most of them (the
    rest are detection misses); a chance mapping explains few.

    Args:
        transform: ``(2, 3)`` map from ``a``'s image to ``b``'s.
        tracklets_a: camera ``a``'s tracklets (their foot points are used).
        tracklets_b: camera ``b``'s tracklets.
        max_error: see :func:`find_overlaps`.
        tolerance: see :func:`find_overlaps`.

    Returns:
        The share explained, both ways together (``nan`` where the mapping
        puts nobody inside the other view).
    """
    return _explained_share(transform, _all_points(tracklets_a), _all_points(tracklets_b), max_error, tolerance)


def _explained_share(transform: np.ndarray, pa: np.ndarray, pb: np.ndarray, max_error: float, tolerance: float) -> float:
    """:func:`explained_share` on the two cameras' foot points (:func:`_all_points`)."""
    import cv2

    forward = _explained(transform, pa, pb, max_error, tolerance)
    backward = _explained(cv2.invertAffineTransform(transform), pb, pa, max_error, tolerance)
    mapped = forward[1] + backward[1]
    return (forward[0] + backward[0]) / mapped if mapped else float("nan")


def find_overlaps(tracklets: Sequence[Tracklet], similarity: np.ndarray, floor: float, **options: Any) -> OverlapEvidence:
    """Finds overlapping camera views and the people seen in both (see the module docstring).

    Arguments as :class:`OverlapSearch` (``options``: its keyword arguments),
    which this runs to the end.

    Returns:
        The :class:`OverlapEvidence`.
    """
    search = OverlapSearch(tracklets, similarity, floor, **options)
    while search.step():
        pass
    return search.evidence()


class OverlapSearch:
    """:func:`find_overlaps` one camera pair at a time, so a live central can spread it over several ticks.

    Many cameras make many camera pairs, and searching them all at once can
    hold a tick for longer than the cameras' frame period. The answer does
    not depend on how the steps are spread: the pairs are searched in the
    same order and each step is the whole search of one camera pair.

    Args:
        tracklets: the run's tracklets (in the order of ``similarity``).
        similarity: ``(N, N)`` re-id similarity of the tracklets.
        floor: a pair must be at least this similar to propose or join a
            mapping (the median of different people's similarity).
        min_common: moments two tracklets must share to be compared.
        max_error: foot and head error, in box heights, within which a pair agrees.
        min_support: agreeing pairs a mapping needs to be believed.
        tolerance: seconds within which two timestamps count as one moment.
        max_hypotheses: most pairs that propose a mapping per camera pair
            (those seen together longest), which bounds the time on long runs.
        min_explained: share of the people a mapping puts inside the other
            view that the other camera must see there
            (:func:`explained_share`); 0 turns the check off.

    Example:

        search = OverlapSearch(tracklets, similarity, floor)
        while search.step():  # one camera pair
            if out_of_time(): break  # and carry on at the next tick
        evidence = search.evidence()  # once step() returned False
    """

    def __init__(
        self,
        tracklets: Sequence[Tracklet],
        similarity: np.ndarray,
        floor: float,
        min_common: int = 5,
        max_error: float = 0.2,
        min_support: int = 5,
        tolerance: float = 0.05,
        max_hypotheses: int = 200,
        min_explained: float = 0.5,
    ):
        self.tracklets = tracklets
        self.min_common, self.max_error, self.min_support = min_common, max_error, min_support
        self.tolerance, self.max_hypotheses, self.min_explained = tolerance, max_hypotheses, min_explained
        n = len(tracklets)
        self.same = np.zeros((n, n), bool)
        self.overlaps: list[ViewOverlap] = []
        self.rejected: list[ViewOverlap] = []
        cameras = np.array([t.camera for t in tracklets], int)
        first = np.array([t.first_time for t in tracklets], np.float64)
        last = np.array([t.last_time for t in tracklets], np.float64)
        # only pairs of two cameras whose time spans overlap can share a moment
        together = (cameras[:, None] < cameras[None]) & (first[:, None] <= last[None] + tolerance) & (first[None] <= last[:, None] + tolerance)
        # Time-overlapping tracklet pairs filed by camera pair (in row order). Only alike pairs propose or
        # support a mapping; the others are looked at (``candidates``) just for the camera pairs a
        # mapping is found for.
        self._alike: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._others: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for i, j in zip(*np.nonzero(together)):
            pair, key = (int(i), int(j)), (int(cameras[i]), int(cameras[j]))
            (self._alike if similarity[i, j] >= floor else self._others).setdefault(key, []).append(pair)
        self._queue = sorted(self._alike, reverse=True)  # popped from the end: camera pairs in order
        self._raw: dict[int, np.ndarray] = {}  # each tracklet's points made an array once, when first needed
        self._ordered: dict[int, np.ndarray] = {}
        self._points: dict[int, np.ndarray] = {}  # each camera's foot points, for explained_share

    @property
    def done(self) -> bool:
        return not self._queue

    def step(self) -> bool:
        """Searches the next camera pair; returns whether any is left."""
        if self._queue:
            self._search(self._queue.pop())
        return bool(self._queue)

    def evidence(self) -> OverlapEvidence:
        """The answer (every camera pair searched)."""
        if self._queue:
            raise RuntimeError(f"{len(self._queue)} camera pairs are still to search; expected step() to return False first")
        return OverlapEvidence(self.same, self.overlaps, self.rejected)

    def _co_visible(self, i: int, j: int):
        tracklets = self.tracklets
        if not tracklets[i].points or not tracklets[j].points:
            return None
        if i not in self._raw:
            self._raw[i] = _points(tracklets[i])
        if j not in self._ordered:
            self._ordered[j] = _sorted_points(tracklets[j])
        seen = _co_visible(self._raw[i], self._ordered[j], self.tolerance)
        return seen if seen is not None and len(seen[0]) >= self.min_common else None

    def _camera_points(self, cam: int) -> np.ndarray:
        if cam not in self._points:
            self._points[cam] = _all_points([t for t in self.tracklets if t.camera == cam])
        return self._points[cam]

    def _search(self, cameras: tuple[int, int]) -> None:
        max_error = self.max_error
        alike = {pair: seen for pair in self._alike[cameras] if (seen := self._co_visible(*pair)) is not None}
        if not alike:
            return
        stacked = _Pairs(list(alike.values()))
        best, best_support = None, 0
        # the pairs seen together longest propose first; a long run's hundreds of
        # pairs need no more than max_hypotheses proposals to find the mapping
        proposals = sorted(alike.values(), key=lambda v: -len(v[0]))[: self.max_hypotheses]
        for a, b, _ in proposals:
            if np.ptp(a[:, 0], axis=0).sum() < 10.0:  # a person standing still fixes no mapping
                continue
            transform = _fit(a, b)
            if transform is None:
                continue
            support = int((stacked.errors(transform) < max_error).sum())
            if support > best_support:
                best, best_support = transform, support
            if best_support == len(alike):  # every pair agrees: no later proposal can do better
                break
        if best is None or best_support < self.min_support:
            return
        agreeing = [v for v, ok in zip(alike.values(), stacked.errors(best) < max_error) if ok]
        refit = _fit(np.concatenate([v[0] for v in agreeing]), np.concatenate([v[1] for v in agreeing]))
        transform = refit if refit is not None else best
        cam_a, cam_b = cameras
        explained = _explained_share(transform, self._camera_points(cam_a), self._camera_points(cam_b), max_error,
                                     self.tolerance)
        candidates = len(alike) + sum(self._co_visible(*p) is not None for p in self._others.get(cameras, ()))
        if not explained >= self.min_explained:  # NaN (nobody mapped inside) fails too
            self.rejected.append(ViewOverlap(cameras, transform, best_support, candidates, 0, explained, False))
            return
        links = 0
        for (i, j), ok in zip(alike, stacked.errors(transform) < max_error):
            if ok:
                self.same[i, j] = self.same[j, i] = True
                links += 1
        self.overlaps.append(ViewOverlap(cameras, transform, best_support, candidates, links, explained))


def overlap_links(
    tracklets: Sequence[Tracklet], centre=None, min_support: int = 5, max_error: float = 0.2, tolerance: float = 0.05
) -> tuple[list[tuple], OverlapEvidence]:
    """Runs :func:`find_overlaps` on a run's embedded tracklets.

    Args:
        tracklets: the run's tracklets (those without embeddings are skipped).
        centre: subtracted from embeddings first (as for clustering).
        min_support: see :func:`find_overlaps`.
        max_error: see :func:`find_overlaps`.
        tolerance: see :func:`find_overlaps`.

    Returns:
        ``(pairs, evidence)``: the tracklet-key pairs found to be one person,
        and the evidence (in the order of the embedded tracklets).
    """
    search = overlap_search(tracklets, centre, min_support, max_error, tolerance)
    while search.step():
        pass
    return search_links(search)


def overlap_search(
    tracklets: Sequence[Tracklet], centre=None, min_support: int = 5, max_error: float = 0.2, tolerance: float = 0.05
) -> OverlapSearch:
    """:func:`overlap_links` to be stepped (:class:`OverlapSearch`); :func:`search_links` gives its answer."""
    from mlfn_keras.tracking.core.association.tracklets import cannot_link

    items = [t for t in tracklets if t.embeddings]
    if len(items) < 2:
        return OverlapSearch(items, np.zeros((len(items), len(items))), 1.0)
    features = np.stack([t.feature(centre) for t in items])
    similarity = features @ features.T
    seen_together = cannot_link(items)
    different = similarity[np.triu(seen_together, 1)]
    floor = float(np.median(different)) if len(different) else 1.0
    return OverlapSearch(items, similarity, floor, max_error=max_error, min_support=min_support, tolerance=tolerance)


def search_links(search: OverlapSearch) -> tuple[list[tuple], OverlapEvidence]:
    """``(pairs, evidence)`` of a finished :func:`overlap_search`, as :func:`overlap_links` returns them."""
    evidence = search.evidence()
    rows, cols = np.nonzero(np.triu(evidence.same, 1))
    items = search.tracklets
    return [(items[i].key, items[j].key) for i, j in zip(rows, cols)], evidence
