"""The model an export starts from: a ``.keras`` file, or a preset (+ weights).

What every exporter traces is the runtime's serving function
(`mlfn_keras.runtime.serving`): exporters import the runtime, never the
reverse.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mlfn_keras.runtime.metadata import ExportMetadata, metadata_from_model, sha256_file

__all__ = ["ExportSource", "load_export_source"]


@dataclasses.dataclass
class ExportSource:
    """A Keras backbone ready to export, and its description.

    Attributes:
        model: the `mlfn_keras.MLFN` backbone (or a model with its contract).
        metadata: the metadata every exported file will carry.
    """

    model: object
    metadata: ExportMetadata


def load_export_source(
    model_path: str | Path | None = None,
    preset: str | None = None,
    weights: str | Path | None = None,
    include_factor_signature: bool = False,
) -> ExportSource:
    """Loads the model to export from a ``.keras`` file or a preset (+ weights).

    Args:
        model_path: a ``.keras`` file saved from an `mlfn_keras.MLFN` (an
            `mlfn_keras.MLFNClassifier` works too: its backbone is exported).
        preset: a preset name, used when ``model_path`` is not given.
        weights: with ``preset``: Keras weights (``.weights.h5``) or a
            torchreid MLFN state dict (``.pth`` / ``.pth.tar`` / ``.safetensors``). Without it the
            preset is randomly initialised (useful only for tests/benchmarks).
        include_factor_signature: also export Ŝ.

    Raises:
        ValueError: on a missing/ambiguous source or an unknown file type.
        FileNotFoundError: if a given file does not exist.
    """
    from mlfn_keras.backbone import MLFN

    if (model_path is None) == (preset is None):
        raise ValueError(
            "Expected exactly one of a .keras model path or a preset name; received "
            f"model_path={model_path!r}, preset={preset!r}."
        )
    if model_path is not None:
        if weights is not None:
            raise ValueError(
                "weights is only used with a preset; a .keras file already holds "
                f"its weights (received weights={weights!r})."
            )
        from mlfn_keras.runtime.serving import load_keras_backbone

        model, metadata = load_keras_backbone(model_path, include_factor_signature)
        return ExportSource(model=model, metadata=metadata)
    model = MLFN.from_preset(preset)
    source, digest = f"preset:{preset}", None
    if weights is not None:
        wpath = Path(weights)
        if not wpath.exists():
            raise FileNotFoundError(f"No weights file at {wpath}.")
        name = wpath.name
        if name.endswith((".pth", ".pth.tar", ".pt", ".safetensors")):
            from mlfn_keras import convert

            model, _, _ = convert.convert_torchreid(
                convert.load_state_dict(str(wpath)), preset=preset
            )
        elif name.endswith(".weights.h5"):
            model.load_weights(wpath)
        else:
            raise ValueError(
                f"Unknown weights file {wpath}; expected .weights.h5 (Keras) "
                "or a torchreid state dict (.pth/.pth.tar/.safetensors)."
            )
        source, digest = str(wpath), sha256_file(wpath)
    metadata = metadata_from_model(
        model,
        source=source,
        source_sha256=digest,
        include_factor_signature=include_factor_signature,
    )
    return ExportSource(model=model, metadata=metadata)
