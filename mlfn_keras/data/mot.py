"""MOT Challenge text files: the one reader and writer of the project, and box IoU.

Every tracking output (``mot/``, ``mot_local/``, ``detections/``), every
ground truth (the generated scene's ``gt/``, PETS09's MOT15 file) and every
scorer goes through here. A MOT row is
``frame, id, x, y, w, h, conf, x3d, y3d, z3d`` with 1-based frames on disk;
ground truth puts MOT15's "consider" flag in ``conf`` and class/visibility
after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np


def read_mot(path: str | os.PathLike, columns: int = 6) -> np.ndarray:
    """Reads a MOT file into an ``(N, columns)`` float array (frames as written, 1-based).

    Args:
        path: the text file.
        columns: how many leading columns to keep (6: ``frame, id, x, y, w, h``;
            7 adds ``conf``, i.e. the detection score or the ground truth's
            "consider" flag).

    Raises:
        ValueError: for a row with fewer than ``columns`` comma-separated numbers,
            naming the file and line.
    """
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(",")
            if len(parts) < columns:
                raise ValueError(f"{path}:{n}: expected at least {columns} comma-separated numbers "
                                 f"('frame,id,x,y,w,h,...'), got {line!r}.")
            try:
                rows.append([float(v) for v in parts[:columns]])
            except ValueError:
                raise ValueError(f"{path}:{n}: expected numbers ('frame,id,x,y,w,h,...'), got {line!r}.") from None
    return np.asarray(rows, np.float64).reshape(-1, columns)


def write_mot(path: str | os.PathLike, rows: Iterable[np.ndarray], zero_based: bool = True) -> None:
    """Writes ground-truth style rows ``frame, id, x, y, w, h, consider`` as a MOT file.

    Args:
        path: the text file (overwritten).
        rows: ``(N, 7)`` rows; a missing 7th column writes ``consider = 1``.
        zero_based: the rows' frames count from 0 (written +1, as MOT wants).
    """
    shift = 1 if zero_based else 0
    with open(path, "w") as f:
        for r in rows:
            consider = int(r[6]) if len(r) > 6 else 1
            f.write(f"{int(r[0]) + shift},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{consider},1,1\n")


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` of boxes given as ``x, y, w, h`` rows."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ax1, ay1, ax2, ay2 = a[:, 0], a[:, 1], a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1, bx2, by2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(ax1[:, None], bx1[None]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(ay1[:, None], by1[None]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
