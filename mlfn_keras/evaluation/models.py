"""Loading the model to evaluate: a ``.keras`` file, any file the runtime loads, or an untrained preset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_model"]


def load_model(model_path: str | None, preset: str | None) -> tuple[Any, str | None]:
    """Loads a ``.keras`` model (or a runtime file), or builds a preset.

    Returns:
        ``(model, preset_name_or_None)``.

    Raises:
        FileNotFoundError: If ``model_path`` does not exist (`mlfn_keras.runtime.load_embedder`'s check).
    """
    import mlfn_keras

    if preset is not None:
        model = mlfn_keras.MLFN.from_preset(preset)
        return model, preset
    path = Path(model_path)
    if path.suffix == ".keras":
        from mlfn_keras.modelfile import load_mlfn_keras

        model = load_mlfn_keras(path)  # refuses missing, empty or damaged files and non-MLFN models
    else:
        from mlfn_keras.runtime import load_embedder

        model = load_embedder(str(path), what="--model")
    found = getattr(model, "preset", None)
    if found is None and getattr(model, "backbone", None) is not None:
        found = getattr(model.backbone, "preset", None)
    return model, found
