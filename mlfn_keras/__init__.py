"""mlfn-keras: Multi-Level Factorisation Net (Chang, Hospedales & Xiang, CVPR 2018)
for person re-identification in Keras 3, from training to the edge.

The Keras objects (`MLFN`, `MLFNClassifier`, the custom layers and losses)
load on first use, so ``import mlfn_keras.runtime`` on an edge box with only
onnxruntime or ai-edge-litert never imports TensorFlow. They register
themselves with Keras (for ``keras.models.load_model``) when first touched,
when Keras was imported before ``mlfn_keras``, or by
:func:`register_keras_objects`.
"""

import importlib
import sys

from mlfn_keras._lazy import lazy_exports
from mlfn_keras.presets import PRESETS, get_preset

__version__ = "0.1.0"

#: Modules defining registered Keras objects (imported together).
KERAS_MODULES = ("mlfn_keras.layers", "mlfn_keras.backbone", "mlfn_keras.classifier", "mlfn_keras.losses",
                 "mlfn_keras.training.schedule")

_EXPORTS = {
    "MLFN": "mlfn_keras.backbone",
    "MLFNClassifier": "mlfn_keras.classifier",
    "FactorSelectionGate": "mlfn_keras.layers",
    "GroupedConv2D": "mlfn_keras.layers",
    "preprocessing": "mlfn_keras.preprocessing",  # NumPy on first use: `mlfn --help` stays light
}


def register_keras_objects() -> None:
    """Imports every module that registers a Keras object (needs Keras).

    Call it before ``keras.models.load_model`` of an MLFN file when nothing
    else of ``mlfn_keras`` was used yet.
    """
    for module in KERAS_MODULES:
        importlib.import_module(module)


__all__ = [
    "MLFN",
    "MLFNClassifier",
    "FactorSelectionGate",
    "GroupedConv2D",
    "PRESETS",
    "get_preset",
    "preprocessing",
    "register_keras_objects",
    "__version__",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if "keras" in sys.modules:
    # Keras is loaded already (a training or evaluation process): register now,
    # so `import keras, mlfn_keras; keras.models.load_model(...)` works as before.
    register_keras_objects()
