"""Unit vectors: the one L2 normalisation every layer of the package uses (no TensorFlow)."""

from __future__ import annotations

import numpy as np

__all__ = ["l2_normalize"]


def l2_normalize(x, axis: int = -1, eps: float = 1e-12, dtype=np.float32) -> np.ndarray:
    """Scales each vector along ``axis`` to unit L2 norm (zero vectors stay zero).

    Args:
        x: an array (or array-like) of vectors.
        axis: the axis the vectors lie along.
        eps: norms below it are taken as ``eps`` (no division by zero).
        dtype: the result's dtype (``None``: keep the input's, e.g. float64
            where a parity gate compares cosines near float32's resolution).
    """
    x = np.asarray(x, dtype=dtype)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), eps)
