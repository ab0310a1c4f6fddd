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

from mlfn_keras.data.registry import dataset_names, get_dataset

Record = tuple[str, int, int]

#: Names ``load_eval_split`` accepts: every data set of the one registry
#: (`mlfn_keras.data.registry`), aliases included.
DATASETS: tuple[str, ...] = dataset_names()


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
        dataset: A name of the data set registry (`DATASETS`).
        root: Folder (or archive) of the data set; for ``synthetic`` a folder
            written by ``python -m mlfn_keras.data.synthetic``.

    Returns:
        An `EvalSplit`.

    Raises:
        UnknownDatasetError: On an unknown data set name (a ``ValueError``).
        FileNotFoundError: If the data set is missing or malformed (the
            readers' errors name the path and what was expected).
    """
    spec = get_dataset(dataset)
    root = Path(root).expanduser()
    if spec.generated and not (root / "meta.json").exists():
        raise FileNotFoundError(
            f"{root} is not a generated data set (no meta.json); create one with "
            f"`mlfn synthetic --output {root}`."
        )
    ds = spec.loader(root)
    return EvalSplit(
        query=_records(ds.query),
        gallery=_records(ds.gallery),
        multi_query=_records(ds.multi_query),
        train=_records(ds.train),
        root=str(ds.root),
        name=dataset,
    )
