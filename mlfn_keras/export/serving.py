"""The serving contract every exported file implements, and the model it wraps.

One input contract for every format: ``images``, uint8 RGB ``(N, H, W, 3)``
at the preset's size, with any N. The graph casts to float32 and calls the
backbone, whose first layer is the ImageNet normalisation, so no caller can
normalise twice. Outputs: ``"embedding"`` (R, Eq. 6) and optionally
``"factor_signature"`` (Ŝ, Eq. 5), both float32 and not L2-normalised.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mlfn_keras.export.metadata import ExportMetadata, metadata_from_model, sha256_file

INPUT_NAME = "images"


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
    import keras

    import mlfn_keras
    from mlfn_keras.backbone import MLFN

    mlfn_keras.register_keras_objects()  # for load_model

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
        path = Path(model_path)
        if not path.exists():
            raise FileNotFoundError(f"No model file at {path}.")
        if path.suffix != ".keras":
            exported = " (an exported model: export from the .keras file it came from)" if path.suffix.lower() in (
                ".onnx", ".tflite", ".engine", ".plan", ".pb") or path.is_dir() else ""
            raise ValueError(
                f"Expected a .keras model file; received {path}{exported}. For other "
                "weights use --preset NAME --weights FILE."
            )
        from mlfn_keras.modelfile import load_mlfn_keras

        model = load_mlfn_keras(path)  # refuses empty/damaged files and non-MLFN models
        if isinstance(model, mlfn_keras.MLFNClassifier):
            model = model.backbone
        source, digest = str(path), sha256_file(path)
    else:
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


def serving_function(model, metadata: ExportMetadata):
    """The uint8-in serving `tf.function` with a dynamic batch dimension.

    Args:
        model: the Keras backbone.
        metadata: says the input size and which outputs to return.

    Returns:
        A `tf.function` with one input signature
        ``images: tf.uint8 [None, H, W, 3]`` returning a dict of float32
        tensors named as ``metadata.outputs``.
    """
    import tensorflow as tf

    height, width, channels = metadata.image_shape
    outputs = list(metadata.outputs)

    @tf.function(
        input_signature=[tf.TensorSpec([None, height, width, channels], tf.uint8, name=INPUT_NAME)]
    )
    def serve(images):
        result = model(tf.cast(images, tf.float32), training=False)
        return {name: tf.identity(result[name], name=name) for name in outputs}

    return serve
