"""Pseudo-identities: the association's balanced-error calibration and average-linkage clustering (pure numpy)."""

import numpy as np

from mlfn_keras.adapt.pseudo_labels import DEFAULT_THRESHOLD, pseudo_identities, violations
from mlfn_keras.tracking.core.association import Tracklet, cannot_link


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _tracklets(spans, camera=0):
    """One tracklet per ``(first, last)`` span, seen on every frame of it, with 8 dummy crops."""
    return [Tracklet((camera, i, 0), a, b, a / 10, b / 10, seen=frozenset(range(a, b + 1)), crops=np.zeros((8, 1)))
            for i, (a, b) in enumerate(spans)]


def _features(rng, who, centres, noise=0.05, crops=8):
    return [_unit(centres[k] + noise * rng.normal(size=(crops, centres.shape[1]))).astype(np.float32) for k in who]


def test_clusters_recover_people_and_respect_cannot_link():
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(4, 16)))
    who = np.repeat(np.arange(4), 3)
    # Tracklets 0 and 1 (person 0) are seen together, as are 2 and 3 (person 0 and 1): different people.
    spans = [(0, 10), (5, 15), (200, 210), (205, 215)] + [(300 + 20 * i, 310 + 20 * i) for i in range(8)]
    ts = _tracklets(spans)
    cal, labels = pseudo_identities(ts, _features(rng, who, centres))
    assert cal.method == "balanced_error" and cal.source == "footage"
    cannot = cannot_link(ts)
    assert cannot[0, 1] and cannot[2, 3] and violations(labels, cannot) == 0
    assert labels[0] != labels[1]  # the constraint wins over similarity
    # Otherwise the people are recovered: no label mixes two people.
    assert all(len(set(who[labels == k])) == 1 for k in set(labels))
    assert all(labels[i] <= max(labels[:i], default=-1) + 1 for i in range(len(labels)))  # numbered by first appearance


def test_calibration_separates_same_tracklet_from_seen_together():
    rng = np.random.default_rng(1)
    centres = _unit(rng.normal(size=(6, 16)))
    ts = _tracklets([(0, 50)] * 6)  # all seen together: all different people
    feats = _features(rng, range(6), centres, noise=0.1)
    cal, labels = pseudo_identities(ts, feats)
    means = np.stack([_unit(f.mean(0)) for f in feats])
    halves = [float(_unit(f[:4].mean(0)) @ _unit(f[4:].mean(0))) for f in feats]
    iu = np.triu_indices(6, 1)
    assert (means @ means.T)[iu].max() < cal.threshold < min(halves)
    assert cal.balanced_error == 0.0 and cal.different_pairs == len(iu[0]) and cal.same_pairs == 6
    assert cal.same_median > cal.different_median and len(set(labels)) == 6


def test_without_people_seen_together_the_default_threshold_is_used():
    rng = np.random.default_rng(2)
    ts = _tracklets([(0, 5), (10, 15), (20, 25)])
    cal, _ = pseudo_identities(ts, _features(rng, [0, 1, 2], _unit(rng.normal(size=(3, 8)))))
    assert cal.source == "too_little_evidence" and cal.threshold == DEFAULT_THRESHOLD
