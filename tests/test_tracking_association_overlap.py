"""Overlapping camera views found in the footage: co-visible foot points, the mapping, the links."""

import numpy as np
import pytest

from mlfn_keras.tracking.core.association import (
    Tracklet,
    cluster_tracklets,
    find_overlaps,
    overlap_links,
)
from mlfn_keras.tracking.core.association.overlap import co_visible_points

FPS = 10.0


def _walker(cam, tid, start, frames, x0, y0, vx, vy, height=80.0, feature=None):
    """A tracklet of someone walking in a straight line; foot point (x, y) at each frame."""
    t = Tracklet((cam, tid, 0), start, start + frames - 1, start / FPS, (start + frames - 1) / FPS)
    for k in range(frames):
        x, y = x0 + vx * k, y0 + vy * k
        t.points.append(((start + k) / FPS, x, y, height))
    t.embeddings = [np.asarray(feature if feature is not None else [1.0, 0.0], np.float32)]
    return t


def _scene(rng, shift=(-300.0, 5.0), people=6, strangers=6):
    """Camera 1 sees camera 0's image shifted by ``shift`` where they overlap."""
    ts = []
    for p in range(people):  # walks through the shared strip, seen by both
        start, x0, y0 = 40 * p, 320 + 10 * p, 200 + 15 * p
        vx, vy = 2.0 + 0.3 * p, 0.5 - 0.2 * p
        ts.append(_walker(0, p, start, 20, x0, y0, vx, vy))
        ts.append(_walker(1, p, start, 20, x0 + shift[0], y0 + shift[1], vx, vy))
    for s in range(strangers):  # someone else in each camera at the same time, elsewhere
        start = 40 * s + 5
        ts.append(_walker(0, 100 + s, start, 20, rng.uniform(0, 200), rng.uniform(100, 400), 1.0, 0.0))
        ts.append(_walker(1, 100 + s, start, 20, rng.uniform(200, 400), rng.uniform(100, 400), -1.0, 1.0))
    return ts


def test_co_visible_points_pair_moments_within_the_tolerance():
    a = _walker(0, 1, 0, 10, 0, 0, 1, 0)
    b = _walker(1, 1, 5, 10, 100, 0, 1, 0)
    pa, pb, hb = co_visible_points(a, b)
    assert pa.shape == (5, 2, 2)  # frames 5..9: foot and head point each
    assert np.allclose(pb[:, :, 0] - pa[:, :, 0], 100 - 5)  # b started 5 frames later, 100 px to the right
    assert np.allclose(pa[:, 0, 1] - pa[:, 1, 1], 80.0)  # the head is a box height above the feet
    assert np.allclose(hb, 80.0)
    later = _walker(1, 2, 50, 10, 0, 0, 1, 0)
    assert co_visible_points(a, later) is None


def test_overlapping_views_are_found_and_link_the_people_both_see():
    rng = np.random.default_rng(0)
    ts = _scene(rng)
    sim = np.ones((len(ts), len(ts)))  # the re-id model cannot tell anyone apart
    evidence = find_overlaps(ts, sim, floor=0.0)
    assert len(evidence.overlaps) == 1
    overlap = evidence.overlaps[0]
    assert overlap.cameras == (0, 1) and overlap.support >= 5
    np.testing.assert_allclose(overlap.transform[:, 2], [-300.0, 5.0], atol=1.0)
    index = {t.key: i for i, t in enumerate(ts)}
    for p in range(6):
        assert evidence.same[index[(0, p, 0)], index[(1, p, 0)]]
    assert evidence.same.sum() == 2 * 6  # nobody else, no stranger


def test_cameras_that_do_not_overlap_give_no_mapping():
    rng = np.random.default_rng(1)
    ts = _scene(rng, people=0, strangers=12)
    evidence = find_overlaps(ts, np.ones((len(ts), len(ts))), floor=0.0)
    assert evidence.overlaps == [] and not evidence.same.any()


def test_pairs_that_do_not_look_alike_cannot_make_a_mapping():
    rng = np.random.default_rng(2)
    ts = _scene(rng)
    evidence = find_overlaps(ts, np.zeros((len(ts), len(ts))), floor=0.5)
    assert evidence.overlaps == [] and not evidence.same.any()


def test_overlap_links_need_people_seen_together_to_set_the_floor():
    rng = np.random.default_rng(3)
    ts = _scene(rng, strangers=0)
    for t in ts:
        f = np.abs(rng.normal(size=8))
        t.embeddings = [np.asarray(f / np.linalg.norm(f), np.float32)]
    # one camera never shows two people at once: no different-people pairs, so
    # nothing counts as "alike" (below similarity 1) and nothing is concluded
    pairs, evidence = overlap_links(ts, min_support=3)
    assert pairs == [] and evidence.overlaps == []
    pairs, evidence = overlap_links(_scene(np.random.default_rng(3)), min_support=3)
    assert len(pairs) == 6 and len(evidence.overlaps) == 1


def test_same_pairs_feed_the_clustering_even_against_the_features():
    rng = np.random.default_rng(4)
    ts = _scene(rng, strangers=0)
    for t in ts:  # features say everyone is someone else
        f = rng.normal(size=8)
        t.embeddings = [np.asarray(f / np.linalg.norm(f), np.float32)]
    labels = cluster_tracklets(ts, 0.99, same_pairs=[((0, p, 0), (1, p, 0)) for p in range(6)])
    assert all(labels[(0, p, 0)] == labels[(1, p, 0)] for p in range(6))
    assert len(set(labels.values())) == 6
    assert len(set(cluster_tracklets(ts, 0.99).values())) == 12


def test_a_same_pair_never_overrides_cannot_link():
    a = _walker(0, 1, 0, 10, 0, 0, 1, 0)
    b = _walker(0, 2, 5, 10, 50, 0, 1, 0)  # same camera, same time: two people
    labels = cluster_tracklets([a, b], 0.5, same_pairs=[(a.key, b.key)])
    assert labels[a.key] != labels[b.key]


def test_pipeline_config_refuses_zero_overlap_support():
    from mlfn_keras.tracking.core.pipeline import PipelineConfig

    with pytest.raises(ValueError, match="overlap_min_support"):
        PipelineConfig(overlap_min_support=0)


def test_tracklets_without_points_one_camera_or_none_conclude_nothing():
    a = _walker(0, 1, 0, 10, 0, 0, 1, 0)
    bare = Tracklet((1, 1, 0), 0, 9, 0.0, 0.9, [np.asarray([1.0, 0.0], np.float32)])  # no boxes recorded
    assert co_visible_points(a, bare) is None
    assert find_overlaps([a, bare], np.ones((2, 2)), 0.0).overlaps == []
    assert find_overlaps([a], np.ones((1, 1)), 0.0).same.shape == (1, 1)
    assert find_overlaps([], np.ones((0, 0)), 0.0).overlaps == []
    pairs, evidence = overlap_links([])
    assert pairs == [] and evidence.overlaps == []
