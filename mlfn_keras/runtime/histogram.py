"""The colour-histogram re-id baseline: what any re-id model must beat.

Six horizontal stripes, each an HSV histogram of 8 × 4 × 4 bins, concatenated
and L2-normalised — the classic hand-made person descriptor (in the spirit of
the stripe colour features of early re-id work). It is an
:class:`~mlfn_keras.runtime.contract.Embedder` like the model files' (a list
of RGB ``uint8`` crops of any size to ``(B, d)`` L2-normalised float32), so
benchmarks, the demo and ``mlfn-adapt`` run it beside a trained model
(``--reid hist``, or fused: ``--reid site.onnx+hist``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlfn_keras.runtime.contract import Embedder
from mlfn_keras.vectors import l2_normalize

#: What ``--reid`` accepts to select this baseline.
NAME = "hist"


class ColourHistogramEmbedder(Embedder):
    """Stripe HSV colour histograms as an embedding.

    Args:
        stripes: horizontal stripes (top to bottom).
        bins: HSV bins per stripe.
        size: ``(height, width)`` crops are resized to first, so every crop
            weighs the same whatever its resolution.
    """

    backend = NAME

    def __init__(self, stripes: int = 6, bins: tuple[int, int, int] = (8, 4, 4), size: tuple[int, int] = (128, 64)):
        self.stripes = stripes
        self.bins = bins
        self.size = size

    def __repr__(self) -> str:
        return f"ColourHistogramEmbedder(stripes={self.stripes}, bins={self.bins}, size={self.size})"

    @property
    def embedding_dim(self) -> int:
        return self.stripes * int(np.prod(self.bins))

    def _one(self, crop: np.ndarray) -> np.ndarray:
        import cv2

        h, w = self.size
        hsv = cv2.cvtColor(cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2HSV)
        edges = np.linspace(0, h, self.stripes + 1).astype(int)
        parts = [
            cv2.calcHist([hsv[a:b]], [0, 1, 2], None, list(self.bins), [0, 180, 0, 256, 0, 256]).ravel()
            for a, b in zip(edges[:-1], edges[1:])
        ]
        # Each stripe on its own unit sphere, so a stripe with more pixels (a
        # tall crop's legs) does not outweigh the others.
        return np.concatenate([l2_normalize(p) for p in parts])

    def __call__(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, self.embedding_dim), np.float32)
        return l2_normalize(np.stack([self._one(np.asarray(c, np.uint8)) for c in crops]), axis=1)
