"""End-to-end evaluation: features -> distances -> (re-ranking) -> metrics.

Example:

```python
import keras
import mlfn_keras
from mlfn_keras.evaluation import evaluate_model, load_eval_split

model = keras.models.load_model("model.keras")
split = load_eval_split("market1501", "/data/Market-1501-v15.09.15")
result = evaluate_model(model, split, protocol="multi_query", flip=True)
print(result.metrics.to_dict())
```
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlfn_keras.evaluation.distance import pairwise_distance
from mlfn_keras.evaluation.features import Features, extract_features
from mlfn_keras.evaluation.protocols import get_protocol, multi_query_features
from mlfn_keras.evaluation.rank import RankMetrics, evaluate_rank
from mlfn_keras.evaluation.rerank import re_ranking
from mlfn_keras.evaluation.splits import EvalSplit, Record


@dataclasses.dataclass
class EvaluationResult:
    """Everything an evaluation produced (enough to draw its pictures).

    Attributes:
        metrics: CMC / mAP / mINP.
        distmat: ``(Q, G)`` distances that were ranked.
        query: Query records.
        gallery: Gallery records.
        query_features: Query features (pooled for multi-query).
        gallery_features: Gallery features.
        protocol: Protocol name.
        metric: Distance metric.
        rerank: Whether k-reciprocal re-ranking was applied.
        flip: Whether flip test-time augmentation was used.
        timings: Seconds spent per stage.
    """

    metrics: RankMetrics
    distmat: np.ndarray
    query: list[Record]
    gallery: list[Record]
    query_features: Features
    gallery_features: Features
    protocol: str
    metric: str
    rerank: bool
    flip: bool
    timings: dict[str, float]


def _ids(records: Sequence[Record]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([r[1] for r in records], dtype=np.int64),
        np.array([r[2] for r in records], dtype=np.int64),
    )


def score_distances(
    distmat: np.ndarray,
    query: Sequence[Record],
    gallery: Sequence[Record],
    protocol: str = "single_query",
    max_rank: int = 50,
    seed: int = 0,
) -> RankMetrics:
    """Scores a distance matrix under a protocol (see `protocols`)."""
    proto = get_protocol(protocol)
    q_pids, q_cams = _ids(query)
    g_pids, g_cams = _ids(gallery)
    return evaluate_rank(
        distmat, q_pids, g_pids, q_cams, g_cams,
        max_rank=max_rank, mode=proto.mode, rng=seed,
    )


def compute_distances(
    query: np.ndarray,
    gallery: np.ndarray,
    metric: str = "euclidean",
    rerank: bool = False,
    rerank_params: dict[str, Any] | None = None,
) -> np.ndarray:
    """Query x gallery distances, optionally k-reciprocal re-ranked."""
    dist = pairwise_distance(query, gallery, metric=metric)
    if rerank:
        dist = re_ranking(
            dist,
            pairwise_distance(query, query, metric=metric),
            pairwise_distance(gallery, gallery, metric=metric),
            **(rerank_params or {}),
        )
    return dist


@dataclasses.dataclass
class SplitFeatures:
    """Features of a split's query, gallery and multi-query images.

    Attributes:
        split: The records.
        query: Query features (one row per query record).
        gallery: Gallery features.
        multi_query: ``gt_bbox`` features, or None when not extracted.
        flip: Whether flip test-time augmentation was used.
        seconds: Extraction time.
    """

    split: EvalSplit
    query: Features
    gallery: Features
    multi_query: Features | None = None
    flip: bool = False
    seconds: float = 0.0


def extract_split_features(
    model: Any,
    split: EvalSplit,
    *,
    flip: bool = False,
    multi_query: bool = True,
    batch_size: int = 64,
    progress: bool = True,
) -> SplitFeatures:
    """Extracts the features of every image of a split once.

    Args:
        model: MLFN Keras model or runtime callable (see `extract_features`).
        split: Query, gallery and ``gt_bbox`` records.
        flip: Flip test-time augmentation.
        multi_query: Also extract ``split.multi_query`` (when present).
        batch_size: Images per model call.
        progress: Progress bars.
    """
    t0 = time.perf_counter()

    def run(records, desc):
        return extract_features(
            model, [r[0] for r in records], batch_size=batch_size, flip=flip,
            progress=progress, desc=desc,
        )

    q = run(split.query, "query")
    g = run(split.gallery, "gallery")
    mq = run(split.multi_query, "multi-query") if multi_query and split.multi_query else None
    return SplitFeatures(split, q, g, mq, flip, time.perf_counter() - t0)


def evaluate_features(
    features: SplitFeatures,
    *,
    protocol: str = "single_query",
    metric: str = "euclidean",
    rerank: bool = False,
    max_rank: int = 50,
    seed: int = 0,
) -> EvaluationResult:
    """Scores already extracted features under a protocol.

    Args:
        features: Output of `extract_split_features`.
        protocol: ``"single_query"``, ``"multi_query"`` or ``"single_shot"``.
        metric: ``"euclidean"`` (paper) or ``"cosine"``.
        rerank: Apply k-reciprocal re-ranking.
        max_rank: CMC length.
        seed: Seed of the single-shot gallery draws.

    Returns:
        An `EvaluationResult`.
    """
    proto = get_protocol(protocol)
    split = features.split
    q_feats = features.query
    if proto.multi_query:
        if features.multi_query is not None:
            q_feats = multi_query_features(
                split.query, q_feats, split.multi_query, features.multi_query
            )
        else:
            warnings.warn(
                f"multi_query protocol: {split.root or 'the split'} has no "
                "gt_bbox images; each query uses its own image only."
            )
    timings = {"features_s": features.seconds}
    t0 = time.perf_counter()
    dist = compute_distances(q_feats.embedding, features.gallery.embedding, metric, rerank)
    timings["distance_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = score_distances(dist, split.query, split.gallery, protocol, max_rank, seed)
    timings["ranking_s"] = time.perf_counter() - t0
    return EvaluationResult(
        metrics=metrics, distmat=dist, query=list(split.query),
        gallery=list(split.gallery), query_features=q_feats,
        gallery_features=features.gallery, protocol=protocol, metric=metric,
        rerank=rerank, flip=features.flip, timings=timings,
    )


def evaluate_model(
    model: Any,
    split: EvalSplit,
    *,
    protocol: str = "single_query",
    metric: str = "euclidean",
    flip: bool = False,
    rerank: bool = False,
    batch_size: int = 64,
    max_rank: int = 50,
    progress: bool = True,
    seed: int = 0,
) -> EvaluationResult:
    """Evaluates a model on a query/gallery split (extract, then score).

    Args:
        model: MLFN Keras model or runtime callable (see `extract_features`).
        split: Query, gallery and (for multi-query) ``gt_bbox`` records.
        protocol: ``"single_query"``, ``"multi_query"`` or ``"single_shot"``.
        metric: ``"euclidean"`` (paper) or ``"cosine"``.
        flip: Flip test-time augmentation.
        rerank: Apply k-reciprocal re-ranking.
        batch_size: Images per model call.
        max_rank: CMC length.
        progress: Progress bars.
        seed: Seed of the single-shot gallery draws.

    Returns:
        An `EvaluationResult`.
    """
    features = extract_split_features(
        model, split, flip=flip, batch_size=batch_size, progress=progress,
        multi_query=get_protocol(protocol).multi_query,
    )
    return evaluate_features(
        features, protocol=protocol, metric=metric, rerank=rerank,
        max_rank=max_rank, seed=seed,
    )
