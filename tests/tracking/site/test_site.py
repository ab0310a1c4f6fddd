"""The multi-box mode without a server: wire format, broker semantics, ordering, a whole site on fakeredis."""

from __future__ import annotations

import json

import numpy as np
import pytest
from site_helpers import run_site_in_process, same_mot, single_box

fakeredis = pytest.importorskip("fakeredis")

from mlfn_keras.tracking.core.updates import CameraTick, TrackEmbedding  # noqa: E402
from mlfn_keras.tracking.site.broker import BrokerError, RedisBroker, check_url, redact  # noqa: E402
from mlfn_keras.tracking.site.messages import (  # noqa: E402
    PROTOCOL_VERSION,
    EdgeHello,
    EdgeMessage,
    Keys,
    ProtocolError,
    decode_message,
    encode_message,
)
from mlfn_keras.tracking.site.ordering import Delivery, TickOrderer  # noqa: E402


def _broker(server=None):
    return RedisBroker("redis://fake", client=fakeredis.FakeRedis(server=server or fakeredis.FakeServer()))


def _msg(edge="a", tick=0, prev=-1, epoch=0, done=False, cams=None) -> EdgeMessage:
    return EdgeMessage(edge, epoch, tick, prev, 0.0, cams or [], done=done)


def test_messages_round_trip_exactly():
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((3, 256)).astype(np.float32)
    boxes = rng.uniform(0, 500, (2, 4))  # float64, as a tracker may give
    tick = CameraTick(1, 42, 2.8000000000000003, np.array([3, 7]), boxes, np.array([0.91, 0.5], np.float32),
                      started=[7], ended=[2],
                      embeddings=[TrackEmbedding(3, 0, feats[0]), TrackEmbedding(7, 1, feats[1], True, True),
                                  TrackEmbedding(3, 0, feats[2])])
    eos = CameraTick(0, 10, 0.6, ended=[1, 4], end_of_stream=True)
    msg = EdgeMessage("box-1", 2, 42, 41, 1.7e9, [eos, tick], reset=True)
    back = decode_message({k.encode(): v for k, v in encode_message(msg).items()})
    assert (back.edge, back.epoch, back.tick, back.prev, back.reset, back.done) == ("box-1", 2, 42, 41, True, False)
    b0, b1 = back.cameras
    assert b0.end_of_stream and b0.ended == [1, 4] and len(b0.track_ids) == 0
    assert b1.frame == 42 and b1.timestamp == tick.timestamp and b1.started == [7] and b1.ended == [2]
    assert np.array_equal(b1.boxes, boxes) and np.array_equal(b1.scores, tick.scores) and list(b1.track_ids) == [3, 7]
    for e, f in zip(b1.embeddings, feats):
        assert np.array_equal(e.feature, f)  # bit-exact float32
    assert [(e.track, e.segment, e.new_segment, e.identified) for e in b1.embeddings] == [(3, 0, False, False), (7, 1, True, True), (3, 0, False, False)]
    half = decode_message({k.encode(): v for k, v in encode_message(msg, fp16=True).items()})
    assert np.allclose(half.cameras[1].embeddings[0].feature, feats[0], atol=1e-2)


def test_newer_or_malformed_messages_are_refused_with_a_reason():
    fields = {k.encode(): v for k, v in encode_message(_msg()).items()}
    header = json.loads(fields[b"h"])
    header["v"] = PROTOCOL_VERSION + 1
    with pytest.raises(ProtocolError, match="protocol version"):
        decode_message({b"h": json.dumps(header).encode(), b"e": b""})
    with pytest.raises(ProtocolError):
        decode_message({b"h": b"{not json"})
    with pytest.raises(ProtocolError, match="trimmed"):
        decode_message(None)
    with pytest.raises(ProtocolError, match="protocol version"):
        EdgeHello.decode(json.dumps({"edge": "x", "cameras": [], "fps": [], "epoch": 0, "recorded": True,
                                     "version": PROTOCOL_VERSION + 1}).encode())


def test_a_retried_publish_cannot_duplicate():
    b = _broker()
    assert b.publish("s", "1-1", {"h": b"x"}) is True
    assert b.publish("s", "1-1", {"h": b"x"}) is False  # the reply was lost and the edge retried
    assert b.publish("s", "0-1", {"h": b"x"}) is False
    assert b.info("s").length == 1


def test_pending_entries_survive_and_can_be_taken_over():
    b = _broker()
    for t in range(1, 4):
        b.publish("s", f"{t}-1", {"h": b"x"})
    b.ensure_group("s", "central")
    b.ensure_group("s", "central")  # idempotent
    assert len(b.read_group("central", "old", ["s"], 10, None)) == 3
    b.ack("s", "central", ["1-1"])
    assert b.claim("s", "central", "central") == 2
    assert [e[1] for e in b.read_pending("central", "central", "s")] == ["2-1", "3-1"]
    assert b.read_group("central", "central", ["s"], 10, None) == []


def test_lease_is_held_by_one_central_at_a_time():
    b = _broker()
    lease = b.lease("l", 1000, 0)
    assert lease is not None and lease.renew()
    assert b.lease("l", 1000, 0) is None
    lease.release()
    assert b.lease("l", 1000, 0) is not None


def test_urls_credentials_and_names():
    assert check_url("rediss://user:pw@central.lan:6380/0")
    with pytest.raises(BrokerError, match="redis://"):
        check_url("http://x:1")
    assert "pw" not in redact("redis://user:pw@h:1") and "***" in redact("redis://user:pw@h:1")
    from mlfn_keras.tracking.site.edge import check_names

    with pytest.raises(BrokerError, match="unique"):
        check_names(["a", "a"])
    with pytest.raises(BrokerError, match="letters"):
        check_names(["../x"])


def test_orderer_commits_behind_the_watermark_drops_duplicates_and_flags_late():
    o = TickOrderer(max_lag_seconds=None, gap_seconds=5.0)
    o.feed("a"), o.feed("b")
    o.add(Delivery(_msg("a", 0), "0-1", 0.0))
    o.add(Delivery(_msg("a", 1, 0), "1-1", 0.0))
    assert o.ready(0.0) == []  # b has sent nothing: the watermark is -1
    o.add(Delivery(_msg("b", 0), "0-1", 0.0))
    ticks = o.ready(0.0)
    assert [(t.tick, [d.message.edge for d in t.deliveries]) for t in ticks] == [(0, ["a", "b"])]
    assert o.add(Delivery(_msg("a", 0), "0-1", 0.0)) == "duplicate"
    assert o.add(Delivery(_msg("a", 1, 0), "1-1", 0.0)) == "duplicate"
    o.add(Delivery(_msg("b", 2, 1), "2-1", 0.0))  # b's tick 1 is missing: a hole
    assert o.ready(1.0) == []
    o.add(Delivery(_msg("b", 1, 0), "1-1", 1.0))  # ... arrives out of order
    assert [t.tick for t in o.ready(1.0)] == [1]
    o.set_stale("a")  # a went silent: b goes on alone
    assert [t.tick for t in o.ready(1.0)] == [2]
    o.set_stale("a", False)
    o.add(Delivery(_msg("a", 2, 1), "2-1", 2.0))  # a comes back: tick 2 was committed without it
    late = o.ready(2.0)
    assert [(t.tick, t.late) for t in late] == [(2, True)] and o.counts.late == 1 and o.counts.duplicates == 2


def test_orderer_skips_a_hole_that_does_not_fill_and_lets_finished_edges_go():
    o = TickOrderer(max_lag_seconds=None, gap_seconds=5.0)
    o.add(Delivery(_msg("a", 0), "0-1", 0.0))
    o.add(Delivery(_msg("a", 5, 3), "5-1", 0.0))  # ticks 1-3 were lost by the broker
    assert [t.tick for t in o.ready(0.0)] == [0]
    assert o.ready(4.0) == []
    assert [t.tick for t in o.ready(10.0)] == [5] and o.counts.gaps == 1
    o.add(Delivery(_msg("b", 0, done=True), "0-1", 10.0))
    o.ready(10.0)
    o.mark_done("b")
    assert o.watermark(10.0) == 5  # b finished: only a holds the watermark


def test_orderer_live_edges_hold_the_others_back_at_most_max_lag():
    o = TickOrderer(max_lag_seconds=1.0)
    o.feed("a", recorded=False, tick_hz=10.0)
    o.feed("b", recorded=False, tick_hz=10.0)
    o.add(Delivery(_msg("a", 1000), "1000-1", 100.0))  # tick 1000 = capture time 100.0 s
    assert o.ready(100.5) == []  # b might still send ticks up to 1000
    assert [t.tick for t in o.ready(101.1)] == [1000]


def test_a_site_on_fakeredis_gives_the_single_box_answer(tmp_path):
    reference = single_box(tmp_path / "single")
    summary, edges = run_site_in_process(tmp_path / "site")
    assert summary.ticks == 201 and summary.duplicates == 0 and summary.refused == 0
    assert same_mot(reference, tmp_path / "site") == []
    assert all(e.publisher.published == e.ticks for e in edges.values())
    site_summary = json.loads((tmp_path / "site" / "summary.json").read_text())
    assert [c["name"] for c in site_summary["cameras"]] == ["cam0", "cam1"]
    assert set(site_summary["site"]["skew_seconds"]) == {"box0", "box1"}
    kinds = {json.loads(line)["event"] for line in (tmp_path / "site" / "events.jsonl").open()}
    assert {"track_start", "global_id_assigned", "stream_end", "final_identities"} <= kinds


def test_a_live_central_spreads_each_revision_over_ticks_and_a_recorded_run_does_not(tmp_path):
    # a budget of 0 s: one part of a revision a tick (recalibration, camera pairs, grouping)
    live, _ = run_site_in_process(tmp_path / "live", offline=False, revise_budget_seconds=0.0)
    assert live.ticks == 201 and live.revisions >= 3 and live.revision_ticks >= 2 * live.revisions
    assert json.loads((tmp_path / "live" / "summary.json").read_text())["site"]["revision_ticks"] == live.revision_ticks
    recorded, _ = run_site_in_process(tmp_path / "recorded", revise_budget_seconds=0.0)  # the same answer every time
    assert recorded.revision_ticks == recorded.revisions >= 3


def test_ten_percent_duplicated_and_reordered_deliveries_change_nothing(tmp_path):
    reference = single_box(tmp_path / "single")
    from mlfn_keras.tracking.bench.multibox import DuplicateAndReorder

    summary, _ = run_site_in_process(tmp_path / "site", deliveries=DuplicateAndReorder(0.1, seed=1))
    assert summary.duplicates > 10 and summary.messages == 402 + summary.duplicates  # 2 edges x 201 ticks
    assert same_mot(reference, tmp_path / "site") == []


def test_unknown_edges_and_taken_camera_names_are_refused_with_a_log_line(tmp_path):
    from mlfn_keras.tracking.site.central import Central, CentralConfig

    b = _broker()
    keys = Keys()
    b.hset(keys.edges, "intruder", EdgeHello("intruder", ["x"], [15.0]).encode())
    b.hset(keys.edges, "box0", EdgeHello("box0", ["cam0"], [15.0]).encode())
    b.hset(keys.edges, "box1", EdgeHello("box1", ["cam0"], [15.0]).encode())
    b.hset(keys.edges, "future", json.dumps({"edge": "future", "cameras": ["f"], "fps": [1], "epoch": 0, "recorded": True,
                                             "version": PROTOCOL_VERSION + 1}).encode())
    lines = []
    central = Central(CentralConfig(allowed_edges=["box0", "box1", "future"], log=lines.append), b)
    central.start()
    central._discover(0.0)
    assert set(central.hellos) == {"box0"}
    text = "\n".join(lines)
    assert "'intruder' refused: not in --allow-edges" in text
    assert "camera name 'cam0' belongs to edge 'box0'" in text
    assert "protocol version" in text
    # a message on box0's stream that claims to come from another edge is refused, not a crash
    b.publish(keys.up("box0"), "0-1", encode_message(_msg("box9")))
    central._number_cameras()
    central._receive()  # its pending list (empty)
    central._receive()
    assert "says it is from edge 'box9'" in "\n".join(lines) and central.summary.refused == 4


def test_the_central_feeds_the_same_live_web_view(tmp_path, monkeypatch):
    from mlfn_keras.tracking.view import web

    views, urls = [], []
    start = web.start_web_view

    def recording(*args, **kwargs):
        view = start(*args, **kwargs)
        views.append(view)
        return view

    monkeypatch.setattr(web, "start_web_view", recording)
    run_site_in_process(tmp_path / "site", serve="127.0.0.1:0", on_serve=urls.append)
    assert urls and urls[0].startswith("http://127.0.0.1:")
    feed = views[0].feed  # what the page and its /api/ show
    assert [c["name"] for c in feed.cameras()] == ["cam0", "cam1"] and feed.run()["ticks"] > 100
    cards = feed.identities()
    assert cards and all(c["last_seen"]["t"] > 0 for c in cards)  # the edges' frame times, not 0
