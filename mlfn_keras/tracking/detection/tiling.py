"""Overlapping tiles for small-input detectors, and merging their boxes back into one frame.

A detector with a fixed 300×300 input squashes a 768×576 frame by almost half,
so a person 60–100 px tall shrinks to 30–50 px, where SSD-style detectors
miss many. Cutting the frame into a few overlapping tiles and running them as
one batch keeps people near their native size; the price is one network run
per tile. Boxes from different tiles are then mapped back to frame pixels and
merged: a person cut by a tile seam is seen as two partial boxes that end at
the seam, and a person inside the overlap is seen twice.

Merging, in order:

1. *Seam join*: a box that touches an inner tile edge (an edge that is not a
   frame edge) is truncated there. If a box from another tile continues it
   across that edge (they overlap in the perpendicular direction by at least
   ``seam_overlap`` and meet or overlap along it), the two are replaced by
   their union.
2. *Cross-tile NMS*: then boxes are suppressed greedily by score when their
   IoU exceeds ``nms_iou`` or when most of the smaller box lies inside the
   larger (``containment``): a truncated box inside a whole one is the same
   person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlfn_keras.data.mot import box_overlaps


@dataclass(frozen=True)
class Tile:
    """A window of the frame, ``[x0, x1) × [y0, y1)`` in frame pixels."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def _starts(length: int, n: int, size: int) -> list[int]:
    """``n`` window starts of ``size`` spread evenly over ``length`` (first at 0, last flush with the end)."""
    if n <= 1 or size >= length:
        return [0]
    step = (length - size) / (n - 1)
    return [int(round(i * step)) for i in range(n)]


def grid_tiles(width: int, height: int, rows: int, cols: int, overlap: float = 0.25) -> list[Tile]:
    """``rows × cols`` equal tiles covering the frame, neighbours overlapping by ``overlap`` of a tile.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        rows: tiles top to bottom (1: full height).
        cols: tiles left to right (1: full width).
        overlap: fraction of a tile's side shared with its neighbour; it
            should exceed the tallest person's share of a tile so that every
            person is whole in at least one tile.

    Returns:
        Tiles in row-major order.

    Raises:
        ValueError: for non-positive sizes or counts, or ``overlap`` outside ``[0, 1)``.
    """
    if width <= 0 or height <= 0 or rows <= 0 or cols <= 0:
        raise ValueError(f"grid_tiles needs positive sizes and counts; got {width}x{height}, {rows}x{cols}.")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1); got {overlap}.")
    # n tiles of side s with overlap o·s cover n·s − (n−1)·o·s = length.
    tw = min(width, int(math.ceil(width / (cols - (cols - 1) * overlap))))
    th = min(height, int(math.ceil(height / (rows - (rows - 1) * overlap))))
    return [Tile(x, y, x + tw, y + th) for y in _starts(height, rows, th) for x in _starts(width, cols, tw)]


def suppress(xyxy: np.ndarray, scores: np.ndarray, nms_iou: float = 0.5, containment: float = 0.8) -> np.ndarray:
    """Greedy NMS by score that also drops a box lying mostly inside a kept one.

    Returns:
        Indices of the kept boxes, best score first.
    """
    if len(xyxy) == 0:
        return np.zeros((0,), np.int64)
    order = np.argsort(-scores, kind="stable")
    iou, ios = box_overlaps(xyxy, xyxy)
    keep: list[int] = []
    removed = np.zeros(len(xyxy), bool)
    for i in order:
        if removed[i]:
            continue
        keep.append(int(i))
        removed |= (iou[i] > nms_iou) | (ios[i] > containment)
    return np.asarray(keep, np.int64)


def _seam_join(
    xyxy: np.ndarray, scores: np.ndarray, tile_ids: np.ndarray, tiles: list[Tile], frame_w: int, frame_h: int,
    edge_tol: float, seam_overlap: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Replaces pairs of partial boxes that continue each other across an inner tile edge by their union."""
    xyxy = xyxy.copy()
    scores = scores.copy()
    alive = np.ones(len(xyxy), bool)
    # Which sides of each box lie on an inner edge of its own tile (left, top, right, bottom).
    t = np.array([[tiles[k].x0, tiles[k].y0, tiles[k].x1, tiles[k].y1] for k in tile_ids], np.float32).reshape(-1, 4)
    inner = np.stack([t[:, 0] > 0, t[:, 1] > 0, t[:, 2] < frame_w, t[:, 3] < frame_h], axis=1)
    cut = (np.abs(xyxy - t) <= edge_tol) & inner
    changed = True
    while changed:  # a person cut by two seams joins in two steps
        changed = False
        for i in np.flatnonzero(alive & cut.any(axis=1)):
            for j in np.flatnonzero(alive):
                if j == i or tile_ids[j] == tile_ids[i] or not alive[i]:
                    continue
                a, b = xyxy[i], xyxy[j]
                ox = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) / max(min(a[2] - a[0], b[2] - b[0]), 1e-9)
                oy = max(0.0, min(a[3], b[3]) - max(a[1], b[1])) / max(min(a[3] - a[1], b[3] - b[1]), 1e-9)
                vertical = (cut[i, 3] and b[3] > a[3] and b[1] <= a[3] + edge_tol) or (
                    cut[i, 1] and b[1] < a[1] and b[3] >= a[1] - edge_tol)
                horizontal = (cut[i, 2] and b[2] > a[2] and b[0] <= a[2] + edge_tol) or (
                    cut[i, 0] and b[0] < a[0] and b[2] >= a[0] - edge_tol)
                if (vertical and ox >= seam_overlap) or (horizontal and oy >= seam_overlap):
                    union = np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])], np.float32)
                    # A side of the union is still cut where the box that defines it was cut there.
                    cut[i] = (cut[i] & (a == union)) | (cut[j] & (b == union))
                    xyxy[i] = union
                    scores[i] = max(scores[i], scores[j])
                    alive[j] = False
                    changed = True
    return xyxy[alive], scores[alive]


def merge_tile_detections(
    boxes: list[np.ndarray],
    scores: list[np.ndarray],
    tiles: list[Tile],
    frame_size: tuple[int, int],
    nms_iou: float = 0.5,
    containment: float = 0.8,
    edge_tol: float = 3.0,
    seam_overlap: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Maps per-tile boxes back to the frame and merges them into one set.

    Args:
        boxes: per tile, ``(N, 4)`` xyxy in the tile's own pixels.
        scores: per tile, ``(N,)`` confidences.
        tiles: the tiles, in the same order.
        frame_size: ``(width, height)`` of the frame.
        nms_iou: IoU above which the lower-scored box is dropped.
        containment: share of the smaller box inside a kept box above which it is dropped.
        edge_tol: pixels within which a box side counts as lying on a tile edge.
        seam_overlap: overlap, as a share of the narrower box, two partial
            boxes need across a seam to be joined.

    Returns:
        ``(xyxy, scores)`` in frame pixels, best score first.
    """
    w, h = frame_size
    if len(boxes) != len(tiles) or len(scores) != len(tiles):
        raise ValueError(f"merge_tile_detections got {len(boxes)} box sets, {len(scores)} score sets and {len(tiles)} tiles.")
    parts, part_scores, ids = [], [], []
    for k, (b, s, tile) in enumerate(zip(boxes, scores, tiles)):
        b = np.asarray(b, np.float32).reshape(-1, 4)
        parts.append(b + np.array([tile.x0, tile.y0, tile.x0, tile.y0], np.float32))
        part_scores.append(np.asarray(s, np.float32).reshape(-1))
        ids.append(np.full(len(b), k, np.int64))
    xyxy = np.concatenate(parts) if parts else np.zeros((0, 4), np.float32)
    conf = np.concatenate(part_scores) if part_scores else np.zeros((0,), np.float32)
    tile_ids = np.concatenate(ids) if ids else np.zeros((0,), np.int64)
    if len(xyxy) == 0:
        return xyxy, conf
    xyxy = np.clip(xyxy, 0, [w, h, w, h]).astype(np.float32)
    if len(tiles) > 1:
        xyxy, conf = _seam_join(xyxy, conf, tile_ids, tiles, w, h, edge_tol, seam_overlap)
    keep = suppress(xyxy, conf, nms_iou, containment)
    return xyxy[keep], conf[keep]
