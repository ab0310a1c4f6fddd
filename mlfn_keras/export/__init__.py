"""Exporters of the MLFN embedder: SavedModel, ONNX, TFLite, TensorRT.

Every format implements the runtime's one contract
(`mlfn_keras.runtime.serving`): uint8 RGB ``(N, H, W, 3)`` in, ``embedding``
(and optionally ``factor_signature``) out, normalisation inside the graph,
metadata inside the file (`mlfn_keras.runtime.metadata`). Every exporter
reloads what it wrote through `mlfn_keras.runtime` and fails unless it
reproduces Keras within the precision's bound (`mlfn_keras.export.parity`).

* :mod:`.source`: the model an export starts from (``.keras`` or preset + weights);
* :mod:`.saved_model`, :mod:`.onnx`, :mod:`.tflite`, :mod:`.tensorrt`: one exporter each;
* :mod:`.calibration`: int8 calibration images;
* :mod:`.parity`: the parity gate;
* :mod:`.benchmark`: speed of every format against torchreid;
* :mod:`.cli`: the ``export/*.py`` command lines.

Imports point one way: exporters → `mlfn_keras.runtime`, never the reverse,
so reading metadata or running an ONNX/TFLite file does not need TensorFlow.
"""

from mlfn_keras.runtime.metadata import ExportMetadata
from mlfn_keras.export.parity import BOUNDS, ExportResult, ParityError, ParityReport, check_parity

__all__ = [
    "BOUNDS",
    "ExportMetadata",
    "ExportResult",
    "ParityError",
    "ParityReport",
    "check_parity",
]
