"""Drawing tracked people: a stable colour per global id, labelled boxes, camera tiles.

Used by the recorder's annotated videos and by every live view, so a person
has the same colour and label everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlfn_keras.tracking.core.pipeline import TrackedObject


def colour_for(global_id: int | None) -> tuple[int, int, int]:
    """A stable, distinct BGR colour per global id (grey while unassigned)."""
    if global_id is None:
        return (160, 160, 160)
    hue = (global_id * 0.61803398875) % 1.0
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return (int(b * 255), int(g * 255), int(r * 255))


def annotate(image: np.ndarray, objects: Sequence[TrackedObject], label: str = "", fps: float | None = None) -> np.ndarray:
    """Draws boxes labelled ``ID g`` (or ``t<track>?`` before a global id) and a header."""
    import cv2

    out = image.copy()
    for obj in objects:
        x1, y1, x2, y2 = (int(round(v)) for v in obj.xyxy)
        colour = colour_for(obj.global_id)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        text = f"ID {obj.global_id}" if obj.global_id is not None else f"t{obj.track_id}?"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
        cv2.rectangle(out, (x1, max(0, y1 - th - 6)), (x1 + tw + 4, max(th + 6, y1)), colour, -1)
        cv2.putText(out, text, (x1 + 2, max(th + 2, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    header = label + (f"  {fps:.1f} FPS" if fps is not None else "")
    if header:
        cv2.putText(out, header, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, header, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def tile(images: Sequence[np.ndarray | None], tile_width: int = 640) -> np.ndarray:
    """Tiles camera images into one grid (missing cameras shown black)."""
    import cv2

    shown = [im for im in images if im is not None]
    if not shown:
        return np.zeros((tile_width * 3 // 4, tile_width, 3), np.uint8)
    h0, w0 = shown[0].shape[:2]
    th = int(round(tile_width * h0 / w0))
    cells = [
        cv2.resize(im, (tile_width, th)) if im is not None else np.zeros((th, tile_width, 3), np.uint8) for im in images
    ]
    cols = 1 if len(cells) == 1 else 2
    while len(cells) % cols:
        cells.append(np.zeros_like(cells[0]))
    rows = [np.hstack(cells[i : i + cols]) for i in range(0, len(cells), cols)]
    return np.vstack(rows)
