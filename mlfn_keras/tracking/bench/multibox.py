"""Multi-box runs on one machine: a private redis-server, edge and central processes, faults, figures.

:class:`LocalSite` starts the processes a site runs (``mlfn-edge`` per camera,
``mlfn-central``) against a :class:`~mlfn_keras.tracking.site.local.LocalRedis`,
and kills or restarts any of them by PID. The fault scenarios
(:func:`run_fault`) are what the fault tests check and what
``benchmarks/multibox.py`` times; the other figures (cameras per central, a
simulated day) run the central in this process on replayed messages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlfn_keras.tracking.app.sources import SourceSpec
from mlfn_keras.tracking.site.local import LocalRedis

#: Every wait here is bounded.
PROCESS_TIMEOUT = 300.0


def _cli(entry: str, *args: str) -> list[str]:
    return [sys.executable, "-c",
            f"import sys; from mlfn_keras.tracking.site.cli import {entry} as m; sys.exit(m(sys.argv[1:]))", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


@dataclass
class LocalSite:
    """A site on this machine: one redis-server, one edge process per camera, one central.

    Args:
        specs: the cameras (file sources); edge ``i`` plays camera ``i`` as ``box{i}``.
        out: the folder for the central's output and the processes' logs.
        reid: ``--reid`` of the edges (``"hist"``: the colour histogram, no TensorFlow).
        detector: ``--detector`` of the edges.
        realtime: edges play their files at the frame rate (so faults land mid-run).
        edge_args / central_args: more command-line arguments.
        tls: the broker serves TLS only (``rediss://`` with a throwaway CA; see :class:`LocalRedis`).
        users: ACL users of the broker (name → password); the edges connect as ``edge``, the central
            (and :meth:`broker`) as ``central``.
    """

    specs: Sequence[SourceSpec]
    out: Path
    reid: str = "hist"
    detector: str = "bgsub"
    realtime: bool = False
    edge_args: Sequence[str] = ()
    central_args: Sequence[str] = ()
    tls: bool = False
    users: dict[str, str] | None = None
    redis: LocalRedis | None = None
    edges: dict[int, subprocess.Popen] = field(default_factory=dict)
    central: subprocess.Popen | None = None
    _logs: list[Any] = field(default_factory=list)

    def __post_init__(self):
        self.out = Path(self.out)
        self.out.mkdir(parents=True, exist_ok=True)

    def start_redis(self) -> LocalSite:
        self.redis = LocalRedis(tls=self.tls, users=self.users).start()
        return self

    def url(self, role: str) -> str:
        """The broker URL of ``role`` (``"edge"`` or ``"central"``): its ACL user's when there are users."""
        return self.redis.url_for(role if self.users else None)

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(self.out / f"{name}.log", "a")
        self._logs.append(log)
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env())

    def start_edge(self, i: int) -> subprocess.Popen:
        s = self.specs[i]
        args = ["--broker", self.url("edge"), "--cams", str(s.target), "--names", s.name, "--edge", f"box{i}",
                "--detector", self.detector, "--reid", self.reid, "--quiet", "--summary", str(self.out / f"edge{i}.json"),
                "--start-times", str(s.start_time or 0.0), *self.edge_args]
        if self.realtime:
            args.append("--realtime")
        self.edges[i] = self._spawn(f"edge{i}", _cli("edge_main", *args))
        return self.edges[i]

    def start_central(self) -> subprocess.Popen:
        args = ["--broker", self.url("central"), "--edges", str(len(self.specs)), "--output", str(self.out / "central"),
                "--quiet", "--checkpoint-every", "0.5", "--force", *self.central_args]
        self.central = self._spawn("central", _cli("central_main", *args))
        return self.central

    def start(self) -> LocalSite:
        self.start_redis()
        for i in range(len(self.specs)):
            self.start_edge(i)
        self.start_central()
        return self

    def broker(self):
        from mlfn_keras.tracking.site.broker import RedisBroker

        return RedisBroker(self.url("central"))

    def stream_length(self, edge: int) -> int:
        """Entries on ``box{edge}``'s stream (0 while the broker is away)."""
        from mlfn_keras.tracking.site.broker import BrokerUnavailable
        from mlfn_keras.tracking.site.messages import Keys

        b = self.broker()
        try:
            return b.info(Keys().up(f"box{edge}")).length
        except BrokerUnavailable:
            return 0
        finally:
            b.close()

    def central_rows(self) -> int:
        """MOT rows the central has written so far (its progress)."""
        path = self.out / "central" / "mot_local" / f"{self.specs[0].name}.txt"
        try:
            return sum(1 for _ in open(path))
        except OSError:
            return 0

    def wait_until(self, condition: Callable[[], bool], timeout: float = PROCESS_TIMEOUT, what: str = "") -> float:
        """Polls ``condition`` until it holds; returns the seconds it took. Raises ``TimeoutError``."""
        t0 = time.monotonic()
        while not condition():
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{what or 'condition'} not reached in {timeout:.0f} s; logs in {self.out}")
            self._check_alive()
            time.sleep(0.05)
        return time.monotonic() - t0

    def _check_alive(self) -> None:
        for name, p in [("central", self.central), *[(f"edge{i}", e) for i, e in self.edges.items()]]:
            if p is not None and p.poll() not in (None, 0):
                raise RuntimeError(f"{name} exited with {p.returncode}: {(self.out / (name + '.log')).read_text()[-2000:]}")

    def wait(self, timeout: float = PROCESS_TIMEOUT) -> dict[str, int]:
        """Waits for every process; returns their exit codes."""
        codes = {}
        deadline = time.monotonic() + timeout
        for name, p in [*[(f"edge{i}", e) for i, e in self.edges.items()], ("central", self.central)]:
            if p is None:
                continue
            try:
                codes[name] = p.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(10)
                raise TimeoutError(f"{name} did not finish in {timeout:.0f} s; logs in {self.out}") from None
        return codes

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILLs one of our processes by its PID."""
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        for p in [*self.edges.values(), self.central]:
            if p is not None and p.poll() is None:
                self.kill(p)
        if self.redis is not None:
            self.redis.stop()
        for log in self._logs:
            log.close()

    def __enter__(self) -> LocalSite:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def edge_summary(self, i: int) -> dict[str, Any]:
        return json.loads((self.out / f"edge{i}.json").read_text())

    def central_summary(self) -> dict[str, Any]:
        return json.loads((self.out / "central" / "summary.json").read_text())


@dataclass
class FaultResult:
    """One fault run: where its output is, how long recovery took, what the site counted."""

    fault: str
    output: Path
    codes: dict[str, int]
    recovery_seconds: float | None
    central: dict[str, Any]
    edges: list[dict[str, Any]]
    notes: dict[str, Any] = field(default_factory=dict)


FAULTS = ("none", "redis", "edge", "central", "slow")


def run_fault(fault: str, specs: Sequence[SourceSpec], out: Path, at_tick: int = 60, reid: str = "hist",
              detector: str = "bgsub") -> FaultResult:
    """Runs a two-or-more-edge site on recorded files with one fault at ``at_tick``.

    Faults: ``"none"``; ``"redis"`` (SIGKILL the broker, restart it on the same
    folder; ``appendfsync always``); ``"edge"`` (SIGKILL the last edge, start it
    again: a new epoch resuming after its last published tick); ``"central"``
    (SIGKILL the central, start it again: resumes from its checkpoint and
    pending list); ``"slow"`` (a central sleeping 50 ms per tick for its first
    10 s while the edges run at full speed).

    Recovery time: from the fault to the moment the killed part is working
    again (the broker answers and an edge's stream grows again; the restarted
    edge publishes again; the restarted central writes again).
    """
    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {', '.join(FAULTS)}; got {fault!r}")
    central_args = ["--slow", "0.05", "10"] if fault == "slow" else []
    site = LocalSite(specs, out, reid=reid, detector=detector, realtime=fault in ("redis", "edge", "central"),
                     central_args=central_args)
    notes: dict[str, Any] = {}
    recovery = None
    with site:
        site.start()
        last = len(specs) - 1
        if fault in ("redis", "edge"):
            site.wait_until(lambda: site.stream_length(last) >= at_tick, what=f"edge {last} at tick {at_tick}")
        elif fault == "central":
            site.wait_until(lambda: site.central_rows() >= at_tick, what=f"central at {at_tick} rows")
        t_fault = time.monotonic()
        if fault == "redis":
            before = site.stream_length(0)
            site.redis.restart(signal.SIGKILL)
            site.wait_until(lambda: site.stream_length(0) > before, what="edge 0 publishing after the restart")
            recovery = time.monotonic() - t_fault
        elif fault == "edge":
            site.kill(site.edges[last])
            before = site.stream_length(last)
            site.start_edge(last)
            site.wait_until(lambda: site.stream_length(last) > before, what="the restarted edge publishing")
            recovery = time.monotonic() - t_fault
            notes["killed_at_tick"] = before
        elif fault == "central":
            site.kill(site.central)
            before = site.central_rows()
            site.start_central()
            site.wait_until(lambda: site.central_rows() > before, what="the restarted central writing")
            recovery = time.monotonic() - t_fault
        elif fault == "slow":
            site.wait_until(lambda: all(e.poll() is not None for e in site.edges.values()), what="edges finished")
            notes["central_running_when_edges_finished"] = site.central.poll() is None
            b = site.broker()
            try:
                from mlfn_keras.tracking.site.messages import Keys

                info = [b.info(Keys().up(f"box{i}"), Keys.group) for i in range(len(specs))]
                notes["lag_when_edges_finished"] = [i.lag for i in info]
                notes["stream_length_when_edges_finished"] = [i.length for i in info]
                notes["redis_used_memory"] = b.memory_used()
            finally:
                b.close()
            t_drain = time.monotonic()
            site.central.wait(PROCESS_TIMEOUT)
            notes["drain_seconds"] = time.monotonic() - t_drain
        codes = site.wait()
        edges = [site.edge_summary(i) for i in range(len(specs))]
        return FaultResult(fault, out / "central", codes, recovery, site.central_summary(), edges, notes)


def run_fault_realtime(specs: Sequence[SourceSpec], out: Path, reid: str = "hist", detector: str = "bgsub") -> FaultResult:
    """An uninterrupted site whose edges play their files at the frame rate, as cameras would (for latency)."""
    site = LocalSite(specs, out, reid=reid, detector=detector, realtime=True)
    with site:
        site.start()
        codes = site.wait()
        edges = [site.edge_summary(i) for i in range(len(specs))]
        return FaultResult("none", out / "central", codes, None, site.central_summary(), edges)


# ------------------------------------------------------------------ figures
def percentiles(values: Sequence[float], qs=(50, 95, 99)) -> list[float]:
    import numpy as np

    return [float(np.percentile(values, q)) for q in qs] if len(values) else [float("nan")] * len(qs)


#: The hops of the global-id latency, in the order the edge measures them.
HOPS = ("total", "edge: capture → sent", "broker → central", "central: waiting for the watermark",
        "central: associating", "broker → edge")


def latency_rows(edges: Sequence[dict[str, Any]]) -> list[tuple[str, list[float]]]:
    """p50/p95/p99 milliseconds per hop over every track the edges got an id for."""
    import numpy as np

    lat = np.array([row for e in edges for row in e["latencies"]], np.float64).reshape(-1, len(HOPS))
    return [(hop, [v * 1000 for v in percentiles(lat[:, i])]) for i, hop in enumerate(HOPS)]


def traffic_rows(edges: Sequence[dict[str, Any]]) -> list[tuple[str, float, float, int]]:
    """Per edge (one camera each): messages/s, MB/s, ids received."""
    out = []
    for e in edges:
        p, wall = e["publisher"], max(e["wall_seconds"], 1e-9)
        out.append((e["edge"], p["published"] / wall, p["bytes"] / wall / 1e6, e["ids"]))
    return out


def record_messages(specs: Sequence[SourceSpec], reid: str = "hist", detector: str = "bgsub") -> list[list[tuple[str, dict]]]:
    """Every message each camera's edge publishes (one edge per camera, no central), for replays."""
    import threading

    import fakeredis

    from mlfn_keras.runtime import load_embedder
    from mlfn_keras.tracking.detection.detectors import build_detector
    from mlfn_keras.tracking.site.broker import RedisBroker
    from mlfn_keras.tracking.site.edge import EdgeConfig, run_edge
    from mlfn_keras.tracking.site.messages import Keys

    server = fakeredis.FakeServer()
    make = lambda: RedisBroker("redis://fake", client=fakeredis.FakeRedis(server=server))  # noqa: E731
    embedder = load_embedder(reid, what="--reid")
    threads = [threading.Thread(target=run_edge, args=(EdgeConfig(specs=[s], edge=f"rec{i}", log=lambda line: None),
                                                       build_detector(detector), embedder, make()))
               for i, s in enumerate(specs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PROCESS_TIMEOUT)
    b = make()
    return [b.read(Keys().up(f"rec{i}"), "0-0", 10**6, None) for i in range(len(specs))]


@dataclass
class CapacityResult:
    """The central on ``cameras`` virtual cameras fed as fast as it reads."""

    cameras: int
    ticks: int
    tick_ms: list[float]  # p50, p95, p99
    ticks_per_second: float
    redis_mb: float
    keeps_up: bool  # p99 tick time under the tick period, and more ticks a second than the cameras make
    revisions: int  # revisions of the live ids made
    revision_seconds: float  # of footage, from a revision falling due to its merges and splits reaching the ids (mean)


def replay_capacity(recording: Sequence[Sequence[tuple[str, dict]]], cameras: int, tick_hz: float = 15.0,
                    log: Callable[[str], None] = lambda line: None) -> CapacityResult:
    """Publishes ``cameras`` virtual edges (copies of the recorded cameras, renamed) and times the central on them.

    The central runs online (as a live site does) in this process against a
    private redis-server; every message is in the broker before it starts, so
    it runs flat out: its tick time is what it needs per tick of ``cameras``
    cameras, and it keeps up with live cameras at ``tick_hz`` while that
    stays under ``1 / tick_hz``.
    """
    from mlfn_keras.tracking.site.broker import RedisBroker
    from mlfn_keras.tracking.site.central import CentralConfig, run_central
    from mlfn_keras.tracking.site.messages import EdgeHello, Keys

    keys = Keys()
    with LocalRedis(appendfsync="no", maxmemory="4gb") as server:
        b = RedisBroker(server.url)
        for v in range(cameras):
            rows = recording[v % len(recording)]
            name = f"v{v:03d}"
            b.hset(keys.edges, name, EdgeHello(name, [name], [tick_hz]).encode())
            pipe = b.r.pipeline(transaction=False)
            for entry_id, fields in rows:
                h = json.loads(fields[b"h"])
                h["edge"] = name
                pipe.xadd(keys.up(name), {b"h": json.dumps(h).encode(), b"e": fields.get(b"e", b"")}, id=entry_id)
            pipe.execute()
        memory = b.memory_used() / 1e6
        config = CentralConfig(broker=server.url, edges=cameras, offline=False, stale_seconds=1e9, log=log)
        t0 = time.monotonic()
        summary = run_central(config, b)
        wall = time.monotonic() - t0
        b.close()
    ms = [v * 1000 for v in percentiles(summary.tick_seconds)]
    rate = summary.ticks / max(wall, 1e-9)
    # a revision made in the tick it falls due reaches the ids at once (0 s); each further tick adds a period
    spread = (summary.revision_ticks - summary.revisions) / max(summary.revisions, 1) / tick_hz
    return CapacityResult(cameras, summary.ticks, ms, rate, memory, ms[2] < 1000.0 / tick_hz and rate >= tick_hz,
                          summary.revisions, spread)


@dataclass
class DayHour:
    """The central after one more hour of a simulated day."""

    hour: int
    rss_mb: float
    tick_ms: list[float]
    tracklets: int
    identities: int
    global_ids: int


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class DayTick:
    """One tick of a simulated day: its camera ticks and who each new track truly is."""

    index: int
    time: float
    cameras: list  # CameraTick, one per camera with someone in view
    people: dict[tuple[int, int], int]  # (camera, track) started this tick -> person


def day_ticks(cameras: int = 32, hours: float = 8.0, tick_hz: float = 1.0, people_per_hour: int = 300,
              dim: int = 256, seed: int = 0) -> Iterator[DayTick]:
    """The ticks of a simulated day at a site (no frames: boxes and embeddings).

    People arrive at random, each walks through 1-4 cameras, about 8 s in
    each, 1-9 s between cameras; a camera tick carries their boxes, an
    embedding when a track starts and every 5 ticks (the person's vector plus
    noise). Time is simulated: ``tick_hz`` ticks per simulated second.
    """
    import numpy as np

    from mlfn_keras.tracking.core.updates import CameraTick, TrackEmbedding

    rng = np.random.default_rng(seed)
    ticks = int(hours * 3600 * tick_hz)
    rate = people_per_hour / 3600 / tick_hz  # arrivals per tick
    visits: list[list] = []  # [camera, track, start, end, identity vector, person]
    next_track = [0] * cameras
    person_count = 0
    for k in range(ticks):
        now = k / tick_hz
        for _ in range(rng.poisson(rate)):
            person = rng.standard_normal(dim).astype(np.float32)
            person_count += 1
            start = k
            for _ in range(int(rng.integers(1, 5))):
                cam = int(rng.integers(cameras))
                next_track[cam] += 1
                length = int(8 * tick_hz) + int(rng.integers(0, 4))
                visits.append([cam, next_track[cam], start, start + length, person, person_count])
                start += length + int(rng.integers(1, 10) * tick_hz)
        live: dict[int, CameraTick] = {}
        started: dict[tuple[int, int], int] = {}
        keep = []
        for v in visits:
            cam, track, start, end, person, who = v
            if k < start:
                keep.append(v)
                continue
            tick = live.setdefault(cam, CameraTick(cam, k, now))
            if k == end:
                tick.ended.append(track)
                continue
            keep.append(v)
            tick.track_ids = np.append(tick.track_ids, track)
            x, y = 40.0 + 7.0 * (track % 80), 60.0 + 3.0 * (k - start)  # walking down the view
            tick.boxes = np.vstack([tick.boxes, [x, y, x + 50.0, y + 150.0]])
            tick.scores = np.append(tick.scores, np.float32(0.9))
            if k == start:
                tick.started.append(track)
                started[(cam, track)] = who
            if (k - start) % 5 in (0, 1):
                f = person + 0.3 * rng.standard_normal(dim).astype(np.float32)
                tick.embeddings.append(TrackEmbedding(track, 0, f / np.linalg.norm(f), False, k - start >= 2))
        visits = keep
        yield DayTick(k, now, [live[c] for c in sorted(live)] or [CameraTick(0, k, now)], started)


def simulate_day(cameras: int = 32, hours: float = 8.0, tick_hz: float = 1.0, people_per_hour: int = 300,
                 dim: int = 256, seed: int = 0, revise_seconds: float = 30.0,
                 log: Callable[[str], None] = lambda line: None) -> list[DayHour]:
    """A live central's associator through a simulated day (:func:`day_ticks`): its memory and tick time.

    1 tick per simulated second by default, so 8 hours take 28,800 ticks and
    minutes to run; the online revision runs every ``revise_seconds`` of
    simulated time. The central keeps ``2 × expiry`` of history and spreads
    a revision over ticks by the same time budget, as ``mlfn-central`` does
    for a live site.
    """
    from mlfn_keras.tracking.core.central import CentralAssociator
    from mlfn_keras.tracking.core.pipeline import PipelineConfig
    from mlfn_keras.tracking.site.central import CentralConfig

    config = PipelineConfig(revise_seconds=revise_seconds)
    central = CentralAssociator(config, online_revision=True, history_seconds=2 * config.expiry_seconds,
                                revise_budget_seconds=CentralConfig().revise_budget_seconds)
    out, times = [], []
    for tick in day_ticks(cameras, hours, tick_hz, people_per_hour, dim, seed):
        t0 = time.perf_counter()
        central.step(tick.cameras)
        times.append(time.perf_counter() - t0)
        if (tick.index + 1) % int(3600 * tick_hz) == 0:
            hour = (tick.index + 1) // int(3600 * tick_hz)
            row = DayHour(hour, _rss_mb(), [v * 1000 for v in percentiles(times)], len(central.store),
                          len(central.gallery), central.global_ids_given)
            out.append(row)
            log(f"hour {hour}: RSS {row.rss_mb:.0f} MB, tick p99 {row.tick_ms[2]:.1f} ms, {row.tracklets} tracklets held")
            times = []
    return out


@dataclass
class FinalDay:
    """The final re-clustering of a recorded day, one way of grouping."""

    window_seconds: float | None
    tracklets: int
    largest_group: int  # the most tracklets clustered at once
    seconds: float
    peak_mb: float  # the most memory it allocated at once (tracemalloc)
    identities: int
    pair_precision: float  # of the tracklet pairs given one id, the share that are one person
    pair_recall: float  # of the tracklet pairs that are one person, the share given one id


def finalize_day(cameras: int = 32, hours: float = 8.0, windows: Sequence[float | None] = (1800.0, None),
                 people_per_hour: int = 300, seed: int = 0, log: Callable[[str], None] = lambda line: None) -> list[FinalDay]:
    """A recorded day through the offline central, then its final ids grouped each way in ``windows``.

    The associator keeps every tracklet (as a recorded run does) and
    :meth:`~mlfn_keras.tracking.core.central.CentralAssociator.finalize`
    groups them by time window or, with ``None``, all at once; its time, peak
    allocation and pairwise precision / recall against who each track truly
    is are measured per way.
    """
    import tracemalloc

    from mlfn_keras.tracking.core.association.tracklets import time_windows
    from mlfn_keras.tracking.core.central import CentralAssociator
    from mlfn_keras.tracking.core.pipeline import PipelineConfig

    central = CentralAssociator(PipelineConfig(), online_revision=False)
    truth: dict[tuple[int, int], int] = {}
    for tick in day_ticks(cameras, hours, people_per_hour=people_per_hour, seed=seed):
        central.step(tick.cameras)
        truth.update(tick.people)
    log(f"final: {len(central.store)} tracklets of {hours:g} hours at {cameras} cameras recorded")
    out = []
    for window in windows:
        central.config.final_window_seconds = window
        largest = max((len(w) for w in time_windows(central.store.values(), window)), default=0)
        tracemalloc.start()
        t0 = time.perf_counter()
        final = central.finalize()
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        precision, recall = _pair_scores(final.ids, truth)
        out.append(FinalDay(window, len(final.ids), largest, seconds, peak, len(set(final.ids.values())),
                            precision, recall))
        log(f"final, window {window}: {seconds:.1f} s, peak {peak:.0f} MB, largest group {largest}")
    return out


def _pair_scores(ids: dict, truth: dict) -> tuple[float, float]:
    """Pairwise precision and recall of tracklet ids against the true people (counted, not listed)."""
    from collections import Counter

    joint = Counter((ids[k], truth[k[:2]]) for k in ids if k[:2] in truth)
    by_id = Counter(ids[k] for k in ids if k[:2] in truth)
    by_person = Counter(truth[k[:2]] for k in ids if k[:2] in truth)

    def pairs(counts) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    right = pairs(joint)
    return right / max(pairs(by_id), 1), right / max(pairs(by_person), 1)


class DuplicateAndReorder:
    """A delivery fault: repeats ``share`` of the entries the central reads and shuffles them, holding
    some back to the next read (as a flaky network and redeliveries would)."""

    def __init__(self, share: float = 0.1, seed: int = 0):
        import random

        self.share, self.rng = share, random.Random(seed)
        self._held: list = []

    def __call__(self, entries: list) -> list:
        out = list(entries) + [e for e in entries if self.rng.random() < self.share]
        held, self._held = self._held, [e for e in out if self.rng.random() < self.share]
        out = [e for e in out if e not in self._held] + held
        self.rng.shuffle(out)
        return out


def run_in_process(specs: Sequence[SourceSpec], out: Path, deliveries=None, reid: str = "hist",
                   detector: str = "bgsub", **central: Any) -> tuple[Any, dict[int, Any]]:
    """One edge thread per camera and a central, on fakeredis in this process; returns their summaries."""
    import threading

    import fakeredis

    from mlfn_keras.runtime import load_embedder
    from mlfn_keras.tracking.detection.detectors import build_detector
    from mlfn_keras.tracking.site.broker import RedisBroker
    from mlfn_keras.tracking.site.central import CentralConfig, run_central
    from mlfn_keras.tracking.site.edge import EdgeConfig, run_edge

    server = fakeredis.FakeServer()
    make = lambda: RedisBroker("redis://fake", client=fakeredis.FakeRedis(server=server))  # noqa: E731
    embedder = load_embedder(reid, what="--reid")
    quiet = lambda line: None  # noqa: E731
    edges: dict[int, Any] = {}

    def edge(i: int, spec: SourceSpec) -> None:
        edges[i] = run_edge(EdgeConfig(specs=[spec], edge=f"box{i}", log=quiet), build_detector(detector), embedder, make())

    threads = [threading.Thread(target=edge, args=(i, s), daemon=True) for i, s in enumerate(specs)]
    for t in threads:
        t.start()
    summary = run_central(CentralConfig(output_dir=str(out), edges=len(specs), log=quiet, deliveries=deliveries,
                                        **central), make())
    for t in threads:
        t.join(PROCESS_TIMEOUT)
    return summary, edges


# --------------------------------------------------------- the short scene
def short_scene():
    """6 people, 200 frames per camera at 15 FPS, 384x288: a few hand-offs in about 13 s."""
    from mlfn_keras.tracking.app.scene import SceneConfig

    return SceneConfig(num_people=6, num_frames=200, width=384, height=288, seed=0, pass_seconds=(2.5, 4.0),
                       transit_seconds=(0.5, 1.5))


def short_scene_files() -> tuple[list[SourceSpec], list[str]]:
    """``(specs, gt_paths)`` of :func:`short_scene` (rendered once, cached)."""
    from mlfn_keras.tracking.app.demo import scene_specs

    return scene_specs(short_scene(), progress=False)


def single_box(specs: Sequence[SourceSpec], out: Path, reid: str = "hist", detector: str = "bgsub") -> Path:
    """The single-box answer (``run_multicam``) on ``specs``; returns its output folder."""
    from mlfn_keras.tracking.app.runner import RunOptions, run_multicam
    from mlfn_keras.runtime import load_embedder
    from mlfn_keras.tracking.detection.detectors import build_detector

    run_multicam(specs, build_detector(detector), load_embedder(reid, what="--reid"), None,
                 RunOptions(output_dir=str(out), write_video=False, progress=False, log=lambda line: None))
    return Path(out)


def same_mot(a: Path, b: Path, names: Sequence[str] = ("cam0", "cam1"), kinds: Sequence[str] = ("mot", "mot_local")) -> list[str]:
    """The MOT files that differ between two run folders (empty: byte-identical)."""
    import filecmp

    return [f"{k}/{n}.txt" for k in kinds for n in names
            if not filecmp.cmp(Path(a) / k / f"{n}.txt", Path(b) / k / f"{n}.txt", shallow=False)]
