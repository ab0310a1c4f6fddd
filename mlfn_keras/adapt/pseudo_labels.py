"""Pseudo-identities from mined tracklets, on the tracking association's calibration and clustering.

Every round, with the tracklets' current features (their crops embedded by
the model being adapted):

1. :func:`~mlfn_keras.tracking.core.association.calibration.calibrate` with
   ``method="balanced_error"`` learns, without labels, the cosine similarity
   above which two tracklets are taken to be one person: positives are the
   two halves (in time) of one tracklet, negatives are cannot-link pairs (two
   tracklets of one camera seen on a common frame: the one rule of
   :func:`~mlfn_keras.tracking.core.association.tracklets.cannot_link`);
2. :func:`~mlfn_keras.tracking.core.association.clustering.cluster_tracklets`
   with ``method="average"`` merges tracklets by average linkage on cosine
   similarity while the clusters' similarity is above the threshold and no
   member of one cannot-link a member of the other (COP-style constrained
   agglomerative clustering). Merges link a person's tracklets across cameras
   and across breaks in one camera; everything left alone stays its own
   identity (tracklet discrimination).

Both are re-run after every round of training, so the pseudo-identities are
refined as the model improves (the UTAL/SpCL loop). The multi-camera tracker
uses the same two functions (with its own method choices) for its final ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from mlfn_keras.tracking.core.association import Calibration, Tracklet, calibrate, cluster_tracklets

__all__ = ["DEFAULT_THRESHOLD", "pseudo_identities", "violations", "with_features"]

#: Threshold when the footage shows no pair of a kind (e.g. never two people at once).
DEFAULT_THRESHOLD = 0.7


def with_features(tracklets: Sequence[Tracklet], features: Sequence[np.ndarray]) -> list[Tracklet]:
    """The tracklets (shallow copies, crops shared) with ``features[i]`` (unit rows, one per crop) as embeddings."""
    return [dataclasses.replace(t, embeddings=list(f)) for t, f in zip(tracklets, features)]


def pseudo_identities(tracklets: Sequence[Tracklet], features: Sequence[np.ndarray]) -> tuple[Calibration, np.ndarray]:
    """Calibrates the threshold and clusters: ``(calibration, (n,) labels 0..k-1 in order of first appearance)``.

    Args:
        tracklets: the mined tracklets.
        features: per tracklet, ``(crops, d)`` unit features.
    """
    embedded = with_features(tracklets, features)
    cal = calibrate(embedded, method="balanced_error", min_pairs=1, fallback=DEFAULT_THRESHOLD)
    by_key = cluster_tracklets(embedded, cal.threshold, method="average")
    order: dict[int, int] = {}
    return cal, np.array([order.setdefault(by_key[t.key], len(order)) for t in embedded], int)


def violations(labels: np.ndarray, cannot: np.ndarray) -> int:
    """Cannot-link pairs that ended in one cluster (0 for a correct clustering)."""
    same = labels[:, None] == labels[None, :]
    return int(np.triu(same & cannot, 1).sum())
