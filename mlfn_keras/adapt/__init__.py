"""Unsupervised site adaptation (``mlfn-adapt``): learn re-id from a site's own unlabelled footage.

* :mod:`~mlfn_keras.adapt.tracklets`: detector + tracker over the footage, good tracklets, cannot-link;
* :mod:`~mlfn_keras.adapt.pseudo_labels`: calibrated similarity threshold, constrained clustering;
* :mod:`~mlfn_keras.adapt.trainer`: the rounds of pseudo-labelling and training, checkpointing;
* :mod:`~mlfn_keras.adapt.pipeline`: the command's steps (outputs, mining, training, export, summary).
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
