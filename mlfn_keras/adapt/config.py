"""The knobs of ``mlfn adapt`` (:class:`AdaptConfig`), importable without NumPy or TensorFlow (``--help``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AdaptConfig:
    """Knobs of the adaptation loop.

    Attributes:
        minutes: wall-clock budget of the training rounds; the round running
            when it ends stops there (then one last re-labelling and save).
        max_rounds: upper bound on rounds (``None``: until ``minutes``).
        steps_per_round: optimiser steps between re-clusterings. Fewer: labels
            follow the model more closely, more time spent embedding.
        num_ids: P, pseudo-identities per batch; ``num_instances``: K crops each.
        learning_rate: Adam learning rate (small: we start from trained weights).
        lr_decay: ``"constant"`` or ``"cosine"``: the learning rate of each
            round follows a half cosine from ``learning_rate`` to 0 over the
            ``minutes`` budget (by elapsed time), so the last rounds move the
            weights little and the model written at the end is not caught
            mid-swing. Resuming with a larger budget stretches the schedule.
        scale: cosine-classifier temperature (higher: sharper, less smoothing).
        label_smoothing: on the pseudo-identity cross-entropy (pseudo-labels are noisy).
        triplet_margin: batch-hard triplet margin on unit embeddings.
        triplet_weight: weight of the triplet term.
        anchor_weight: weight of the feature anchor ``mean(1 - cos(f, f0))``
            between the adapted model's unit embedding of a (augmented)
            training crop and the starting model's unit embedding of the same
            crop (un-augmented, computed once before training). The pseudo-
            identities are few people seen for a few minutes; without the
            anchor the model forgets what the starting weights knew about
            people the footage does not show, and ranking on new people
            (mAP) can fall while the site's own people separate better.
            Higher: safer, slower to adapt; 0 switches it off.
        random_erasing: probability of erasing a random rectangle of a crop.
        cluster_features: what pseudo-labels are computed from: ``"model"``
            (the model being adapted) or ``"model+hist"`` (its unit feature
            concatenated with the colour-histogram baseline's, equal weight): a
            hand-made prior that is better than a weak starting model on real
            people, so early pseudo-labels are cleaner. Training is the same.
        seed: sampling and augmentation seed.
    """

    minutes: float = 30.0
    max_rounds: int | None = None
    steps_per_round: int = 60
    num_ids: int = 8
    num_instances: int = 4
    learning_rate: float = 2e-4
    lr_decay: str = "cosine"
    scale: float = 16.0
    label_smoothing: float = 0.1
    triplet_margin: float = 0.3
    triplet_weight: float = 1.0
    anchor_weight: float = 2.0
    random_erasing: float = 0.5
    cluster_features: str = "model"
    seed: int = 0
