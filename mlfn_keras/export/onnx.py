"""Export to ONNX, loaded in onnxruntime and checked against Keras before success.

Path: the uint8 serving `tf.function` → frozen graph (variables and captured
constants such as the normalisation mean/std inlined) → tf2onnx (opset ≥ 17)
→ onnxslim → metadata → onnxruntime parity gate.

Freezing first matters: ``tf2onnx.convert.from_function`` and
``from_keras`` keep Keras 3's captured constants (the normalisation layer's
mean and variance) as extra graph *inputs*, giving a file that onnxruntime
refuses to run without them. Grouped convolutions must be plain ``Conv2D``
ops (`mlfn_keras.layers.GroupedConv2D`), not Keras's XLA-compiled call.
"""

from __future__ import annotations

import collections
import logging
from pathlib import Path
from typing import Any

import numpy as np

from mlfn_keras.runtime.formats import read_onnx_metadata  # noqa: F401  (re-exported)
from mlfn_keras.runtime.metadata import METADATA_KEY, ExportMetadata  # noqa: F401  (METADATA_KEY re-exported)
from mlfn_keras.export.parity import ExportResult, run_parity_gate

MIN_OPSET = 17
DEFAULT_OPSET = 17


def graph_stats(model) -> dict[str, Any]:
    """Node count, Transpose count and op histogram of an ONNX graph."""
    ops = collections.Counter(node.op_type for node in model.graph.node)
    return {
        "nodes": len(model.graph.node),
        "transposes": ops.get("Transpose", 0),
        "ops": dict(sorted(ops.items(), key=lambda kv: -kv[1])),
    }


def set_metadata(model, metadata: ExportMetadata) -> None:
    """Replaces the model's ``metadata_props`` with ``metadata``."""
    del model.metadata_props[:]
    for key, value in metadata.flat_properties().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def convert_to_onnx(model, metadata: ExportMetadata, opset: int = DEFAULT_OPSET, simplify: bool = True):
    """Converts the Keras backbone to an in-memory ``onnx.ModelProto``, unchecked.

    Args:
        model: the Keras backbone.
        metadata: the export's metadata (input size, outputs).
        opset: ONNX opset, at least 17.
        simplify: run onnxslim (constant folding, dead-node removal).

    Returns:
        ``(onnx_model, stats)`` with stats of the graph before/after slimming.

    Raises:
        ValueError: for an opset below 17.
    """
    import onnx
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from mlfn_keras.runtime.serving import INPUT_NAME, serving_function

    if opset < MIN_OPSET:
        raise ValueError(f"opset must be >= {MIN_OPSET}; received {opset}.")
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    serve = serving_function(model, metadata)
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    input_name = frozen.inputs[0].name
    # The frozen function's outputs are the dict's values flattened in key order.
    by_name = dict(zip(sorted(metadata.outputs), frozen.outputs))
    output_names = [by_name[name].name for name in metadata.outputs]
    rename = {input_name: INPUT_NAME}
    rename.update(dict(zip(output_names, metadata.outputs)))
    onnx_model, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(),
        input_names=[input_name],
        output_names=output_names,
        opset=opset,
        tensors_to_rename=rename,
    )
    stats = {"converted": graph_stats(onnx_model)}
    if simplify:
        import onnxslim

        onnx_model = onnxslim.slim(onnx_model)
    # Name the dynamic batch dimension instead of tf2onnx's "unk__N".
    for value in list(onnx_model.graph.input) + list(onnx_model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx_model.producer_name = "mlfn_keras"
    onnx_model.doc_string = (
        "MLFN person Re-ID embedder. Input 'images': uint8 RGB NHWC [batch,"
        f"{metadata.image_shape[0]},{metadata.image_shape[1]},3], 0-255, normalisation inside. "
        f"Outputs: {', '.join(metadata.outputs)} (float32, not L2-normalised)."
    )
    set_metadata(onnx_model, metadata)
    onnx.checker.check_model(onnx_model)
    stats["final"] = graph_stats(onnx_model)
    return onnx_model, stats


def export_onnx(
    model,
    metadata: ExportMetadata,
    path: str | Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    opset: int = DEFAULT_OPSET,
    simplify: bool = True,
) -> ExportResult:
    """Writes an ONNX file and gates it: onnxruntime must load it and match Keras.

    Args:
        model: the Keras backbone.
        metadata: from `mlfn_keras.export.source.load_export_source`.
        path: the ``.onnx`` file to write.
        images: uint8 crops ``(N, H, W, 3)`` for the parity check.
        labels: their identities, for the retrieval check.
        opset: ONNX opset (≥ 17).
        simplify: slim the graph with onnxslim.

    Raises:
        ParityError: if onnxruntime's embeddings are outside the fp32 bound.
        onnxruntime errors: if onnxruntime cannot load the file.
    """
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = metadata.replace(format="onnx", precision="fp32")
    onnx_model, stats = convert_to_onnx(model, metadata, opset=opset, simplify=simplify)
    from mlfn_keras.fileio import atomic_output

    # Written beside ``path`` and moved there only once the gate passed: a
    # failed export never replaces the previous file.
    with atomic_output(path) as tmp:
        onnx.save(onnx_model, str(tmp))
        report = run_parity_gate(model, str(tmp), images, labels, "fp32", providers=["cpu"])
        # Record the gate's figures in the file itself.
        set_metadata(onnx_model, metadata.replace(parity=report.to_dict()))
        onnx.save(onnx_model, str(tmp))
    final = stats["final"]
    return ExportResult(
        path=str(path),
        format="onnx",
        precision="fp32",
        parity=report,
        details={
            "opset": opset,
            "nodes": final["nodes"],
            "transposes": final["transposes"],
            "nodes_before_slim": stats["converted"]["nodes"],
            "size_bytes": path.stat().st_size,
        },
    )
