"""Unsupervised site adaptation (``mlfn-adapt``): learn re-id from a site's own unlabelled footage.

* :mod:`~mlfn_keras.adapt.tracklets`: detector + tracker over the footage, good tracklets with their crops;
* :mod:`~mlfn_keras.adapt.pseudo_labels`: pseudo-identities from the association's threshold and clustering;
* :mod:`~mlfn_keras.adapt.trainer`: the rounds of pseudo-labelling and training, checkpointing;
* :mod:`~mlfn_keras.adapt.pipeline`: the command's steps (outputs, mining, training, export, summary);
* :mod:`~mlfn_keras.adapt.cli`: ``mlfn-adapt``.

Built on the rest of the package, not beside it:

* tracklets and the cannot-link rule: ``mlfn_keras/tracking/core/association/tracklets.py``
  (``Tracklet`` with ``crops``, ``crop_frames`` and ``seen``; ``cannot_link``);
* the threshold: ``mlfn_keras/tracking/core/association/calibration.py``
  (``calibrate(method="balanced_error")``);
* clustering: ``mlfn_keras/tracking/core/association/clustering.py``
  (``cluster_tracklets(method="average")``);
* P×K batches with cannot-link partners: ``mlfn_keras/data/pipeline.py`` (``PKSampler.sample``);
* the label-smoothed cross-entropy and triplet loss: ``mlfn_keras/losses.py``;
* the colour-histogram features (``cluster_features="model+hist"``): ``mlfn_keras/runtime/histogram.py``;
* the source probe (fps, frame count) and camera streams: ``mlfn_keras/tracking/app/sources.py``;
* the export: ``mlfn_keras/export/`` (parity-gated ONNX/TFLite).
"""

from mlfn_keras._lazy import lazy_exports

# Imported on first use, so `mlfn ... --help` and light imports stay fast (no TensorFlow).
_EXPORTS = {
    "AdaptRequest": "mlfn_keras.adapt.pipeline",
    "AdaptSummary": "mlfn_keras.adapt.pipeline",
    "run_adaptation": "mlfn_keras.adapt.pipeline",
    "AdaptConfig": "mlfn_keras.adapt.config",
    "AdaptResult": "mlfn_keras.adapt.trainer",
    "adapt": "mlfn_keras.adapt.trainer",
}

__all__ = ["AdaptConfig", "AdaptRequest", "AdaptResult", "AdaptSummary", "adapt", "run_adaptation"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
