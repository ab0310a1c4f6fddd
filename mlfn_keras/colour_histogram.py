"""The colour-histogram re-id baseline: what any re-id model must beat.

Six horizontal stripes, each an HSV histogram of 8 × 4 × 4 bins, concatenated
and L2-normalised — the classic hand-made person descriptor (in the spirit of
the stripe colour features of early re-id work). It has the same interface as
:func:`mlfn_keras.runtime.load_embedder`'s embedders (a list of RGB ``uint8``
crops of any size to ``(B, d)`` L2-normalised float32), so benchmarks and the
demo can run it as a row beside a trained model (``--reid hist``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: What ``--reid`` accepts to select this baseline.
NAME = "hist"


class ColourHistogramEmbedder:
    """Stripe HSV colour histograms as an embedding.

    Args:
        stripes: horizontal stripes (top to bottom).
        bins: HSV bins per stripe.
        size: ``(height, width)`` crops are resized to first, so every crop
            weighs the same whatever its resolution.
    """

    def __init__(self, stripes: int = 6, bins: tuple[int, int, int] = (8, 4, 4), size: tuple[int, int] = (128, 64)):
        self.stripes = stripes
        self.bins = bins
        self.size = size

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
        parts = [p / max(float(np.linalg.norm(p)), 1e-12) for p in parts]
        return np.concatenate(parts)

    def __call__(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, self.embedding_dim), np.float32)
        feats = np.stack([self._one(np.asarray(c, np.uint8)) for c in crops]).astype(np.float32)
        return feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
