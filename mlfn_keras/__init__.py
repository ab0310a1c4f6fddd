"""mlfn-keras: Multi-Level Factorisation Net (Chang, Hospedales & Xiang, CVPR 2018)
for person re-identification in Keras 3, from training to the edge.

Where each concept lives (one file each; extend it rather than write another):

=====================================  ==============================================================
embedder contract (`Embedder`)         ``mlfn_keras/runtime/contract.py``
spec → embedder, "model exists" check  ``mlfn_keras/runtime/loader.py`` (``load_embedder``, ``check_spec``)
model-file backends / metadata         ``mlfn_keras/runtime/backends.py`` / ``runtime/metadata.py``, ``runtime/formats.py``
colour-histogram baseline (``hist``)   ``mlfn_keras/runtime/histogram.py``
tracklet (``Tracklet``), cannot-link   ``mlfn_keras/tracking/core/association/tracklets.py``
threshold (``calibrate(method=...)``)  ``mlfn_keras/tracking/core/association/calibration.py``
clustering (``cluster_tracklets``)     ``mlfn_keras/tracking/core/association/clustering.py``
pseudo-identities (``mlfn-adapt``)     ``mlfn_keras/adapt/pseudo_labels.py``
P×K sampler (``PKSampler``)            ``mlfn_keras/data/pipeline.py``
cross-entropy, triplet losses          ``mlfn_keras/losses.py``
unit-normalise (``l2_normalize``)      ``mlfn_keras/vectors.py``
float → uint8, BGR crop → RGB          ``mlfn_keras/preprocessing.py`` (``to_uint8``, ``crop_rgb``, ``bgr_to_rgb``)
MOT text files, box IoU                ``mlfn_keras/data/mot.py``
a source's fps and frame count         ``mlfn_keras/tracking/app/sources.py`` (``probe_source``)
the cache directory                    ``mlfn_keras/cache.py`` (``cache_root``)
output folders (atomic, refuse)        ``mlfn_keras/fileio.py``
re-id scores on PETS09                 ``mlfn_keras/evaluation/pets09.py``
user errors, the CLI handler           ``mlfn_keras/errors.py``
=====================================  ==============================================================

Imports point one way: command lines (``*/cli.py``, ``demo/``, ``export/``,
``benchmarks/``) → library; exporters → runtime; nothing imports a CLI module
(``tests/test_package_imports.py`` checks it).

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
