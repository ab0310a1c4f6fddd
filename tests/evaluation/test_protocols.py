"""Multi-query pooling, split readers and protocol scoring."""

import numpy as np
import pytest

from mlfn_keras.evaluation.evaluator import SplitFeatures, evaluate_features
from mlfn_keras.evaluation.features import Features
from mlfn_keras.evaluation.protocols import get_protocol, multi_query_features
from mlfn_keras.evaluation.splits import EvalSplit, load_eval_split


def test_multi_query_averages_same_identity_same_camera():
    query = [("q/0001_c1s1_000010_00.jpg", 1, 1), ("q/0002_c2s1_000020_00.jpg", 2, 2)]
    qf = Features(embedding=np.array([[0.0, 0.0], [10.0, 10.0]]), factor_signature=np.array([[1.0], [2.0]]))
    extra = [
        ("gt/0001_c1s1_000011_01.jpg", 1, 1),
        ("gt/0001_c1s1_000012_02.jpg", 1, 1),
        ("gt/0001_c2s1_000013_01.jpg", 1, 2),  # other camera: not pooled
        ("gt/0001_c1s1_000010_00.jpg", 1, 1),  # the query itself: counted once
    ]
    ef = Features(
        embedding=np.array([[3.0, 0.0], [0.0, 3.0], [100.0, 100.0], [0.0, 0.0]]),
        factor_signature=np.array([[4.0], [7.0], [100.0], [1.0]]),
    )
    pooled = multi_query_features(query, qf, extra, ef)
    np.testing.assert_allclose(pooled.embedding, [[1.0, 1.0], [10.0, 10.0]])
    np.testing.assert_allclose(pooled.factor_signature, [[4.0], [2.0]])


def test_multi_query_improves_noisy_queries():
    rs = np.random.RandomState(0)
    n_ids, dim = 30, 8
    centres = rs.randn(n_ids, dim)
    pids = np.arange(n_ids)
    query = [(f"q/{p:04d}_c1_0.jpg", p, 1) for p in pids]
    extra = [(f"gt/{p:04d}_c1_{k}.jpg", p, 1) for p in pids for k in range(1, 6)]
    gallery = [(f"g/{p:04d}_c2_0.jpg", p, 2) for p in pids]
    noise = 1.5
    split = EvalSplit(query, gallery, extra)
    feats = SplitFeatures(
        split,
        query=Features(centres + noise * rs.randn(n_ids, dim)),
        gallery=Features(centres + 0.2 * rs.randn(n_ids, dim)),
        multi_query=Features(np.repeat(centres, 5, 0) + noise * rs.randn(5 * n_ids, dim)),
    )
    sq = evaluate_features(feats, protocol="single_query")
    mq = evaluate_features(feats, protocol="multi_query")
    assert mq.metrics.mAP > sq.metrics.mAP + 0.1
    ss = evaluate_features(feats, protocol="single_shot")
    assert ss.metrics.mode == "single_gallery_shot"


def test_split_from_project_readers(tmp_path):
    from mlfn_keras.data.synthetic import generate_market_layout

    root = generate_market_layout(
        tmp_path / "s", num_identities=8, num_cameras=2, images_per_identity_camera=2,
        height=32, width=16, num_distractors=2, num_junk=1, multi_query_images=1, progress=False,
    )
    split = load_eval_split("synthetic", root)
    assert split.query and split.gallery and split.train and split.multi_query
    g_pids = {r[1] for r in split.gallery}
    assert 0 in g_pids and -1 not in g_pids  # distractors kept, junk dropped
    assert {r[1] for r in split.train}.isdisjoint({r[1] for r in split.query})
    with pytest.raises(FileNotFoundError, match="not a generated data set"):
        load_eval_split("synthetic", tmp_path / "nothing")
    with pytest.raises(FileNotFoundError):
        load_eval_split("market1501", tmp_path / "nothing")
    with pytest.raises(ValueError, match="(?i)unknown dataset"):
        load_eval_split("viper", tmp_path)
    with pytest.raises(ValueError, match="Unknown protocol"):
        get_protocol("sq")
