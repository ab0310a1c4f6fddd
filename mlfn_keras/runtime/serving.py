"""The serving contract every MLFN file implements, and the ``.keras`` model behind it.

One input contract for every format: ``images``, uint8 RGB ``(N, H, W, 3)``
at the preset's size, with any N. The graph casts to float32 and calls the
backbone, whose first layer is the ImageNet normalisation, so no caller can
normalise twice. Outputs: ``"embedding"`` (R, Eq. 6) and optionally
``"factor_signature"`` (Ŝ, Eq. 5), both float32 and not L2-normalised.

The runtime's Keras backend runs this function, and every exporter
(`mlfn_keras.export`) traces it, so a ``.keras`` file and its exports compute
the same graph.
"""

from __future__ import annotations

from pathlib import Path

from mlfn_keras.runtime.metadata import ExportMetadata, metadata_from_model, sha256_file

INPUT_NAME = "images"

__all__ = ["INPUT_NAME", "inference_function", "load_keras_backbone", "serving_function"]


def load_keras_backbone(path: str | Path, include_factor_signature: bool = False) -> tuple[object, ExportMetadata]:
    """Loads the MLFN backbone of a ``.keras`` file and describes it.

    Args:
        path: a ``.keras`` file saved from an `mlfn_keras.MLFN` (an
            `mlfn_keras.MLFNClassifier` works too: its backbone is used).
        include_factor_signature: also describe the Ŝ output.

    Returns:
        ``(backbone, metadata)``; the metadata names the file and its sha256.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not a ``.keras`` file, or not an MLFN.
    """
    import mlfn_keras

    path = Path(path)
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
    metadata = metadata_from_model(model, source=str(path), source_sha256=sha256_file(path),
                                   include_factor_signature=include_factor_signature)
    return model, metadata


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


def inference_function(model, metadata: ExportMetadata):
    """The serving function frozen for inference in TensorFlow: what `runtime.KerasEmbedder` runs.

    The weights become constants, so TensorFlow's graph optimiser folds every
    BatchNormalization into the convolution before it and fuses what follows,
    as onnxruntime does with an exported graph; a plain `tf.function` reads
    the weights as variables every call and cannot. Outputs equal
    :func:`serving_function`'s to float rounding (about 1e-7).

    Args:
        model: the Keras backbone.
        metadata: says the input size and which outputs to return.

    Returns:
        A callable ``images (uint8 [N, H, W, 3]) -> {output name: float32 tensor}``.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    frozen = convert_variables_to_constants_v2(serving_function(model, metadata).get_concrete_function())
    names = sorted(metadata.outputs)  # a frozen function returns the dict's values in key order

    def run(images):
        return dict(zip(names, frozen(tf.convert_to_tensor(images, tf.uint8))))

    return run
