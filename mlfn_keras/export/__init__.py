"""Exporters of the MLFN embedder: SavedModel, ONNX, TFLite, TensorRT.

Every format implements one contract (`mlfn_keras.export.serving`): uint8 RGB
``(N, H, W, 3)`` in, ``embedding`` (and optionally ``factor_signature``) out,
normalisation inside the graph, metadata inside the file
(`mlfn_keras.export.metadata`). Every exporter reloads what it wrote through
`mlfn_keras.runtime` and fails unless it reproduces Keras within the
precision's bound (`mlfn_keras.export.parity`).

Imports point one way: exporters → `mlfn_keras.runtime` →
`mlfn_keras.export.formats` (the per-format metadata readers) → metadata, so
reading metadata or running an ONNX/TFLite file does not need TensorFlow.
"""

from mlfn_keras.export.metadata import ExportMetadata
from mlfn_keras.export.parity import (
    BOUNDS,
    ExportResult,
    ParityError,
    ParityReport,
    check_parity,
)

__all__ = [
    "BOUNDS",
    "ExportMetadata",
    "ExportResult",
    "ParityError",
    "ParityReport",
    "check_parity",
]
