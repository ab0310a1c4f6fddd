"""The association threshold, measured on the footage itself without labels.

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

Example:

    cal = calibrate(store.values())
    print(cal.threshold, cal.source)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mlfn_keras.tracking.core.association.tracklets import Tracklet, cannot_link


@dataclass(frozen=True)
class Calibration:
    """A calibrated threshold and the evidence behind it.

    Attributes:
        threshold: cosine similarity to link two tracklets.
        source: ``"footage"`` (measured), ``"too_little_evidence"`` or
            ``"not_separable"`` (both give 1.0: link nothing), ``"manual"``.
        same_pairs: number of same-person pairs measured.
        different_pairs: number of different-person pairs measured.
        same_median: median similarity of same-person pairs.
        different_high: the ``different_quantile`` quantile of different-person pairs.
    """

    threshold: float
    source: str
    same_pairs: int = 0
    different_pairs: int = 0
    same_median: float | None = None
    different_high: float | None = None


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
    forbidden = cannot_link(items)
    iu = np.triu_indices(len(items), 1)
    mask = forbidden[iu]
    different = (feats @ feats.T)[iu][mask]
    return np.asarray(same, np.float64), np.asarray(different, np.float64)


def calibrate(
    tracklets: Iterable[Tracklet],
    different_quantile: float = 0.8,
    min_pairs: int = 10,
    min_gap: float = 0.0,
    centre: np.ndarray | None = None,
    floor_fraction: float = 0.3,
) -> Calibration:
    """Measures the linking threshold on unlabelled footage (see the module docstring).

    Args:
        tracklets: the tracklets seen so far.
        different_quantile: share of different-person pairs the threshold must
            stay above (higher: fewer false links, more missed ones).
        min_pairs: fewest pairs of each kind needed to trust the measurement.
        min_gap: the same-person median must exceed the threshold by this much,
            otherwise the model cannot separate these people and nothing is linked.
        centre: the footage's mean embedding, subtracted first (``None``: raw).
        floor_fraction: the threshold is at least this far (as a fraction)
            from the different-person median to the same-person median.

    Returns:
        The :class:`Calibration`.
    """
    if not 0.5 <= different_quantile <= 1.0:
        raise ValueError(f"different_quantile must be in [0.5, 1], got {different_quantile}.")
    same, different = pair_similarities(tracklets, centre)
    n_same, n_diff = len(same), len(different)
    if n_same < min_pairs or n_diff < min_pairs:
        return Calibration(1.0, "too_little_evidence", n_same, n_diff,
                           float(np.median(same)) if n_same else None,
                           float(np.quantile(different, different_quantile)) if n_diff else None)
    same_median = float(np.median(same))
    high = float(np.quantile(different, different_quantile))
    different_median = float(np.median(different))
    threshold = max(high, different_median + floor_fraction * (same_median - different_median))
    if same_median - threshold < min_gap or same_median <= threshold:
        return Calibration(1.0, "not_separable", n_same, n_diff, same_median, high)
    return Calibration(float(min(threshold, 1.0)), "footage", n_same, n_diff, same_median, high)
