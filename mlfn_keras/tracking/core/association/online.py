"""Live association: recalibrate as evidence arrives and revise global ids.

A live run cannot wait for the end to cluster, so the pipeline gives ids
online (:class:`~mlfn_keras.tracking.core.gallery.IdentityGallery`) and
:class:`OnlineReviser` periodically looks at all recent tracklets again:

1. **recalibrate** the threshold from the footage so far
   (:func:`~mlfn_keras.tracking.core.association.calibration.calibrate`); until
   there is enough evidence it is 1.0 (nothing is linked, ids stay apart);
2. **cluster** the recent tracklets with cannot-link constraints and
   **merge** two global ids when every tracklet of both falls into one
   cluster: later evidence says they are one person. An id whose tracklets
   fall into several clusters is left alone (a split of a live track is the
   appearance check's job, which sees every embedding).

Example:

    reviser = OnlineReviser(every_seconds=2.0)
    if reviser.due(now):
        threshold, merges = reviser.revise(store, tracklet_gid, now)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mlfn_keras.tracking.core.association.calibration import Calibration, calibrate
from mlfn_keras.tracking.core.association.clustering import cluster_tracklets
from mlfn_keras.tracking.core.association.overlap import ViewOverlap, overlap_links
from mlfn_keras.tracking.core.association.tracklets import (
    Tracklet,
    TrackletKey,
    TrackletStore,
)


@dataclass(frozen=True)
class Merge:
    """Two global ids found to be one person: ``removed`` folds into ``kept``."""

    kept: int
    removed: int
    similarity: float


class OnlineReviser:
    """Periodic recalibration and merging for live runs.

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
            (``None``: the clustering threshold); later evidence can still
            merge it into another id, but a wrong first id is never undone.
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

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    def due(self, now: float) -> bool:
        return now - self._last >= self.every_seconds

    def recalibrate(self, store: TrackletStore) -> Calibration:
        """Measures the footage's centre and the threshold (unless manual); returns the calibration."""
        self.centre = None
        if self.centred and self.manual_threshold is None:
            self.centre = store.centres() if self.per_camera else store.centre()
        if self.manual_threshold is None:
            self.calibration = calibrate(store.values(), self.different_quantile, centre=self.centre)
            first = self.calibration
            if self.first_quantile is not None and self.calibration.threshold < 1.0:
                first = calibrate(store.values(), self.first_quantile, centre=self.centre)
            self.first_threshold = max(first.threshold, self.calibration.threshold)
        return self.calibration

    def group(self, tracklets: Sequence[Tracklet]) -> tuple[dict[TrackletKey, int], list[ViewOverlap]]:
        """Groups tracklets into people by this reviser's rules and its last calibration.

        The one place both answers come from: live revisions (recent
        tracklets) and the offline re-clustering of a whole recorded run.

        Returns:
            ``(labels, overlaps)``: tracklet key → cluster label (see
            :func:`~mlfn_keras.tracking.core.association.clustering.cluster_tracklets`),
            and the overlapping camera views found.
        """
        same_pairs, overlaps = [], []
        if self.overlap_min_support is not None:
            same_pairs, evidence = overlap_links(tracklets, self.centre, self.overlap_min_support, self.overlap_max_error)
            overlaps = evidence.overlaps
        labels = cluster_tracklets(tracklets, self.threshold, self.linkage, self.centre, self.max_gap_seconds,
                                   self.mutual_k, same_pairs)
        return labels, overlaps

    def revise(
        self, store: TrackletStore, tracklet_gid: Mapping[TrackletKey, int], now: float, window: float = float("inf")
    ) -> list[Merge]:
        """Recalibrates, clusters the tracklets of the last ``window`` seconds, returns the merges they support."""
        self._last = now
        self.recalibrate(store)
        if self.threshold >= 1.0:
            return []
        with_feat = [t for t in store.recent(now - window) if t.embeddings and t.key in tracklet_gid]
        if len(with_feat) < 2:
            return []
        labels, _ = self.group(with_feat)
        clusters_of: dict[int, set[int]] = {}
        for key, label in labels.items():
            clusters_of.setdefault(tracklet_gid[key], set()).add(label)
        members: dict[int, list[int]] = {}
        for gid, labs in clusters_of.items():
            if len(labs) == 1:  # every tracklet of this id agrees on one cluster
                members.setdefault(next(iter(labs)), []).append(gid)
        feats = {t.key: t.feature(self.centre) for t in with_feat}
        merges = []
        for gids in members.values():
            if len(gids) < 2:
                continue
            gids = sorted(gids)
            kept = gids[0]
            kf = np.mean([feats[k] for k, g in tracklet_gid.items() if g == kept and k in feats], axis=0)
            for removed in gids[1:]:
                rf = np.mean([feats[k] for k, g in tracklet_gid.items() if g == removed and k in feats], axis=0)
                sim = float(kf @ rf / max(np.linalg.norm(kf) * np.linalg.norm(rf), 1e-12))
                merges.append(Merge(kept, removed, sim))
        return merges
