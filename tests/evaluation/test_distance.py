"""Pairwise distances against scipy's cdist."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from mlfn_keras.evaluation.distance import l2_normalize, pairwise_distance


@pytest.mark.parametrize("metric,ref", [("euclidean", "euclidean"), ("sqeuclidean", "sqeuclidean"), ("cosine", "cosine")])
def test_matches_scipy(metric, ref):
    rs = np.random.RandomState(0)
    q, g = rs.randn(13, 7), rs.randn(29, 7)
    ours = pairwise_distance(q, g, metric=metric, chunk_size=5)
    assert ours.dtype == np.float32 and ours.shape == (13, 29)
    np.testing.assert_allclose(ours, cdist(q, g, ref), rtol=1e-4, atol=1e-4)


def test_self_distance_is_zero_not_negative():
    # Post-ReLU embeddings share a large positive offset: float32 cancellation
    # would leave self-distances far from zero without centring.
    x = np.random.RandomState(1).rand(20, 1024).astype(np.float32) + 50.0
    d = pairwise_distance(x, x)
    assert (d >= 0).all()
    np.testing.assert_allclose(np.diag(d), 0, atol=2e-2)  # sqrt amplifies ~1e-5 near 0
    off = ~np.eye(20, dtype=bool)
    np.testing.assert_allclose(d[off], cdist(x.astype(np.float64), x.astype(np.float64))[off], rtol=1e-4)


def test_l2_normalize_handles_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(l2_normalize(x), [[0.6, 0.8], [0.0, 0.0]])


def test_errors():
    with pytest.raises(ValueError, match="same dimension, got 3 and 4"):
        pairwise_distance(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="metric"):
        pairwise_distance(np.zeros((2, 3)), np.zeros((2, 3)), metric="manhattan")
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        pairwise_distance(np.zeros(3), np.zeros((2, 3)))
