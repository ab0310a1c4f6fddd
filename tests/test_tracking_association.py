"""Tracklet association: cannot-link, constrained clustering, label-free calibration, online merges."""

import numpy as np
import pytest

from mlfn_keras.tracking.core.association import (
    Tracklet,
    TrackletStore,
    calibrate,
    cannot_link,
    cluster_features,
    cluster_tracklets,
    far_apart,
    pair_similarities,
)
from mlfn_keras.tracking.core.association.online import OnlineReviser


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def _tracklet(cam, tid, first, last, feats):
    t = Tracklet((cam, tid, 0), first, last, first / 10, last / 10)
    t.embeddings = [_unit(f).astype(np.float32) for f in feats]
    return t


def test_cannot_link_is_same_camera_and_overlapping_frames_only():
    a = _tracklet(0, 1, 0, 10, [[1, 0]])
    b = _tracklet(0, 2, 10, 20, [[1, 0]])  # shares frame 10 with a
    c = _tracklet(0, 3, 21, 30, [[1, 0]])  # after both
    d = _tracklet(1, 1, 0, 30, [[1, 0]])  # other camera, same time: allowed
    cl = cannot_link([a, b, c, d])
    assert cl[0, 1] and cl[1, 0]
    assert not cl[0, 2] and not cl[1, 2]
    assert not cl[:, 3].any() and not cl.diagonal().any()


def test_clustering_never_joins_a_cannot_link_pair_even_when_identical():
    f = np.tile(_unit([1, 0, 0]), (3, 1))
    forbidden = np.zeros((3, 3), bool)
    forbidden[0, 1] = forbidden[1, 0] = True
    labels = cluster_features(f, forbidden, threshold=0.5)
    assert labels[0] != labels[1]
    assert labels[2] in (labels[0], labels[1])


def test_average_linkage_cannot_chain_through_a_forbidden_pair():
    # 0~2 and 1~2 are close, 0/1 forbidden: 2 may join one of them, never both.
    f = np.stack([_unit([1, 0.1]), _unit([1, -0.1]), _unit([1, 0])])
    forbidden = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], bool)
    labels = cluster_features(f, forbidden, threshold=0.9)
    assert len(set(labels)) == 2 and labels[0] != labels[1]


def test_cluster_tracklets_groups_people_and_numbers_by_arrival():
    red, blue = [1, 0, 0], [0, 1, 0]
    ts = [
        _tracklet(0, 1, 0, 20, [red, red]),
        _tracklet(0, 2, 5, 25, [blue, blue]),
        _tracklet(1, 1, 30, 50, [[0.9, 0.1, 0], red]),  # red in camera 1
        _tracklet(1, 2, 35, 60, [blue, [0.1, 0.9, 0]]),
        _tracklet(1, 3, 70, 71, []),  # one frame, never embedded: its own id
    ]
    labels = cluster_tracklets(ts, threshold=0.8)
    assert labels[(0, 1, 0)] == labels[(1, 1, 0)] == 0
    assert labels[(0, 2, 0)] == labels[(1, 2, 0)] == 1
    assert labels[(1, 3, 0)] == 2
    # threshold 1.0 links nothing: the no-re-id answer
    assert len(set(cluster_tracklets(ts, threshold=1.0).values())) == 5


def test_calibration_sits_above_the_different_people_pairs():
    rng = np.random.default_rng(0)
    people = [_unit(rng.normal(size=16)) for _ in range(8)]
    ts = []
    for k, p in enumerate(people):  # 8 people, 4 at a time in camera 0
        feats = [p + 0.05 * rng.normal(size=16) for _ in range(6)]
        ts.append(_tracklet(0, k, (k // 4) * 100, (k // 4) * 100 + 50, feats))
    same, different = pair_similarities(ts)
    assert len(same) == 8 and len(different) == 2 * 6  # two groups of 4 co-visible
    cal = calibrate(ts, min_pairs=5, different_quantile=1.0)
    assert cal.source == "footage"
    assert different.max() <= cal.threshold < np.median(same)
    looser = calibrate(ts, min_pairs=5, different_quantile=0.9, floor_fraction=0.3)
    floor = np.median(different) + 0.3 * (np.median(same) - np.median(different))
    assert looser.threshold == pytest.approx(max(np.quantile(different, 0.9), floor))


def test_calibration_links_nothing_without_evidence_or_separation():
    lonely = [_tracklet(0, 1, 0, 10, [[1, 0], [1, 0]])]
    assert calibrate(lonely).threshold == 1.0 and calibrate(lonely).source == "too_little_evidence"
    # everyone looks the same: different-people pairs as similar as same-person ones
    same_look = [_tracklet(0, k, 0, 10, [[1, 0]] * 4) for k in range(8)]
    cal = calibrate(same_look, min_pairs=5)
    assert cal.threshold == 1.0 and cal.source == "not_separable"


def test_store_thins_embeddings_and_forgets_old_tracklets():
    store = TrackletStore(max_embeddings=4)
    store.observe((0, 1, 0), 0, 0.0)
    for _ in range(5):
        store.add_embedding((0, 1, 0), np.array([1.0, 0.0]))
    assert len(store.get((0, 1, 0)).embeddings) <= 4
    store.observe((0, 2, 0), 100, 10.0)
    assert store.drop_before(5.0) == [(0, 1, 0)] and len(store) == 1
    with pytest.raises(ValueError):
        TrackletStore(max_embeddings=1)


def test_online_reviser_merges_ids_that_one_cluster_holds():
    store = TrackletStore()
    red, blue = [1, 0, 0], [0, 1, 0]
    for key, frames, f in (((0, 1, 0), (0, 20), red), ((0, 2, 0), (0, 20), blue), ((1, 1, 0), (30, 50), red)):
        for fr in frames:
            store.observe(key, fr, fr / 10)
        store.add_embedding(key, np.array(f, float))
        store.add_embedding(key, np.array(f, float))
    gids = {(0, 1, 0): 1, (0, 2, 0): 2, (1, 1, 0): 3}  # red got two ids online
    merges = OnlineReviser(manual_threshold=0.8).revise(store, gids, now=5.0)
    assert [(m.kept, m.removed) for m in merges] == [(1, 3)]
    assert OnlineReviser(manual_threshold=1.0).revise(store, gids, now=5.0) == []


def test_centring_spreads_a_narrow_cone_and_needs_enough_tracklets():
    rng = np.random.default_rng(1)
    common = _unit(rng.normal(size=16)) * 4.0  # a model that puts everyone near one direction
    people = [_unit(common + _unit(rng.normal(size=16))) for _ in range(12)]
    ts = []
    for k, p in enumerate(people):  # 12 people, 6 at a time in camera 0
        feats = [p + 0.02 * rng.normal(size=16) for _ in range(6)]
        ts.append(_tracklet(0, k, (k // 6) * 100, (k // 6) * 100 + 50, feats))
    store = TrackletStore()
    store.tracklets = {t.key: t for t in ts}
    centre = store.centre()
    assert centre is not None
    _, raw_diff = pair_similarities(ts)
    _, centred_diff = pair_similarities(ts, centre)
    assert raw_diff.mean() > 0.8 and centred_diff.mean() < raw_diff.mean() - 0.5
    small = TrackletStore()
    small.tracklets = {t.key: t for t in ts[:3]}
    assert small.centre() is None  # three people are not "the footage"


def test_mutual_neighbours_keep_a_person_seen_once_out_of_a_near_match():
    # Camera 0: person P (and Q, seen with P). Camera 1: X is P again; Y is someone
    # else, close to P (0.8) but not to X (0.5). Average linkage chains Y into
    # P's group (mean 0.65 >= 0.6); mutual neighbours do not: P's nearest in
    # camera 1 is X, so P and Y never pick each other.
    p, q = np.array([1.0, 0, 0, 0]), np.array([0, 0, 0, 1.0])
    x = np.array([0.9, np.sqrt(1 - 0.81), 0, 0])
    y2 = (0.5 - 0.72) / x[1]
    y = np.array([0.8, y2, np.sqrt(1 - 0.64 - y2**2), 0])
    f = np.stack([p, q, x, y])
    np.testing.assert_allclose([p @ x, p @ y, x @ y], [0.9, 0.8, 0.5], atol=1e-6)
    cameras = np.array([0, 0, 1, 1])
    forbidden = np.zeros((4, 4), bool)
    forbidden[0, 1] = forbidden[1, 0] = True  # P and Q seen together
    chained = cluster_features(f, forbidden, 0.6, method="average")
    assert chained[0] == chained[2] == chained[3]
    mutual = cluster_features(f, forbidden, 0.6, method="mutual", cameras=cameras, mutual_k=1)
    assert mutual[0] == mutual[2] and mutual[3] not in (mutual[0], mutual[1])
    # with k = 2, Y is among P's two nearest in camera 1: the link is a candidate,
    # and the groups' average (0.65) lets it through
    wider = cluster_features(f, forbidden, 0.6, method="mutual", cameras=cameras, mutual_k=2)
    assert wider[0] == wider[2] == wider[3]


def test_mutual_neighbours_never_join_a_forbidden_pair_through_a_third():
    f = np.stack([_unit([1, 0.1]), _unit([1, -0.1]), _unit([1, 0])])
    forbidden = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], bool)
    labels = cluster_features(f, forbidden, 0.9, method="mutual", cameras=np.array([0, 0, 1]))
    assert labels[0] != labels[1] and labels[2] in (labels[0], labels[1])


def test_unknown_clustering_method_is_refused():
    with pytest.raises(ValueError, match="mutual"):
        cluster_features(np.eye(2), np.zeros((2, 2), bool), 0.5, method="single")


def test_max_gap_keeps_tracklets_of_two_cameras_far_apart_in_time_apart():
    red = [1, 0, 0]
    early = _tracklet(0, 1, 0, 100, [red, red])  # 0-10 s
    soon = _tracklet(1, 1, 150, 200, [red, red])  # 15-20 s: 5 s later
    late = _tracklet(1, 2, 1000, 1100, [red, red])  # 100-110 s
    labels = cluster_tracklets([early, soon, late], 0.8, max_gap_seconds=15.0)
    assert labels[early.key] == labels[soon.key] != labels[late.key]
    assert len(set(cluster_tracklets([early, soon, late], 0.8, max_gap_seconds=None).values())) == 1
    # the limit is across cameras only: one camera's re-entry 90 s later may still link
    again = _tracklet(0, 2, 1000, 1100, [red, red])
    assert cluster_tracklets([early, again], 0.8, max_gap_seconds=15.0)[again.key] == 0


def test_far_apart_measures_the_gap_between_the_tracklets():
    a = _tracklet(0, 1, 0, 100, [[1, 0]])  # 0-10 s
    b = _tracklet(1, 1, 50, 300, [[1, 0]])  # overlaps a in time
    c = _tracklet(1, 2, 300, 400, [[1, 0]])  # 20 s after a ends
    far = far_apart([a, b, c], 15.0)
    assert not far[0, 1] and far[0, 2] and far[2, 0]
    assert not far[1, 2]  # same camera: never "far apart"
    assert not far_apart([a, b, c], None).any()


def test_per_camera_centres_remove_each_cameras_colour_bias():
    rng = np.random.default_rng(2)
    people = [_unit(rng.normal(size=16)) for _ in range(8)]
    bias = {0: 3.0 * _unit(rng.normal(size=16)), 1: 3.0 * _unit(rng.normal(size=16))}
    ts = []
    for cam in (0, 1):
        for k, p in enumerate(people):  # every person in both cameras, 4 at a time
            feats = [p + bias[cam] + 0.05 * rng.normal(size=16) for _ in range(4)]
            ts.append(_tracklet(cam, k, (k // 4) * 100, (k // 4) * 100 + 50, feats))
    store = TrackletStore()
    store.tracklets = {t.key: t for t in ts}
    centres = store.centres()
    assert set(centres) == {0, 1}

    def same_and_other(centre):
        f = {t.key: t.feature(centre) for t in ts}
        same = np.mean([f[(0, k, 0)] @ f[(1, k, 0)] for k in range(8)])
        other = np.mean([f[(0, k, 0)] @ f[(1, j, 0)] for k in range(8) for j in range(8) if j != k])
        return same, other

    same_global, other_global = same_and_other(store.centre())
    same_cam, other_cam = same_and_other(centres)
    assert same_cam - other_cam > same_global - other_global + 0.3
    # a camera with too few tracklets gets the footage's mean, not its own
    sparse = TrackletStore()
    sparse.tracklets = {t.key: t for t in ts[:8] + ts[8:10]}
    c = sparse.centres()
    np.testing.assert_allclose(c[1], sparse.centre())
    assert not np.allclose(c[0], sparse.centre())


def test_online_first_ids_wait_for_stronger_evidence_than_merges():
    rng = np.random.default_rng(5)
    people = [_unit(rng.normal(size=16)) for _ in range(12)]
    ts = []
    for k, p in enumerate(people):  # 12 people, 4 at a time in camera 0
        ts.append(_tracklet(0, k, (k // 4) * 100, (k // 4) * 100 + 50, [p + 0.05 * rng.normal(size=16) for _ in range(6)]))
    store = TrackletStore()
    store.tracklets = {t.key: t for t in ts}
    plain = OnlineReviser(centred=False)
    plain.recalibrate(store)
    assert plain.first_threshold == plain.threshold < 1.0
    strict = OnlineReviser(centred=False, first_quantile=1.0)
    strict.recalibrate(store)
    _, different = pair_similarities(ts)
    assert strict.threshold == plain.threshold
    assert strict.first_threshold >= different.max() and strict.first_threshold > strict.threshold
    assert OnlineReviser(manual_threshold=0.7, first_quantile=1.0).first_threshold == 0.7
