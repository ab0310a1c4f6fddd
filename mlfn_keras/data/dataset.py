"""The re-id data set record types shared by every reader.

A re-id data set is three lists of :class:`ImageRecord` ``(path, pid,
camid)``: ``train``, ``query`` and ``gallery``. Conventions follow torchreid,
so distance matrices and ids can be compared with its evaluator directly:

* ``camid`` is 0-based (Market-1501's ``c1`` is camera 0);
* junk images (pid −1) are dropped by the readers;
* distractors (pid 0 in Market-1501/DukeMTMC-reID) stay in the gallery;
* training pids are the data set's own ids; :meth:`ReidDataset.train_labels`
  maps them to contiguous class indices ``0..num_train_pids-1``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import numpy as np

__all__ = [
    "DatasetNotFoundError",
    "ImageRecord",
    "ReidDataset",
    "extract_zip",
    "require_dir",
]


class DatasetNotFoundError(FileNotFoundError):
    """A data set folder, file or archive is missing or not laid out as expected."""


class ImageRecord(NamedTuple):
    """One image of a re-id data set."""

    path: str
    pid: int
    camid: int


@dataclasses.dataclass
class ReidDataset:
    """A re-id data set split into train, query and gallery.

    Attributes:
        name: Data set name (``"market1501"``, ``"synthetic"``...).
        root: Folder the images were read from.
        train: Training images (original pids).
        query: Query images.
        gallery: Gallery images (distractors with pid 0 included).
        multi_query: Extra query-side images for the multi-query protocol
            (Market-1501's ``gt_bbox``), or None when absent.
    """

    name: str
    root: str
    train: list[ImageRecord]
    query: list[ImageRecord]
    gallery: list[ImageRecord]
    multi_query: list[ImageRecord] | None = None

    @property
    def train_pids(self) -> list[int]:
        """Sorted distinct training pids."""
        return sorted({r.pid for r in self.train})

    @property
    def num_train_pids(self) -> int:
        """Number of training identities (the classifier's width)."""
        return len(self.train_pids)

    @property
    def num_cameras(self) -> int:
        """Number of distinct cameras over all splits."""
        return len({r.camid for r in (*self.train, *self.query, *self.gallery)})

    def train_labels(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Training paths with contiguous labels.

        Returns:
            ``(paths, labels, camids)``; ``labels`` are int32 in
            ``[0, num_train_pids)`` in the order of sorted pids.
        """
        index = {pid: i for i, pid in enumerate(self.train_pids)}
        paths = [r.path for r in self.train]
        labels = np.asarray([index[r.pid] for r in self.train], np.int32)
        camids = np.asarray([r.camid for r in self.train], np.int32)
        return paths, labels, camids

    def fingerprint(self) -> str:
        """A SHA-256 over every record (relative path, pid, camid, file size).

        Two runs trained on the same fingerprint saw the same images and
        labels; written next to trained models for reproducibility.
        """
        digest = hashlib.sha256(self.name.encode())
        for split, records in (("train", self.train), ("query", self.query), ("gallery", self.gallery),
                               ("multi_query", self.multi_query or [])):
            digest.update(split.encode())
            for r in records:
                rel = os.path.relpath(r.path, self.root)
                try:
                    size = os.path.getsize(r.path)
                except OSError:
                    size = -1
                digest.update(f"{rel}|{r.pid}|{r.camid}|{size}\n".encode())
        return digest.hexdigest()

    def summary(self) -> str:
        """A torchreid-style table of identities/images/cameras per split."""
        rows = [("train", self.train), ("query", self.query), ("gallery", self.gallery)]
        if self.multi_query:
            rows.append(("multi_query", self.multi_query))
        lines = [f"{self.name} ({self.root})", f"  {'subset':<12}| {'# ids':>7} | {'# images':>9} | {'# cameras':>9}"]
        for split, records in rows:
            lines.append(
                f"  {split:<12}| {len({r.pid for r in records}):>7} | {len(records):>9} | "
                f"{len({r.camid for r in records}):>9}"
            )
        return "\n".join(lines)


def require_dir(path: str | Path, what: str) -> Path:
    """Returns ``path`` if it is a folder, else raises a helpful error.

    Args:
        path: Folder that must exist.
        what: What the folder should contain, for the message.

    Raises:
        DatasetNotFoundError: Naming the path and what was expected there.
    """
    path = Path(path)
    if not path.is_dir():
        parent = path.parent
        seen = sorted(p.name for p in parent.iterdir())[:12] if parent.is_dir() else None
        hint = f"; {parent} contains {seen}" if seen is not None else f"; {parent} does not exist either"
        raise DatasetNotFoundError(f"expected folder {path} ({what}) but it does not exist{hint}")
    return path


def find_subdir(root: Path, required: Sequence[str], max_depth: int = 3) -> Path | None:
    """The first folder at or below ``root`` (breadth-first) holding all of ``required``."""
    frontier = [root]
    for _ in range(max_depth + 1):
        nxt = []
        for d in frontier:
            if all((d / r).exists() for r in required):
                return d
            try:
                nxt.extend(sorted(p for p in d.iterdir() if p.is_dir()))
            except OSError:
                continue
        frontier = nxt
    return None


def extract_zip(archive: str | Path, dest: str | Path | None = None) -> Path:
    """Extracts a data set archive once, with a progress bar.

    Args:
        archive: The ``.zip`` file (e.g. ``Market-1501-v15.09.15.zip``).
        dest: Where to extract; defaults to a folder named after the archive
            beside it. A ``.extracted`` marker makes later calls free.

    Returns:
        The extraction folder.

    Raises:
        DatasetNotFoundError: If the archive is missing or not a zip file.
    """
    from mlfn_keras.progress import tqdm

    archive = Path(archive)
    if not archive.is_file():
        raise DatasetNotFoundError(f"expected archive {archive} but it does not exist")
    if not zipfile.is_zipfile(archive):
        raise DatasetNotFoundError(f"{archive} is not a zip archive")
    dest = Path(dest) if dest is not None else archive.with_suffix("")
    marker = dest / ".extracted"
    if marker.exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for member in tqdm(zf.infolist(), desc=f"extracting {archive.name}", unit="file"):
            zf.extract(member, dest)
    marker.write_text(str(archive))
    return dest


def records_of(paths: Iterable[str], pids: Iterable[int], camids: Iterable[int]) -> list[ImageRecord]:
    """Zips parallel lists into records."""
    return [ImageRecord(str(p), int(i), int(c)) for p, i, c in zip(paths, pids, camids)]
