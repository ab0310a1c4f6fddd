"""The identity feed: what the live page and report.html show, fed tick by tick."""

import re

import numpy as np
import pytest

from mlfn_keras.tracking.core import events as ev
from mlfn_keras.tracking.core.pipeline import TrackedObject
from mlfn_keras.tracking.view.feed import CameraHealth, Clock, IdentityFeed, box_quality, duration


def obj(cam, frame, track, gid, box=(10, 20, 50, 120), score=0.9, segment=0):
    return TrackedObject(cam, frame, track, gid, np.asarray(box, np.float32), score, segment)


def image(value=120):
    img = np.full((240, 320, 3), value, np.uint8)
    img[20:120, 10:50] = (30, 60, 200)
    return img


def walk(feed, cam, track, gid, frames, fps=10.0, segment=0, img=None, box=(10, 20, 50, 120)):
    for f in frames:
        feed.observe(cam, f, f / fps, [obj(cam, f, track, gid, box, segment=segment)], img)


def texts(feed):
    return [e["text"] for e in feed.events()["events"]]


def test_a_person_walking_from_one_camera_to_another_is_one_card_with_a_path():
    feed = IdentityFeed(["cam0", "cam1"])
    walk(feed, 0, 1, 7, range(0, 50), img=image())  # 0.0-4.9 s in cam0
    walk(feed, 1, 3, 7, range(170, 200), img=image())  # 17.0-19.9 s in cam1
    walk(feed, 0, 4, 7, range(400, 410))  # back in cam0 at 40 s
    cards = feed.identities()
    assert [c["id"] for c in cards] == [7]
    card = cards[0]
    assert card["cameras"] == ["cam0", "cam1", "cam0"]
    assert [v["travel_s"] for v in card["path"]] == [None, 12.1, 20.1]
    assert card["first_seen"] == {"t": 0.0, "clock": "0:00:00", "camera": "cam0"}
    assert card["last_seen"]["clock"] == "0:00:40" and card["last_seen"]["camera"] == "cam0"
    assert card["now"] == ["cam0"]  # its box is in cam0's latest frame
    assert set(card["thumbnails"]) == {"cam0", "cam1"}
    assert texts(feed) == ["ID 7 appeared in cam0", "ID 7 entered cam1 from cam0 after 12 s", "ID 7 entered cam0 from cam1 after 20 s"]
    detail = feed.identity(7)
    assert [(a["camera"], a["track"], a["first_frame"], a["last_frame"]) for a in detail["appearances"]] == [
        ("cam0", 1, 0, 49), ("cam1", 3, 170, 199), ("cam0", 4, 400, 409)]
    assert "thumbnail" in detail["appearances"][0] and "thumbnail" not in detail["appearances"][2]  # no image given
    assert feed.identity(99) is None
    t = feed.transitions()
    assert [(r["from"], r["to"], r["people"], r["median_travel_s"]) for r in t] == [("cam0", "cam1", 1, 12.1), ("cam1", "cam0", 1, 20.1)]


def test_thumbnail_is_the_best_crop_and_off_means_none_kept():
    feed = IdentityFeed(["a"])
    small, big = (10, 20, 30, 60), (10, 20, 50, 140)
    feed.observe(0, 0, 0.0, [obj(0, 0, 1, 2, small)], image())
    first = feed.thumbnail(2, "a")
    feed.observe(0, 1, 0.1, [obj(0, 1, 1, 2, big)], image())
    better = feed.thumbnail(2, "a")
    feed.observe(0, 2, 0.2, [obj(0, 2, 1, 2, small)], image())
    assert first[:3] == b"\xff\xd8\xff" and better != first and feed.thumbnail(2, "a") == better
    assert feed.thumbnail(2, 0) == better and feed.thumbnail(2, "b") is None and feed.thumbnail(3, "a") is None
    assert box_quality(big, 0.9, (240, 320)) > box_quality((0, 0, 40, 120), 0.9, (240, 320))  # cut by the border

    off = IdentityFeed(["a"], thumbnails=False)
    off.observe(0, 0, 0.0, [obj(0, 0, 1, 2, big)], image())
    assert off.thumbnail(2, "a") is None and off.identities()[0]["thumbnails"] == {}
    assert "thumbnail" not in off.identity(2)["appearances"][0] and off.tracklet_thumbs() == {}
    assert off.run()["thumbnails"] is False


def test_live_merge_and_split_update_the_gallery():
    feed = IdentityFeed(["cam0", "cam1"])
    walk(feed, 0, 1, 3, range(0, 20))
    walk(feed, 1, 2, 9, range(30, 50))
    assert [c["id"] for c in feed.identities()] == [3, 9]
    feed.record_events([ev.IdentitiesMerged(-1, -1, 5.0, 3, 9, 0.8)])
    cards = feed.identities()
    assert [c["id"] for c in cards] == [3] and cards[0]["cameras"] == ["cam0", "cam1"]
    assert texts(feed)[-1] == "ID 9 is ID 3: merged"
    # A split of a tracklet no longer in view (an event kind the feed does not
    # know): the tracker's id of every tracklet moves it.
    feed.record_events([{"event": "identity_split", "camera": -1, "frame": -1, "time": 6.0, "global_id": 3, "new_id": 12}],
                       ids={(0, 1, 0): 3, (1, 2, 0): 12})
    assert [c["id"] for c in feed.identities()] == [3, 12]
    assert texts(feed)[-1] == "Identity split: ID 3, ID 12"
    # A track that changed look is re-identified: its next tracklet is a new appearance.
    feed.record_events([ev.AppearanceChange(0, 20, 6.0, 1, 3)])
    walk(feed, 0, 1, 15, range(21, 30), segment=1)
    assert [c["id"] for c in feed.identities()] == [3, 12, 15]
    assert "ID 3 in cam0 looks like someone else now" in texts(feed)[-2]


def test_events_are_plain_words_with_clock_times_never_internal_names():
    feed = IdentityFeed(["cam0", "cam1"], clock=Clock(epoch=0.0))
    walk(feed, 0, 1, 1, range(0, 5))
    feed.record_events([
        ev.ThresholdCalibrated(-1, -1, 2.0, 0.61, "footage", 12, 30),
        ev.ThresholdCalibrated(-1, -1, 3.0, 1.0, "too_little_evidence", 1, 2),
        ev.IdentitiesMerged(-1, -1, 4.0, 1, 2, 0.7),
        ev.TrackStart(0, 1, 0.1, 1), ev.GlobalIdAssigned(0, 1, 0.1, 1, 1, True, None), ev.Handoff(1, 3, 0.3, 2, 1, 0, 0.9),
        {"event": "camera_message", "message": "[cam1] cannot be opened; retrying in 1.0 s"},
        {"event": "stream_end", "camera": 1, "frame": 40},
    ])
    got = feed.events()
    lines = [e["text"] for e in got["events"]]
    assert lines == [
        "ID 1 appeared in cam0",
        "Matching threshold 0.61, measured on the footage (12 same-person and 30 different-person pairs)",
        "Nobody is linked across cameras yet: too little evidence (1 same-person and 2 different-person pairs)",
        "ID 2 is ID 1: merged",
        "[cam1] cannot be opened; retrying in 1.0 s",
        "cam1: stream ended",
    ]
    for e in got["events"]:
        assert re.fullmatch(r"\d\d:\d\d:\d\d", e["clock"])
        assert "-1" not in e["text"] and "_" not in e["text"].replace("[cam1]", "")
    assert got["next"] == got["events"][-1]["n"]
    assert [e["text"] for e in feed.events(since=got["events"][3]["n"])["events"]] == lines[4:]
    assert Clock()(3725.4) == "1:02:05" and duration(12.4) == "12 s" and duration(185) == "3 min 05 s"


def test_final_relabel_gives_every_page_the_final_ids():
    feed = IdentityFeed(["cam0", "cam1"])
    walk(feed, 0, 1, 5, range(0, 20))
    walk(feed, 1, 2, 8, range(40, 60))
    walk(feed, 1, 3, None, range(70, 75))  # never given a live id
    feed.record_events([ev.IdentitiesMerged(-1, -1, 3.0, 5, 8, 0.9)])
    generation = feed.events()["generation"]
    # The whole run re-grouped: the cam1 tracklet is someone else, the unnamed one gets an id.
    feed.relabel({(0, 1, 0): 1, (1, 2, 0): 2, (1, 3, 0): 1}, final=True)
    feed.finish()
    assert [c["id"] for c in feed.identities()] == [1, 2]
    assert feed.identity(1)["cameras"] == ["cam0", "cam1"]
    got = feed.events()
    assert got["generation"] == generation + 1
    assert [e["text"] for e in got["events"]] == [
        "ID 1 appeared in cam0", "ID 2 appeared in cam1", "ID 1 entered cam1 from cam0 after 5 s"]
    run = feed.run()
    assert run["final"] and run["state"] == "finished" and run["identities"] == 2
    assert all(c["now"] == [] for c in feed.identities())
    assert all(c["state"] == "ended" and c["objects"] == [] for c in feed.cameras())


def test_camera_health_and_boxes_for_highlighting():
    feed = IdentityFeed(["cam0", "cam1"])
    feed.observe(0, 5, 0.5, [obj(0, 5, 1, 4, (10, 20, 50, 120))], image())
    feed.set_health(0, CameraHealth(fps=14.5, frames=6, reconnects=2))
    feed.set_health(1, CameraHealth(gave_up=True))
    cams = feed.cameras()
    assert cams[0]["state"] == "live" and cams[0]["fps"] == 14.5 and cams[0]["reconnects"] == 2
    assert cams[0]["objects"] == [{"id": 4, "track": 1, "box": [10.0, 20.0, 50.0, 120.0]}] and cams[0]["size"] == [320, 240]
    assert cams[0]["last_frame_age_s"] is not None and cams[0]["people_now"] == [4]
    assert cams[1]["state"] == "given up" and cams[1]["last_frame_age_s"] is None


def test_memory_is_bounded_on_long_runs():
    feed = IdentityFeed(["cam0"], max_appearances=50)
    for track in range(200):
        feed.observe(0, track, float(track), [obj(0, track, track, track)])
    assert len(feed.identity(199)["appearances"]) == 1
    assert len(feed.identities()) <= 50
    assert feed.identity(0) is None  # the oldest are forgotten first


@pytest.mark.parametrize("since", [0, 10**6])
def test_events_since_beyond_the_end_is_empty_not_an_error(since):
    feed = IdentityFeed(["cam0"])
    got = feed.events(since)
    assert got["events"] == [] and got["next"] == 0


def test_an_id_held_back_for_a_new_track_is_nobodys_card_until_committed():
    feed = IdentityFeed(["cam0"])
    held = TrackedObject(0, 0, 1, 7, np.asarray((10, 20, 50, 120), np.float32), 0.9, 0, provisional=True)
    feed.observe(0, 0, 0.0, [held], image())
    assert feed.identities() == [] and feed.cameras()[0]["objects"][0]["id"] is None
    feed.observe(0, 1, 0.1, [obj(0, 1, 1, 7)], image())  # committed: the same id, now a person
    assert [card["id"] for card in feed.identities()] == [7]
