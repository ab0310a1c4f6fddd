"""Reading exported files' metadata, format by format, without TensorFlow.

The runtime (`mlfn_keras.runtime`) opens every exported format through these
readers, and the exporters write what they read, so imports point one way:
exporters → runtime → formats → metadata. Each reader needs only the
format's own runtime package (onnxruntime, ai-edge-litert, tensorrt).
"""

from __future__ import annotations

import mmap
from pathlib import Path

from mlfn_keras.export.metadata import (
    METADATA_KEY,
    SAVED_MODEL_ASSET,
    ExportMetadata,
    read_sidecar,
)

__all__ = [
    "TensorRTUnavailableError",
    "read_engine_metadata",
    "read_onnx_metadata",
    "read_saved_model_metadata",
    "read_tflite_metadata",
    "require_tensorrt",
]


def read_onnx_metadata(path_or_model) -> ExportMetadata:
    """Reads the ``mlfn_keras`` entry of an ONNX file's ``metadata_props``.

    Accepts a path (read with onnxruntime: no ``onnx`` package needed on an
    edge box), an ``onnxruntime.InferenceSession`` or an ``onnx.ModelProto``.

    Raises:
        ValueError: if the file carries no mlfn_keras metadata.
    """
    if hasattr(path_or_model, "get_modelmeta"):
        props = path_or_model.get_modelmeta().custom_metadata_map
    elif isinstance(path_or_model, (str, Path)):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        props = ort.InferenceSession(
            str(path_or_model), options, providers=["CPUExecutionProvider"]
        ).get_modelmeta().custom_metadata_map
    else:
        props = {p.key: p.value for p in path_or_model.metadata_props}
    if METADATA_KEY not in props:
        raise ValueError(
            f"No '{METADATA_KEY}' entry in the ONNX metadata_props of {path_or_model!s:.200}; "
            f"expected a file written by export/to_onnx.py (found keys {sorted(props)})."
        )
    return ExportMetadata.from_json(props[METADATA_KEY])


def read_saved_model_metadata(path: str | Path) -> ExportMetadata:
    """Reads the metadata asset of a SavedModel written by `export_saved_model`.

    Raises:
        ValueError: if the directory has no mlfn_keras metadata asset.
    """
    asset = Path(path) / "assets" / SAVED_MODEL_ASSET
    if not asset.exists():
        raise ValueError(
            f"No {SAVED_MODEL_ASSET} in {Path(path) / 'assets'}; expected a SavedModel "
            "written by export/to_saved_model.py."
        )
    return ExportMetadata.from_json(asset.read_text())


def read_tflite_metadata(path: str | Path) -> ExportMetadata:
    """Reads the ``mlfn_keras`` metadata entry of a ``.tflite`` flatbuffer.

    Uses the flatbuffer schema shipped with ai-edge-litert, so it works on a
    box without TensorFlow.

    Raises:
        ValueError: if the file carries no mlfn_keras metadata.
    """
    from ai_edge_litert import schema_py_generated as schema

    names, payload = [], None
    # mmap: only the few bytes of the metadata are read, not the weights.
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        model = schema.Model.GetRootAs(buf, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            names.append(entry.Name().decode("utf-8"))
            if names[-1] == METADATA_KEY:
                buffer = model.Buffers(entry.Buffer())
                payload = bytes(buffer.DataAsNumpy())
                break
        # Views into the mmap must be gone before it closes.
        model = entry = buffer = None
    if payload is not None:
        return ExportMetadata.from_json(payload)
    raise ValueError(
        f"No '{METADATA_KEY}' metadata in {path} (found {names}); expected a file "
        "written by export/to_tflite.py."
    )


class TensorRTUnavailableError(RuntimeError):
    """TensorRT cannot run here (no GPU, or ``tensorrt``/CUDA torch missing)."""


def require_tensorrt():
    """Returns the ``tensorrt`` module, or raises saying what is missing.

    Raises:
        TensorRTUnavailableError: without ``tensorrt``, torch with CUDA, or a GPU.
    """
    try:
        import tensorrt as trt
    except ImportError as error:
        raise TensorRTUnavailableError(
            "TensorRT export needs the 'tensorrt' Python package (pip install tensorrt, "
            "on a Linux machine with an NVIDIA GPU and driver); it is not installed here "
            f"({error}). Export ONNX instead and build the engine on the target with "
            "trtexec --onnx=model.onnx, or use onnxruntime's TensorRT provider."
        ) from error
    try:
        import torch
    except ImportError as error:
        raise TensorRTUnavailableError(
            "TensorRT export and runtime use torch (CUDA build) for device buffers; "
            f"torch is not installed ({error})."
        ) from error
    if not torch.cuda.is_available():
        raise TensorRTUnavailableError(
            "TensorRT needs a CUDA GPU, and torch sees none here "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). "
            "Build the engine on the machine that will run it."
        )
    return trt


def read_engine_metadata(path: str | Path) -> ExportMetadata:
    """Reads the sidecar ``<engine>.json`` of a TensorRT engine.

    Raises:
        ValueError: if there is no sidecar next to the engine.
    """
    metadata = read_sidecar(path)
    if metadata is None:
        raise ValueError(
            f"No metadata next to the engine {path}: expected {path}.json, written "
            "by export/to_tensorrt.py."
        )
    return metadata
