"""The linking threshold, measured on the footage itself without labels: one :func:`calibrate`, two methods.

Re-id similarities depend on the model, the cameras and the people, so a
constant tuned on one scene is wrong on the next. Two kinds of pairs come for
free from per-camera tracking:

* **same person**: the two halves of one tracklet (mean feature of its first
  and of its second half of embeddings);
* **different people**: two tracklets of one camera visible at the same time
  (the cannot-link pairs).

The threshold is put where the different-people pairs thin out: the
``different_quantile`` quantile of their similarities (by default 0.8: at most
20 % of the co-visible different-person pairs lie above it; the clustering's
cannot-link and average linkage stop most of those anyway), and never below
``floor_fraction`` (0.3) of the way from the different-person median to the
same-person median. Both defaults were chosen on the built-in scene's seeds 1
and 2 and on the first half of PETS09's time split (cross-camera IDF1 45.8 /
62.7 and within-camera IDF1 36.3, against 45.8 / 55.7 / 35.7 with 0.9 and the
plain midpoint). Same-person pairs across cameras are
harder than the two halves of one tracklet, so the same-person side only
serves as a sanity check: when the two sides do not separate (the model cannot
tell these people apart), or there are too few pairs to say, the threshold is
``1.0``: nothing is linked and ids stay apart, which is never worse than no
re-id.

``method="balanced_error"`` (what ``mlfn-adapt`` re-labels with every
round): the threshold that minimises the balanced error between the two
kinds of pairs (the mean of the share of same-person pairs below it and of
different-person pairs at or above it), in the middle of the best interval.
Both kinds are equally trusted here, since adaptation trains on the result
and a threshold biased to either side teaches the model that bias.

Example:

    cal = calibrate(store.values())
    print(cal.threshold, cal.source)
    calibrate(tracklets, method="balanced_error", min_pairs=1, fallback=0.7)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mlfn_keras.tracking.core.association.tracklets import Tracklet, cannot_link_pairs


@dataclass(frozen=True)
class Calibration:
    """A calibrated threshold and the evidence behind it.

    Attributes:
        threshold: cosine similarity to link two tracklets.
        source: ``"footage"`` (measured), ``"too_little_evidence"`` (the
            ``fallback``, 1.0 by default: link nothing) or ``"not_separable"``
            (1.0), ``"manual"``.
        same_pairs: number of same-person pairs measured.
        different_pairs: number of different-person pairs measured.
        same_median: median similarity of same-person pairs.
        different_high: the ``different_quantile`` quantile of different-person pairs.
        different_median: median similarity of different-person pairs.
        balanced_error: ``method="balanced_error"``: the balanced error at ``threshold``.
        method: how the threshold was set (``"quantile"`` or ``"balanced_error"``).
    """

    threshold: float
    source: str
    same_pairs: int = 0
    different_pairs: int = 0
    same_median: float | None = None
    different_high: float | None = None
    different_median: float | None = None
    balanced_error: float | None = None
    method: str = "quantile"


def pair_similarities(tracklets: Iterable[Tracklet], centre: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Same-person and different-person similarities measured without labels.

    Args:
        tracklets: the tracklets.
        centre: the footage's mean embedding to subtract first (or ``None``).

    Returns:
        ``(same, different)`` 1-D arrays of cosine similarities.
    """
    items = [t for t in tracklets if t.embeddings]
    same = [float(a @ b) for t in items if (h := t.halves(centre)) is not None for a, b in [h]]
    if len(items) < 2:
        return np.asarray(same, np.float64), np.zeros((0,), np.float64)
    feats = np.stack([t.feature(centre) for t in items])
    # only the cannot-link pairs are compared: a whole recorded day stays linear in its tracklets
    i, j = cannot_link_pairs(items)
    different = np.einsum("ij,ij->i", feats[i], feats[j])
    return np.asarray(same, np.float64), np.asarray(different, np.float64)


#: Methods :func:`calibrate` accepts.
METHODS = ("quantile", "balanced_error")


def calibrate(
    tracklets: Iterable[Tracklet],
    different_quantile: float = 0.8,
    min_pairs: int = 10,
    min_gap: float = 0.0,
    centre: np.ndarray | None = None,
    floor_fraction: float = 0.3,
    method: str = "quantile",
    fallback: float = 1.0,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> Calibration:
    """Measures the linking threshold on unlabelled footage (see the module docstring).

    Args:
        tracklets: the tracklets seen so far (with embeddings).
        different_quantile: ``"quantile"``: share of different-person pairs the
            threshold must stay above (higher: fewer false links, more missed ones).
        min_pairs: fewest pairs of each kind needed to trust the measurement.
        min_gap: ``"quantile"``: the same-person median must exceed the
            threshold by this much, otherwise the model cannot separate these
            people and nothing is linked.
        centre: the footage's mean embedding, subtracted first (``None``: raw).
        floor_fraction: ``"quantile"``: the threshold is at least this far (as
            a fraction) from the different-person median to the same-person median.
        method: ``"quantile"`` (the tracker's) or ``"balanced_error"`` (``mlfn-adapt``'s).
        fallback: the threshold when there are fewer than ``min_pairs`` pairs
            of a kind (1.0: link nothing).
        pairs: ``(same, different)`` as :func:`pair_similarities` measured
            them on these tracklets with this ``centre`` (``None``: measure
            them), to take several thresholds from one measurement.

    Returns:
        The :class:`Calibration`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    if not 0.5 <= different_quantile <= 1.0:
        raise ValueError(f"different_quantile must be in [0.5, 1], got {different_quantile}.")
    same, different = pair_similarities(tracklets, centre) if pairs is None else pairs
    n_same, n_diff = len(same), len(different)
    same_median = float(np.median(same)) if n_same else None
    high = float(np.quantile(different, different_quantile)) if n_diff else None
    different_median = float(np.median(different)) if n_diff else None
    evidence = dict(same_pairs=n_same, different_pairs=n_diff, same_median=same_median, different_high=high,
                    different_median=different_median, method=method)
    if n_same < min_pairs or n_diff < min_pairs:
        return Calibration(float(fallback), "too_little_evidence", **evidence)
    if method == "balanced_error":
        threshold, error = _balanced_error_threshold(same, different)
        return Calibration(threshold, "footage", balanced_error=error, **evidence)
    threshold = max(high, different_median + floor_fraction * (same_median - different_median))
    if same_median - threshold < min_gap or same_median <= threshold:
        return Calibration(1.0, "not_separable", **evidence)
    return Calibration(float(min(threshold, 1.0)), "footage", **evidence)


def _balanced_error_threshold(same: np.ndarray, different: np.ndarray) -> tuple[float, float]:
    """The threshold minimising ``(miss rate + false-match rate) / 2``, and that error.

    The middle of the best interval, not its edge: the threshold should not
    sit on a sample.
    """
    candidates = np.unique(np.concatenate([same, different]))
    miss = np.array([(same < t).mean() for t in candidates])
    false = np.array([(different >= t).mean() for t in candidates])
    err = (miss + false) / 2
    best = np.flatnonzero(err == err.min())
    lo, hi = candidates[best[0]], candidates[best[-1]]
    below = candidates[candidates < lo]
    t = (lo + (below.max() if len(below) else lo)) / 2 if best[0] == best[-1] else (lo + hi) / 2
    return float(t), float(err.min())
