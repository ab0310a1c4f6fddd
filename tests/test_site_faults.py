"""The multi-box mode on a real redis-server with real processes: the single-box answer, and faults.

Each test starts its own redis-server on a free 127.0.0.1 port in a temporary
folder (``appendfsync always``) and stops it by PID; the edges and the
central are ``mlfn-edge`` / ``mlfn-central`` processes on the short built-in
scene with the colour-histogram stand-in embedder (deterministic, no
TensorFlow), so "identical" means byte-identical MOT files.
"""

from __future__ import annotations

import json
import shutil

import pytest
from site_helpers import same_mot, scene_files, single_box

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed (apt-get install -y redis-server; .ci/run does)")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return single_box(tmp_path_factory.mktemp("single") / "run")


def _run(fault, tmp_path, at_tick=60):
    from mlfn_keras.tracking.bench.multibox import run_fault

    specs, _ = scene_files()
    return run_fault(fault, specs, tmp_path, at_tick=at_tick)


def test_two_edge_processes_and_a_central_give_the_single_box_answer(reference, tmp_path):
    r = _run("none", tmp_path)
    assert r.codes == {"edge0": 0, "edge1": 0, "central": 0}
    assert same_mot(reference, r.output) == []
    site = r.central["site"]
    assert site["duplicates"] == 0 and site["late"] == 0 and site["refused"] == 0
    assert all(e["publisher"]["dropped_boxes"] == 0 and e["publisher"]["dropped_other"] == 0 for e in r.edges)
    assert sum(e["ids"] for e in r.edges) > 0  # the ids came back to the edges


def test_redis_killed_and_restarted_mid_run_changes_nothing(reference, tmp_path):
    r = _run("redis", tmp_path)
    assert r.codes == {"edge0": 0, "edge1": 0, "central": 0}
    assert same_mot(reference, r.output) == []
    assert r.recovery_seconds is not None  # the server did go away and came back mid-run


def test_an_edge_killed_and_restarted_ends_its_tracks_and_the_run_completes(reference, tmp_path):
    r = _run("edge", tmp_path)
    assert r.codes == {"edge0": 0, "edge1": 0, "central": 0}
    # camera 0's own tracks are untouched; camera 1 resumed in a new epoch and reached the end
    assert same_mot(reference, r.output, names=("cam0",), kinds=("mot_local",)) == []
    assert r.edges[1]["epoch"] == 1 and r.edges[1]["resumed_at"] >= r.notes["killed_at_tick"]
    def last(run):
        return max(int(line.split(",")[0]) for line in open(run / "mot_local" / "cam1.txt"))

    assert last(r.output) == last(reference)
    events = [json.loads(line) for line in open(r.output / "events.jsonl")]
    kill_frame = r.notes["killed_at_tick"]
    ended = [e for e in events if e["event"] == "track_end" and e["camera"] == 1 and kill_frame - 5 <= e["frame"] <= kill_frame + 80]
    started = [e for e in events if e["event"] == "track_start" and e["camera"] == 1 and e["frame"] > kill_frame]
    assert ended and started
    assert r.central["site"]["edges"]["box1"]["epoch"] == 1


def test_the_central_killed_and_restarted_gives_the_uninterrupted_answer(reference, tmp_path):
    r = _run("central", tmp_path)
    assert r.codes == {"edge0": 0, "edge1": 0, "central": 0}
    assert r.central["site"]["resumed"] is True
    assert same_mot(reference, r.output) == []


def test_a_slow_central_never_slows_the_edges_and_its_lag_drains(reference, tmp_path):
    r = _run("slow", tmp_path)
    assert r.codes == {"edge0": 0, "edge1": 0, "central": 0}
    assert same_mot(reference, r.output) == []
    # the edges finished while the central was still behind (messages left in the broker), and never waited for it
    assert r.notes["central_running_when_edges_finished"] and max(r.notes["lag_when_edges_finished"]) > 0
    assert all(e["publisher"]["waited_seconds"] == 0 and e["publisher"]["retries"] == 0 for e in r.edges)
    # memory stays bounded: the streams are capped and the server stayed small
    from mlfn_keras.tracking.site.edge import STREAM_MAXLEN

    assert max(r.notes["stream_length_when_edges_finished"]) <= STREAM_MAXLEN
    assert 0 < r.notes["redis_used_memory"] < 256 * 2**20


def test_a_password_in_the_url_works_and_a_wrong_one_is_one_clear_error():
    from mlfn_keras.tracking.site.broker import BrokerError, RedisBroker
    from mlfn_keras.tracking.site.local import LocalRedis

    with LocalRedis(password="s3cret") as server:
        good = RedisBroker(server.url)
        good.ping()
        assert good.publish("s", "1-1", {"h": b"x"})
        for url in (server.url.replace("s3cret", "wrong"), f"redis://127.0.0.1:{server.port}"):
            with pytest.raises(BrokerError) as err:
                RedisBroker(url).ping()
            assert "\n" not in str(err.value) and "wrong" not in str(err.value)
