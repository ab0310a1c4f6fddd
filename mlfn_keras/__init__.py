"""mlfn-keras: Multi-Level Factorisation Net (Chang, Hospedales & Xiang, CVPR 2018)
for person re-identification in Keras 3, from training to the edge."""

__version__ = "0.1.0"

from mlfn_keras import preprocessing
from mlfn_keras.presets import PRESETS, get_preset

try:
    from mlfn_keras.backbone import MLFN
    from mlfn_keras.classifier import MLFNClassifier
    from mlfn_keras.layers import FactorSelectionGate, GroupedConv2D
except ImportError as e:
    # An edge box may have only onnxruntime or ai-edge-litert: the runtime
    # (mlfn_keras.runtime) must still import there.
    if e.name not in ("keras", "tensorflow"):
        raise

__all__ = [
    "MLFN",
    "MLFNClassifier",
    "FactorSelectionGate",
    "GroupedConv2D",
    "PRESETS",
    "get_preset",
    "preprocessing",
    "__version__",
]
