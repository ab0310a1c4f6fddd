"""Cross-camera gallery: threshold, one id per camera at a time, re-entry, expiry."""

import numpy as np
import pytest

from mlfn_keras.tracking.core.gallery import IdentityGallery


def _unit(*v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


A, B = _unit(1, 0, 0), _unit(0, 1, 0)
A_ISH = _unit(1, 0.2, 0)  # cos(A, A_ISH) ~ 0.98


def test_first_track_makes_a_new_identity():
    g = IdentityGallery(threshold=0.7)
    out = g.assign(0, {(0, 1): A}, now=0.0)
    assert out[(0, 1)].new and out[(0, 1)].global_id == 1 and len(g) == 1


def test_hand_off_above_threshold_reuses_the_identity():
    g = IdentityGallery(threshold=0.7)
    gid = g.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), A, camera=0, now=0.0)
    out = g.assign(1, {(1, 1): A_ISH}, now=5.0)[(1, 1)]
    assert not out.new and out.global_id == gid
    assert out.similarity == pytest.approx(float(A @ A_ISH), abs=1e-5)
    assert out.previous_camera == 0


def test_below_threshold_is_a_new_person():
    g = IdentityGallery(threshold=0.99)
    gid = g.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), A, 0, 0.0)
    out = g.assign(1, {(1, 1): A_ISH}, now=1.0)[(1, 1)]  # 0.98 < 0.99
    assert out.new and out.global_id != gid


def test_busy_identity_is_never_given_to_a_second_track_in_that_camera():
    g = IdentityGallery(threshold=0.5)
    gid = g.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), A, 0, 0.0)
    # Track (0, 1) is alive in camera 0 holding gid: a look-alike gets a new id there ...
    out = g.assign(0, {(0, 2): A}, now=1.0, busy={gid})[(0, 2)]
    assert out.new and out.global_id != gid
    # ... but the same look-alike in another camera may take it.
    assert g.assign(1, {(1, 1): A}, now=1.0, busy=set())[(1, 1)].global_id == gid


def test_two_requests_in_one_tick_get_distinct_ids_by_hungarian():
    g = IdentityGallery(threshold=0.5)
    ids = g.assign(0, {(0, 1): A, (0, 2): B}, now=0.0)
    for key, feat in ((0, 1), A), ((0, 2), B):
        g.observe(ids[key].global_id, key, feat, 0, 0.0)
    # Both new tracks resemble A most, but only one can be A; B's look-alike is B.
    out = g.assign(1, {(1, 1): A, (1, 2): A_ISH, (1, 3): B}, now=1.0)
    got = [out[(1, k)].global_id for k in (1, 2, 3)]
    assert len(set(got)) == 3
    assert got[0] == ids[(0, 1)].global_id and got[2] == ids[(0, 2)].global_id
    assert out[(1, 2)].new


def test_reentry_in_the_same_camera_gets_the_same_id():
    g = IdentityGallery(threshold=0.7)
    gid = g.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), A, 0, 0.0)
    # Track (0, 1) ended (no longer busy); the person walks back in.
    out = g.assign(0, {(0, 7): A_ISH}, now=30.0, busy=set())[(0, 7)]
    assert out.global_id == gid and out.previous_camera == 0


def test_expiry_forgets_unseen_identities():
    g = IdentityGallery(threshold=0.7, expiry_seconds=10.0)
    gid = g.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), A, 0, 0.0)
    assert g.expire(now=5.0) == []
    g.touch(gid, 0, now=8.0)  # still in view
    assert g.expire(now=15.0) == []
    assert g.expire(now=18.5) == [gid] and len(g) == 0
    assert g.assign(1, {(1, 1): A}, now=19.0)[(1, 1)].new


def test_bank_is_bounded_and_matches_any_view():
    g = IdentityGallery(threshold=0.9, bank_size=2)
    gid = g.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), A, 0, 0.0)
    g.observe(gid, (1, 1), B, 1, 1.0)  # the same person seen from the back elsewhere
    assert g.assign(0, {(0, 2): B}, now=2.0)[(0, 2)].global_id == gid
    g.observe(gid, (0, 3), _unit(0, 0, 1), 0, 3.0)
    assert len(g.identities[gid].bank) == 2 and (0, 1) not in g.identities[gid].bank


def test_empty_requests_and_bad_arguments():
    g = IdentityGallery()
    assert g.assign(0, {}, now=0.0) == {}
    with pytest.raises(ValueError, match="threshold"):
        IdentityGallery(threshold=2.0)
    with pytest.raises(ValueError, match="bank_size"):
        IdentityGallery(bank_size=0)


def test_an_identity_unseen_too_long_is_not_given_to_a_new_track():
    g = IdentityGallery(threshold=0.7, max_gap_seconds=15.0)
    gid = g.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), A, camera=0, now=0.0)
    assert g.assign(1, {(1, 1): A_ISH}, now=30.0)[(1, 1)].new  # 30 s later, another camera: someone new
    assert g.assign(0, {(0, 2): A_ISH}, now=30.0)[(0, 2)].new  # nor in its own camera: the reviser may merge later
    free = IdentityGallery(threshold=0.7)  # no limit: the re-entry 30 s later keeps its id
    gid = free.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    free.observe(gid, (0, 1), A, camera=0, now=0.0)
    assert free.assign(0, {(0, 2): A_ISH}, now=30.0)[(0, 2)].global_id == gid
    g2 = IdentityGallery(threshold=0.7, max_gap_seconds=15.0)
    gid2 = g2.assign(0, {(0, 1): A}, now=0.0)[(0, 1)].global_id
    g2.observe(gid2, (0, 1), A, camera=0, now=0.0)
    assert g2.assign(1, {(1, 1): A_ISH}, now=10.0)[(1, 1)].global_id == gid2  # within the gap: the hand-off


def test_per_camera_centres_are_applied_to_each_bank_entry_by_its_camera():
    bias = {0: _unit(0, 0, 1) * 2.0, 1: -_unit(0, 0, 1) * 2.0}  # each camera's light
    person, other = _unit(1, 0, 0), _unit(0, 1, 0)
    seen = {(cam, who): _unit(*(p + bias[cam])) for cam in (0, 1) for who, p in (("person", person), ("other", other))}
    g = IdentityGallery(threshold=0.7)
    g.centre = {cam: (seen[cam, "person"] + seen[cam, "other"]) / 2 for cam in (0, 1)}  # each camera's mean
    for tid, who in ((1, "person"), (2, "other")):
        gid = g.assign(0, {(0, tid): seen[0, who]}, now=0.0)[(0, tid)].global_id
        g.observe(gid, (0, tid), seen[0, who], camera=0, now=0.0)
    assert float(seen[0, "person"] @ seen[1, "person"]) < 0.7  # raw: the camera light hides the person
    out = g.assign(1, {(1, 1): seen[1, "person"], (1, 2): seen[1, "other"]}, now=1.0)
    assert out[(1, 1)].global_id == 1 and out[(1, 2)].global_id == 2
    g.centre = None
    out = g.assign(1, {(1, 3): seen[1, "person"]}, now=2.0)
    assert out[(1, 3)].new
