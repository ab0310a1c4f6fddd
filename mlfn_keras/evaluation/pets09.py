"""Scoring re-id embeddings on PETS 2009 S2.L1's ground-truth crops (the real-person benchmark).

The protocols (which frames, query/gallery split in time) are data, in
:mod:`mlfn_keras.data.pets09_reid`; the embedders come from
:func:`mlfn_keras.runtime.load_embedder`. Query and gallery are given cameras
1 and 2 (the "camera" is the time half), so Market-1501's same-camera
exclusion removes nothing. Metrics come from
:func:`mlfn_keras.evaluation.rank.evaluate_rank` on Euclidean distances of
the unit embeddings.

    crops = reid_crops()                                   # mlfn_keras.data.pets09
    results = score_models({"hist": load_embedder("hist")}, crops)
    print(score_table(results))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlfn_keras.data.pets09 import Crop
from mlfn_keras.data.pets09_reid import PROTOCOLS, protocol_crops, to_rgb
from mlfn_keras.runtime.contract import Embedder

__all__ = ["ReidScore", "score_embedder", "score_embeddings", "score_models", "score_table"]

@dataclass(frozen=True)
class ReidScore:
    """One embedding's figures on one protocol (percent)."""

    r1: float
    r5: float
    mAP: float
    num_query: int
    num_gallery: int


def score_embeddings(q_feats: np.ndarray, g_feats: np.ndarray, q_pids, g_pids) -> ReidScore:
    """R1/R5/mAP of query vs gallery embeddings (camera 1 vs 2: nothing excluded)."""
    from mlfn_keras.evaluation.distance import pairwise_distance
    from mlfn_keras.evaluation.rank import evaluate_rank

    dist = pairwise_distance(q_feats, g_feats, metric="euclidean")
    metrics = evaluate_rank(
        np.asarray(dist), np.asarray(q_pids), np.asarray(g_pids),
        np.zeros(len(q_pids), int), np.ones(len(g_pids), int),
    )
    return ReidScore(100 * metrics.rank(1), 100 * metrics.rank(5), 100 * metrics.mAP, len(q_pids), len(g_pids))


def score_embedder(embed: Embedder, query: Sequence[Crop], gallery: Sequence[Crop]) -> ReidScore:
    """Embeds query and gallery crops with ``embed`` (an `Embedder`, or any callable with its contract) and scores them."""
    q = np.asarray(embed(to_rgb(query)), np.float32)
    g = np.asarray(embed(to_rgb(gallery)), np.float32)
    return score_embeddings(q, g, [c.pid for c in query], [c.pid for c in gallery])


def score_models(models: dict[str, Embedder], crops: Sequence[Crop], protocols: Sequence[str] = ("whole", "heldout"),
                 log=print) -> dict[str, dict[str, ReidScore]]:
    """Scores every model on every protocol: ``{model: {protocol: ReidScore}}``."""
    out: dict[str, dict[str, ReidScore]] = {}
    for name, embed in models.items():
        out[name] = {}
        for p in protocols:
            query, gallery = protocol_crops(crops, PROTOCOLS[p])
            out[name][p] = score_embedder(embed, query, gallery)
            s = out[name][p]
            log(f"  {name} [{p}]: R1 {s.r1:.1f}  R5 {s.r5:.1f}  mAP {s.mAP:.1f}")
    return out


def score_table(results: dict[str, dict[str, ReidScore]], protocols: Sequence[str] = ("whole", "heldout")) -> str:
    """A Markdown table, one row per model, R1/R5/mAP per protocol."""
    head = "| embedding | " + " | ".join(f"{p} R1 | {p} R5 | {p} mAP" for p in protocols) + " |"
    rule = "|---|" + "---:|" * (3 * len(protocols))
    rows = [head, rule]
    for name, per in results.items():
        cells = " | ".join(f"{per[p].r1:.1f} | {per[p].r5:.1f} | {per[p].mAP:.1f}" for p in protocols)
        rows.append(f"| {name} | {cells} |")
    return "\n".join(rows)
