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
    corners = lambda x: np.stack([x[:, 0], x[:, 1], x[:, 0] + x[:, 2], x[:, 1] + x[:, 3]], 1)  # noqa: E731
    return box_overlaps(corners(a), corners(b), a[:, 2] * a[:, 3], b[:, 2] * b[:, 3])[0]


def box_overlaps(a: np.ndarray, b: np.ndarray, area_a: np.ndarray | None = None,
                 area_b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection-over-smaller-area matrices ``(N, M)`` of ``x1, y1, x2, y2`` boxes ``a`` and ``b``.

    The one box-overlap computation of the package (MOT scoring, detector
    scoring, tiled-detection merging). ``area_a`` / ``area_b``: the boxes'
    areas when the caller has them exactly (``w * h`` of MOT rows), else
    computed from the corners.
    """
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) if area_a is None else area_a
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) if area_b is None else area_b
    union = area_a[:, None] + area_b[None, :] - inter
    iou = inter / np.maximum(union, 1e-9)
    ios = inter / np.maximum(np.minimum(area_a[:, None], area_b[None, :]), 1e-9)
    return iou, ios
