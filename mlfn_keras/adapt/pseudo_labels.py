"""Pseudo-identities from tracklets: a calibrated similarity threshold and constrained clustering.

* :func:`calibrate` learns, without labels, the cosine similarity above which
  two tracklets are taken to be one person: positives are the two halves (in
  time) of one tracklet, negatives are cannot-link pairs (two tracklets of one
  camera on a common frame). The threshold is the point that minimises the
  balanced error between the two.
* :func:`cluster_tracklets` merges tracklets by average linkage on cosine
  similarity while the best pair is above the threshold and no member of one
  cluster cannot-link a member of the other (COP-style constrained
  agglomerative clustering). Merges link a person's tracklets across cameras
  and across breaks in one camera; everything left alone stays its own
  identity (tracklet discrimination).

Both are re-run after every round of training, so the pseudo-identities are
refined as the model improves (the UTAL/SpCL loop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlfn_keras.tracking.core.association.clustering import cluster_features


@dataclass(frozen=True)
class Calibration:
    """The similarity threshold and the unlabelled evidence it came from.

    Attributes:
        threshold: cosine similarity above which two tracklets are one person.
        positive_median: median similarity of a tracklet's two halves.
        negative_median: median similarity of cannot-link pairs.
        balanced_error: mean of the miss and false-match rates at ``threshold``.
        num_positive: positive pairs used; ``num_negative``: negative pairs used.
    """

    threshold: float
    positive_median: float
    negative_median: float
    balanced_error: float
    num_positive: int
    num_negative: int


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def tracklet_features(crop_features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per tracklet: the unit mean feature, and unit means of its first and second half in time."""
    means, first, second = [], [], []
    for f in crop_features:
        half = max(1, len(f) // 2)
        means.append(f.mean(0))
        first.append(f[:half].mean(0))
        second.append(f[half:].mean(0) if len(f) > 1 else f.mean(0))
    return _unit(np.stack(means)), _unit(np.stack(first)), _unit(np.stack(second))


def calibrate(first: np.ndarray, second: np.ndarray, means: np.ndarray, cannot: np.ndarray,
              default: float = 0.7) -> Calibration:
    """The balanced-error threshold between same-tracklet and cannot-link similarities.

    Args:
        first, second: unit features of each tracklet's two halves (``(n, d)``).
        means: unit mean feature of each tracklet.
        cannot: ``(n, n)`` cannot-link matrix.
        default: threshold used when there are no negative pairs.
    """
    pos = np.sum(first * second, axis=1)
    iu = np.triu_indices(len(means), 1)
    neg = (means @ means.T)[iu][cannot[iu]]
    if len(neg) == 0 or len(pos) == 0:
        return Calibration(default, float(np.median(pos)) if len(pos) else float("nan"), float("nan"), float("nan"),
                           len(pos), len(neg))
    candidates = np.unique(np.concatenate([pos, neg]))
    miss = np.array([(pos < t).mean() for t in candidates])
    false = np.array([(neg >= t).mean() for t in candidates])
    err = (miss + false) / 2
    best = np.flatnonzero(err == err.min())
    # Middle of the best interval, not its edge: the threshold should not sit on a sample.
    lo, hi = candidates[best[0]], candidates[best[-1]]
    below = candidates[candidates < lo]
    t = (lo + (below.max() if len(below) else lo)) / 2 if best[0] == best[-1] else (lo + hi) / 2
    return Calibration(float(t), float(np.median(pos)), float(np.median(neg)), float(err.min()), len(pos), len(neg))


def cluster_tracklets(means: np.ndarray, cannot: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage clustering of unit tracklet features under cannot-link constraints.

    The same clustering the multi-camera tracker uses for its final ids
    (:func:`mlfn_keras.tracking.core.association.clustering.cluster_features`).

    Args:
        means: ``(n, d)`` unit features.
        cannot: ``(n, n)`` bool; True pairs never end in one cluster.
        threshold: clusters merge only while their average cosine similarity is
            at least this.

    Returns:
        ``(n,)`` int labels ``0..k-1`` (in order of first appearance).
    """
    return cluster_features(means, cannot, threshold, method="average")


def violations(labels: np.ndarray, cannot: np.ndarray) -> int:
    """Cannot-link pairs that ended in one cluster (0 for a correct clustering)."""
    same = labels[:, None] == labels[None, :]
    return int(np.triu(same & cannot, 1).sum())
