"""The one input contract shared by the model, the data pipeline and exports.

Every MLFN model takes **RGB pixel values in [0, 255]**, float32, channels-last,
at its preset's ``image_shape`` (256×128 for the paper's Re-ID models). The
ImageNet mean/std normalisation that the ImageNet-pretrained weights expect is
the model's first layer (``"normalize"``), so no caller normalises, and none can
normalise twice. Exported files take ``uint8`` of the same layout.

The helpers every caller shares: :func:`crop_rgb` (a person box cut from an
OpenCV BGR frame, as RGB), :func:`bgr_to_rgb`, :func:`resize_crops` (to the
model's size) and
:func:`to_uint8` (float pixels to the exported files' ``uint8``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# ImageNet statistics (torchvision's) in [0, 255] units, RGB order.
IMAGENET_MEAN: tuple[float, float, float] = (0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0)
IMAGENET_STD: tuple[float, float, float] = (0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0)


def resize_crops(
    crops: Sequence[np.ndarray] | np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Resizes RGB crops of any size to one batch for the model.

    Args:
        crops: a sequence of ``uint8`` (or float) ``(h, w, 3)`` RGB images, or an
            array ``(B, h, w, 3)``.
        size: target ``(height, width)``, e.g. ``model.image_shape[:2]``.

    Returns:
        float32 array ``(B, height, width, 3)`` of pixel values in [0, 255].

    Raises:
        ValueError: if a crop is not an ``(h, w, 3)`` image.
    """
    import cv2

    height, width = int(size[0]), int(size[1])
    out = np.empty((len(crops), height, width, 3), dtype=np.float32)
    for i, crop in enumerate(crops):
        crop = np.asarray(crop)
        if crop.ndim != 3 or crop.shape[-1] != 3 or crop.shape[0] == 0 or crop.shape[1] == 0:
            raise ValueError(
                f"Expected an RGB crop of shape (h, w, 3) with h, w > 0; crop {i} "
                f"has shape {crop.shape}."
            )
        if crop.shape[:2] != (height, width):
            crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
        out[i] = crop
    return out


def to_uint8(pixels) -> np.ndarray:
    """Float pixel values in [0, 255] as ``uint8``: rounded to the nearest, clipped (no wrap-around)."""
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def crop_rgb(frame_bgr: np.ndarray, xyxy: Sequence[float]) -> np.ndarray:
    """The box ``(x1, y1, x2, y2)`` (pixels, clipped to the frame) of an OpenCV BGR frame, as a contiguous RGB crop.

    Coordinates are rounded to the nearest pixel; an empty box gives an empty ``(0, 0, 3)`` crop.
    """
    h, w = frame_bgr.shape[:2]
    x1, y1, x2, y2 = (int(round(float(v))) for v in xyxy)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(max(x2, 0), w), min(max(y2, 0), h)
    return bgr_to_rgb(frame_bgr[y1:y2, x1:x2])


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """An OpenCV BGR image (or batch, channels last) as a contiguous RGB array (and back: the flip is its own inverse)."""
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])
