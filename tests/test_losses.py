"""Tests for mlfn_keras.losses."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from harness import run_serialization_test

from mlfn_keras.losses import BatchHardTripletLoss, IdentityCrossEntropy


def test_cross_entropy_matches_keras_and_smoothing_formula():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 7)).astype("float32")
    labels = np.array([0, 3, 6, 2, 2])
    ours = float(IdentityCrossEntropy()(labels, logits))
    ref = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits))
    assert ours == pytest.approx(ref, rel=1e-5)

    eps = 0.1
    smoothed = float(IdentityCrossEntropy(label_smoothing=eps)(labels, logits))
    onehot = np.eye(7)[labels]
    ref = float(keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=eps)(onehot, logits))
    assert smoothed == pytest.approx(ref, rel=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        IdentityCrossEntropy(label_smoothing=1.0)


def test_cross_entropy_accepts_float16_logits():
    logits = np.array([[10.0, -10.0]], "float16")
    assert float(IdentityCrossEntropy()(np.array([0]), logits)) == pytest.approx(0.0, abs=1e-4)


def _triplet_reference(x, labels, margin):
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    out = []
    for i in range(len(x)):
        pos = [d[i, j] for j in range(len(x)) if labels[j] == labels[i] and j != i]
        neg = [d[i, j] for j in range(len(x)) if labels[j] != labels[i]]
        out.append(max(0.0, max(pos) - min(neg) + margin) if pos and neg else 0.0)
    return np.mean(out)


def test_batch_hard_triplet_matches_brute_force():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4)).astype("float32")
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    loss = BatchHardTripletLoss(margin=0.3)
    assert float(loss(labels, x)) == pytest.approx(_triplet_reference(x, labels, 0.3), rel=1e-4)


def test_batch_hard_triplet_zero_when_separated_and_singletons():
    x = np.array([[0, 0], [0, 0.1], [10, 10], [10, 10.1]], "float32")
    labels = np.array([0, 0, 1, 1])
    assert float(BatchHardTripletLoss(margin=0.3)(labels, x)) == 0.0
    # An identity with one image has no positive: it contributes nothing.
    assert float(BatchHardTripletLoss()(np.array([0, 1, 2, 3]), x)) == 0.0


def test_serialisation_round_trip():
    for loss in (IdentityCrossEntropy(label_smoothing=0.2), BatchHardTripletLoss(margin=0.5)):
        clone = run_serialization_test(loss)
        labels, x = np.array([0, 0, 1, 1]), np.random.default_rng(0).normal(size=(4, 4)).astype("float32")
        assert float(clone(labels, x)) == pytest.approx(float(loss(labels, x)))
