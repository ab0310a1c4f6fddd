"""Live revision: ids follow the grouping (merge and split), stricter live links, the central applies it."""

import numpy as np
import pytest

from mlfn_keras.tracking.core import events as ev
from mlfn_keras.tracking.core.association import TrackletStore
from mlfn_keras.tracking.core.association.calibration import calibrate
from mlfn_keras.tracking.core.association.online import OnlineReviser, relabel
from mlfn_keras.tracking.core.central import CentralAssociator
from mlfn_keras.tracking.core.gallery import IdentityGallery
from mlfn_keras.tracking.core.pipeline import PipelineConfig
from mlfn_keras.tracking.core.updates import CameraTick, TrackEmbedding

RED, BLUE, GREEN = [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]


def _store(tracklets):
    """tracklets: key -> (first frame, last frame, feature); 10 FPS, two embeddings each."""
    store = TrackletStore()
    for key, (first, last, f) in tracklets.items():
        for fr in (first, last):
            store.observe(key, fr, fr / 10)
        store.add_embedding(key, np.array(f, float))
        store.add_embedding(key, np.array(f, float))
    return store


def test_relabel_merges_splits_and_keeps_what_agrees():
    # clusters: {a, b} one person, {c} another, {d, e} a third
    labels = {"a": 0, "b": 0, "c": 1, "d": 2, "e": 2}
    current = {"a": 1, "b": 2, "c": 2, "d": 3, "e": 3}  # 1 and 2 are one person; 2 also holds c
    weight = {"a": 10.0, "b": 5.0, "c": 30.0, "d": 1.0, "e": 1.0}
    out = relabel(labels, current, weight)
    assert out["d"] == out["e"] == 3  # agrees: unchanged
    assert out["c"] == 2  # c carries most of id 2: it keeps it
    assert out["a"] == out["b"] == 1  # b leaves 2 and joins a's id
    # a cluster whose ids all went to heavier clusters gets a new one (a negative placeholder), shared
    out = relabel({"a": 0, "b": 1, "c": 1}, {"a": 1, "b": 1, "c": 1}, {"a": 9.0, "b": 1.0, "c": 1.0})
    assert out["a"] == 1 and out["b"] == out["c"] < 0


def test_online_revision_splits_an_id_that_holds_two_people():
    # camera 1's track was given red's id by mistake; it is blue
    store = _store({(0, 1, 0): (0, 20, RED), (0, 2, 0): (0, 20, BLUE), (1, 1, 0): (30, 50, BLUE)})
    gids = {(0, 1, 0): 1, (0, 2, 0): 2, (1, 1, 0): 1}
    revision = OnlineReviser(manual_threshold=0.8).revise(store, gids, now=5.0)
    assert not revision.merges
    (split,) = revision.splits
    assert (split.source, split.target, split.tracklets) == (1, 2, ((1, 1, 0),))  # blue's id, not a new one
    assert split.similarity == pytest.approx(0.0, abs=1e-6)  # nothing like the red part that stays
    # the same id holding two people nobody else resembles: the smaller part gets a new identity
    store = _store({(0, 1, 0): (0, 40, RED), (1, 1, 0): (50, 60, GREEN)})
    (split,) = OnlineReviser(manual_threshold=0.8).revise(store, {(0, 1, 0): 1, (1, 1, 0): 1}, now=7.0).splits
    assert split.source == 1 and split.target < 0 and split.tracklets == ((1, 1, 0),)


def test_live_links_wait_for_more_evidence_than_the_offline_answer():
    rng = np.random.default_rng(3)
    people = [rng.normal(size=3) for _ in range(12)]  # few dimensions: different people spread widely
    store = TrackletStore()
    for k, p in enumerate(people):  # 12 people, 4 at a time in camera 0: 18 different-person pairs
        key = (0, k, 0)
        for fr in ((k // 4) * 100, (k // 4) * 100 + 50):
            store.observe(key, fr, fr / 10)
        for _ in range(4):
            store.add_embedding(key, p + 0.05 * rng.normal(size=3))
    offline = OnlineReviser(centred=False)
    assert offline.recalibrate(store).threshold < 1.0
    eager = OnlineReviser(centred=False, live_min_pairs=10)
    eager.recalibrate(store, live=True)
    assert eager.live_threshold == eager.threshold < 1.0
    patient = OnlineReviser(centred=False, live_min_pairs=20)
    assert patient.recalibrate(store, live=True).source == "too_little_evidence"  # 12 same, 18 different pairs
    assert patient.live_threshold == 1.0  # links nothing yet
    assert patient.recalibrate(store).threshold == offline.threshold  # the offline answer does not wait
    strict = OnlineReviser(centred=False, live_quantile=0.9)
    strict.recalibrate(store, live=True)
    assert strict.live_threshold == pytest.approx(calibrate(store.values(), 0.9).threshold)
    assert strict.live_threshold > strict.threshold


def test_gallery_dates_observations_by_each_cameras_clock():
    a = np.array([1.0, 0.0], np.float32)
    g = IdentityGallery(threshold=0.5, max_gap_seconds=15.0)
    gid = g.assign(1, {(1, 1): a}, now=60.0)[(1, 1)].global_id  # seen by camera 1 at 60 s
    g.observe(gid, (1, 1), a, 1, 60.0)
    # camera 0's stream is at 10 s: a person there is 50 s before anyone camera 1 saw
    assert g.assign(0, {(0, 1): a}, now=10.0)[(0, 1)].new
    assert not g.assign(0, {(0, 2): a}, now=50.0)[(0, 2)].new  # 10 s before: may be them
    # commit dates each track by its own frame's time, not the tick's latest
    from mlfn_keras.tracking.core.gallery import LiveTrack

    g2 = IdentityGallery(threshold=0.5, max_gap_seconds=15.0)
    g2.commit({(1, 1): LiveTrack(1, a, None, True, time=60.0)}, now=60.0)
    out = g2.commit({(1, 1): LiveTrack(1, a, 1, True, time=61.0), (0, 5): LiveTrack(0, a, None, True, time=11.0)}, now=61.0)
    assert out[(0, 5)].new


def test_a_held_back_id_is_kept_by_a_new_person_and_reassign_moves_tracks():
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    g = IdentityGallery(threshold=0.5)
    held = g.reserve()
    assert held == 1 and len(g) == 0  # reserved, matches nobody
    out = g.assign(0, {(0, 1): a}, now=0.0, reserved={(0, 1): held})
    assert out[(0, 1)].new and out[(0, 1)].global_id == held
    g.observe(held, (0, 1), a, 0, 0.0)
    g.observe(held, (1, 4), b, 1, 2.0)  # wrongly filed under the same id
    new = g.reassign({(1, 4)}, held, None, (1.5, 2.0, 1))
    assert new != held and list(g.identities[new].bank) == [(1, 4)] and list(g.identities[held].bank) == [(0, 1)]
    assert g.identities[new].last_camera == 1 and g.identities[new].first_seen == 1.5


def _tick(cam, frame, tracks, started=(), embeddings=()):
    boxes = [[10.0 + 50 * k, 10, 50 + 50 * k, 110] for k in range(len(tracks))]
    return CameraTick(cam, frame, frame / 10, list(tracks), boxes, [0.9] * len(tracks), list(started), [], list(embeddings))


def test_the_central_shows_held_back_ids_and_splits_a_live_track_off_at_a_revision():
    central = CentralAssociator(PipelineConfig(threshold=0.9, min_embeddings=1, revise_seconds=1.0, max_gap_seconds=None))
    red, blue = np.array(RED, np.float32), np.array(BLUE, np.float32)
    central.step([_tick(0, 0, [1], started=[1])])
    (obj,) = central.camera_result(_tick(0, 0, [1])).objects
    assert obj.provisional and obj.global_id is not None  # an id from the first frame, held back
    held = obj.global_id
    events, _ = central.step([_tick(0, 1, [1], embeddings=[TrackEmbedding(1, 0, red)])])
    assert [e.global_id for e in events if isinstance(e, ev.GlobalIdAssigned)] == [held]  # new: kept
    # camera 1's track is given red's id (a mistake the gallery can make on a look-alike)
    central.step([_tick(1, 2, [7], started=[7])])
    central._tracks[(1, 7)].global_id = held
    central.tracklet_gid[(1, 7, 0)] = held
    events = []
    for f in range(3, 30):
        out, _ = central.step([_tick(0, f, [1], embeddings=[TrackEmbedding(1, 0, red)]),
                               _tick(1, f, [7], embeddings=[TrackEmbedding(7, 0, blue)])])
        events += out
    splits = [e for e in events if isinstance(e, ev.IdentitySplit)]
    assert splits and splits[0].global_id == held and splits[0].live == ((1, 7, 0),)
    assert central.global_id((1, 7)) == splits[0].new_global_id != held == central.global_id((0, 1))
    assert central.camera_result(_tick(1, 30, [7])).objects[0].global_id == splits[0].new_global_id
    assert splits[0].to_dict()["event"] == "identity_split"


def test_cameras_without_a_common_clock_are_linked_only_through_an_overlap():
    store = _store({(0, 1, 0): (0, 20, RED), (1, 1, 0): (0, 20, RED), (1, 2, 0): (30, 40, BLUE), (2, 1, 0): (50, 60, BLUE)})
    gids = {k: i + 1 for i, k in enumerate(sorted(store.tracklets))}
    trusting = OnlineReviser(manual_threshold=0.8)
    labels, _ = trusting.group(list(store.values()))
    assert labels[(0, 1, 0)] == labels[(1, 1, 0)] and labels[(1, 2, 0)] == labels[(2, 1, 0)]
    # camera 1's file came without a start time: nothing links it to cameras 0 or 2
    wary = OnlineReviser(manual_threshold=0.8, unsynced=[1])
    labels, _ = wary.group(list(store.values()))
    assert len(set(labels.values())) == 4 and wary.apart == {(0, 1), (1, 2)}
    assert not wary.revise(store, gids, now=9.0)
    # a view found to overlap shows the clocks agree
    wary._apart = lambda tracklets, overlaps: {(1, 2)}
    labels, _ = wary.group(list(store.values()))
    assert labels[(0, 1, 0)] == labels[(1, 1, 0)] and labels[(1, 2, 0)] != labels[(2, 1, 0)]


def test_the_gallery_matches_across_an_unsynced_camera_only_where_the_views_overlap():
    a = np.array([1.0, 0.0], np.float32)
    g = IdentityGallery(threshold=0.5)
    g.unsynced = frozenset({1})
    gid = g.assign(0, {(0, 1): a}, now=0.0)[(0, 1)].global_id
    g.observe(gid, (0, 1), a, 0, 0.0)
    assert g.assign(1, {(1, 1): a}, now=1.0)[(1, 1)].new
    g.overlapping = {(0, 1)}
    assert g.assign(1, {(1, 2): a}, now=1.0)[(1, 2)].global_id == gid
    # an identity seen in camera 1 is not given to camera 2 (no overlap found between 1 and 2) ...
    assert g.assign(2, {(2, 1): a}, now=1.0)[(2, 1)].new
    # ... while one seen only in camera 0 is: cameras 0 and 2 share a clock
    h = IdentityGallery(threshold=0.5)
    h.unsynced = frozenset({1})
    gid = h.assign(0, {(0, 1): a}, now=0.0)[(0, 1)].global_id
    h.observe(gid, (0, 1), a, 0, 0.0)
    assert h.assign(2, {(2, 1): a}, now=1.0)[(2, 1)].global_id == gid


def test_a_part_alike_its_id_is_not_split_off_on_neighbours_alone():
    # Id 1 holds two tracklets of camera 0 that are alike (0.82) and never seen together. Mutual nearest
    # neighbours (k=1) group them apart once camera 0's tracklet 3 (id 2, unlike the rest of id 2) is
    # around: tracklet 3 rightly moves to id 1, but nothing says tracklet 4 is someone else, so it keeps
    # id 1 instead of flipping to a new id now and back at a later revision.
    store = _store({(0, 1, 0): (57, 83, [0.4, -0.1, -0.9]), (1, 2, 0): (31, 53, [0.2, -0.6, 0.7]),
                    (0, 3, 0): (3, 11, [0.1, 0.0, -1.0]), (0, 4, 0): (25, 42, [0.5, -0.6, -0.6])})
    gids = {(0, 1, 0): 1, (1, 2, 0): 2, (0, 3, 0): 2, (0, 4, 0): 1}
    reviser = OnlineReviser(manual_threshold=0.5, linkage="mutual", mutual_k=1, max_gap_seconds=15.0)
    (split,) = reviser.revise(store, gids, now=10.0).splits
    assert (split.source, split.target, split.tracklets) == (2, 1, ((0, 3, 0),)) and split.similarity < 0
    a, b, c = [1.0, 0, 0], [0.8, 0, 0.6], [0.98, 0.2, 0]
    # A rule keeps the parts apart: B is split off although alike A. C is seen with B in camera 1 ...
    store = _store({(0, 1, 0): (0, 100, a), (1, 1, 0): (0, 20, b), (1, 2, 0): (0, 5, c)})
    (split,) = reviser.revise(store, {(0, 1, 0): 1, (1, 1, 0): 1, (1, 2, 0): 3}, now=3.0).splits
    assert split.tracklets == ((1, 1, 0),) and split.target < 0 and split.similarity > 0.5
    # ... or B is too far apart in time from A (the cross-camera gap)
    store = _store({(0, 1, 0): (0, 100, a), (1, 1, 0): (300, 320, b), (1, 2, 0): (300, 305, c)})
    (split,) = reviser.revise(store, {(0, 1, 0): 1, (1, 1, 0): 1, (1, 2, 0): 3}, now=33.0).splits
    assert split.tracklets == ((1, 1, 0),) and split.target < 0 and split.similarity > 0.5


def _site(rng, cameras=4, people=6):
    """Cameras 0 and 1 overlap (1 sees 0's image shifted 300 px left); the others see other people at those times.

    Returns a store (boxes and two embeddings per tracklet) and each tracklet its own id, except two
    of camera 0's people who were given one id by mistake.
    """
    store = TrackletStore()
    looks = rng.normal(size=(people * cameras, 8))

    def walk(key, look, start, x0, y0):
        for k in range(20):
            x, y = x0 + 2.0 * k, y0 + 0.5 * k
            store.observe(key, start + k, (start + k) / 10, [x - 15, y - 80, x + 15, y])
        for _ in range(2):
            store.add_embedding(key, look + rng.normal(scale=0.05, size=look.shape))

    for p in range(people):  # each seen with the next: who is who in one camera is known
        start = 10 * p
        walk((0, p, 0), looks[p], start, 320 + 10 * p, 200 + 15 * p)
        walk((1, p, 0), looks[p], start, 20 + 10 * p, 200 + 15 * p)
        for c in range(2, cameras):
            walk((c, p, 0), looks[people * c + p], start, rng.uniform(0, 400), rng.uniform(100, 400))
    gids = {key: i + 1 for i, key in enumerate(sorted(store.tracklets))}
    gids[(0, 1, 0)] = gids[(0, 3, 0)]
    return store, gids


def _same_overlaps(a, b):
    assert [(o.cameras, o.support, o.links, o.believed) for o in a] == [(o.cameras, o.support, o.links, o.believed) for o in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.transform, y.transform)


def test_a_revision_made_a_part_at_a_time_is_the_one_made_at_once():
    store, gids = _site(np.random.default_rng(5))
    kwargs = {"manual_threshold": 0.6, "overlap_min_support": 3, "max_gap_seconds": 15.0}
    at_once = OnlineReviser(**kwargs)
    expected = at_once.revise(store, gids, now=16.0)
    assert expected.merges and expected.splits  # the overlap links 0's and 1's people; the mistake is undone
    parts = OnlineReviser(**kwargs)
    parts.start(store, gids, now=16.0)
    done, steps = None, []
    while done is None:
        assert parts.pending
        steps.append(parts.next_part)
        done = parts.step()
    assert not parts.pending and parts.next_part is None
    # the recalibration, one step per camera pair with alike people seen at the same times, the grouping
    assert steps[0] == "calibrate" and steps[-1] == "group" and steps.count("overlaps") == 6
    assert done.merges == expected.merges and done.splits == expected.splits
    _same_overlaps(parts.overlaps, at_once.overlaps)
    assert [o.cameras for o in parts.overlaps if o.believed] == [(0, 1)]
    with pytest.raises(RuntimeError, match="start"):
        parts.step()


def test_a_central_with_a_time_budget_spreads_a_revision_over_ticks_and_checkpoints_it_part_way():
    import pickle

    config = PipelineConfig(threshold=0.9, min_embeddings=1, revise_seconds=1.0, max_gap_seconds=None)
    red, blue = np.array(RED, np.float32), np.array(BLUE, np.float32)

    def run(central, frames):
        events = []
        for f in frames:
            ticks = [_tick(0, f, [1], started=[1] if f == 0 else [], embeddings=[TrackEmbedding(1, 0, red)]),
                     _tick(1, f, [7], started=[7] if f == 0 else [], embeddings=[TrackEmbedding(7, 0, blue)]),
                     _tick(2, f, [3], started=[3] if f == 0 else [], embeddings=[TrackEmbedding(3, 0, red)])]
            out, _ = central.step(ticks)
            events += out
        return events

    at_once = CentralAssociator(config)
    spread = CentralAssociator(config, revise_budget_seconds=0.0)  # one part a tick
    run(at_once, range(10)), run(spread, range(10))
    for central in (at_once, spread):  # camera 1's track is given red's id (a look-alike mistake)
        central._tracks[(1, 7)].global_id = central.tracklet_gid[(1, 7, 0)] = central.global_id((0, 1))
    now = [e for e in run(at_once, [10]) if isinstance(e, ev.IdentitySplit)]
    assert len(now) == 1  # made in the tick it fell due
    assert not [e for e in run(spread, [10]) if isinstance(e, ev.IdentitySplit)] and spread.reviser.pending
    resumed = pickle.loads(pickle.dumps(spread))  # a checkpoint part-way through the revision
    took = []
    for central in (spread, resumed):
        events, ticks = [], 0
        while not events:
            assert central.reviser.pending
            events = [e for e in run(central, [11 + ticks]) if isinstance(e, ev.IdentitySplit)]
            ticks += 1
        took.append(ticks)
        assert [(e.global_id, e.live) for e in events] == [(now[0].global_id, now[0].live)]
        assert central.global_id((1, 7)) not in (central.global_id((0, 1)), None)
    assert took[0] == took[1] >= 1
    # counted: made in one tick each at once; spread, the last one over the tick it fell due and `took` more
    assert at_once.stats["revision_ticks"] == at_once.stats["revisions"] == spread.stats["revisions"] >= 2
    assert spread.stats["revision_ticks"] - spread.stats["revisions"] >= took[0]


def test_a_revision_holds_the_live_ids_when_the_footage_stops_separating_people():
    # Camera 0 sees 12 people, 4 at a time; person 0 comes back later (tracklet 12), given a new id 13.
    rng = np.random.default_rng(7)
    looks = np.linalg.qr(rng.normal(size=(32, 14)))[0].T  # 14 people, nobody alike anybody else
    store = TrackletStore()

    def walk(key, look, start, noise=0.1):
        for fr in (start, start + 50):
            store.observe(key, fr, fr / 10)
        for _ in range(4):
            store.add_embedding(key, look + noise * rng.normal(size=32))

    for k in range(12):
        walk((0, k, 0), looks[k], (k // 4) * 100)
    walk((0, 12, 0), looks[0], 300)
    gids = {(0, k, 0): k + 1 for k in range(13)}
    reviser = OnlineReviser(centred=False, live_quantile=1.0)  # a live link must beat every different pair
    (merge,) = reviser.revise(store, gids, now=35.0).merges
    assert (merge.kept, merge.removed) == (1, 13) and reviser.live_threshold < 1.0 and not reviser.holding
    gids[(0, 12, 0)] = 1
    # Two lookalikes seen together: the live standard no longer separates the two kinds of pairs
    # (the offline one still does). The live ids stand as they are ...
    walk((0, 13, 0), looks[13], 400, noise=0.001)
    walk((0, 14, 0), looks[13], 400, noise=0.001)
    gids.update({(0, 13, 0): 14, (0, 14, 0): 15})
    assert not reviser.revise(store, gids, now=45.0)
    assert reviser.holding and reviser.live_threshold == 1.0 > reviser.threshold
    # ... where, without the links made before, the same revision would undo the re-entry
    undo = OnlineReviser(centred=False, live_quantile=1.0).revise(store, gids, now=45.0)
    assert [(s.source, s.tracklets) for s in undo.splits] == [(1, ((0, 12, 0),))]
