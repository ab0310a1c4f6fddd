"""CMC / mAP / mINP: parity with torchreid 0.2.5 and hand-computed cases."""

import numpy as np
import pytest

from mlfn_keras.evaluation._torchreid import load_torchreid_rank
from mlfn_keras.evaluation.rank import evaluate_rank


@pytest.fixture(scope="module")
def torchreid_rank():
    return load_torchreid_rank()


def _random_case(seed, nq=50, ng=240, n_ids=40, n_cams=4):
    rs = np.random.RandomState(seed)
    q_pids = rs.randint(1, n_ids, nq)
    g_pids = rs.randint(0, n_ids + 5, ng)  # includes distractor 0 and ids absent from the query
    q_cams = rs.randint(0, n_cams, nq)
    g_cams = rs.randint(0, n_cams, ng)
    dist = rs.rand(nq, ng).astype(np.float32)
    return dist, q_pids, g_pids, q_cams, g_cams


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_market_mode_equals_torchreid(torchreid_rank, seed):
    dist, qp, gp, qc, gc = _random_case(seed)
    ref_cmc, ref_map = torchreid_rank.evaluate_py(dist, qp, gp, qc, gc, 50, False)
    ours = evaluate_rank(dist, qp, gp, qc, gc, max_rank=50)
    np.testing.assert_array_equal(ours.cmc, ref_cmc)
    assert ours.mAP == pytest.approx(ref_map, rel=1e-12, abs=1e-15)


def test_market_mode_chunking_does_not_change_results(torchreid_rank):
    dist, qp, gp, qc, gc = _random_case(5, nq=37)
    a = evaluate_rank(dist, qp, gp, qc, gc, chunk_size=4)
    b = evaluate_rank(dist, qp, gp, qc, gc, chunk_size=1000)
    np.testing.assert_array_equal(a.cmc, b.cmc)
    np.testing.assert_allclose(a.average_precision, b.average_precision, equal_nan=True)
    assert a.mINP == pytest.approx(b.mINP)


@pytest.mark.parametrize("seed", [0, 3])
def test_single_gallery_shot_equals_torchreid_cuhk03(torchreid_rank, seed):
    dist, qp, gp, qc, gc = _random_case(seed, nq=30, ng=150, n_ids=25)
    np.random.seed(100 + seed)
    ref_cmc, ref_map = torchreid_rank.evaluate_py(dist, qp, gp, qc, gc, 20, True)
    ours = evaluate_rank(
        dist, qp, gp, qc, gc, max_rank=20, mode="single_gallery_shot",
        rng=np.random.RandomState(100 + seed),
    )
    np.testing.assert_array_equal(ours.cmc, ref_cmc)
    assert ours.mAP == pytest.approx(ref_map, rel=1e-12, abs=1e-15)


def test_hand_built_same_camera_and_absent_identities(torchreid_rank):
    # gallery:        0        1        2        3        4
    g_pids = np.array([1,       2,       1,       3,       1])
    g_cams = np.array([1,       2,       2,       1,       3])
    # q0: pid 1 cam 1 -> g0 (same id & cam) is removed; ranking g1, g2, g3, g4
    #     -> true matches at kept ranks 2 and 4: AP = (1/2 + 2/4) / 2, INP = 2/4.
    # q1: pid 3 cam 1 -> its only gallery image g3 is in its own camera: invalid.
    # q2: pid 9 -> absent from the gallery: invalid.
    # q3: pid 2 cam 1 -> g1 ranked first: AP 1, INP 1.
    q_pids = np.array([1, 3, 9, 2])
    q_cams = np.array([1, 1, 1, 1])
    dist = np.array(
        [
            [0.0, 0.1, 0.2, 0.3, 0.4],
            [0.5, 0.4, 0.3, 0.0, 0.1],
            [0.1, 0.2, 0.3, 0.4, 0.5],
            [0.9, 0.0, 0.3, 0.5, 0.7],
        ]
    )
    ours = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=4)
    assert ours.num_valid_queries == 2
    np.testing.assert_allclose(ours.cmc, [0.5, 1.0, 1.0, 1.0])
    assert ours.mAP == pytest.approx((0.5 + 1.0) / 2)
    assert ours.mINP == pytest.approx((0.5 + 1.0) / 2)
    assert np.isnan(ours.average_precision[1]) and np.isnan(ours.average_precision[2])
    ref_cmc, ref_map = torchreid_rank.evaluate_py(dist, q_pids, g_pids, q_cams, g_cams, 4, False)
    np.testing.assert_array_equal(ours.cmc, ref_cmc)
    assert ours.mAP == pytest.approx(ref_map)


def test_junk_is_ignored_and_distractors_are_non_matches(torchreid_rank):
    g_pids = np.array([-1, 0, 5, 5, -1, 6])
    g_cams = np.array([2, 2, 2, 3, 3, 2])
    q_pids = np.array([5, 6])
    q_cams = np.array([1, 1])
    dist = np.array([[0.0, 0.1, 0.2, 0.5, 0.05, 0.3], [0.0, 0.2, 0.1, 0.3, 0.4, 0.25]])
    ours = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=3)
    # q0 after dropping junk: distractor 0, 5, 6, 5 -> true matches at ranks 2, 4.
    assert ours.average_precision[0] == pytest.approx((1 / 2 + 2 / 4) / 2)
    # q1: 5, 0, 6 -> rank 3.
    assert ours.average_precision[1] == pytest.approx(1 / 3)
    np.testing.assert_allclose(ours.cmc, [0.0, 0.5, 1.0])
    assert ours.mINP == pytest.approx((2 / 4 + 1 / 3) / 2)
    # torchreid's readers drop junk before evaluating: same numbers without it.
    keep = g_pids != -1
    ref_cmc, ref_map = torchreid_rank.evaluate_py(
        dist[:, keep], q_pids, g_pids[keep], q_cams, g_cams[keep], 3, False
    )
    np.testing.assert_array_equal(ours.cmc, ref_cmc)
    assert ours.mAP == pytest.approx(ref_map)
    # ...and junk_pids=() reproduces torchreid on the raw gallery.
    raw = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=3, junk_pids=())
    ref_cmc, ref_map = torchreid_rank.evaluate_py(dist, q_pids, g_pids, q_cams, g_cams, 3, False)
    np.testing.assert_array_equal(raw.cmc, ref_cmc)
    assert raw.mAP == pytest.approx(ref_map)


def test_minp_matches_loop_definition():
    dist, qp, gp, qc, gc = _random_case(7, nq=20, ng=100, n_ids=10)
    ours = evaluate_rank(dist, qp, gp, qc, gc)
    inps = []
    for i in range(len(qp)):
        order = np.argsort(dist[i])
        keep = ~((gp[order] == qp[i]) & (gc[order] == qc[i])) & (gp[order] != -1)
        hits = (gp[order][keep] == qp[i]).astype(int)
        if hits.sum():
            inps.append(hits.sum() / (np.flatnonzero(hits).max() + 1))
    assert ours.mINP == pytest.approx(np.mean(inps))
    assert ours.num_valid_queries == len(inps)


def test_perfect_ranking_scores_one():
    pids = np.repeat(np.arange(1, 6), 4)
    cams = np.tile([1, 2, 3, 4], 5)
    feats = pids[:, None].astype(float)
    dist = np.abs(feats - feats.T) + np.eye(len(pids)) * 0  # same id -> distance 0
    r = evaluate_rank(dist, pids, pids, cams, cams, max_rank=5)
    assert r.rank(1) == 1.0 and r.mAP == pytest.approx(1.0) and r.mINP == pytest.approx(1.0)
    assert r.to_dict()["R1"] == 100.0


def test_errors_name_what_was_received():
    with pytest.raises(ValueError, match="no query identity appears|No query identity"):
        evaluate_rank(np.zeros((1, 2)), [1], [2, 3], [0], [1, 1])
    with pytest.raises(ValueError, match="length 2"):
        evaluate_rank(np.zeros((1, 2)), [1], [2, 3, 4], [0], [1, 1])
    with pytest.raises(ValueError, match="mode"):
        evaluate_rank(np.zeros((1, 2)), [1], [1, 3], [0], [1, 1], mode="cuhk")
    with pytest.raises(ValueError, match=r"rank k must be in \[1, 2\]"):
        evaluate_rank(np.zeros((1, 2)), [1], [1, 3], [0], [1, 1]).rank(3)
