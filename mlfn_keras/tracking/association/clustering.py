"""Agglomerative clustering of tracklets with cannot-link constraints.

The final identities of a recorded run: every tracklet with an appearance
feature is a leaf, and clusters are merged bottom-up by **average linkage**
(UPGMA, ``scipy.cluster.hierarchy.linkage``) on cosine distance ``1 - s``,
cut at ``1 - threshold`` (``fcluster``). The cannot-link pairs (two tracklets
of one camera visible at the same time) get a distance far above any real one
(:data:`CANNOT_LINK_DISTANCE`); an average over at most ``N²`` pairs that
contains one of them is still far above the cut, so no cluster can ever hold
two tracklets seen together in one camera. Tracklets with no feature (too
short or never a clean box) stay on their own: with no evidence, ids are kept
apart, which is exactly the no-re-id answer.

Average linkage is the usual choice for re-id clustering: a single outlier
embedding cannot chain two people together (as with single linkage), and one
unlucky view does not block a merge (as with complete linkage).

Example:

    labels = cluster_tracklets(store.values(), threshold=0.8)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from mlfn_keras.tracking.association.tracklets import Tracklet, cannot_link

#: Distance given to cannot-link pairs. Cosine distances are in [0, 2]; with
#: at most ``N²`` pairs in an average, ``1e9`` keeps any average containing a
#: cannot-link pair above the cut for N up to ~20 000 tracklets.
CANNOT_LINK_DISTANCE = 1e9


def cluster_features(
    features: np.ndarray, forbidden: np.ndarray, threshold: float, method: str = "average"
) -> np.ndarray:
    """Clusters L2-normalised features; pairs in ``forbidden`` never share a cluster.

    Args:
        features: ``(N, d)`` L2-normalised.
        forbidden: ``(N, N)`` bool cannot-link matrix.
        threshold: cosine similarity at which two clusters are merged (the
            linkage's average similarity must be at least this).
        method: ``"average"`` (default) or ``"complete"`` (stricter: every
            pair must reach the threshold). Single linkage is not offered: it
            would break the cannot-link guarantee.

    Returns:
        ``(N,)`` labels ``0..K-1``, numbered in input order of first member.
    """
    n = len(features)
    if method not in ("average", "complete"):
        raise ValueError(f"method must be 'average' or 'complete', got {method!r}.")
    if n == 0:
        return np.zeros((0,), int)
    if n == 1:
        return np.zeros((1,), int)
    f = np.asarray(features, np.float64)
    dist = np.clip(1.0 - f @ f.T, 0.0, 2.0)
    dist[np.asarray(forbidden, bool)] = CANNOT_LINK_DISTANCE
    dist = (dist + dist.T) / 2.0
    np.fill_diagonal(dist, 0.0)
    z = linkage(squareform(dist, checks=False), method=method)
    raw = fcluster(z, t=1.0 - threshold, criterion="distance")
    return _renumber(raw)


def _renumber(raw: np.ndarray) -> np.ndarray:
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(r), len(order)) for r in raw], int)


def cluster_tracklets(
    tracklets: Iterable[Tracklet], threshold: float, method: str = "average", centre: np.ndarray | None = None
) -> dict:
    """Groups tracklets into people.

    Args:
        tracklets: the run's tracklets.
        threshold: cosine similarity to merge (see :func:`cluster_features`);
            ``>= 1.0`` links nothing (every tracklet its own person).
        method: linkage method.
        centre: the footage's mean embedding, subtracted first (``None``: raw).

    Returns:
        tracklet key → cluster label ``0..K-1``; labels are numbered by the
        first time a member appears, so ids read in order of arrival.
    """
    items: Sequence[Tracklet] = sorted(tracklets, key=lambda t: (t.first_time, t.key))
    with_feat = [i for i, t in enumerate(items) if t.embeddings]
    labels = np.full(len(items), -1, int)
    if with_feat and threshold < 1.0:
        feats = np.stack([items[i].feature(centre) for i in with_feat])
        forbidden = cannot_link([items[i] for i in with_feat])
        sub = cluster_features(feats, forbidden, threshold, method)
        labels[with_feat] = sub
    next_label = int(labels.max()) + 1 if len(labels) else 0
    for i in range(len(items)):
        if labels[i] < 0:
            labels[i] = next_label
            next_label += 1
    # renumber in order of first appearance
    final = _renumber(labels)
    return {t.key: int(final[i]) for i, t in enumerate(items)}
