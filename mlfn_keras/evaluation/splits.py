"""Query / gallery lists of the standard re-id test sets.

An evaluation split is three lists of ``(image path, person id, camera id)``
records: query, gallery and, for Market-1501's multi-query setting, the
``gt_bbox`` images. Evaluation only needs these lists, so any data set can be
evaluated by building them; `load_eval_split` reads the usual layouts:

* Market-1501 layout (``query/``, ``bounding_box_test/``, optional
  ``gt_bbox/``, names ``{pid}_c{cam}...jpg``): Market-1501,
  DukeMTMC-reID, CUHK03-NP (the 767/700 protocol, ``labeled/`` or
  ``detected/`` sub-folder) and the generated identities of
  ``python -m mlfn_keras.data.synthetic``.
* MSMT17 (``list_query.txt`` / ``list_gallery.txt`` beside ``test/``).

Example:

```python
from mlfn_keras.evaluation.splits import load_eval_split

split = load_eval_split("market1501", "/data/Market-1501-v15.09.15")
len(split.query), len(split.gallery), len(split.multi_query)
```
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

Record = tuple[str, int, int]

_MARKET_NAME = re.compile(r"^(-?\d+)_c(\d+)")
_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")

#: Dataset names `load_eval_split` understands.
DATASETS: tuple[str, ...] = (
    "market1501",
    "synthetic",
    "dukemtmcreid",
    "cuhk03_labeled",
    "cuhk03_detected",
    "msmt17",
)


@dataclasses.dataclass
class EvalSplit:
    """Query and gallery records of one test set.

    Attributes:
        query: ``(path, pid, camid)`` query records.
        gallery: Gallery records (distractors pid 0 and junk pid -1 kept; the
            metric decides what to do with them).
        multi_query: Extra same-camera images of the query identities
            (Market-1501 ``gt_bbox``); empty when the data set has none.
        root: Folder the split was read from.
    """

    query: list[Record]
    gallery: list[Record]
    multi_query: list[Record] = dataclasses.field(default_factory=list)
    root: str = ""


def parse_market_name(name: str) -> tuple[int, int]:
    """``(pid, camid)`` from a Market-1501 / Duke style file name.

    Raises:
        ValueError: If the name does not start with ``{pid}_c{cam}``.
    """
    match = _MARKET_NAME.match(Path(name).name)
    if match is None:
        raise ValueError(
            f"Image name {name!r} does not follow the Market-1501 pattern "
            "'{pid}_c{cam}...' (e.g. '0002_c1s1_000451_03.jpg')."
        )
    return int(match.group(1)), int(match.group(2))


def read_market_folder(folder: str | Path) -> list[Record]:
    """Records of every image in a Market-layout folder, sorted by name.

    Raises:
        FileNotFoundError: If ``folder`` does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Expected a folder of images at {folder}, found none.")
    records = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in _IMAGE_EXTS:
            pid, cam = parse_market_name(path.name)
            records.append((str(path), pid, cam))
    return records


def _find_market_root(root: Path) -> Path:
    """``root`` or its single sub-folder that holds ``query/``."""
    if (root / "query").is_dir():
        return root
    candidates = [p for p in sorted(root.glob("*")) if (p / "query").is_dir()]
    if len(candidates) == 1:
        return candidates[0]
    raise FileNotFoundError(
        f"Expected a Market-1501-layout folder with 'query/' and "
        f"'bounding_box_test/' at {root} (or one level below), found "
        f"{'several' if candidates else 'none'}."
    )


def load_market_layout(root: str | Path) -> EvalSplit:
    """Reads ``query/``, ``bounding_box_test/`` and optional ``gt_bbox/``."""
    root = _find_market_root(Path(root))
    query = read_market_folder(root / "query")
    gallery = read_market_folder(root / "bounding_box_test")
    gt = root / "gt_bbox"
    multi = read_market_folder(gt) if gt.is_dir() else []
    if not query or not gallery:
        raise FileNotFoundError(
            f"{root}: 'query/' has {len(query)} and 'bounding_box_test/' has "
            f"{len(gallery)} images; expected both non-empty."
        )
    return EvalSplit(query=query, gallery=gallery, multi_query=multi, root=str(root))


def _read_msmt_list(root: Path, list_name: str) -> list[Record]:
    list_path = root / list_name
    if not list_path.is_file():
        raise FileNotFoundError(f"MSMT17: expected {list_path}, found none.")
    image_dir = next(
        (root / d for d in ("test", "mask_test_v2", "mask_test_v1") if (root / d).is_dir()),
        root,
    )
    records = []
    for line in list_path.read_text().splitlines():
        if not line.strip():
            continue
        rel, pid = line.split()[:2]
        camid = int(Path(rel).name.split("_")[2])  # 0000_000_01_0303morning_...
        records.append((str(image_dir / rel), int(pid), camid))
    return records


def load_msmt17(root: str | Path) -> EvalSplit:
    """Reads MSMT17's ``list_query.txt`` and ``list_gallery.txt``."""
    root = Path(root)
    return EvalSplit(
        query=_read_msmt_list(root, "list_query.txt"),
        gallery=_read_msmt_list(root, "list_gallery.txt"),
        root=str(root),
    )


def load_eval_split(dataset: str, root: str | Path) -> EvalSplit:
    """Reads the query/gallery split of a named data set.

    Args:
        dataset: One of `DATASETS`. ``cuhk03_labeled`` / ``cuhk03_detected``
            read the CUHK03-NP (767/700) release's ``labeled/`` or
            ``detected/`` sub-folder when present.
        root: Folder of the data set.

    Returns:
        An `EvalSplit`.

    Raises:
        ValueError: On an unknown data set name.
        FileNotFoundError: If the expected files are missing.
    """
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}.")
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"Dataset root {root} does not exist.")
    if dataset == "msmt17":
        return load_msmt17(root)
    if dataset.startswith("cuhk03_"):
        sub = dataset.split("_", 1)[1]
        for cand in (root / sub, root / "cuhk03-np" / sub):
            if cand.is_dir():
                root = cand
                break
    return load_market_layout(root)
