"""Re-identification features for tracks: loading an embedder, box quality, smoothing.

* :func:`load_reid` loads anything :func:`mlfn_keras.runtime.load_embedder`
  accepts (``.keras``, SavedModel, ``.onnx``, ``.tflite``): a callable from a
  list of RGB ``uint8`` crops of any size to L2-normalised ``(B, d)``
  embeddings.
* :func:`good_box` says whether a box is worth embedding: tall enough,
  person-shaped and not cut by the frame border (a half-visible person gives
  a misleading feature).
* :class:`TrackAppearance` smooths a track's embeddings with an exponential
  moving average, renormalised after every update.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from mlfn_keras.evaluation.distance import l2_normalize

Embedder = Callable[[Sequence[np.ndarray]], np.ndarray]


def load_reid(path: str) -> Embedder:
    """Loads a re-id embedder from a file.

    Args:
        path: a model file ``mlfn_keras.runtime.load_embedder`` accepts.

    Returns:
        A callable: list of RGB ``uint8`` crops → ``(B, d)`` L2-normalised float32.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
    """
    if path == "hist":  # the colour-histogram baseline (mlfn_keras.colour_histogram)
        from mlfn_keras.colour_histogram import ColourHistogramEmbedder
        return ColourHistogramEmbedder()
    if not os.path.exists(path):
        raise FileNotFoundError(f"--reid got {path!r}, which does not exist; expected a .keras, SavedModel, .onnx or .tflite model.")
    from mlfn_keras.runtime import load_embedder

    return load_embedder(path)


def good_box(
    xyxy: Sequence[float],
    frame_shape: Sequence[int],
    min_height: float = 48.0,
    aspect_range: tuple[float, float] = (1.3, 5.0),
    border: float = 3.0,
) -> bool:
    """Whether a person box is worth an embedding.

    Args:
        xyxy: the box ``(x1, y1, x2, y2)`` in pixels.
        frame_shape: ``(H, W, ...)`` of the frame.
        min_height: smallest box height in pixels.
        aspect_range: allowed height/width ratios.
        border: boxes closer than this to the frame edge are cut, hence rejected.
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    h, w = float(frame_shape[0]), float(frame_shape[1])
    bw, bh = x2 - x1, y2 - y1
    if bh < min_height or bw <= 0:
        return False
    if not aspect_range[0] <= bh / bw <= aspect_range[1]:
        return False
    return x1 >= border and y1 >= border and x2 <= w - border and y2 <= h - border


class TrackAppearance:
    """Exponential moving average of a track's embeddings, kept unit-length.

    Args:
        momentum: weight of the running feature (0: only the newest counts).
    """

    def __init__(self, momentum: float = 0.8):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}.")
        self.momentum = momentum
        self.feature: np.ndarray | None = None
        self.count = 0

    def update(self, embedding: np.ndarray) -> np.ndarray:
        """Folds in a new embedding and returns the smoothed, renormalised feature."""
        e = l2_normalize(np.asarray(embedding, np.float32).ravel())
        if self.feature is None:
            self.feature = e
        else:
            self.feature = l2_normalize(self.momentum * self.feature + (1.0 - self.momentum) * e)
        self.count += 1
        return self.feature
