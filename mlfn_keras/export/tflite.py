"""Export to TFLite (fp32, fp16, dynamic-range int8, full int8), run with ai-edge-litert.

Path: the uint8 serving `tf.function` → frozen (variables as constants) →
re-wrapped as a signature ``serving_default`` (``images`` → ``embedding``) →
`tf.lite.TFLiteConverter` → metadata embedded in the flatbuffer → parity
gate in ai-edge-litert's interpreter (XNNPACK).

Freezing first matters: converting the Keras 3 function directly (or its
SavedModel) leaves ``VAR_HANDLE``/``READ_VARIABLE`` ops in the file; the
interpreter then returns NaN, and int8 calibration crashes.

Precisions:

* ``fp32``: float weights and activations.
* ``fp16``: float16 weights, dequantised at load; XNNPACK computes in fp32
  (or fp16 where the CPU supports it).
* ``dynamic_int8``: int8 weights, float activations quantised on the fly.
* ``int8``: int8 weights and activations, ranges calibrated on person crops
  (a dataset folder, or generated identities); uint8 input and float32
  output stay as in every format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlfn_keras.runtime.formats import read_tflite_metadata  # noqa: F401  (re-exported)
from mlfn_keras.runtime.metadata import METADATA_KEY, ExportMetadata
from mlfn_keras.export.parity import ExportResult, run_parity_gate

PRECISIONS = ("fp32", "fp16", "dynamic_int8", "int8")


def _aligned_builder_class():
    import flatbuffers

    class AlignedBuilder(flatbuffers.Builder):
        """Keeps byte vectors (weight buffers) 16-byte aligned, as the converter does.

        Re-packing with the stock builder aligns uint8 vectors to 1 byte, and
        misaligned weights force copies or fail alignment checks in kernels.
        """

        def StartVector(self, elemSize, numElems, alignment):
            if elemSize == 1:
                alignment = max(alignment, 16)
            return super().StartVector(elemSize, numElems, alignment)

    return AlignedBuilder


def embed_metadata(flatbuffer: bytes, metadata: ExportMetadata) -> bytes:
    """Returns ``flatbuffer`` with ``metadata`` as a named metadata buffer.

    An existing ``mlfn_keras`` entry is replaced; other entries (the
    converter's ``min_runtime_version``, ...) are kept.
    """
    from ai_edge_litert import schema_py_generated as schema

    _AlignedBuilder = _aligned_builder_class()
    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    payload = np.frombuffer(metadata.to_json().encode("utf-8"), dtype=np.uint8)
    model.metadata = [m for m in (model.metadata or []) if m.name != METADATA_KEY.encode()]
    buffer = schema.BufferT()
    buffer.data = payload
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    builder = _AlignedBuilder(len(flatbuffer) + len(payload) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def convert_to_tflite(
    model,
    metadata: ExportMetadata,
    precision: str = "fp32",
    calibration_images: np.ndarray | None = None,
) -> bytes:
    """Converts the Keras backbone to a TFLite flatbuffer (no metadata, unchecked).

    Args:
        model: the Keras backbone.
        metadata: the export's metadata (input size, outputs).
        precision: one of `PRECISIONS`.
        calibration_images: uint8 crops ``(N, H, W, 3)``; required for int8.

    Raises:
        ValueError: on an unknown precision or int8 without calibration crops.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from mlfn_keras.runtime.serving import serving_function

    if precision not in PRECISIONS:
        raise ValueError(f"Unknown TFLite precision {precision!r}; expected one of {PRECISIONS}.")
    if precision == "int8" and (calibration_images is None or len(calibration_images) == 0):
        raise ValueError("Full int8 needs calibration_images (uint8 crops (N, H, W, 3)); received none.")
    serve = serving_function(model, metadata)
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    # tf.nest flattens the serving dict in key order.
    names = sorted(metadata.outputs)

    @tf.function(input_signature=serve.input_signature)
    def serving_default(images):
        # The frozen function returns a flat list; give the outputs their names back.
        return dict(zip(names, frozen(images)))

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [serving_default.get_concrete_function()], tf.Module()
    )
    if precision != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if precision == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if precision == "int8":
        images = np.asarray(calibration_images, dtype=np.uint8)

        def representative_dataset():
            for i in range(len(images)):
                yield [images[i : i + 1]]

        converter.representative_dataset = representative_dataset
        # int8 kernels everywhere they exist; the uint8→float cast and the
        # float32 output stay float so the contract does not change.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    return converter.convert()


def export_tflite(
    model,
    metadata: ExportMetadata,
    path: str | Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    precision: str = "fp32",
    calibration_images: np.ndarray | None = None,
    num_threads: int | None = None,
) -> ExportResult:
    """Writes a ``.tflite`` file and gates it on parity with Keras.

    Args:
        model: the Keras backbone.
        metadata: from `mlfn_keras.export.source.load_export_source`.
        path: the ``.tflite`` file to write.
        images: uint8 crops ``(N, H, W, 3)`` for the parity check.
        labels: their identities, for the retrieval check.
        precision: ``"fp32"``, ``"fp16"``, ``"dynamic_int8"`` or ``"int8"``.
        calibration_images: crops for int8 calibration (default: ``images``;
            pass a disjoint set to keep the parity check honest).
        num_threads: XNNPACK threads for the parity run.

    Raises:
        ParityError: if the file is outside the precision's cosine bound.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if calibration_images is None:
        calibration_images = images
    metadata = metadata.replace(format="tflite", precision=precision)
    flatbuffer = convert_to_tflite(model, metadata, precision, calibration_images)
    from mlfn_keras.fileio import atomic_output

    # Written beside ``path`` and moved there only once the gate passed: a
    # failed export never replaces the previous file.
    with atomic_output(path) as tmp:
        tmp.write_bytes(embed_metadata(flatbuffer, metadata))
        report = run_parity_gate(model, str(tmp), images, labels, precision, num_threads=num_threads)
        tmp.write_bytes(embed_metadata(flatbuffer, metadata.replace(parity=report.to_dict())))
    return ExportResult(
        path=str(path),
        format="tflite",
        precision=precision,
        parity=report,
        details={"size_bytes": path.stat().st_size},
    )
