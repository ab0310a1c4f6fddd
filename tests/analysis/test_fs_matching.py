"""FS-only matching (Table 7): pair sampling and the linear SVM ranker."""

import numpy as np
import pytest

from mlfn_keras.analysis.fs_matching import FactorSignatureMatcher, sample_pairs
from mlfn_keras.evaluation.rank import evaluate_rank


def _signatures(n_ids, per_id, k=24, informative=8, noise=0.15, seed=0):
    """Sigmoid-like signatures: a few factors carry identity, the rest noise."""
    rs = np.random.RandomState(seed)
    proto = rs.rand(n_ids, k)
    pids = np.repeat(np.arange(1, n_ids + 1), per_id)
    x = proto[pids - 1] + noise * rs.randn(len(pids), k)
    x[:, informative:] = rs.rand(len(pids), k - informative)  # identity-free factors
    return np.clip(x, 0, 1).astype(np.float32), pids


def test_pairs_are_balanced_and_correct():
    pids = np.array([1, 1, 1, 2, 2, 3, 4, 4, 4, 4])
    a, b, y = sample_pairs(pids, 1001, np.random.default_rng(0))
    assert len(a) == 1001 and y.sum() == 500
    assert np.all((pids[a] == pids[b]) == (y == 1))
    assert np.all(a[y == 1] != b[y == 1])  # a positive never pairs an image with itself
    assert 3 not in set(pids[a[y == 1]])  # identity 3 has a single image
    with pytest.raises(ValueError, match="two identities"):
        sample_pairs(np.array([1, 2, 3]), 10, np.random.default_rng(0))


def test_score_equals_svm_decision_on_pair_differences():
    x, pids = _signatures(20, 4)
    m = FactorSignatureMatcher(num_pairs=2000).fit(x, pids)
    rs = np.random.RandomState(1)
    q, g = rs.rand(5, 24), rs.rand(7, 24)
    manual = np.abs(q[:, None, :] - g[None, :, :]) @ m.weights + m.bias
    np.testing.assert_allclose(m.score(q, g, chunk_size=2), manual, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m.distance(q, g), -manual, rtol=1e-5, atol=1e-5)


def test_svm_learns_which_factors_carry_identity():
    x, pids = _signatures(60, 6)
    m = FactorSignatureMatcher(num_pairs=6000).fit(x, pids)
    assert m.train_accuracy > 0.8
    # Identity factors get weight against matching (large |diff| = different person).
    assert m.weights[:8].mean() < 0 and abs(m.weights[:8].mean()) > 3 * abs(m.weights[8:].mean())
    # Rank test identities never seen in training.
    xt, pt = _signatures(30, 4, seed=5)
    cams = np.tile([1, 2, 3, 4], 30)
    q = np.arange(0, 120, 4)
    g = np.setdiff1d(np.arange(120), q)
    svm = evaluate_rank(m.distance(xt[q], xt[g]), pt[q], pt[g], cams[q], cams[g])
    l2 = evaluate_rank(
        np.linalg.norm(xt[q][:, None] - xt[g][None], axis=2), pt[q], pt[g], cams[q], cams[g]
    )
    assert svm.rank(1) > 0.8
    assert svm.mAP > l2.mAP  # the SVM ignores the noise factors that plain L2 weighs in


def test_score_before_fit_raises():
    with pytest.raises(RuntimeError, match="before fit"):
        FactorSignatureMatcher().score(np.zeros((1, 2)), np.zeros((1, 2)))


def test_cli_on_generated_identities(tmp_path, capsys):
    import json

    import mlfn_keras
    from mlfn_keras.analysis import fs_matching
    from mlfn_keras.data.synthetic import generate_market_layout

    root = generate_market_layout(tmp_path / "s", num_identities=16, num_cameras=2,
                                  images_per_identity_camera=2, height=64, width=32,
                                  multi_query_images=1, progress=False)
    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(tmp_path / "m.keras")
    rc = fs_matching.main(["--model", str(tmp_path / "m.keras"), "--dataset", "synthetic",
                           "--data-root", str(root), "--pairs", "400", "--quiet",
                           "--output", str(tmp_path / "o")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Ŝ (FS) only" in out and "R (Euclidean)" in out and "MQ" in out
    rows = json.loads((tmp_path / "o" / "fs_only.json").read_text())["rows"]
    assert 0.0 < rows["Ŝ (FS) only"]["SQ"]["mAP"] <= 100.0
