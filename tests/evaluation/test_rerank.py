"""k-reciprocal re-ranking: equals the authors' loop code and helps on clusters."""

import numpy as np
import pytest

from mlfn_keras.evaluation.distance import pairwise_distance
from mlfn_keras.evaluation.rank import evaluate_rank
from mlfn_keras.evaluation.rerank import re_ranking


# The authors' released implementation (github.com/zhunzhong07/person-re-ranking,
# as copied into torchreid/fast-reid), kept verbatim in logic as the reference.
def re_ranking_ref(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    original_dist = np.concatenate([np.concatenate([q_q_dist, q_g_dist], axis=1), np.concatenate([q_g_dist.T, g_g_dist], axis=1)], axis=0)
    original_dist = np.power(original_dist, 2).astype(np.float32)
    original_dist = np.transpose(1. * original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist).astype(np.float32)
    initial_rank = np.argsort(original_dist).astype(np.int32)
    query_num = q_g_dist.shape[0]
    gallery_num = q_g_dist.shape[0] + q_g_dist.shape[1]
    all_num = gallery_num
    for i in range(all_num):
        forward_k_neigh_index = initial_rank[i, :k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, :k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for j in range(len(k_reciprocal_index)):
            candidate = k_reciprocal_index[j]
            candidate_forward_k_neigh_index = initial_rank[candidate, :int(np.around(k1 / 2.)) + 1]
            candidate_backward_k_neigh_index = initial_rank[candidate_forward_k_neigh_index, :int(np.around(k1 / 2.)) + 1]
            fi_candidate = np.where(candidate_backward_k_neigh_index == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward_k_neigh_index[fi_candidate]
            if len(np.intersect1d(candidate_k_reciprocal_index, k_reciprocal_index)) > 2. / 3 * len(candidate_k_reciprocal_index):
                k_reciprocal_expansion_index = np.append(k_reciprocal_expansion_index, candidate_k_reciprocal_index)
        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = 1. * weight / np.sum(weight)
    original_dist = original_dist[:query_num, ]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=np.float32)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    invIndex = []
    for i in range(gallery_num):
        invIndex.append(np.where(V[:, i] != 0)[0])
    jaccard_dist = np.zeros_like(original_dist, dtype=np.float32)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, gallery_num], dtype=np.float32)
        indNonZero = np.where(V[i, :] != 0)[0]
        indImages = [invIndex[ind] for ind in indNonZero]
        for j in range(len(indNonZero)):
            temp_min[0, indImages[j]] = temp_min[0, indImages[j]] + np.minimum(V[i, indNonZero[j]], V[indImages[j], indNonZero[j]])
        jaccard_dist[i] = 1 - temp_min / (2. - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    final_dist = final_dist[:query_num, query_num:]
    return final_dist


def _clustered(seed=0, n_ids=25, nq=40, ng=160, dim=16, noise=0.9):
    rs = np.random.RandomState(seed)
    centres = rs.randn(n_ids, dim)
    q_pids = rs.randint(0, n_ids, nq)
    g_pids = rs.randint(0, n_ids, ng)
    q = centres[q_pids] + noise * rs.randn(nq, dim)
    g = centres[g_pids] + noise * rs.randn(ng, dim)
    return q, g, q_pids, g_pids


@pytest.mark.parametrize("k1,k2,lam", [(20, 6, 0.3), (8, 3, 0.5), (5, 1, 0.0)])
def test_equals_reference_implementation(k1, k2, lam):
    q, g, _, _ = _clustered()
    qg, qq, gg = pairwise_distance(q, g), pairwise_distance(q, q), pairwise_distance(g, g)
    ours = re_ranking(qg, qq, gg, k1=k1, k2=k2, lambda_value=lam)
    ref = re_ranking_ref(qg, qq, gg, k1=k1, k2=k2, lambda_value=lam)
    assert ours.shape == (40, 160)
    np.testing.assert_allclose(ours, ref, atol=2e-6)


def test_improves_map_on_clustered_features():
    q, g, q_pids, g_pids = _clustered(seed=1, n_ids=30, nq=60, ng=300, noise=1.2)
    q_cams = np.zeros(len(q_pids), int)
    g_cams = np.ones(len(g_pids), int)
    qg = pairwise_distance(q, g)
    before = evaluate_rank(qg, q_pids, g_pids, q_cams, g_cams)
    after = evaluate_rank(
        re_ranking(qg, pairwise_distance(q, q), pairwise_distance(g, g)),
        q_pids, g_pids, q_cams, g_cams,
    )
    assert after.mAP > before.mAP + 0.02


def test_lambda_one_keeps_original_order():
    q, g, _, _ = _clustered(seed=2)
    qg = pairwise_distance(q, g)
    rr = re_ranking(qg, pairwise_distance(q, q), pairwise_distance(g, g), lambda_value=1.0)
    np.testing.assert_array_equal(np.argsort(rr, axis=1), np.argsort(qg, axis=1))


def test_shape_errors():
    with pytest.raises(ValueError, match=r"expected q_q_dist of shape \(2, 2\)"):
        re_ranking(np.zeros((2, 3)), np.zeros((3, 3)), np.zeros((3, 3)))
