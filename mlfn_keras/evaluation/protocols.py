"""Evaluation protocols of the paper's tables, and multi-query pooling.

A protocol fixes how a distance matrix becomes numbers:

==================  ==============================================  =========
name                what                                            table
==================  ==============================================  =========
``single_query``    Market-1501 SQ; also Duke, MSMT17, CUHK03 767/700  1, 3, 4, 6
``multi_query``     Market-1501 MQ: each query is the mean feature    1, 6, 7
                    of its identity's ``gt_bbox`` images in the
                    query's camera
``single_shot``     CUHK03 setting 1: one random gallery image per    2
                    identity, CMC averaged over 10 draws
==================  ==============================================  =========

Example:

```python
from mlfn_keras.evaluation.protocols import PROTOCOLS, multi_query_features

PROTOCOLS["multi_query"].mode  # 'market'
```
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlfn_keras.evaluation.features import Features
from mlfn_keras.evaluation.splits import Record


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How a test set is scored.

    Attributes:
        name: Registry key.
        label: Column label in the paper's tables (``SQ``, ``MQ``, ...).
        mode: `evaluate_rank` mode.
        multi_query: Whether query features are pooled over ``gt_bbox``.
    """

    name: str
    label: str
    mode: str
    multi_query: bool = False


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("single_query", "SQ", "market"),
        Protocol("multi_query", "MQ", "market", multi_query=True),
        Protocol("single_shot", "single-shot", "single_gallery_shot"),
    )
}


def get_protocol(name: str) -> Protocol:
    """Looks a protocol up by name.

    Raises:
        ValueError: On an unknown name.
    """
    if name not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {name!r}; expected one of {tuple(PROTOCOLS)}.")
    return PROTOCOLS[name]


def multi_query_features(
    query: Sequence[Record],
    query_features: Features,
    extra: Sequence[Record],
    extra_features: Features,
) -> Features:
    """Pools each query with its identity's other images from the same camera.

    Market-1501's multi-query setting (Zheng et al., ICCV 2015) represents a
    query by the average feature of all hand-drawn boxes (``gt_bbox``) of the
    same identity in the same camera. The query image itself is counted once
    (``gt_bbox`` may contain it under the same file name).

    Args:
        query: Query records ``(path, pid, camid)``.
        query_features: Their features.
        extra: ``gt_bbox`` records.
        extra_features: Their features.

    Returns:
        `Features` of the pooled queries, one row per query (a query with no
        extra image keeps its own feature).
    """
    if len(query) != len(query_features) or len(extra) != len(extra_features):
        raise ValueError(
            "records and features must have the same length, got "
            f"{len(query)} query records for {len(query_features)} features and "
            f"{len(extra)} extra records for {len(extra_features)} features."
        )
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    names: dict[tuple[int, int], set[str]] = defaultdict(set)
    for j, (path, pid, cam) in enumerate(extra):
        groups[(pid, cam)].append(j)
        names[(pid, cam)].add(Path(path).name)

    def pool(q_arr: np.ndarray, e_arr: np.ndarray) -> np.ndarray:
        out = np.array(q_arr, dtype=np.float32, copy=True)
        for i, (path, pid, cam) in enumerate(query):
            idx = groups.get((pid, cam))
            if not idx:
                continue
            total = e_arr[idx].sum(axis=0)
            count = len(idx)
            if Path(path).name not in names[(pid, cam)]:
                total = total + q_arr[i]
                count += 1
            out[i] = total / count
        return out

    fs = query_features.factor_signature
    return Features(
        embedding=pool(query_features.embedding, extra_features.embedding),
        factor_signature=None
        if fs is None or extra_features.factor_signature is None
        else pool(fs, extra_features.factor_signature),
        selections={
            k: pool(v, extra_features.selections[k])
            for k, v in query_features.selections.items()
            if k in extra_features.selections
        },
    )
