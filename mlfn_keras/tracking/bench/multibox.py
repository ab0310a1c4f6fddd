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
from collections.abc import Callable, Sequence
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
    """

    specs: Sequence[SourceSpec]
    out: Path
    reid: str = "hist"
    detector: str = "bgsub"
    realtime: bool = False
    edge_args: Sequence[str] = ()
    central_args: Sequence[str] = ()
    redis: LocalRedis | None = None
    edges: dict[int, subprocess.Popen] = field(default_factory=dict)
    central: subprocess.Popen | None = None
    _logs: list[Any] = field(default_factory=list)

    def __post_init__(self):
        self.out = Path(self.out)
        self.out.mkdir(parents=True, exist_ok=True)

    def start_redis(self) -> LocalSite:
        self.redis = LocalRedis().start()
        return self

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(self.out / f"{name}.log", "a")
        self._logs.append(log)
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env())

    def start_edge(self, i: int) -> subprocess.Popen:
        s = self.specs[i]
        args = ["--broker", self.redis.url, "--cams", str(s.target), "--names", s.name, "--edge", f"box{i}",
                "--detector", self.detector, "--reid", self.reid, "--quiet", "--summary", str(self.out / f"edge{i}.json"),
                "--start-times", str(s.start_time), *self.edge_args]
        if self.realtime:
            args.append("--realtime")
        self.edges[i] = self._spawn(f"edge{i}", _cli("edge_main", *args))
        return self.edges[i]

    def start_central(self) -> subprocess.Popen:
        args = ["--broker", self.redis.url, "--edges", str(len(self.specs)), "--output", str(self.out / "central"),
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

        return RedisBroker(self.redis.url)

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
