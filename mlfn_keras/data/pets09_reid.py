"""The real-person re-id benchmark on PETS 2009 S2.L1, and its crops as a Market-1501 folder.

Two protocols, both on ground-truth crops of every 5th frame (MOT15-ignored
boxes left out), each person's crops split in time (first half query, rest
gallery; :func:`mlfn_keras.data.pets09.time_split`):

* ``whole``: the whole video (19 people, 442 queries, 453 gallery crops);
* ``heldout``: frames 400–794 only (12 people, 220 / 229) — the frames
  ``mlfn-adapt`` never sees when it adapts on frames 0–399.

Query and gallery are given cameras 1 and 2 (the "camera" is the time half),
so Market-1501's same-camera exclusion removes nothing. Metrics come from
:func:`mlfn_keras.evaluation.rank.evaluate_rank` on Euclidean distances of the
unit embeddings.

:func:`write_market_layout` writes the crops as a folder the project's
Market-1501 reader, ``mlfn-train --dataset market1501`` and ``mlfn-eval`` read:
``bounding_box_train`` = crops of frames 0–399 (the ones an adapted model may
see), ``query`` / ``bounding_box_test`` = the held-out time split of frames
400–794. Identity ``k`` is the ground truth's id ``k`` (1–19).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlfn_keras.data.pets09 import NUM_FRAMES, Crop, reid_crops, time_split

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


@dataclass(frozen=True)
class ReidScore:
    """One embedding's figures on one protocol (percent)."""

    r1: float
    r5: float
    mAP: float
    num_query: int
    num_gallery: int


Embed = Callable[[Sequence[np.ndarray]], np.ndarray]


def protocol_crops(crops: Sequence[Crop], protocol: Protocol) -> tuple[list[Crop], list[Crop]]:
    """The query and gallery of ``protocol`` among ``crops`` (cut from the whole video)."""
    a, b = protocol.frames
    return time_split([c for c in crops if a <= c.frame < b])


def to_rgb(crops: Sequence[Crop]) -> list[np.ndarray]:
    """The crops' images as RGB (embedders take RGB; crops are cut BGR from OpenCV)."""
    return [np.ascontiguousarray(c.image[:, :, ::-1]) for c in crops]


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


def score_embedder(embed: Embed, query: Sequence[Crop], gallery: Sequence[Crop]) -> ReidScore:
    """Embeds query and gallery crops with ``embed`` (RGB crops -> (B, d)) and scores them."""
    q = np.asarray(embed(to_rgb(query)), np.float32)
    g = np.asarray(embed(to_rgb(gallery)), np.float32)
    return score_embeddings(q, g, [c.pid for c in query], [c.pid for c in gallery])


def untrained_embedder(preset: str = "mlfn_small", seed: int = 0):
    """A randomly initialised model of ``preset`` as an embedder (the "no training" row)."""
    import keras

    from mlfn_keras.backbone import MLFN
    from mlfn_keras.runtime import KerasEmbedder

    keras.utils.set_random_seed(seed)
    return KerasEmbedder(model=MLFN.from_preset(preset))


class FusedEmbedder:
    """Two embedders fused: their unit embeddings concatenated, each weighted ``sqrt(w)``, re-normalised.

    With equal weights the squared distance is the mean of the two squared
    distances. Used to measure an MLFN model fused with the colour histogram
    (``MODEL+hist``) as a documented option, never as a hidden default.
    """

    def __init__(self, first: Embed, second: Embed, weight: float = 0.5):
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"fusion weight must be in [0, 1]; received {weight}")
        self.first, self.second, self.weight = first, second, weight

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        a, b = (np.asarray(e(crops), np.float32) for e in (self.first, self.second))
        a, b = (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12) for x in (a, b))
        f = np.concatenate([np.sqrt(1.0 - self.weight) * a, np.sqrt(self.weight) * b], axis=1)
        return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def resolve_embedder(spec: str) -> Embed:
    """An embedder from a name: ``hist``, ``untrained[:PRESET]``, any path ``load_embedder`` accepts,
    or ``SPEC+hist`` (that embedder fused with the colour histogram, equal weights: `FusedEmbedder`)."""
    from mlfn_keras.colour_histogram import NAME, ColourHistogramEmbedder
    from mlfn_keras.errors import InputPathError

    if spec.endswith("+" + NAME) and spec != "+" + NAME:
        return FusedEmbedder(resolve_embedder(spec[: -len(NAME) - 1]), ColourHistogramEmbedder())
    if spec == NAME:
        return ColourHistogramEmbedder()
    if spec == "untrained" or spec.startswith("untrained:"):
        return untrained_embedder(spec.partition(":")[2] or "mlfn_small")
    from mlfn_keras.runtime import load_embedder

    if not Path(spec).exists():
        raise InputPathError(
            f"model {spec!r} does not exist; expected 'hist', 'untrained[:PRESET]' or a .keras/.onnx/.tflite "
            "file or SavedModel folder"
        )
    return load_embedder(spec)


def benchmark(models: dict[str, Embed], crops: Sequence[Crop], protocols: Sequence[str] = ("whole", "heldout"),
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


def format_table(results: dict[str, dict[str, ReidScore]], protocols: Sequence[str] = ("whole", "heldout")) -> str:
    """A Markdown table, one row per model, R1/R5/mAP per protocol."""
    head = "| embedding | " + " | ".join(f"{p} R1 | {p} R5 | {p} mAP" for p in protocols) + " |"
    rule = "|---|" + "---:|" * (3 * len(protocols))
    rows = [head, rule]
    for name, per in results.items():
        cells = " | ".join(f"{per[p].r1:.1f} | {per[p].r5:.1f} | {per[p].mAP:.1f}" for p in protocols)
        rows.append(f"| {name} | {cells} |")
    return "\n".join(rows)


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
