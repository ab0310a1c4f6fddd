"""MSMT17 (Wei et al., CVPR 2018).

Expected layout (V1, or V2 with ``mask_train_v2``/``mask_test_v2``)::

    MSMT17_V1/
        train/  0000/0000_000_01_0303morning_0015_0.jpg ...
        test/
        list_train.txt  list_val.txt  list_query.txt  list_gallery.txt

Each list line is ``<relative path> <pid>``; the camera is the third ``_``
field of the file name. Training uses ``list_train.txt`` (plus
``list_val.txt`` with ``include_val=True``), as in the published protocol.
"""

from __future__ import annotations

from pathlib import Path

from mlfn_keras.data.dataset import (
    DatasetNotFoundError,
    ImageRecord,
    ReidDataset,
    find_subdir,
)

__all__ = ["load_msmt17"]

_VERSIONS = {"MSMT17_V1": ("train", "test"), "MSMT17_V2": ("mask_train_v2", "mask_test_v2"),
             "MSMT17": ("train", "test")}


def _read_list(list_path: Path, image_dir: Path) -> list[ImageRecord]:
    if not list_path.is_file():
        raise DatasetNotFoundError(f"MSMT17: expected list file {list_path} ('<relative path> <pid>' per line)")
    records = []
    for n, line in enumerate(list_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise DatasetNotFoundError(f"{list_path}:{n}: expected '<relative path> <pid>', received {line!r}")
        rel, pid = parts
        try:
            camid = int(Path(rel).name.split("_")[2]) - 1
        except (IndexError, ValueError):
            raise DatasetNotFoundError(
                f"{list_path}:{n}: cannot read the camera from {rel!r}; expected names like "
                f"0000_000_01_0303morning_0015_0.jpg (camera is the third field)"
            ) from None
        records.append(ImageRecord(str(image_dir / rel), int(pid), camid))
    return records


def load_msmt17(root: str | Path, include_val: bool = False) -> ReidDataset:
    """Reads MSMT17.

    Args:
        root: ``MSMT17_V1/`` (or V2), or a folder containing it.
        include_val: Also train on ``list_val.txt``.

    Returns:
        The data set (camera ids 0-based).

    Raises:
        DatasetNotFoundError: If a folder or list file is missing.
    """
    root = Path(root).expanduser()
    folder = find_subdir(root, ["list_train.txt"]) if root.exists() else None
    if folder is None:
        raise DatasetNotFoundError(
            f"MSMT17: no folder with list_train.txt found in {root}; expected MSMT17_V1/ (or MSMT17_V2/) holding "
            f"train/, test/ and list_train.txt, list_val.txt, list_query.txt, list_gallery.txt"
        )
    train_name, test_name = _VERSIONS.get(folder.name, _VERSIONS["MSMT17_V1"])
    if not (folder / train_name).is_dir():
        for tr, te in _VERSIONS.values():
            if (folder / tr).is_dir():
                train_name, test_name = tr, te
                break
    for sub in (train_name, test_name):
        if not (folder / sub).is_dir():
            raise DatasetNotFoundError(f"MSMT17: expected image folder {folder / sub}")
    train = _read_list(folder / "list_train.txt", folder / train_name)
    if include_val:
        train += _read_list(folder / "list_val.txt", folder / train_name)
    return ReidDataset(
        name="msmt17",
        root=str(folder),
        train=train,
        query=_read_list(folder / "list_query.txt", folder / test_name),
        gallery=_read_list(folder / "list_gallery.txt", folder / test_name),
    )
