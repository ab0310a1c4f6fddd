"""CIFAR-100 (Krizhevsky, 2009), the paper's object categorisation check (Sec. 4.1).

Reads the python version, either the tarball ``cifar-100-python.tar.gz`` or
its extracted ``cifar-100-python/`` folder (``train``, ``test``, ``meta``
pickles), or a TFDS data dir holding a prepared ``cifar100`` (needs
``tensorflow-datasets``). Nothing is downloaded.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mlfn_keras.data.dataset import DatasetNotFoundError

__all__ = ["Cifar100", "load_cifar100"]


class Cifar100(NamedTuple):
    """CIFAR-100 arrays: images uint8 ``(N, 32, 32, 3)`` RGB, fine labels int32."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    label_names: list[str]


def _unpickle(data: bytes, what: str) -> dict:
    try:
        return pickle.loads(data, encoding="latin1")
    except Exception as err:
        raise DatasetNotFoundError(f"CIFAR-100: cannot unpickle {what}: {err}") from err


def _split(batch: dict, what: str) -> tuple[np.ndarray, np.ndarray]:
    if "data" not in batch or "fine_labels" not in batch:
        raise DatasetNotFoundError(f"CIFAR-100: {what} lacks 'data'/'fine_labels'; found keys {sorted(batch)}")
    x = np.asarray(batch["data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), np.asarray(batch["fine_labels"], np.int32)


def load_cifar100(root: str | Path) -> Cifar100:
    """Loads CIFAR-100 from what a user has on disk.

    Args:
        root: ``cifar-100-python.tar.gz``, the extracted ``cifar-100-python/``
            folder, a folder containing either, or a TFDS data dir with
            ``cifar100/``.

    Returns:
        50,000 training and 10,000 test images with fine labels.

    Raises:
        DatasetNotFoundError: If none of the accepted forms is found.
    """
    root = Path(root).expanduser()
    candidates = [root, root / "cifar-100-python", root / "cifar-100-python.tar.gz"]
    for c in candidates:
        if c.is_dir() and (c / "train").is_file() and (c / "test").is_file():
            parts = {n: _unpickle((c / n).read_bytes(), str(c / n)) for n in ("train", "test")}
            meta = _unpickle((c / "meta").read_bytes(), str(c / "meta")) if (c / "meta").is_file() else {}
            return _assemble(parts, meta, str(c))
        if c.is_file() and tarfile.is_tarfile(c):
            parts, meta = {}, {}
            with tarfile.open(c) as tar:
                for member in tar.getmembers():
                    base = Path(member.name).name
                    if member.isfile() and base in ("train", "test", "meta"):
                        data = _unpickle(tar.extractfile(member).read(), f"{c}:{member.name}")
                        (meta.update(data) if base == "meta" else parts.__setitem__(base, data))
            if set(parts) == {"train", "test"}:
                return _assemble(parts, meta, str(c))
            raise DatasetNotFoundError(f"CIFAR-100: {c} has no cifar-100-python/train and /test members")
    if (root / "cifar100").is_dir():
        return _from_tfds(root)
    raise DatasetNotFoundError(
        f"CIFAR-100: nothing usable at {root}; expected cifar-100-python.tar.gz, an extracted "
        f"cifar-100-python/ folder (train, test, meta) or a TFDS data dir with cifar100/"
    )


def _assemble(parts: dict, meta: dict, source: str) -> Cifar100:
    x_train, y_train = _split(parts["train"], f"{source} train")
    x_test, y_test = _split(parts["test"], f"{source} test")
    names = list(meta.get("fine_label_names", [str(i) for i in range(100)]))
    return Cifar100(x_train, y_train, x_test, y_test, names)


def _from_tfds(data_dir: Path) -> Cifar100:
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise DatasetNotFoundError(
            f"CIFAR-100: {data_dir} looks like a TFDS data dir but tensorflow-datasets is not installed"
        ) from err
    out = []
    for split in ("train", "test"):
        ds = tfds.as_numpy(tfds.load("cifar100", split=split, data_dir=str(data_dir), download=False, batch_size=-1))
        out += [np.asarray(ds["image"], np.uint8), np.asarray(ds["label"], np.int32)]
    return Cifar100(*out, [str(i) for i in range(100)])
