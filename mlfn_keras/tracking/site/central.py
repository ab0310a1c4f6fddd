"""The central identity service of a site: every edge's ticks in, one global id per person out.

:func:`run_central` reads every edge's stream through one consumer group,
puts the ticks back in order (:class:`~mlfn_keras.tracking.site.ordering.TickOrderer`),
runs the same central half as the single box
(:class:`~mlfn_keras.tracking.core.central.CentralAssociator`) on each
committed tick, publishes the ids back to the edges (``NS:ids``), and writes
what the single-box demo writes (``mot/NAME.txt``, ``mot_local/``,
``events.jsonl``, ``summary.json``, ``manifest.json``) and feeds the same live
views (``--serve``). As a loop of named steps:

1. ``_discover``: new edges from the registry (refusing unknown names,
   cameras another edge already has, newer protocol versions), and which
   edges went silent;
2. ``_receive``: read deliveries (the pending list first after a restart),
   drop what cannot be read, hand the rest to the orderer;
3. ``_commit``: each ready tick: restarted edges' and ended cameras' tracks
   end, then one associator step, outputs, the ids back to the edges;
4. ``_checkpoint``: every ``checkpoint_seconds`` the whole state goes to the
   broker, and only then are the messages it covers acknowledged; a restarted
   central (or a standby that takes the lease) resumes from it plus its
   pending list, and gives the same output as an uninterrupted run.

Cameras are numbered in name order once the expected edges (``--edges N``)
have registered, so the site's camera indices (and with them every tie-break
of the association) match a single box given the cameras in that order.
"""

from __future__ import annotations

import pickle
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlfn_keras.errors import UserError
from mlfn_keras.tracking.app.outputs import RunOutputs, finish_offline
from mlfn_keras.tracking.core import events as ev
from mlfn_keras.tracking.core.central import CentralAssociator
from mlfn_keras.tracking.core.pipeline import PipelineConfig
from mlfn_keras.tracking.core.updates import CameraTick
from mlfn_keras.tracking.site.broker import Broker, BrokerUnavailable, RedisBroker, redact
from mlfn_keras.tracking.site.messages import (
    NAMESPACE,
    EdgeHello,
    IdUpdate,
    Keys,
    ProtocolError,
    decode_message,
)
from mlfn_keras.tracking.site.ordering import Delivery, EdgeFeed, SiteTick, TickOrderer

#: Checkpoint format (a central refuses a checkpoint it cannot read; 2: a revision can be part-way done;
#: 3: the reviser remembers whether live links were made, for holding).
CHECKPOINT_VERSION = 3
#: A live edge whose clock is further off than this (seconds) is reported once.
SKEW_WARNING = 0.5
#: Entries kept in ``NS:ids``.
IDS_MAXLEN = 10_000


@dataclass
class CentralConfig:
    """Everything ``mlfn-central`` can set.

    Attributes:
        broker: ``redis://`` / ``rediss://`` URL.
        output_dir: write the run's files here (``None``: none).
        edges: wait for this many edges before committing, and finish when
            all of them have ended their (recorded) streams; ``None``: run
            until stopped, numbering cameras as edges arrive.
        allowed_edges: only these edge names (``None``: any).
        namespace: the site's key prefix.
        pipeline: the association settings (the same as the single box's).
        offline: re-cluster the whole run at the end (``None``: when every
            edge plays recorded files).
        serve: ``[HOST:]PORT`` of the live web view.
        on_serve: called with the web view's URL.
        settle_seconds: without ``edges``: cameras registered within this
            long of the first one are numbered together (name order).
        stale_seconds: an edge whose liveness key expired and that sent
            nothing for this long leaves the watermark; its tracks end.
        max_lag_seconds: a live edge holds the others back at most this long.
        gap_seconds: a hole in an edge's ticks is skipped after this long.
        checkpoint_seconds: time between checkpoints (and acknowledgements).
        lease_seconds: the active central's lease; a standby takes over this
            long after the active one stops renewing it.
        wait_lease: wait this long for the lease (``None``: forever, a standby).
        max_buffered: messages of one edge held in memory; the rest wait in the broker.
        revise_budget_seconds: online: a revision of the live ids (every
            ``pipeline.revise_seconds``) takes about this long of a tick at
            most and carries on at the next ticks, so ids keep flowing while
            many cameras are revised (``None``: each in one tick; recorded
            runs always do that, to give the same answer every time).
        tick_delay: extra seconds per committed tick for the first
            ``tick_delay_for`` seconds after the first commit (to test a slow central).
        tick_delay_for: see ``tick_delay``.
        deliveries: wraps the broker read (fault tests: duplicates, reordering).
        log: where messages go.
        progress: a progress line per 100 ticks.
    """

    broker: str = "redis://127.0.0.1:6379"
    output_dir: str | None = None
    edges: int | None = None
    allowed_edges: Sequence[str] | None = None
    namespace: str = NAMESPACE
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    offline: bool | None = None
    serve: str | None = None
    on_serve: Callable[[str], None] | None = None
    settle_seconds: float = 2.0
    stale_seconds: float = 10.0
    max_lag_seconds: float = 1.0
    gap_seconds: float = 5.0
    checkpoint_seconds: float = 2.0
    lease_seconds: float = 5.0
    wait_lease: float | None = None
    max_buffered: int = 64
    revise_budget_seconds: float | None = 0.02
    tick_delay: float = 0.0
    tick_delay_for: float = 0.0
    deliveries: Callable[[list], list] | None = None
    log: Callable[[str], None] | None = None
    progress: bool = False


@dataclass
class CentralSummary:
    """What a central run did (``summary.json`` of the run, under ``"site"``)."""

    ticks: int = 0
    messages: int = 0
    duplicates: int = 0
    late: int = 0
    gaps: int = 0
    refused: int = 0
    resumed: bool = False
    checkpoints: int = 0
    wall_seconds: float = 0.0
    tick_seconds: list[float] = field(default_factory=list)
    skew_seconds: dict[str, float] = field(default_factory=dict)
    edges: dict[str, dict[str, Any]] = field(default_factory=dict)
    global_ids: int = 0
    interrupted: bool = False
    revisions: int = 0  # online revisions of the live ids made
    revision_ticks: int = 0  # the ticks they were spread over (``revise_budget_seconds``)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "tick_seconds"}
        d["wall_seconds"] = round(self.wall_seconds, 3)
        d["skew_seconds"] = {k: round(v, 4) for k, v in self.skew_seconds.items()}
        return d


@dataclass
class _Camera:
    """A site camera: which edge has it, as which of its cameras."""

    index: int
    name: str
    edge: str
    local: int
    fps: float
    offset: int = 0  # added to the edge's track ids (bumped when the edge restarts)
    max_track: int = 0
    frames: int = 0
    last_frame: int = -1
    ended: bool = False


class CentralError(UserError):
    """The central cannot go on (lease lost, unreadable checkpoint)."""


class Central:
    """One central run (see the module docstring); :func:`run_central` drives it."""

    def __init__(self, config: CentralConfig, broker: Broker | None = None):
        self.config = config
        self.log = config.log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.broker = broker or RedisBroker(config.broker)
        self.keys = Keys(config.namespace)
        self.consumer = "central"
        self.orderer = TickOrderer(config.max_lag_seconds, config.gap_seconds)
        self.summary = CentralSummary()
        self.cameras: dict[str, _Camera] = {}  # by name
        self._by_edge: dict[tuple[str, int], _Camera] = {}
        self.hellos: dict[str, EdgeHello] = {}
        self.associator: CentralAssociator | None = None
        self.outputs: RunOutputs | None = None
        self.offline = bool(config.offline)
        self.seq = 0
        self._to_ack: dict[str, list[str]] = {}
        self._refused_logged: set[str] = set()
        self._first_hello: float | None = None
        self._last_discover = 0.0
        self._last_checkpoint = time.monotonic()
        self._dirty = False
        self._read_pending = True
        self._lease = None
        self._started = time.monotonic()
        self._last_now = 0.0
        self._fps: dict[int, float] = {}
        self._slow_since: float | None = None

    # ---------------------------------------------------------------- start
    def start(self) -> None:
        """Checks the broker, takes the lease, resumes from a checkpoint if there is one."""
        self.broker.ping()
        holder = getattr(self.broker, "lease_holder", lambda name: None)(self.keys.lease)
        if holder:
            self.log(f"another central holds the lease ({holder}); waiting to take over")
        self._lease = self.broker.lease(self.keys.lease, int(self.config.lease_seconds * 1000), self.config.wait_lease)
        if self._lease is None:
            raise CentralError(f"another central holds the lease of site {self.config.namespace!r} on "
                               f"{redact(self.broker.url)}; expected to be the only active central (or pass a longer wait)")
        self._last_renew = time.monotonic()
        blob = self.broker.get(self.keys.checkpoint)
        if blob is not None:
            self._restore(blob)

    def _renew_lease(self) -> None:
        if time.monotonic() - self._last_renew < self.config.lease_seconds / 3:
            return
        if not self._lease.renew():
            raise CentralError("lost the central lease (another central took over after this one stalled); stopping")
        self._last_renew = time.monotonic()

    # ------------------------------------------------------------ discovery
    @property
    def ready(self) -> bool:
        """Whether the cameras are numbered (committing can start)."""
        return self.associator is not None

    def _discover(self, now: float) -> None:
        if now - self._last_discover < 0.5 and self.ready:
            return
        self._last_discover = now
        for name, data in sorted(self.broker.hgetall(self.keys.edges).items()):
            try:
                hello = EdgeHello.decode(data)
            except ProtocolError as exc:
                self._refuse(name, f"edge {name!r} refused: {exc}")
                continue
            if name in self.hellos and self.hellos[name].epoch == hello.epoch:
                continue
            self._register(hello)
        if not self.ready:
            n, expected = len(self.hellos), self.config.edges
            settled = self._first_hello is not None and now - self._first_hello >= self.config.settle_seconds
            if (expected is not None and n >= expected) or (expected is None and n and settled):
                self._number_cameras()
        self._check_alive(now)

    def _refuse(self, key: str, line: str) -> None:
        self.summary.refused += 1
        if key not in self._refused_logged:
            self._refused_logged.add(key)
            self.log(line)

    def _register(self, hello: EdgeHello) -> None:
        allowed = self.config.allowed_edges
        if allowed is not None and hello.edge not in allowed:
            return self._refuse(hello.edge, f"edge {hello.edge!r} refused: not in --allow-edges ({', '.join(allowed)})")
        owners = {c: h.edge for h in self.hellos.values() for c in h.cameras}
        for cam in hello.cameras:
            owner = owners.get(cam)
            if owner is not None and owner != hello.edge:
                return self._refuse(hello.edge, f"edge {hello.edge!r} refused: camera name {cam!r} belongs to edge "
                                                f"{owner!r}; camera names must be unique on the site")
        known = self.hellos.get(hello.edge)
        if known is not None and known.cameras != hello.cameras:
            return self._refuse(hello.edge, f"edge {hello.edge!r} refused: it restarted with cameras {hello.cameras}, "
                                            f"not {known.cameras}; restart the central to change a site's cameras")
        if self.ready and known is None and self.config.edges is not None:
            return self._refuse(hello.edge, f"edge {hello.edge!r} refused: the run expects {self.config.edges} edges, "
                                            f"which have registered already")
        self.hellos[hello.edge] = hello
        if self._first_hello is None:
            self._first_hello = time.monotonic()
        feed = self.orderer.feed(hello.edge, hello.recorded, hello.tick_hz)
        feed.recorded, feed.tick_hz = hello.recorded, hello.tick_hz
        self.broker.ensure_group(self.keys.up(hello.edge), self.keys.group)
        if known is None:
            self.log(f"edge {hello.edge!r} registered ({hello.host}, cameras {', '.join(hello.cameras)}, epoch {hello.epoch})")
        if self.ready and known is None:
            self._add_cameras(hello)

    def _add_cameras(self, hello: EdgeHello) -> None:
        for local, (name, fps) in enumerate(zip(hello.cameras, hello.fps)):
            if name in self.cameras:
                continue
            cam = _Camera(len(self.cameras), name, hello.edge, local, fps)
            self.cameras[name] = cam
            self._by_edge[(hello.edge, local)] = cam
            if self.outputs is not None:
                self.log(f"camera {name!r} of edge {hello.edge!r} joined after the start; it is tracked but not recorded "
                         "(restart the central to record it)")

    def _number_cameras(self) -> None:
        """Numbers the registered cameras in name order and opens the outputs."""
        every = sorted((name, h.edge, local, fps) for h in self.hellos.values()
                       for local, (name, fps) in enumerate(zip(h.cameras, h.fps)))
        for index, (name, edge, local, fps) in enumerate(every):
            cam = _Camera(index, name, edge, local, fps)
            self.cameras[name] = cam
            self._by_edge[(edge, local)] = cam
        if self.config.offline is None:
            self.offline = all(h.recorded for h in self.hellos.values())
        # A live site runs for days: it keeps twice the identity expiry of history; recorded runs keep all.
        history = None if self.offline else 2 * self.config.pipeline.expiry_seconds
        budget = None if self.offline else self.config.revise_budget_seconds  # recorded runs: the same answer every time
        self.associator = CentralAssociator(self.config.pipeline, history_seconds=history, revise_budget_seconds=budget)
        self._open_outputs(None)
        self.log(f"site cameras: {', '.join(f'{c.index}={c.name} ({c.edge})' for c in self._ordered())}; "
                 f"{'offline (recorded files: re-clustered at the end)' if self.offline else 'online'}")

    def _ordered(self) -> list[_Camera]:
        return sorted(self.cameras.values(), key=lambda c: c.index)

    def _open_outputs(self, resume: dict[str, Any] | None) -> None:
        cams = self._ordered()
        views = []
        if self.config.serve:
            from mlfn_keras.tracking.view.web import start_web_view

            views = [v for v in [start_web_view(self.config.serve, [c.name for c in cams])] if v is not None]
            if views and self.config.on_serve:
                self.config.on_serve(views[0].url)
        self.outputs = RunOutputs([c.name for c in cams], [c.fps for c in cams], None, False, views, False, self.log)
        if self.associator is not None:
            self.outputs.follow(self.associator.tracklet_gid)  # the page follows merges and splits
        if self.config.output_dir:
            from mlfn_keras.tracking.app.recorder import RunRecorder

            self.outputs.recorder = RunRecorder(self.config.output_dir, [c.name for c in cams], [c.fps for c in cams],
                                                write_video=False, keep_rows=self.offline, resume=resume)

    def _check_alive(self, now: float) -> None:
        for edge, feed in self.orderer.feeds.items():
            if feed.done or edge not in self.hellos:
                continue
            silent = time.time() - feed.last_received if feed.last_received else time.monotonic() - self._started
            alive = self.broker.get(self.keys.alive(edge)) is not None
            if not feed.stale and not alive and silent > self.config.stale_seconds:
                self.orderer.set_stale(edge)
                self.log(f"edge {edge!r} silent for {silent:.0f} s; its tracks end and the others go on without it")
                if self.ready:
                    self._end_edge(edge, stream_end=False)

    # -------------------------------------------------------------- receive
    def _receive(self) -> int:
        # An edge far ahead is not read further until the others catch up: its backlog waits in the
        # broker (capped), not in this process.
        streams = [self.keys.up(e) for e in sorted(self.hellos)
                   if len(self.orderer.feed(e).buffer) < self.config.max_buffered]
        if not streams:
            time.sleep(0.05)
            return 0
        if self._read_pending:  # after a (re)start: what was delivered before and never acknowledged
            entries = []
            for s in streams:
                self.broker.claim(s, self.keys.group, self.consumer)  # take over a lost consumer's pending entries
                entries += self.broker.read_pending(self.keys.group, self.consumer, s)
            self._read_pending = False
        else:
            entries = self.broker.read_group(self.keys.group, self.consumer, streams, self.config.max_buffered, 50)
        if self.config.deliveries is not None:
            entries = self.config.deliveries(entries)
        received = time.time()
        for stream, entry_id, fields in entries:
            edge = stream[len(self.keys.up("")):]
            self._to_ack.setdefault(stream, []).append(entry_id)
            self._dirty = True
            try:
                msg = decode_message(fields)
            except ProtocolError as exc:
                self._refuse(f"{edge}:msg", f"message {entry_id} on edge {edge!r}'s stream refused: {exc}")
                continue
            if msg.edge != edge:
                self._refuse(f"{edge}:name", f"message {entry_id} on edge {edge!r}'s stream refused: it says it is "
                                             f"from edge {msg.edge!r}")
                continue
            self.summary.messages += 1
            skew = received - msg.t_sent  # network delay + clock offset; its minimum is the offset's bound
            self.summary.skew_seconds[edge] = min(self.summary.skew_seconds.get(edge, skew), skew)
            if abs(self.summary.skew_seconds[edge]) > SKEW_WARNING and not self.orderer.feed(edge).recorded:
                self._refuse(f"{edge}:skew", f"edge {edge!r}'s clock is {self.summary.skew_seconds[edge]:+.2f} s off "
                                             f"this central's; live ticks are aligned on capture time: sync the boxes (NTP/chrony)")
                self.summary.refused -= 1  # a warning, not a refusal
            self.orderer.add(Delivery(msg, entry_id, received))
        return len(entries)

    # --------------------------------------------------------------- commit
    def _commit(self, site_tick: SiteTick) -> None:
        t0 = time.perf_counter()
        a, out = self.associator, self.outputs
        ends: list[ev.Event] = []
        closing: list[CameraTick] = []
        frames: list[CameraTick] = []
        for d in site_tick.deliveries:
            msg = d.message
            if msg.reset:  # the edge restarted: the tracks it had are gone
                ends += self._end_edge(msg.edge, stream_end=False, record=False)
                for cam in self._edge_cameras(msg.edge):
                    cam.offset = cam.max_track
            for tick in msg.cameras:
                cam = self._by_edge.get((msg.edge, tick.camera))
                if cam is not None:
                    (closing if tick.end_of_stream else frames).append(self._to_site(cam, tick))
        # As one box does: ended cameras first, in camera order, then one step over the frames.
        for tick in sorted(closing, key=lambda t: t.camera):
            ends += a.end_camera(tick) + [ev.StreamEnd(tick.camera, tick.frame, tick.timestamp)]
            self._site_camera(tick.camera).ended = True
        frames.sort(key=lambda t: t.camera)
        for tick in frames:
            cam = self._site_camera(tick.camera)
            cam.frames, cam.last_frame = cam.frames + 1, tick.frame
        out.events(ends)
        t_commit = time.time()
        events: list[ev.Event] = []
        if frames:
            events, _ = a.step(frames)
            self._last_now = max(self._last_now, max(t.timestamp for t in frames))
            for t in frames:
                out.frame(t.camera, t.frame, a.camera_result(t).objects, time=t.timestamp)
            out.events(events)
            out.show(ends + events, [self._fps.get(c.index, 0.0) for c in self._ordered()])
        self._publish_ids(site_tick, events, t_commit)
        for d in site_tick.deliveries:
            if d.message.done:
                self.orderer.mark_done(d.message.edge)
        self.summary.ticks += 1
        self._dirty = True
        self.summary.tick_seconds.append(time.perf_counter() - t0)
        if self.config.tick_delay:
            self._slow_since = self._slow_since or time.monotonic()
            if time.monotonic() - self._slow_since < self.config.tick_delay_for:
                time.sleep(self.config.tick_delay)

    def _site_camera(self, index: int) -> _Camera:
        return self._ordered()[index]

    def _edge_cameras(self, edge: str) -> list[_Camera]:
        return [c for c in self._ordered() if c.edge == edge]

    def _to_site(self, cam: _Camera, tick: CameraTick) -> CameraTick:
        """The edge's camera tick in site numbering (camera index, track ids after a restart's offset)."""
        if len(tick.track_ids):
            cam.max_track = max(cam.max_track, int(tick.track_ids.max()) + cam.offset)
        for t in tick.started:
            cam.max_track = max(cam.max_track, t + cam.offset)
        if cam.offset:
            tick.track_ids = tick.track_ids + cam.offset
            tick.started = [t + cam.offset for t in tick.started]
            tick.ended = [t + cam.offset for t in tick.ended]
            for e in tick.embeddings:
                e.track += cam.offset
        tick.camera = cam.index
        return tick

    def _end_edge(self, edge: str, stream_end: bool, record: bool = True) -> list[ev.Event]:
        """Ends every live track of an edge's cameras (it restarted or went silent)."""
        events: list[ev.Event] = []
        for cam in self._edge_cameras(edge):
            if cam.ended:
                continue
            tick = CameraTick(cam.index, cam.last_frame + 1, self._last_now, end_of_stream=True)
            events += self.associator.end_camera(tick)
            if stream_end:
                events.append(ev.StreamEnd(cam.index, tick.frame, tick.timestamp))
        if record and self.outputs is not None:
            self.outputs.events(events)
        return events

    def _publish_ids(self, site_tick: SiteTick, events: Sequence[ev.Event], t_commit: float) -> None:
        cams = {c.index: c for c in self.cameras.values()}
        update = IdUpdate(self.seq, site_tick.tick)
        for e in events:
            if isinstance(e, ev.GlobalIdAssigned) and e.camera in cams:
                cam = cams[e.camera]
                segment = self.associator.track_segment((e.camera, e.track))
                epoch = self.hellos[cam.edge].epoch if cam.edge in self.hellos else 0
                update.assigned.append([cam.edge, epoch, cam.local, e.track - cam.offset, segment, e.global_id])
            elif isinstance(e, ev.IdentitiesMerged):
                update.merged.append([e.kept, e.removed])
            elif isinstance(e, ev.IdentitySplit):  # the live tracks that now show another id
                for camera, track, segment in e.live:
                    if camera in cams:
                        cam = cams[camera]
                        epoch = self.hellos[cam.edge].epoch if cam.edge in self.hellos else 0
                        update.assigned.append([cam.edge, epoch, cam.local, track - cam.offset, segment, e.new_global_id])
        t_published = time.time()
        update.timing = {d.message.edge: [d.message.t_sent, d.received, t_commit, t_published] for d in site_tick.deliveries}
        if update.assigned or update.merged:
            self.broker.publish(self.keys.ids, update.entry_id, update.encode(), maxlen=IDS_MAXLEN)
            self.seq += 1

    # ----------------------------------------------------------- checkpoint
    def _checkpoint(self, force: bool = False) -> None:
        if not self._dirty or (not force and time.monotonic() - self._last_checkpoint < self.config.checkpoint_seconds):
            return
        state = {
            "version": CHECKPOINT_VERSION,
            "associator": self.associator,
            "cameras": self.cameras,
            "hellos": self.hellos,
            "feeds": {e: f.state() for e, f in self.orderer.feeds.items()},
            "committed": self.orderer.committed,
            "counts": self.orderer.counts,
            "seq": self.seq,
            "offline": self.offline,
            "last_now": self._last_now,
            "summary": {k: v for k, v in self.summary.__dict__.items() if k != "tick_seconds"},
            "recorder": self.outputs.recorder.checkpoint() if self.outputs and self.outputs.recorder else None,
        }
        # Only what the checkpoint covers is acknowledged: buffered messages stay pending.
        buffered = {d.entry_id for f in self.orderer.feeds.values() for d in f.buffer.values()}
        self.broker.set(self.keys.checkpoint, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        for stream, ids in self._to_ack.items():
            done = [i for i in ids if i not in buffered]
            self.broker.ack(stream, self.keys.group, done)
            self._to_ack[stream] = [i for i in ids if i in buffered]
        self.summary.checkpoints += 1
        self._last_checkpoint = time.monotonic()
        self._dirty = False

    def _restore(self, blob: bytes) -> None:
        try:
            state = pickle.loads(blob)
            if state.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {state.get('version')}")
        except Exception as exc:
            raise CentralError(f"the checkpoint in {self.keys.checkpoint!r} cannot be read ({exc}); expected one this "
                               f"version wrote (delete the key to start the site afresh)") from None
        self.associator = state["associator"]
        self.cameras = state["cameras"]
        self._by_edge = {(c.edge, c.local): c for c in self.cameras.values()}
        self.hellos = state["hellos"]
        self.orderer.feeds = {e: EdgeFeed.from_state(f) for e, f in state["feeds"].items()}
        self.orderer.committed = state["committed"]
        self.orderer.counts = state["counts"]
        self.seq, self.offline, self._last_now = state["seq"], state["offline"], state["last_now"]
        for k, v in state["summary"].items():
            setattr(self.summary, k, v)
        self.summary.resumed = True
        self._first_hello = time.monotonic()
        self._open_outputs(state["recorder"])
        self.log(f"resumed from the checkpoint: {self.summary.ticks} ticks committed, "
                 f"{len(self.cameras)} cameras; re-reading the pending messages")

    # ------------------------------------------------------------------ run
    @property
    def finished(self) -> bool:
        """A run with ``edges``: every expected edge ended its streams and everything is committed."""
        if self.config.edges is None or not self.ready:
            return False
        feeds = [self.orderer.feeds.get(e) for e in self.hellos]
        return len(feeds) >= self.config.edges and all(f is not None and f.done for f in feeds) and not self.orderer.pending()

    def step(self) -> None:
        """One pass of the loop: discover, receive, commit what is ready, checkpoint."""
        now = time.monotonic()
        self._renew_lease()
        self._discover(now)
        if not self.ready:
            time.sleep(0.05)
            return
        self._receive()
        for site_tick in self.orderer.ready(time.time()):
            self._renew_lease()
            self._commit(site_tick)
            if site_tick.late:
                self.summary.late = self.orderer.counts.late
        self._checkpoint()

    def finish(self) -> CentralSummary:
        """Ends the run: final ids (offline, once every edge finished), outputs closed, ``summary.json``.

        A run stopped before its edges finished keeps its checkpoint: starting
        the central again resumes it.
        """
        s = self.summary
        s.duplicates, s.late, s.gaps = self.orderer.counts.duplicates, self.orderer.counts.late, self.orderer.counts.gaps
        s.wall_seconds += time.monotonic() - self._started
        if self.associator is None:
            return s
        complete = self.finished
        if not complete:
            try:
                self._checkpoint(force=True)
            except BrokerUnavailable:
                self.log("the broker is unreachable: the last checkpoint stays the one to resume from")
        for edge in self.hellos:
            self._end_edge(edge, stream_end=False)
        out = self.outputs
        out.close_views()
        final = finish_offline(self.associator, out, self._last_now, self.log) if self.offline and complete else None
        s.global_ids = final.event.global_ids if final is not None else self.associator.global_ids_given
        s.revisions, s.revision_ticks = self.associator.stats["revisions"], self.associator.stats["revision_ticks"]
        s.edges = {e: {"epoch": h.epoch, "host": h.host, "cameras": h.cameras} for e, h in self.hellos.items()}
        cams = [{"name": c.name, "edge": c.edge, "source": f"edge {c.edge}", "kind": "site", "frames": c.frames,
                 "fps": c.fps} for c in self._ordered()]
        out.close({"cameras": cams, "ticks": s.ticks, "wall_seconds": round(s.wall_seconds, 3),
                   "tracker_stats": dict(self.associator.stats), "global_ids": s.global_ids,
                   "interrupted": s.interrupted, "site": s.to_dict()})
        return s

    def clean_up(self) -> None:
        """Removes a finished run's streams, registry, checkpoint and lease (the next run starts afresh)."""
        keys = [self.keys.up(e) for e in self.hellos] + [self.keys.alive(e) for e in self.hellos]
        self.broker.delete(*keys, self.keys.edges, self.keys.checkpoint, self.keys.ids)
        if self._lease is not None:
            self._lease.release()


def run_central(config: CentralConfig, broker: Broker | None = None) -> CentralSummary:
    """Runs the central until the expected edges finish (``config.edges``) or Ctrl-C.

    A lost broker connection is retried with back-off (the edges keep their
    messages); the run's files are always closed and ``summary.json`` written.

    Raises:
        BrokerError: a bad URL or refused credentials.
        CentralError: another central holds the lease, or the lease was lost.
    """
    central = Central(config, broker)
    log = central.log
    central.start()
    backoff, last_line = 0.1, 0.0
    try:
        while not central.finished:
            try:
                central.step()
                backoff = 0.1
            except BrokerUnavailable as exc:
                if time.monotonic() - last_line > 5:
                    log(f"{exc}; retrying (the edges keep their messages)")
                    last_line = time.monotonic()
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                central._read_pending = True
    except KeyboardInterrupt:
        central.summary.interrupted = True
        log("Interrupted: flushing outputs.")
    finished = central.finished
    summary = central.finish()
    if finished:
        central.clean_up()
    else:
        log("stopped before the edges finished: start the central again to resume from its checkpoint")
    log(f"central: {summary.ticks} ticks committed from {len(central.hellos)} edges; {summary.global_ids} global ids; "
        f"{summary.duplicates} duplicates, {summary.late} late, {summary.gaps} gaps, {summary.refused} refused; "
        f"host {socket.gethostname()}")
    return summary
