"""Market-1501 (Zheng et al., ICCV 2015) and folders in its layout.

Reads the extracted folder or the official zip (``Market-1501-v15.09.15.zip``)::

    Market-1501-v15.09.15/
        bounding_box_train/   0002_c1s1_000451_03.jpg ...
        bounding_box_test/    gallery; 0000_* distractors, -1_* junk
        query/
        gt_bbox/              optional: hand-drawn boxes (multi-query)

File names are ``{pid}_c{camera}s{sequence}_{frame}_{box}.jpg``. Junk
(pid −1) is dropped, distractors (pid 0) stay in the gallery, and cameras are
returned 0-based. The same reader serves DukeMTMC-reID and the project's
generated identities, which share the layout.
"""

from __future__ import annotations

import re
from pathlib import Path

from mlfn_keras.data.dataset import (
    DatasetNotFoundError,
    ImageRecord,
    ReidDataset,
    extract_zip,
    find_subdir,
    require_dir,
)

__all__ = ["load_market1501", "read_market_layout"]

_NAME = re.compile(r"^([-\d]+)_c(\d+)")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
_SPLITS = ("bounding_box_train", "bounding_box_test", "query")


def _read_split(folder: Path, keep_distractors: bool) -> list[ImageRecord]:
    records = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in _IMAGE_SUFFIXES:
            continue
        m = _NAME.match(path.name)
        if m is None:
            raise DatasetNotFoundError(
                f"unexpected file name {path}: expected '<pid>_c<camera>...' as in Market-1501 "
                f"(e.g. 0002_c1s1_000451_03.jpg)"
            )
        pid, cam = int(m.group(1)), int(m.group(2))
        if pid == -1 or (pid == 0 and not keep_distractors):
            continue
        if cam < 1:
            raise DatasetNotFoundError(f"camera numbers start at 1, received c{cam} in {path}")
        records.append(ImageRecord(str(path), pid, cam - 1))
    return records


def read_market_layout(root: str | Path, name: str = "market1501", extract_dir: str | Path | None = None) -> ReidDataset:
    """Reads any folder (or zip) in the Market-1501 layout.

    Args:
        root: The folder holding ``bounding_box_train/``, ``bounding_box_test/``
            and ``query/``, any parent of it (searched 3 levels deep), or a
            ``.zip`` of it (extracted once beside the archive or into
            ``extract_dir``).
        name: Data set name stored in the result.
        extract_dir: Where to extract a zip.

    Returns:
        The data set; ``multi_query`` holds ``gt_bbox/`` when present.

    Raises:
        DatasetNotFoundError: If the folder or one of its sub-folders is missing.
    """
    root = Path(root).expanduser()
    if root.suffix.lower() == ".zip":
        root = extract_zip(root, extract_dir)
    if not root.exists():
        raise DatasetNotFoundError(
            f"{name}: {root} does not exist; expected a folder with {', '.join(s + '/' for s in _SPLITS)} "
            f"or the data set's .zip"
        )
    folder = find_subdir(root, ["bounding_box_train"]) or find_subdir(root, ["query"])
    if folder is None:
        raise DatasetNotFoundError(
            f"{name}: no 'bounding_box_train/' folder found in {root} (searched 3 levels deep); expected "
            f"{', '.join(s + '/' for s in _SPLITS)} as in the official archive"
        )
    for split in _SPLITS:
        require_dir(folder / split, f"the {name} {split} images")
    gt = folder / "gt_bbox"
    splits = {
        "bounding_box_train": _read_split(folder / "bounding_box_train", keep_distractors=False),
        "query": _read_split(folder / "query", keep_distractors=False),
        "bounding_box_test": _read_split(folder / "bounding_box_test", keep_distractors=True),
    }
    for split, records in splits.items():
        if not records:
            raise DatasetNotFoundError(
                f"{name}: {folder / split} holds no usable images; expected files named "
                f"'<pid>_c<camera>...{'/'.join(sorted(_IMAGE_SUFFIXES))}' (e.g. 0002_c1s1_000451_03.jpg)"
            )
    return ReidDataset(
        name=name,
        root=str(folder),
        train=splits["bounding_box_train"],
        query=splits["query"],
        gallery=splits["bounding_box_test"],
        multi_query=_read_split(gt, keep_distractors=False) if gt.is_dir() else None,
    )


def load_market1501(root: str | Path, extract_dir: str | Path | None = None) -> ReidDataset:
    """Market-1501: 751 training identities, 3,368 queries, 15,913 gallery images.

    Args:
        root: Extracted folder, a parent of it, or ``Market-1501-v15.09.15.zip``.
        extract_dir: Where to extract the zip (default: beside it).

    Returns:
        The data set (``multi_query`` from ``gt_bbox/`` when present).
    """
    return read_market_layout(root, "market1501", extract_dir)
