"""Calibrated threshold and cannot-link clustering of tracklet features (pure numpy)."""

import numpy as np

from mlfn_keras.adapt.pseudo_labels import (
    calibrate,
    cluster_tracklets,
    tracklet_features,
    violations,
)


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _people(rng, n_people=4, per_person=3, noise=0.05, d=16):
    centres = _unit(rng.normal(size=(n_people, d)))
    labels = np.repeat(np.arange(n_people), per_person)
    return _unit(centres[labels] + noise * rng.normal(size=(len(labels), d))), labels


def test_clusters_recover_people_and_respect_cannot_link():
    rng = np.random.default_rng(0)
    feats, truth = _people(rng)
    cannot = np.zeros((len(feats), len(feats)), bool)
    labels = cluster_tracklets(feats, cannot, threshold=0.8)
    # Same partition as the truth (up to renaming).
    assert len(set(zip(labels, truth))) == len(set(truth)) == labels.max() + 1

    # Forbid two tracklets of person 0 from meeting: they must end apart, whatever the similarity.
    cannot[0, 1] = cannot[1, 0] = True
    constrained = cluster_tracklets(feats, cannot, threshold=0.8)
    assert constrained[0] != constrained[1] and violations(constrained, cannot) == 0
    assert violations(labels, cannot) == 1  # the unconstrained clustering broke it

    # A threshold above every similarity merges nothing: pure tracklet discrimination.
    assert len(set(cluster_tracklets(feats, np.zeros_like(cannot), threshold=1.01))) == len(feats)


def test_calibration_separates_same_tracklet_from_seen_together():
    rng = np.random.default_rng(1)
    feats, truth = _people(rng, n_people=6, per_person=1, noise=0.0)
    crops = [_unit(f + 0.1 * rng.normal(size=(8, 16))) for f in feats]
    means, first, second = tracklet_features(crops)
    cannot = ~np.eye(len(feats), dtype=bool)  # all seen together: all different people
    cal = calibrate(first, second, means, cannot)
    iu = np.triu_indices(len(feats), 1)
    assert (means @ means.T)[iu].max() < cal.threshold < np.sum(first * second, axis=1).min()
    assert cal.balanced_error == 0.0 and cal.num_negative == len(iu[0]) and cal.num_positive == len(feats)
    assert cal.positive_median > cal.negative_median
