"""Detection recall and precision at an IoU threshold, with ignored ground truth.

Per frame, predictions are matched one-to-one to the ground-truth boxes that
count (Hungarian assignment on IoU, pairs below the threshold never match).
A prediction left over that overlaps an *ignored* box (MOT15's consider flag
0, or a box mostly outside a pseudo-camera) by at least the threshold counts
neither as a true nor as a false positive, like MOTChallenge's ignore regions;
every other left-over prediction is a false positive, every unmatched counted
box a miss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mlfn_keras.tracking.detection.tiling import _iou_matrix


@dataclass
class DetectionCounts:
    """True positives, false positives, misses and ignored predictions, summed over frames."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    ignored: int = 0

    @property
    def recall(self) -> float:
        """Matched counted boxes / counted boxes (0 when there are none)."""
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def precision(self) -> float:
        """Matched predictions / predictions not ignored (1 when there are none)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    def __iadd__(self, other: DetectionCounts) -> DetectionCounts:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.ignored += other.ignored
        return self

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.ignored + other.ignored)


def count_frame(pred: np.ndarray, gt: np.ndarray, consider: np.ndarray | None = None, iou: float = 0.5) -> DetectionCounts:
    """Scores one frame.

    Args:
        pred: ``(N, 4)`` predicted xyxy boxes.
        gt: ``(M, 4)`` ground-truth xyxy boxes.
        consider: ``(M,)`` flags, nonzero where the box counts (default: all count).
        iou: the match threshold (a pair matches at ``IoU >= iou``).
    """
    pred = np.asarray(pred, np.float64).reshape(-1, 4)
    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    consider = np.ones(len(gt), bool) if consider is None else np.asarray(consider).reshape(-1) != 0
    if len(consider) != len(gt):
        raise ValueError(f"count_frame got {len(gt)} ground-truth boxes but {len(consider)} consider flags.")
    counted, ignored = gt[consider], gt[~consider]
    matched = np.zeros(len(pred), bool)
    tp = 0
    if len(pred) and len(counted):
        overlap, _ = _iou_matrix(pred, counted)
        rows, cols = linear_sum_assignment(-np.where(overlap >= iou, overlap, 0.0))
        ok = overlap[rows, cols] >= iou
        matched[rows[ok]] = True
        tp = int(ok.sum())
    left = ~matched
    n_ignored = 0
    if left.any() and len(ignored):
        overlap, _ = _iou_matrix(pred[left], ignored)
        n_ignored = int((overlap.max(axis=1) >= iou).sum())
    return DetectionCounts(tp=tp, fp=int(left.sum()) - n_ignored, fn=len(counted) - tp, ignored=n_ignored)
