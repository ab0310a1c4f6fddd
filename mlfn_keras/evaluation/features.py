"""Batched feature extraction: embedding R, factor signature and selections.

Works with an MLFN Keras backbone (``out["embedding"]`` is R, Eq. 6;
``out["factor_signature"]`` is Ŝ, Eq. 5; ``out["selection_n"]`` is S_n,
Eq. 2) and with any callable that maps a batch of images to such a dict or to
an embedding array, e.g. an embedder from ``mlfn_keras.runtime``.

Example:

```python
import mlfn_keras
from mlfn_keras.evaluation import extract_features

backbone = mlfn_keras.MLFN.from_preset("mlfn_tiny")
feats = extract_features(backbone, ["a.jpg", "b.jpg"], batch_size=32, flip=True)
feats.embedding.shape, feats.factor_signature.shape, sorted(feats.selections)
```
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

_SELECTION_KEY = re.compile(r"^selection_(\d+)$")


@dataclasses.dataclass
class Features:
    """Features of a set of images, row ``i`` for image ``i``.

    Attributes:
        embedding: ``(N, d)`` representation R (Eq. 6), used for matching.
        factor_signature: ``(N, K)`` factor signature Ŝ (Eq. 5), or None for
            models without factor selection (``resnet50``, ``resnext50``).
        selections: ``{"selection_1": (N, K_1), ...}`` per-block S_n (Eq. 2),
            in block order; empty without factor selection.
    """

    embedding: np.ndarray
    factor_signature: np.ndarray | None = None
    selections: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.embedding.shape[0])

    def subset(self, index) -> "Features":
        """Rows ``index`` (int array, slice or boolean mask) of every array."""
        return Features(
            embedding=self.embedding[index],
            factor_signature=None
            if self.factor_signature is None
            else self.factor_signature[index],
            selections={k: v[index] for k, v in self.selections.items()},
        )

    def save(self, path: str | Path) -> None:
        """Writes every array to one ``.npz`` file."""
        arrays = {"embedding": self.embedding, **self.selections}
        if self.factor_signature is not None:
            arrays["factor_signature"] = self.factor_signature
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "Features":
        """Reads a file written by `save`."""
        with np.load(path) as data:
            return cls.from_outputs({k: data[k] for k in data.files})

    @classmethod
    def from_outputs(cls, outputs: dict[str, np.ndarray] | np.ndarray) -> "Features":
        """Builds `Features` from a model output dict (or a bare embedding)."""
        if not isinstance(outputs, dict):
            return cls(embedding=np.asarray(outputs))
        if "embedding" not in outputs:
            raise ValueError(
                "model outputs must contain an 'embedding' entry, got keys "
                f"{sorted(outputs)}."
            )
        keys = [k for k in outputs if _SELECTION_KEY.match(k)]
        keys.sort(key=lambda k: int(_SELECTION_KEY.match(k).group(1)))
        selections = {k: np.asarray(outputs[k]) for k in keys}
        fs = outputs.get("factor_signature")
        return cls(
            embedding=np.asarray(outputs["embedding"]),
            factor_signature=None if fs is None else np.asarray(fs),
            selections=selections,
        )


def model_image_size(model: Any, image_size: tuple[int, int] | None = None) -> tuple[int, int]:
    """Input ``(height, width)`` of a model, or ``image_size`` when given.

    Looks for ``model.image_shape`` (MLFN backbones, runtimes) and then a
    Keras ``model.input_shape``.

    Raises:
        ValueError: If the size cannot be determined.
    """
    if image_size is not None:
        return int(image_size[0]), int(image_size[1])
    shape = getattr(model, "image_shape", None)
    if shape is None:
        try:
            shape = tuple(model.input_shape)[1:]
        except (AttributeError, TypeError, ValueError):
            shape = None
    if shape is None or len(shape) < 2 or shape[0] is None or shape[1] is None:
        raise ValueError(
            "Cannot tell the model's input size (no `image_shape` or fixed "
            "`input_shape`); pass image_size=(height, width)."
        )
    return int(shape[0]), int(shape[1])


def read_image(path: str | Path) -> np.ndarray:
    """Reads an image file as ``uint8`` RGB ``(h, w, 3)``.

    Raises:
        ValueError: If the file is missing or cannot be decoded.
    """
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"Cannot read image {path!s}: missing or not an image file.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _is_keras_model(model: Any) -> bool:
    try:
        import keras
    except ImportError:  # pragma: no cover - keras is a core dependency
        return False
    return isinstance(model, keras.Model)


def _make_runner(model: Any) -> tuple[Callable[[np.ndarray], Any], bool]:
    """Returns ``(fn, wants_float)`` for a Keras model or a plain callable."""
    if _is_keras_model(model):
        # predict_on_batch traces once and reuses the graph: far less per-call
        # overhead than model.predict, and no Python-side training flags.
        return model.predict_on_batch, True
    if not callable(model):
        raise TypeError(
            "`model` must be a keras.Model or a callable mapping a batch of "
            f"images to features, got {type(model).__name__}."
        )
    # Runtimes (exported models) take uint8 RGB crops: their contract.
    return model, False


def _to_numpy(outputs: Any) -> dict[str, np.ndarray] | np.ndarray:
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return np.asarray(outputs[0])
    return np.asarray(outputs)


def _average(a, b):
    if isinstance(a, dict):
        return {k: (a[k] + b[k]) / 2.0 for k in a}
    return (a + b) / 2.0


def extract_features(
    model: Any,
    images: Sequence[str | Path | np.ndarray] | np.ndarray,
    *,
    batch_size: int = 64,
    flip: bool = False,
    image_size: tuple[int, int] | None = None,
    progress: bool = True,
    desc: str = "features",
    num_workers: int = 4,
) -> Features:
    """Extracts features from images in batches.

    Args:
        model: An MLFN Keras model (called with float32 RGB in [0, 255]) or a
            callable runtime (called with uint8 RGB), returning the output
            dict or an embedding array.
        images: Image file paths, ``uint8`` RGB arrays of any size, or one
            ``(N, H, W, 3)`` array.
        batch_size: Images per model call.
        flip: Test-time augmentation: average each output with the output for
            the left-right flipped image.
        image_size: ``(height, width)`` to resize to; defaults to the
            model's input size.
        progress: Show a tqdm progress bar.
        desc: Progress bar label.
        num_workers: Threads decoding image files.

    Returns:
        `Features` with one row per image.

    Raises:
        ValueError: On an empty image list or an unreadable image.
    """
    from mlfn_keras.progress import tqdm

    from mlfn_keras.preprocessing import resize_crops, to_uint8

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    n = len(images)
    if n == 0:
        raise ValueError("`images` is empty; expected at least one image.")
    size = model_image_size(model, image_size)
    run, wants_float = _make_runner(model)

    def load(item):
        return read_image(item) if isinstance(item, (str, Path)) else np.asarray(item)

    chunks: list[dict[str, np.ndarray] | np.ndarray] = []
    with ThreadPoolExecutor(max(1, num_workers)) as pool, tqdm(
        total=n, desc=desc, unit="img", disable=not progress
    ) as bar:
        for start in range(0, n, batch_size):
            crops = list(pool.map(load, images[start : start + batch_size]))
            batch = resize_crops(crops, size)
            if not wants_float:
                batch = to_uint8(batch)
            out = _to_numpy(run(batch))
            if flip:
                out = _average(out, _to_numpy(run(np.ascontiguousarray(batch[:, :, ::-1]))))
            chunks.append(out)
            bar.update(len(crops))
    if isinstance(chunks[0], dict):
        merged = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    else:
        merged = np.concatenate(chunks)
    return Features.from_outputs(merged)
