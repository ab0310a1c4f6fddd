"""The embedder contract: person crops in, unit embeddings out.

Every re-id backend of the package implements it: the model-file backends of
`mlfn_keras.runtime.backends` (``.keras``, SavedModel, ONNX, TFLite,
TensorRT), the colour-histogram baseline (`mlfn_keras.runtime.histogram`)
and fusions of two embedders (`mlfn_keras.runtime.loader.FusedEmbedder`).
The tracker, the benchmarks and ``mlfn-adapt`` only call it, so any callable
with the same contract (a test's stand-in, say) works in their place.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np

__all__ = ["Embedder"]


class Embedder(abc.ABC):
    """Embeds person crops: ``embedder(crops)`` → float32 ``(B, d)`` with unit L2 norm.

    ``crops`` is a list of uint8 RGB ``(h, w, 3)`` images of any size, or an
    array ``(B, h, w, 3)``; compare the embeddings with a dot product (cosine
    similarity) or L2 distance.

    Attributes:
        backend: what computes the embeddings (``"keras"``, ``"onnx"``, ...,
            ``"hist"``, ``"fused"``).
    """

    backend: str = ""

    @property
    @abc.abstractmethod
    def embedding_dim(self) -> int:
        """d, the size of the returned embeddings."""

    @abc.abstractmethod
    def __call__(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """L2-normalised float32 embeddings ``(B, d)`` of the crops."""
