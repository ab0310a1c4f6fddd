"""Live association: recalibrate as evidence arrives and revise global ids.

A live run cannot wait for the end to cluster, so the pipeline gives ids
online (:class:`~mlfn_keras.tracking.core.gallery.IdentityGallery`) and
:class:`OnlineReviser` periodically looks at all recent tracklets again:

1. **recalibrate** the threshold from the footage so far
   (:func:`~mlfn_keras.tracking.core.association.calibration.calibrate`); until
   there is enough evidence it is 1.0 (nothing is linked, ids stay apart);
2. **group** the recent tracklets by the same rules as a recorded run's
   final answer (:meth:`OnlineReviser.group`: overlapping views, mutual
   nearest neighbours with cannot-link and the cross-camera gap);
3. **relabel**: the live ids follow the grouping while changing as few as
   possible (:func:`relabel`): two ids that one group holds are **merged**,
   and an id whose tracklets the grouping puts apart is **split** (the part
   that is someone else moves to its group's id or to a new one). A split
   into a new identity needs evidence that the part is someone else: it is
   less alike the rest of its id than a live link needs, or a rule (seen
   together, too far apart in time, clocks not known to agree) keeps them
   apart. Mutual nearest neighbours depend on who else is around, so without
   that a part could be split off and merged back at the next revision,
   flipping the id shown each time.

A revision **holds** (changes nothing) when live links have been made on a
measured threshold and the footage so far no longer gives one at the live
standard (its two kinds of pairs stop separating: the stricter quantile
reaches the same-person median). A few new pairs move that comparison back
and forth; it is no evidence against the links made, and undoing them all
to redo them at the next revision flips every id they touch. New tracks get
new ids meanwhile.

So no live decision is final: a track's first id (given at once by the
gallery, on a stricter threshold) and every merge are undone by the first
revision whose evidence disagrees. What was already shown stays as shown; from
the revision on, the live view, the annotated video and ``mot/`` carry the
revised ids.

A revision can also be made a part at a time (:meth:`OnlineReviser.start`,
then :meth:`OnlineReviser.step`: the recalibration, the overlap search of
each camera pair, the grouping), so a central with many cameras spreads it
over several ticks instead of holding one; the answer is the same however
the parts are spread, on the tracklets as they are when each part runs.

Example:

    reviser = OnlineReviser(every_seconds=2.0)
    if reviser.due(now):
        revision = reviser.revise(store, tracklet_gid, now)
        for merge in revision.merges: ...
        for split in revision.splits: ...
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlfn_keras.tracking.core.association.calibration import (
    Calibration,
    calibrate,
    pair_similarities,
)
from mlfn_keras.tracking.core.association.clustering import (
    cluster_tracklets,
    forbidden_links,
)
from mlfn_keras.tracking.core.association.overlap import (
    OverlapSearch,
    ViewOverlap,
    overlap_search,
    search_links,
)
from mlfn_keras.tracking.core.association.tracklets import (
    Tracklet,
    TrackletKey,
    TrackletStore,
    time_windows,
)


@dataclass(frozen=True)
class Merge:
    """Two global ids found to be one person: ``removed`` folds into ``kept``."""

    kept: int
    removed: int
    similarity: float


@dataclass(frozen=True)
class Split:
    """Part of a global id found to be someone else.

    Attributes:
        source: the id the tracklets carried.
        target: the id they carry now: another existing id, or a negative
            placeholder for a new identity (the caller makes one per
            placeholder; splits with the same placeholder share it).
        tracklets: the tracklets that move.
        similarity: cosine similarity of the moving part to the part of
            ``source`` that stays (``nan`` when nothing stays).
    """

    source: int
    target: int
    tracklets: tuple[TrackletKey, ...]
    similarity: float


@dataclass(frozen=True)
class Revision:
    """What one revision changes: whole ids folded into others, and parts of ids moved."""

    merges: list[Merge] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.merges or self.splits)


def relabel(
    labels: Mapping[TrackletKey, int], current: Mapping[TrackletKey, int], weight: Mapping[TrackletKey, float]
) -> dict[TrackletKey, int]:
    """Global ids that follow a clustering while changing as few as possible.

    Each cluster takes the current id that most of it (by ``weight``) already
    carries, one id per cluster, solved for all clusters together (Hungarian,
    ``scipy.optimize.linear_sum_assignment``); a cluster left without one gets a
    new identity (a negative placeholder: ``-1``, ``-2``, ...). So ids that one cluster holds are merged, an id
    whose tracklets fall into several clusters is split, and a cluster that
    agrees with the current ids changes nothing.

    Args:
        labels: tracklet → cluster label.
        current: tracklet → the global id it carries now (every key of ``labels``).
        weight: tracklet → how much it counts (e.g. its frames).

    Returns:
        tracklet → its id after the revision (negative: a new identity, one
        placeholder per cluster that needs one).
    """
    from scipy.optimize import linear_sum_assignment

    clusters = sorted(set(labels.values()))
    ids = sorted({current[k] for k in labels})
    row, col = {c: i for i, c in enumerate(clusters)}, {g: j for j, g in enumerate(ids)}
    overlap = np.zeros((len(clusters), len(ids)))
    for key, label in labels.items():
        overlap[row[label], col[current[key]]] += weight.get(key, 1.0)
    chosen: dict[int, int | None] = dict.fromkeys(clusters)
    for r, c in zip(*linear_sum_assignment(overlap, maximize=True)):
        if overlap[r, c] > 0:
            chosen[clusters[r]] = ids[c]
    out: dict[TrackletKey, int] = {}
    new_of: dict[int, int] = {}
    for key, label in labels.items():
        target = chosen[label]
        if target is None:  # one placeholder per cluster, resolved by the caller
            target = new_of.setdefault(label, -(len(new_of) + 1))
        out[key] = target
    return out


@dataclass
class _Pending:
    """A revision started by :meth:`OnlineReviser.start` and not yet finished."""

    store: TrackletStore
    tracklet_gid: Mapping[TrackletKey, int]
    now: float
    window: float
    tracklets: list[Tracklet] | None = None  # taken at the first step
    search: OverlapSearch | None = None


class OnlineReviser:
    """Periodic recalibration and revision (merges and splits) for live runs.

    Args:
        every_seconds: time between revisions (clustering is ``O(N²)`` in the
            recent tracklets; every couple of seconds is plenty for people).
        manual_threshold: a fixed threshold (``--threshold``) instead of calibrating.
        different_quantile: see :func:`~mlfn_keras.tracking.core.association.calibration.calibrate`.
        centred: compare embeddings after subtracting the footage's mean
            (:meth:`~mlfn_keras.tracking.core.association.tracklets.TrackletStore.centre`).
        per_camera: subtract one mean per camera instead
            (:meth:`~mlfn_keras.tracking.core.association.tracklets.TrackletStore.centres`).
        linkage: clustering method (see
            :func:`~mlfn_keras.tracking.core.association.clustering.cluster_tracklets`).
        mutual_k: for ``linkage="mutual"``.
        max_gap_seconds: no id holds tracklets of two cameras further apart in time.
        overlap_min_support: look for overlapping views and link the people
            both see (``None``: off; see :mod:`~mlfn_keras.tracking.core.association.overlap`).
        overlap_max_error: see :func:`~mlfn_keras.tracking.core.association.overlap.find_overlaps`.
        first_quantile: a track's first global id is given on a stricter
            threshold, this quantile of the different-people similarities
            (``None``: the clustering threshold); the next revision that sees
            evidence against it undoes it, but what was shown stays shown.
        live_quantile: live revisions group on this quantile of the
            different-people similarities when it is stricter than
            ``different_quantile`` (``None``: the same threshold as the
            offline answer). What a live view has shown cannot be taken back,
            so a live link needs more than a final one.
        live_min_pairs: live revisions link nothing until this many
            same-person and different-person pairs have been measured (the
            offline answer needs 10): a threshold measured on a handful of
            pairs is a guess.
        unsynced: cameras whose clock is not known to agree with the others'
            (files given without start times). Their people are linked to
            another camera's only where the two views are found to overlap
            (which shows the clocks agree); otherwise the time rules would
            judge them on a clock that may be minutes off.
    """

    def __init__(
        self,
        every_seconds: float = 2.0,
        manual_threshold: float | None = None,
        different_quantile: float = 0.8,
        centred: bool = True,
        per_camera: bool = False,
        linkage: str = "average",
        mutual_k: int = 2,
        max_gap_seconds: float | None = None,
        overlap_min_support: int | None = None,
        overlap_max_error: float = 0.2,
        first_quantile: float | None = None,
        live_quantile: float | None = None,
        live_min_pairs: int = 10,
        unsynced: Collection[int] = (),
    ):
        self.every_seconds = float(every_seconds)
        self.centred = centred
        self.per_camera = per_camera
        self.linkage = linkage
        self.mutual_k = mutual_k
        self.max_gap_seconds = max_gap_seconds
        self.overlap_min_support = overlap_min_support
        self.overlap_max_error = overlap_max_error
        self.first_quantile = first_quantile
        self.live_quantile = live_quantile
        self.live_min_pairs = int(live_min_pairs)
        self.unsynced = frozenset(int(c) for c in unsynced)
        #: camera pairs never linked (an unsynced camera and one whose view it
        #: was not found to overlap), from the last :meth:`group`
        self.apart: set[tuple[int, int]] = set()
        #: the camera views found to overlap (or refused) by the last :meth:`group`
        self.overlaps: list[ViewOverlap] = []
        #: the threshold live revisions group on (``live_quantile``)
        self.live_threshold = 1.0 if manual_threshold is None else float(manual_threshold)
        #: the stricter threshold for a track's first id (``first_quantile``);
        #: the clustering threshold where that is ``None``.
        self.first_threshold = 1.0 if manual_threshold is None else float(manual_threshold)
        #: what is subtracted before comparing: ``None``, the footage's mean or
        #: one mean per camera (a mapping camera → mean).
        self.centre: np.ndarray | Mapping[int, np.ndarray] | None = None
        self.manual_threshold = manual_threshold
        self.different_quantile = different_quantile
        self.calibration = Calibration(manual_threshold, "manual") if manual_threshold is not None else Calibration(1.0, "too_little_evidence")
        self._last = -float("inf")
        self._pending: _Pending | None = None
        self._linked_live = False  # a live revision has grouped on a measured threshold

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    @property
    def holding(self) -> bool:
        """Whether live revisions change nothing for now (see the module docstring): live links were made on a
        measured threshold, and the last calibration measured the footage but gave no live threshold."""
        return self._linked_live and self.live_threshold >= 1.0 and self.calibration.threshold < 1.0

    def due(self, now: float) -> bool:
        return now - self._last >= self.every_seconds

    def recalibrate(self, store: TrackletStore, live: bool = False) -> Calibration:
        """Measures the footage's centre and the thresholds (unless manual); returns the calibration.

        Args:
            store: the tracklets so far.
            live: for a live revision (``live_min_pairs``, ``live_quantile``);
                the offline answer is measured without.
        """
        self.centre = None
        if self.centred and self.manual_threshold is None:
            self.centre = store.centres() if self.per_camera else store.centre()
        if self.manual_threshold is None:
            min_pairs = max(self.live_min_pairs, 10) if live else 10
            pairs = pair_similarities(store.values(), self.centre)  # measured once, three thresholds taken from it
            self.calibration = calibrate(store.values(), self.different_quantile, min_pairs, centre=self.centre, pairs=pairs)
            first, strict = self.calibration, self.calibration
            if self.first_quantile is not None and self.calibration.threshold < 1.0:
                first = calibrate(store.values(), self.first_quantile, min_pairs, centre=self.centre, pairs=pairs)
            if live and self.live_quantile is not None and self.calibration.threshold < 1.0:
                strict = calibrate(store.values(), self.live_quantile, min_pairs, centre=self.centre, pairs=pairs)
            self.first_threshold = max(first.threshold, self.calibration.threshold)
            self.live_threshold = max(strict.threshold, self.calibration.threshold)
        else:
            self.live_threshold = self.first_threshold = self.calibration.threshold
        return self.calibration

    def group(self, tracklets: Sequence[Tracklet], threshold: float | None = None) -> tuple[dict[TrackletKey, int], list[ViewOverlap]]:
        """Groups tracklets into people by this reviser's rules and its last calibration.

        The one place both answers come from: live revisions (recent
        tracklets, on :attr:`live_threshold`) and the offline re-clustering
        of a whole recorded run (on :attr:`threshold`).

        Args:
            tracklets: the tracklets to group.
            threshold: the linking threshold (``None``: the calibrated one).

        Returns:
            ``(labels, overlaps)``: tracklet key → cluster label (see
            :func:`~mlfn_keras.tracking.core.association.clustering.cluster_tracklets`),
            and the overlapping camera views found (with those refused:
            ``believed`` is ``False``).
        """
        search = self._overlap_search(tracklets)
        while search is not None and search.step():
            pass
        return self._cluster(tracklets, search, threshold)

    def _overlap_search(self, tracklets: Sequence[Tracklet]) -> OverlapSearch | None:
        """The overlapping-views search over ``tracklets`` to step through (``None``: overlaps are off)."""
        if self.overlap_min_support is None:
            return None
        return overlap_search(tracklets, self.centre, self.overlap_min_support, self.overlap_max_error)

    def _cluster(self, tracklets: Sequence[Tracklet], search: OverlapSearch | None,
                 threshold: float | None) -> tuple[dict[TrackletKey, int], list[ViewOverlap]]:
        """:meth:`group`'s last step, once ``search`` is done."""
        same_pairs, overlaps = [], []
        if search is not None:
            same_pairs, evidence = search_links(search)
            overlaps = evidence.overlaps + evidence.rejected
        self.apart = self._apart(tracklets, overlaps)
        self.overlaps = overlaps
        labels = cluster_tracklets(tracklets, self.threshold if threshold is None else threshold, self.linkage, self.centre,
                                   self.max_gap_seconds, self.mutual_k, same_pairs, self.apart)
        return labels, overlaps

    def group_windows(
        self, tracklets: Sequence[Tracklet], window_seconds: float | None
    ) -> tuple[dict[TrackletKey, int], list[ViewOverlap]]:
        """:meth:`group` over a long run, one time window at a time (the final ids of a recorded day).

        Clustering compares every pair of the tracklets it is given, so a
        day of many cameras is never grouped in one matrix: the run is cut
        into windows of ``window_seconds`` that overlap by half
        (:func:`~mlfn_keras.tracking.core.association.tracklets.time_windows`),
        each window is grouped by :meth:`group`, and the windows are stitched
        in time order by the rule live ids follow (:func:`relabel`): a
        window's group continues the id that most of its tracklets already
        labelled by the window before carry, otherwise it is a new person. A
        tracklet keeps the id its first window gave it. A run no longer than
        one window is grouped at once, exactly as :meth:`group` does.

        Args:
            tracklets: the run's tracklets.
            window_seconds: the window (``None``: the whole run at once).

        Returns:
            ``(labels, overlaps)`` as :meth:`group` returns them; labels are
            numbered by first appearance; of the camera views found in
            several windows, the one with the most support is given.
        """
        windows = time_windows(tracklets, window_seconds)
        if len(windows) <= 1:
            return self.group(windows[0] if windows else [])
        ids: dict[TrackletKey, int] = {}  # tracklet -> person (1, 2, ...), fixed by its first window
        next_id = 1
        overlaps: dict[tuple[int, int], ViewOverlap] = {}
        for window in windows:
            labels, found = self.group(window)
            for o in found:
                best = overlaps.get(o.cameras)
                if best is None or (o.believed, o.support) > (best.believed, best.support):
                    overlaps[o.cameras] = o
            # Tracklets new to this window weigh nothing (each under a placeholder of its own), so a
            # group takes the id its already-labelled tracklets carry, or none: then it is someone new.
            current = {k: ids.get(k, -(i + 1)) for i, k in enumerate(labels)}
            weight = {t.key: float(t.last_frame - t.first_frame + 1) if t.key in ids else 0.0 for t in window}
            new_person: dict[int, int] = {}  # placeholder -> the id made for it
            for key, gid in relabel(labels, current, weight).items():
                if key in ids:
                    continue
                if gid < 0:
                    if gid not in new_person:
                        new_person[gid] = next_id
                        next_id += 1
                    gid = new_person[gid]
                ids[key] = gid
        order: dict[int, int] = {}
        first = sorted(tracklets, key=lambda t: (t.first_time, t.key))
        labels = {t.key: order.setdefault(ids[t.key], len(order)) for t in first}
        self.overlaps = sorted(overlaps.values(), key=lambda o: o.cameras)
        return labels, self.overlaps

    def _apart(self, tracklets: Sequence[Tracklet], overlaps: Sequence[ViewOverlap]) -> set[tuple[int, int]]:
        """Camera pairs with an unsynced camera whose views were not found to overlap."""
        if not self.unsynced:
            return set()
        cameras = sorted({t.camera for t in tracklets} | self.unsynced)
        shown = {o.cameras for o in overlaps if o.believed}
        return {(a, b) for i, a in enumerate(cameras) for b in cameras[i + 1 :]
                if (a in self.unsynced or b in self.unsynced) and (a, b) not in shown}

    def revise(
        self, store: TrackletStore, tracklet_gid: Mapping[TrackletKey, int], now: float, window: float = float("inf")
    ) -> Revision:
        """Recalibrates, groups the tracklets of the last ``window`` seconds, and returns how the ids must change.

        The live ids are made to follow the grouping (:func:`relabel`): ids
        that one group holds are merged, an id whose tracklets the grouping
        puts apart is split (the part that is someone else moves to the
        group's id or to a new one). Both the first id of a track and every
        earlier revision are only provisional: a wrong one is undone at the
        next revision that sees the evidence against it.

        The same as :meth:`start` and then :meth:`step` until it returns the revision.
        """
        self.start(store, tracklet_gid, now, window)
        while (revision := self.step()) is None:
            pass
        return revision

    def start(
        self, store: TrackletStore, tracklet_gid: Mapping[TrackletKey, int], now: float, window: float = float("inf")
    ) -> None:
        """Begins a revision (:meth:`revise`) to be carried out by :meth:`step`, a part at a time.

        A live central with many cameras spreads one revision over several
        ticks this way, so no tick waits for the whole of it. The parts are
        the recalibration, the overlapping-views search of each camera pair
        and the grouping; the answer does not depend on how they are spread.
        ``store`` and ``tracklet_gid`` are read as they are when each part runs.
        """
        self._last = now
        self._pending = _Pending(store, tracklet_gid, now, window)

    @property
    def pending(self) -> bool:
        """Whether a revision has been started and not yet finished by :meth:`step`."""
        return self._pending is not None

    @property
    def next_part(self) -> str | None:
        """The part the next :meth:`step` makes: ``"calibrate"``, ``"overlaps"`` (one camera pair) or
        ``"group"`` (``None``: no revision is pending)."""
        p = self._pending
        if p is None:
            return None
        if p.tracklets is None:
            return "calibrate"
        return "overlaps" if p.search is not None and not p.search.done else "group"

    def step(self) -> Revision | None:
        """Carries the started revision one part further; returns it once finished (``None`` until then)."""
        p = self._pending
        if p is None:
            raise RuntimeError("no revision was started; expected start() first")
        if p.tracklets is None:  # recalibrate, take the tracklets to group
            self.recalibrate(p.store, live=True)
            if self.holding:
                self._pending = None
                return Revision()
            self._linked_live = self._linked_live or self.live_threshold < 1.0
            p.tracklets = [t for t in p.store.recent(p.now - p.window) if t.embeddings and t.key in p.tracklet_gid]
            if len(p.tracklets) < 2:
                self._pending = None
                return Revision()
            p.search = self._overlap_search(p.tracklets)
            return None
        if p.search is not None and not p.search.done:
            p.search.step()
            return None
        self._pending = None
        labels, _ = self._cluster(p.tracklets, p.search, self.live_threshold)
        return self._follow(p.store, p.tracklets, labels, p.tracklet_gid)

    def _follow(self, store: TrackletStore, with_feat: Sequence[Tracklet], labels: Mapping[TrackletKey, int],
                tracklet_gid: Mapping[TrackletKey, int]) -> Revision:
        """The merges and splits that make the live ids follow the grouping ``labels`` (see :meth:`revise`)."""
        current = {t.key: tracklet_gid[t.key] for t in with_feat}
        weight = {t.key: float(t.last_frame - t.first_frame + 1) for t in with_feat}
        target = relabel(labels, current, weight)
        feats = {t.key: t.feature(self.centre) for t in with_feat}
        moves: dict[tuple[int, int], list[TrackletKey]] = {}
        for key, new in target.items():
            if new != current[key]:
                moves.setdefault((current[key], new), []).append(key)
        kept_ids = set(target.values())
        revision = Revision()
        for (source, new), keys in sorted(moves.items(), key=lambda kv: kv[0]):
            staying = [k for k, g in current.items() if g == source and target[k] == source]
            whole = source not in kept_ids and len({target[k] for k, g in current.items() if g == source}) == 1
            if whole and new > 0:
                others = [k for k, g in target.items() if g == new and current[k] != source]
                revision.merges.append(Merge(new, source, _similarity(feats, keys, others)))
            else:
                similarity = _similarity(feats, keys, staying)
                if new < 0 and similarity >= self.live_threshold and self._may_link(
                        store, keys, [k for k, g in target.items() if g == source]):  # everyone keeping the id
                    # Nothing says the part is someone else: it is as alike the rest of its id as a live link
                    # needs and no rule keeps them apart; only who else is around changed the grouping
                    # (mutual neighbours), and splitting now would flip the ids shown back at a later revision.
                    continue
                revision.splits.append(Split(source, new, tuple(sorted(keys)), similarity))
        return revision

    def _may_link(self, store: TrackletStore, a: Sequence[TrackletKey], b: Sequence[TrackletKey]) -> bool:
        """Whether the grouping's rules allow tracklets ``a`` and ``b`` in one id (cannot-link, time gap, clocks)."""
        forbidden = forbidden_links([store.get(k) for k in (*a, *b)], self.max_gap_seconds, self.apart)
        return not forbidden[: len(a), len(a) :].any()


def _similarity(feats: Mapping[TrackletKey, np.ndarray], a: Sequence[TrackletKey], b: Sequence[TrackletKey]) -> float:
    """Cosine similarity of the mean features of two groups of tracklets (``nan`` if either is empty)."""
    if not a or not b:
        return float("nan")
    fa, fb = np.mean([feats[k] for k in a], axis=0), np.mean([feats[k] for k in b], axis=0)
    return float(fa @ fb / max(np.linalg.norm(fa) * np.linalg.norm(fb), 1e-12))
