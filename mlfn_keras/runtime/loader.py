"""One way to name a re-id embedder everywhere: :func:`load_embedder` (``--reid``, ``--models``, ``--embedder``).

A spec is one of:

==============================  ===================================================
``PATH``                        a model file: ``.keras``, SavedModel folder,
                                ``.onnx``, ``.tflite``, TensorRT ``.engine``/``.plan``
                                (`mlfn_keras.runtime.backends`)
``hist``                        the colour-histogram baseline
                                (`mlfn_keras.runtime.histogram`)
``untrained`` / ``untrained:P`` a randomly initialised preset ``P`` (default
                                ``mlfn_small``, seed 0): the "no training" row
``A+B``                         specs fused (`FusedEmbedder`, equal weights),
                                e.g. ``site.onnx+hist``
==============================  ===================================================

A path that exists is always read as a path, even with a ``+`` in its name.
Every command line, the demo, the benchmarks and ``mlfn-adapt`` resolve
embedders here, so a spec that works in one works in all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlfn_keras.errors import InputPathError
from mlfn_keras.runtime.contract import Embedder
from mlfn_keras.runtime.histogram import NAME as HIST
from mlfn_keras.vectors import l2_normalize

__all__ = ["EmbedderNotFoundError", "FusedEmbedder", "SPEC_FORMS", "check_spec", "load_embedder", "untrained_embedder"]

#: The forms a spec takes, for messages and ``--help``.
SPEC_FORMS = ("a .keras, .onnx, .tflite or .engine/.plan file or a SavedModel folder, "
              f"'{HIST}', 'untrained[:PRESET]', or several of these joined by '+' (e.g. site.onnx+{HIST})")
UNTRAINED = "untrained"


class EmbedderNotFoundError(InputPathError, FileNotFoundError):
    """A spec names a model file that does not exist (a `FileNotFoundError` too)."""


class FusedEmbedder(Embedder):
    """Embedders fused: their unit embeddings concatenated, each weighted ``sqrt(w)``, re-normalised.

    With equal weights the squared distance between two fused embeddings is
    the mean of the parts' squared distances. Used to measure an MLFN model
    fused with the colour histogram (``MODEL+hist``) as a documented option,
    never as a hidden default.

    Args:
        embedders: two or more embedders (or callables with the contract).
        weights: one per embedder, summing to 1 (default: equal).
    """

    backend = "fused"

    def __init__(self, *embedders, weights: Sequence[float] | None = None):
        if len(embedders) < 2:
            raise ValueError(f"a fusion needs at least two embedders; received {len(embedders)}")
        weights = [1.0 / len(embedders)] * len(embedders) if weights is None else [float(w) for w in weights]
        if len(weights) != len(embedders) or min(weights) < 0 or abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"fusion weights must be one per embedder, >= 0, summing to 1; received {weights}")
        self.parts, self.weights = list(embedders), weights

    @property
    def embedding_dim(self) -> int:
        return int(sum(e.embedding_dim for e in self.parts))

    def __call__(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        parts = [np.sqrt(w) * l2_normalize(e(crops), axis=1) for e, w in zip(self.parts, self.weights)]
        return l2_normalize(np.concatenate(parts, axis=1), axis=1)

    def __repr__(self) -> str:
        return f"FusedEmbedder({', '.join(map(repr, self.parts))}, weights={self.weights})"


def untrained_embedder(preset: str = "mlfn_small", seed: int = 0) -> Embedder:
    """A randomly initialised model of ``preset`` (seeded) as an embedder: the "no training" row."""
    import keras

    from mlfn_keras.backbone import MLFN
    from mlfn_keras.runtime.backends import KerasEmbedder

    keras.utils.set_random_seed(seed)
    return KerasEmbedder(model=MLFN.from_preset(preset))


def _parts(text: str) -> list[str]:
    """A fusion's parts, or ``[text]`` (an existing path is never split)."""
    if not os.path.exists(text) and "+" in text.strip("+"):
        return text.split("+")
    return [text]


def _is_named(text: str) -> bool:
    return text == HIST or text == UNTRAINED or text.startswith(UNTRAINED + ":")


def check_spec(spec: str | os.PathLike, what: str = "re-id model") -> None:
    """Fails fast, before anything is loaded, when a spec names a model file that does not exist.

    The one existence check of the package (:func:`load_embedder` runs it
    too); command lines call it before long work such as rendering a scene.

    Raises:
        EmbedderNotFoundError: with the one message: what was received and
            the forms a spec takes.
    """
    text = os.fspath(spec)
    for part in _parts(text):
        if not _is_named(part) and not os.path.exists(part):
            named = repr(text) if part == text else f"{part!r} (in {text!r})"
            raise EmbedderNotFoundError(f"{what} {named} does not exist; expected {SPEC_FORMS}")


def load_embedder(
    spec: str | os.PathLike,
    providers: Sequence[str] | None = None,
    num_threads: int | None = None,
    batch_size: int = 32,
    what: str = "re-id model",
) -> Embedder:
    """The embedder a spec names (see the module docstring for the forms).

    Args:
        spec: a model path, ``hist``, ``untrained[:PRESET]`` or ``A+B``.
        providers: onnxruntime execution providers for ``.onnx`` files, full
            names or ``"cpu"``, ``"cuda"``, ``"tensorrt"``; default CUDA when
            available, else CPU.
        num_threads: CPU threads for inference (intra-op threads for
            TensorFlow and onnxruntime, XNNPACK threads for TFLite); default
            the runtime's own.
        batch_size: crops per inference call of model files.
        what: how messages name the spec (e.g. ``"--reid"``).

    Returns:
        An `Embedder`: ``embedder(crops)`` → unit float32 ``(B, d)``.

    Raises:
        EmbedderNotFoundError: a named model file does not exist (also a
            `FileNotFoundError` and an `InputPathError`).
        ValueError: a file of a kind no backend reads, or ``providers`` for a
            file that is not ``.onnx``.
    """
    text = os.fspath(spec)
    check_spec(text, what)
    parts = _parts(text)
    if len(parts) > 1:
        options = {"providers": providers, "num_threads": num_threads, "batch_size": batch_size, "what": what}
        return FusedEmbedder(*(load_embedder(part, **options) for part in parts))
    if text == HIST:
        from mlfn_keras.runtime.histogram import ColourHistogramEmbedder

        return ColourHistogramEmbedder()
    if _is_named(text):
        return untrained_embedder(text.partition(":")[2] or "mlfn_small")
    from mlfn_keras.runtime.backends import open_model_file

    return open_model_file(Path(text), providers=providers, num_threads=num_threads, batch_size=batch_size)
