"""Drawing tracked people: a stable colour per global id, labelled boxes, camera tiles.

Used by the recorder's annotated videos, the live window, the web page's tiles
and its identity cards (:func:`hex_colour`), so a person has the same colour
and label everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlfn_keras.tracking.core.pipeline import TrackedObject

#: Label text height as a share of the image width. The web page shows two
#: 768-px tiles about 460 px wide at 1280×800, so 0.032 × 768 = 25 px of text
#: appear 15 px tall there (readable, ≥ 14 px); never below 14 px in the image.
LABEL_HEIGHT_SHARE = 0.032
MIN_LABEL_PX = 14


def colour_for(global_id: int | None) -> tuple[int, int, int]:
    """A stable, distinct BGR colour per global id (grey while unassigned)."""
    if global_id is None:
        return (160, 160, 160)
    hue = (global_id * 0.61803398875) % 1.0
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return (int(b * 255), int(g * 255), int(r * 255))


def hex_colour(global_id: int | None) -> str:
    """:func:`colour_for` as a CSS ``#rrggbb`` colour."""
    b, g, r = colour_for(global_id)
    return f"#{r:02x}{g:02x}{b:02x}"


def label_height(image_width: int) -> int:
    """Height in pixels of the id labels drawn on an image this wide."""
    return max(MIN_LABEL_PX, int(round(LABEL_HEIGHT_SHARE * image_width)))


def _font(image_width: int) -> tuple[float, int]:
    import cv2

    (_, unit), _ = cv2.getTextSize("ID 0", cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1)
    scale = label_height(image_width) / unit
    return scale, 2 if scale >= 0.8 else 1


def annotate(image: np.ndarray, objects: Sequence[TrackedObject], label: str = "", fps: float | None = None) -> np.ndarray:
    """Draws boxes labelled ``ID g`` (``ID g?`` while that is the id held back for a new
    track; ``t<track>?`` before any id) and a header.

    Labels are :func:`label_height` pixels tall, on a filled rectangle in the
    id's colour (:func:`colour_for`).
    """
    import cv2

    out = image.copy()
    scale, thick = _font(out.shape[1])
    for obj in objects:
        x1, y1, x2, y2 = (int(round(v)) for v in obj.xyxy)
        colour = colour_for(obj.global_id)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        if obj.global_id is None:
            text = f"t{obj.track_id}?"
        else:
            text = f"ID {obj.global_id}" + ("?" if getattr(obj, "provisional", False) else "")
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        top = max(0, y1 - th - 8)
        cv2.rectangle(out, (x1, top), (x1 + tw + 6, top + th + 8), colour, -1)
        cv2.putText(out, text, (x1 + 3, top + th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick, cv2.LINE_AA)
    header = label + (f"  {fps:.1f} FPS" if fps is not None else "")
    if header:
        y = label_height(out.shape[1]) + 8
        cv2.putText(out, header, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(out, header, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
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
