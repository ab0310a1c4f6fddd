"""Weight transplanting: initialise a model from another saved model by layer name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_init_weights"]


def _all_layers(model) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        children = getattr(layer, "layers", None)
        if children:  # a nested model: match its layers, not the container
            stack.extend(children)
        elif layer.weights:
            out.setdefault(layer.name, layer)
    return out


def load_init_weights(model, path: str | Path) -> dict[str, list[str]]:
    """Copies weights from a saved model into ``model`` by layer name.

    Layers are matched by name (the converter names layers as our presets
    do); a layer is copied only when all its weight shapes agree, so a
    different classifier width or a missing fusion branch is skipped, not an
    error.

    Args:
        model: The model to initialise (an ``MLFN`` or ``MLFNClassifier``).
        path: A ``.keras`` file, e.g. from ``python -m mlfn_keras.convert resnext50``.

    Returns:
        ``{"loaded": [...], "shape_mismatch": [...], "not_in_source": [...]}`` layer names.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        InputPathError: If it is empty, damaged or not a ``.keras`` archive.
    """
    from mlfn_keras.modelfile import load_keras_file

    source = _all_layers(load_keras_file(path, what="--init-weights"))
    report: dict[str, list[str]] = {"loaded": [], "shape_mismatch": [], "not_in_source": []}
    for name, layer in sorted(_all_layers(model).items()):
        src = source.get(name)
        if src is None:
            report["not_in_source"].append(name)
            continue
        values = src.get_weights()
        if [tuple(v.shape) for v in values] != [tuple(w.shape) for w in layer.weights]:
            report["shape_mismatch"].append(name)
            continue
        layer.set_weights(values)
        report["loaded"].append(name)
    return report
