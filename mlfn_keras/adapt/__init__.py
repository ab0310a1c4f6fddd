"""Unsupervised site adaptation (``mlfn-adapt``): learn re-id from a site's own unlabelled footage.

* :mod:`~mlfn_keras.adapt.tracklets`: detector + tracker over the footage, good tracklets, cannot-link;
* :mod:`~mlfn_keras.adapt.pseudo_labels`: calibrated similarity threshold, constrained clustering;
* :mod:`~mlfn_keras.adapt.trainer`: the rounds of pseudo-labelling and training, checkpointing;
* :mod:`~mlfn_keras.adapt.pipeline`: the command's steps (outputs, mining, training, export, summary).
"""

from mlfn_keras.adapt.pipeline import AdaptRequest, AdaptSummary, run_adaptation
from mlfn_keras.adapt.trainer import AdaptConfig, AdaptResult, adapt

__all__ = ["AdaptConfig", "AdaptRequest", "AdaptResult", "AdaptSummary", "adapt", "run_adaptation"]
