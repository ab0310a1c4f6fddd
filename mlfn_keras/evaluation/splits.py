"""Query / gallery (and training) lists of the standard re-id test sets.

Evaluation only needs lists of ``(image path, person id, camera id)``
records, so any data set can be evaluated by building an `EvalSplit` by hand.
`load_eval_split` gets them from the project's readers
(`mlfn_keras.data.load_dataset`): Market-1501 (``gt_bbox`` for multi-query),
DukeMTMC-reID, CUHK03 767/700 labelled / detected, MSMT17 and the generated
identities of ``python -m mlfn_keras.data.synthetic``. Following torchreid,
the readers drop junk (pid -1) and keep distractors (pid 0) in the gallery.

Example:

```python
from mlfn_keras.evaluation.splits import load_eval_split

split = load_eval_split("market1501", "/data/Market-1501-v15.09.15")
len(split.query), len(split.gallery), len(split.multi_query), len(split.train)
```
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

Record = tuple[str, int, int]

#: Evaluation data set names -> names of `mlfn_keras.data.load_dataset`.
DATASETS: dict[str, str] = {
    "market1501": "market1501",
    "synthetic": "synthetic",
    "dukemtmcreid": "dukemtmcreid",
    "cuhk03_labeled": "cuhk03_labeled",
    "cuhk03_detected": "cuhk03",
    "msmt17": "msmt17",
}


@dataclasses.dataclass
class EvalSplit:
    """Records of one data set, as evaluation and the analyses use them.

    Attributes:
        query: ``(path, pid, camid)`` query records.
        gallery: Gallery records (distractors, pid 0, included).
        multi_query: Extra same-camera images of the query identities
            (Market-1501 ``gt_bbox``); empty when the data set has none.
        train: Training records (for the FS-only SVM and attribute SVMs).
        root: Folder the split was read from.
        name: Data set name.
    """

    query: list[Record]
    gallery: list[Record]
    multi_query: list[Record] = dataclasses.field(default_factory=list)
    train: list[Record] = dataclasses.field(default_factory=list)
    root: str = ""
    name: str = ""


def _records(records) -> list[Record]:
    return [(str(r[0]), int(r[1]), int(r[2])) for r in records or []]


def load_eval_split(dataset: str, root: str | Path) -> EvalSplit:
    """Reads the records of a named data set.

    Args:
        dataset: One of `DATASETS`.
        root: Folder (or archive) of the data set; for ``synthetic`` a folder
            written by ``python -m mlfn_keras.data.synthetic``.

    Returns:
        An `EvalSplit`.

    Raises:
        ValueError: On an unknown data set name.
        FileNotFoundError: If the data set is missing or malformed (the
            readers' errors name the path and what was expected).
    """
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {tuple(DATASETS)}.")
    from mlfn_keras.data import load_dataset

    root = Path(root).expanduser()
    if dataset == "synthetic" and not (root / "meta.json").exists():
        raise FileNotFoundError(
            f"{root} is not a generated data set (no meta.json); create one with "
            f"`python -m mlfn_keras.data.synthetic --out {root}`."
        )
    ds = load_dataset(DATASETS[dataset], root)
    return EvalSplit(
        query=_records(ds.query),
        gallery=_records(ds.gallery),
        multi_query=_records(ds.multi_query),
        train=_records(ds.train),
        root=str(ds.root),
        name=dataset,
    )
