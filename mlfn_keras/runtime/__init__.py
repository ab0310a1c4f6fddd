"""The one home of re-id embedders: crops in, unit embeddings out, from any file on any box.

    from mlfn_keras.runtime import load_embedder

    embedder = load_embedder("mlfn.onnx", num_threads=2)   # or "hist", "untrained", "site.onnx+hist"
    features = embedder(crops)   # crops: list of uint8 RGB (h, w, 3), any size
    features.shape               # (len(crops), embedder.embedding_dim), unit L2 norm

A tracker written against it runs unchanged on a laptop with Keras, an edge
box with only onnxruntime or ai-edge-litert, or a GPU server with TensorRT:
importing this package never imports TensorFlow (only opening a ``.keras``
file or a SavedModel does).

Where each part lives:

* :mod:`.contract`: the `Embedder` contract every backend implements;
* :mod:`.loader`: :func:`load_embedder`, the one resolver of embedder specs
  (model files, ``hist``, ``untrained[:PRESET]``, ``A+B`` fusions) and the one
  "model file exists" check; `FusedEmbedder`;
* :mod:`.backends`: one backend per model-file format (Keras, SavedModel,
  ONNX, TFLite, TensorRT);
* :mod:`.histogram`: the colour-histogram baseline (``hist``);
* :mod:`.metadata`: the metadata every exported file carries (`ExportMetadata`);
* :mod:`.formats`: reading that metadata, format by format;
* :mod:`.serving`: the uint8-in serving function every format implements
  (the exporters in `mlfn_keras.export` trace it: exporters → runtime).
"""

from mlfn_keras.runtime.backends import (
    KerasEmbedder,
    ModelEmbedder,
    ModelFormatError,
    OnnxEmbedder,
    SavedModelEmbedder,
    TensorRTEmbedder,
    TFLiteEmbedder,
)
from mlfn_keras.runtime.contract import Embedder
from mlfn_keras.runtime.histogram import ColourHistogramEmbedder
from mlfn_keras.runtime.loader import (
    SPEC_FORMS,
    EmbedderNotFoundError,
    FusedEmbedder,
    check_spec,
    load_embedder,
    untrained_embedder,
)
from mlfn_keras.runtime.metadata import ExportMetadata

__all__ = [
    "SPEC_FORMS",
    "ColourHistogramEmbedder",
    "Embedder",
    "EmbedderNotFoundError",
    "ExportMetadata",
    "FusedEmbedder",
    "KerasEmbedder",
    "ModelEmbedder",
    "ModelFormatError",
    "OnnxEmbedder",
    "SavedModelEmbedder",
    "TFLiteEmbedder",
    "TensorRTEmbedder",
    "check_spec",
    "load_embedder",
    "untrained_embedder",
]
