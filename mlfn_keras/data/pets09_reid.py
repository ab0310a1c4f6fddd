"""The real-person re-id protocols on PETS 2009 S2.L1, and its crops as a Market-1501 folder.

Two protocols, both on ground-truth crops of every 5th frame (MOT15-ignored
boxes left out), each person's crops split in time (first half query, rest
gallery; :func:`mlfn_keras.data.pets09.time_split`):

* ``whole``: the whole video (19 people, 442 queries, 453 gallery crops);
* ``heldout``: frames 400–794 only (12 people, 220 / 229) — the frames
  ``mlfn-adapt`` never sees when it adapts on frames 0–399.

Scoring embeddings on them is :mod:`mlfn_keras.evaluation.pets09`.

:func:`write_market_layout` writes the crops as a folder the project's
Market-1501 reader, ``mlfn-train --dataset market1501`` and ``mlfn-eval`` read:
``bounding_box_train`` = crops of frames 0–399 (the ones an adapted model may
see), ``query`` / ``bounding_box_test`` = the held-out time split of frames
400–794. Identity ``k`` is the ground truth's id ``k`` (1–19).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlfn_keras.data.pets09 import NUM_FRAMES, Crop, time_split
from mlfn_keras.preprocessing import bgr_to_rgb

#: Frames an adaptation run may use; the held-out protocol scores the rest.
ADAPT_FRAMES = (0, 400)
HELDOUT_FRAMES = (400, NUM_FRAMES)


@dataclass(frozen=True)
class Protocol:
    """A frame range whose crops are split in time into query and gallery."""

    name: str
    frames: tuple[int, int]
    description: str


PROTOCOLS: dict[str, Protocol] = {
    "whole": Protocol("whole", (0, NUM_FRAMES), "whole video, 19 people"),
    "heldout": Protocol("heldout", HELDOUT_FRAMES, "held-out frames 400-794, 12 people"),
}


def protocol_crops(crops: Sequence[Crop], protocol: Protocol) -> tuple[list[Crop], list[Crop]]:
    """The query and gallery of ``protocol`` among ``crops`` (cut from the whole video)."""
    a, b = protocol.frames
    return time_split([c for c in crops if a <= c.frame < b])


def to_rgb(crops: Sequence[Crop]) -> list[np.ndarray]:
    """The crops' images as RGB (embedders take RGB; crops are cut BGR from OpenCV)."""
    return [bgr_to_rgb(c.image) for c in crops]


# ---------------------------------------------------------------- Market-1501 layout
def market_name(pid: int, camera: int, frame: int, index: int = 0) -> str:
    """``{pid:04d}_c{camera}s1_{frame:06d}_{index:02d}.jpg`` as in Market-1501 (camera 1-based)."""
    return f"{pid:04d}_c{camera}s1_{frame:06d}_{index:02d}.jpg"


def _write_images(folder: Path, items: Sequence[tuple[Crop, int]]) -> None:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for crop, camera in items:
        path = folder / market_name(crop.pid, camera, crop.frame)
        if not cv2.imwrite(str(path), crop.image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f"could not write {path}")


def layout_splits(crops: Sequence[Crop], train_frames: tuple[int, int] = ADAPT_FRAMES,
                  test_frames: tuple[int, int] = HELDOUT_FRAMES):
    """``(train, query, gallery)`` as ``(crop, camera)`` pairs; camera = the crop's time half (1 or 2)."""
    def halves(subset):
        q, g = time_split(subset)
        return [(c, 1) for c in q] + [(c, 2) for c in g]

    train = halves([c for c in crops if train_frames[0] <= c.frame < train_frames[1]])
    test = halves([c for c in crops if test_frames[0] <= c.frame < test_frames[1]])
    return train, [t for t in test if t[1] == 1], [t for t in test if t[1] == 2]


#: What :func:`write_market_layout` writes, and the manifest kind that marks a folder as its own.
MARKET_LAYOUT_ENTRIES = ("bounding_box_train", "query", "bounding_box_test")
MARKET_LAYOUT_KIND = "mlfn_keras.pets09_market_layout"


def check_market_layout_output(out: str | os.PathLike, force: bool = False):
    """Refuses ``out`` before any work if :func:`write_market_layout` may not write there."""
    from mlfn_keras.fileio import check_output_dir

    return check_output_dir(out, MARKET_LAYOUT_KIND, force=force, what="Market-1501 layout folder",
                            writes=MARKET_LAYOUT_ENTRIES, create=False)


def write_market_layout(crops: Sequence[Crop], out: str | os.PathLike, force: bool = False,
                        train_frames: tuple[int, int] = ADAPT_FRAMES,
                        test_frames: tuple[int, int] = HELDOUT_FRAMES) -> Path:
    """Writes ``crops`` as a Market-1501-layout folder (atomically).

    Args:
        crops: ground-truth crops (BGR images) with their ids and frames.
        out: the folder to write; it gets ``bounding_box_train/``, ``query/``
            and ``bounding_box_test/``.
        force: write beside other files in ``out`` (they are kept, never replaced).
        train_frames: frames whose crops form ``bounding_box_train``.
        test_frames: frames whose time split forms ``query`` / ``bounding_box_test``.

    Raises:
        OutputExistsError: ``out`` holds anything this writer did not write
            (a real Market-1501 folder, dot-files) and ``force`` is off, or
            holds entries named like the layout's own (refused even with
            ``force``, which never replaces foreign files).
    """
    from mlfn_keras.fileio import staged_folder

    out = Path(out)
    names = MARKET_LAYOUT_ENTRIES
    train, query, gallery = layout_splits(crops, train_frames, test_frames)
    with staged_folder(out, MARKET_LAYOUT_KIND, force=force, what="Market-1501 layout folder", writes=names) as tmp:
        for name, items in zip(names, (train, query, gallery)):
            _write_images(tmp / name, items)
    return out
