"""An edge box of a site: its cameras in, one message per tick out to the broker.

:func:`run_edge` reads the box's cameras (:class:`~mlfn_keras.tracking.app.cameras.CameraSet`),
detects, and runs the edge half of the tracker
(:class:`~mlfn_keras.tracking.core.edge.EdgeTracker`); each tick becomes one
:class:`~mlfn_keras.tracking.site.messages.EdgeMessage` on the edge's stream,
published by :class:`Publisher` on its own thread so capture never waits for
the network:

* entry ids are the ticks (``{tick}-1``), so a publish retried after a lost
  reply is refused by the broker as already stored;
* the outgoing queue is bounded (``queue_seconds`` of ticks); while the
  broker is away it reconnects with back-off, and when the queue is full a
  live edge drops ticks that carry only boxes first (never a track's start or
  end, an embedding or a restart), counting what it dropped; an edge playing
  recorded files waits instead (nothing is lost, the answer stays exact);
* the stream is capped (``MAXLEN ~``) so a dead central cannot fill the broker.

A restarted edge reads its stream's last entry: it takes the next epoch
(the central ends the tracks it had: people come back as re-entries) and,
for recorded files, resumes at the tick after the last one published.

Global ids come back on ``NS:ids`` (:class:`IdListener`): the edge keeps each
of its tracks' ids and measures, per track, the time from the capture of the
frame in which it became ready for an id to the id's arrival, split by hop.
"""

from __future__ import annotations

import collections
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlfn_keras.tracking.app.cameras import CameraSet
from mlfn_keras.tracking.app.sources import SourceSpec
from mlfn_keras.tracking.core.edge import EdgeTracker
from mlfn_keras.tracking.core.pipeline import PipelineConfig, camera_fps
from mlfn_keras.tracking.core.reid import Embedder
from mlfn_keras.tracking.site.broker import Broker, BrokerError, BrokerUnavailable, RedisBroker, redact
from mlfn_keras.tracking.site.messages import (
    NAMESPACE,
    EdgeHello,
    EdgeMessage,
    IdUpdate,
    Keys,
    ProtocolError,
    decode_message,
    encode_message,
)

#: Edge streams keep about this many entries (10 minutes at 15 ticks per second).
STREAM_MAXLEN = 9000
#: The liveness key expires this long after the edge's last refresh.
ALIVE_MS = 3000


@dataclass
class PublisherStats:
    """What the publisher did."""

    published: int = 0
    already_stored: int = 0
    dropped_boxes: int = 0
    dropped_other: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    max_queue: int = 0
    bytes: int = 0


class Publisher:
    """Publishes an edge's messages from a bounded queue on its own thread (see the module docstring).

    Args:
        broker: the broker.
        keys: the site's keys.
        edge: the edge's name.
        capacity: messages the queue holds.
        wait_when_full: recorded files: wait for room instead of dropping.
        prev: the last tick already in the stream (``-1``: none).
        fp16: send embeddings as float16.
        maxlen: stream cap.
        log: where messages go.
    """

    def __init__(self, broker: Broker, keys: Keys, edge: str, capacity: int, wait_when_full: bool, prev: int = -1,
                 fp16: bool = False, maxlen: int = STREAM_MAXLEN, log: Callable[[str], None] = print):
        self.broker, self.keys, self.edge = broker, keys, edge
        self.capacity, self.wait_when_full, self.prev = max(2, capacity), wait_when_full, prev
        self.fp16, self.maxlen, self.log = fp16, maxlen, log
        self.stats = PublisherStats()
        self._queue: collections.deque[EdgeMessage] = collections.deque()
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"publish-{edge}", daemon=True)
        self._last_alive = 0.0
        self._down_since: float | None = None

    def start(self) -> Publisher:
        self._thread.start()
        return self

    def put(self, msg: EdgeMessage) -> None:
        """Queues a message; never blocks a live edge (drops instead, box-only ticks first)."""
        with self._cond:
            if len(self._queue) >= self.capacity:
                if self.wait_when_full:
                    t0 = time.monotonic()
                    while len(self._queue) >= self.capacity and not self._stop:
                        self._cond.wait(0.1)
                    self.stats.waited_seconds += time.monotonic() - t0
                else:
                    self._drop_one()
            self._queue.append(msg)
            self.stats.max_queue = max(self.stats.max_queue, len(self._queue))
            self._cond.notify_all()

    def _drop_one(self) -> None:
        for i, queued in enumerate(self._queue):
            if i and not queued.essential:  # never the head: it may be on the wire
                del self._queue[i]
                self.stats.dropped_boxes += 1
                return
        if len(self._queue) > 1:
            del self._queue[1]
            self.stats.dropped_other += 1

    def _run(self) -> None:
        backoff = 0.1
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait(0.5)
                    self._heartbeat()
                if not self._queue and self._stop:
                    return
                msg = self._queue[0]
            msg.prev = self.prev
            try:
                self._heartbeat()
                msg.t_sent = time.time()
                fields = encode_message(msg, self.fp16)
                stored = self.broker.publish(self.keys.up(self.edge), msg.entry_id, fields, maxlen=self.maxlen)
            except BrokerUnavailable as exc:
                self.stats.retries += 1
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    self.log(f"[{self.edge}] {exc}; queueing (up to {self.capacity} ticks) and retrying")
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            except Exception as exc:  # the publisher must outlive anything one message does
                self.stats.retries += 1
                self.log(f"[{self.edge}] publishing tick {msg.tick} failed ({exc!r}); retrying")
                time.sleep(1.0)
                continue
            if self._down_since is not None:
                self.log(f"[{self.edge}] broker back after {time.monotonic() - self._down_since:.1f} s")
                self._down_since = None
            backoff = 0.1
            self.stats.published += stored
            self.stats.already_stored += not stored
            self.stats.bytes += sum(len(v) for v in fields.values())
            with self._cond:
                self._queue.popleft()
                self.prev = msg.tick
                self._cond.notify_all()

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_alive < 1.0:
            return
        try:
            self.broker.set(self.keys.alive(self.edge), b"1", ttl_ms=ALIVE_MS)
            self._last_alive = time.monotonic()
        except BrokerUnavailable:
            pass

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every queued message is published; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.1 if left is None else min(0.1, left))
        return True

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(5.0)


class IdListener:
    """Reads ``NS:ids`` on its own thread: this edge's tracks' global ids and their latency.

    Args:
        broker: the broker.
        keys: the site's keys.
        edge: this edge's name.
        epoch: this edge's epoch (ids for an earlier epoch's tracks are ignored).
    """

    def __init__(self, broker: Broker, keys: Keys, edge: str, epoch: int):
        self.broker, self.keys, self.edge, self.epoch = broker, keys, edge, epoch
        self.ids: dict[tuple[int, int, int], int] = {}
        #: capture time of the frame in which a track became ready, per (camera, track, segment)
        self.ready_at: dict[tuple[int, int, int], float] = {}
        #: per track given an id: [total, capture→sent, sent→received, waiting for the watermark, central, back to the edge]
        self.latencies: list[list[float]] = []
        self.merges = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._after = "$"
        self._thread = threading.Thread(target=self._run, name=f"ids-{edge}", daemon=True)

    def start(self) -> IdListener:
        try:
            last = self.broker.last_entry(self.keys.ids)
            self._after = last[0] if last else "0-0"
        except BrokerUnavailable:
            self._after = "0-0"
        self._thread.start()
        return self

    def became_ready(self, camera: int, track: int, segment: int, captured: float) -> None:
        with self._lock:
            self.ready_at[(camera, track, segment)] = captured

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rows = self.broker.read(self.keys.ids, self._after, 100, 500)
            except BrokerUnavailable:
                self._stop.wait(0.5)
                continue
            received = time.time()
            for entry_id, fields in rows:
                self._after = entry_id
                try:
                    update = IdUpdate.decode(fields)
                except ProtocolError:
                    continue
                self._apply(update, received)

    def _apply(self, update: IdUpdate, received: float) -> None:
        timing = update.timing.get(self.edge)
        with self._lock:
            self.merges += len(update.merged)
            for edge, epoch, camera, track, segment, gid in update.assigned:
                if edge != self.edge or epoch != self.epoch:
                    continue
                key = (int(camera), int(track), int(segment))
                self.ids[key] = int(gid)
                captured = self.ready_at.pop(key, None)
                if captured is not None and timing is not None:
                    sent, got, committed, published = timing
                    self.latencies.append([received - captured, sent - captured, got - sent, committed - got,
                                           published - committed, received - published])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


@dataclass
class EdgeConfig:
    """Everything ``mlfn-edge`` can set.

    Attributes:
        broker: ``redis://`` / ``rediss://`` URL.
        specs: the box's cameras.
        edge: the edge's name (default: the host name).
        namespace: the site's key prefix.
        pipeline: tracking settings (the central must use the same).
        max_frames: stop each camera after this many frames.
        fp16: send embeddings as float16 (half the bytes; not bit-exact).
        tick_hz: live cameras: ticks per second (a tick is a capture time in these steps).
        queue_seconds: outgoing queue, in seconds of ticks.
        realtime: recorded files: play at their frame rate (as a camera would).
        flush_seconds: at the end, how long to wait for the broker to take the last messages.
        log: where messages go.
        progress: a progress bar.
    """

    broker: str = "redis://127.0.0.1:6379"
    specs: Sequence[SourceSpec] = ()
    edge: str | None = None
    namespace: str = NAMESPACE
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    max_frames: int | None = None
    fp16: bool = False
    tick_hz: float = 30.0
    queue_seconds: float = 2.0
    realtime: bool = False
    flush_seconds: float = 60.0
    log: Callable[[str], None] | None = None
    progress: bool = False


@dataclass
class EdgeSummary:
    """What an edge run did."""

    edge: str
    epoch: int
    ticks: int = 0
    resumed_at: int = 0
    cameras: list[dict[str, Any]] = field(default_factory=list)
    publisher: PublisherStats = field(default_factory=PublisherStats)
    ids: int = 0
    latencies: list[list[float]] = field(default_factory=list)
    wall_seconds: float = 0.0
    flushed: bool = True
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["publisher"] = dict(self.publisher.__dict__)
        return d


def default_edge_name() -> str:
    return socket.gethostname().split(".")[0] or "edge"


def check_names(names: Sequence[str], what: str = "camera") -> None:
    """Refuses names that are empty, repeated or unsafe as file names."""
    import re

    for n in names:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", n):
            raise BrokerError(f"{what} name {n!r}: expected letters, digits, '.', '_' or '-' (at most 64), "
                              "starting with a letter or digit")
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise BrokerError(f"{what} names must be unique; got {', '.join(dup)} more than once")


def run_edge(config: EdgeConfig, detector, embedder: Embedder, broker: Broker | None = None) -> EdgeSummary:
    """Runs one edge box until its cameras end (or Ctrl-C).

    Args:
        config: the edge's settings.
        detector: person detector for a batch of frames.
        embedder: re-id embedder for a batch of crops.
        broker: an existing broker connection (default: ``config.broker``).

    Returns:
        What it did (messages, drops, ids received, latencies).

    Raises:
        BrokerError: bad URL, refused credentials, bad names.
        BrokerUnavailable: the broker cannot be reached at the start.
        NoFramesError: no camera delivered a frame.
    """
    from mlfn_keras.tracking.app.runner import NoFramesError

    log = config.log or (lambda line: print(line, file=sys.stderr, flush=True))
    edge = config.edge or default_edge_name()
    check_names([edge], "edge")
    check_names([s.name for s in config.specs])
    broker = broker or RedisBroker(config.broker)
    keys = Keys(config.namespace)
    broker.ping()
    epoch, tick, prev = _resume_point(broker, keys, edge)
    summary = EdgeSummary(edge, epoch, resumed_at=tick)
    if prev >= 0 and tick < 0:
        log(f"[{edge}] its stream already ends with its last message; nothing to do")
        return summary
    cameras = CameraSet(config.specs, max_frames=config.max_frames, log=log)
    recorded = not cameras.live
    hello = EdgeHello(edge, cameras.names, cameras.fps, epoch, recorded, socket.gethostname(), config.tick_hz)
    broker.hset(keys.edges, edge, hello.encode())
    rate = max(cameras.fps) if cameras.fps else 15.0
    # Recorded files run faster than real time: a deeper queue keeps the reader from waiting on the publisher.
    capacity = int(config.queue_seconds * config.tick_hz) if not recorded else max(512, int(config.queue_seconds * rate))
    publisher = Publisher(broker, keys, edge, capacity,
                          wait_when_full=recorded, prev=prev, fp16=config.fp16, log=log).start()
    ids = IdListener(broker, keys, edge, epoch).start()
    tracker = EdgeTracker(camera_fps(cameras.fps, len(cameras.cameras)), embedder, config.pipeline)
    log(f"[{edge}] publishing to {redact(broker.url)} as epoch {epoch}"
        + (f", resuming at tick {tick}" if tick > 0 else "") + f"; cameras {', '.join(cameras.names)}")
    tick = max(tick, 0)
    reset = epoch > 0
    t_start = time.monotonic()
    cameras.start()
    position = 0  # recorded files: ticks read so far (frame position)
    last_tick = prev
    try:
        while not cameras.done:
            read = cameras.read_tick()
            read_at = time.time()
            if recorded and position < tick and (read.packets or read.ended):
                position += 1  # published before a restart: skip
                cameras.delivered(read.packets)
                continue
            if not read.packets and not read.ended:
                time.sleep(0.005)
                continue
            closing = [tracker.end_camera(c.index, c.last_frame + 1, c.last_timestamp) for c in read.ended]
            frames = []
            if read.packets:
                detections = detector([p.image for p in read.packets], [p.camera for p in read.packets],
                                      [p.index for p in read.packets])
                step = tracker.step(read.packets, detections)
                frames = step.cameras
                cameras.delivered(read.packets)
                _note_ready(tracker, ids, step.cameras, read_at if recorded else None)
            if recorded:
                this_tick = position
                position += 1
            else:
                captured = max((p.timestamp for p in read.packets), default=time.time())
                this_tick = max(last_tick + 1, int(captured * config.tick_hz))
            msg = EdgeMessage(edge, epoch, this_tick, cameras=closing + frames, reset=reset, done=cameras.done)
            publisher.put(msg)
            reset, last_tick = False, this_tick
            summary.ticks += 1
            if config.realtime and recorded:
                _pace(t_start, summary.ticks, rate)
    except KeyboardInterrupt:
        summary.interrupted = True
        log(f"[{edge}] interrupted: publishing what is queued")
    finally:
        cameras.stop()
        summary.flushed = publisher.flush(config.flush_seconds)
        if not summary.flushed:
            log(f"[{edge}] {len(publisher._queue)} messages could not be published in {config.flush_seconds:.0f} s")
        publisher.stop()
        time.sleep(0.2)  # the last ids
        ids.stop()
        summary.publisher = publisher.stats
        summary.ids = len(ids.ids)
        summary.latencies = list(ids.latencies)
        summary.cameras = cameras.summaries()
        summary.wall_seconds = time.monotonic() - t_start
    reason = cameras.silence_reason()
    if reason is not None and not summary.interrupted and summary.resumed_at <= 0:
        raise NoFramesError(reason)
    return summary


def _resume_point(broker: Broker, keys: Keys, edge: str) -> tuple[int, int, int]:
    """``(epoch, first tick, last published tick)`` for this start; first tick ``-1``: the stream is complete."""
    last = broker.last_entry(keys.up(edge))
    if last is None:
        return 0, 0, -1
    try:
        msg = decode_message(last[1])
    except ProtocolError:
        tick = int(last[0].split("-")[0])
        return 1, tick + 1, tick
    if msg.done:
        return msg.epoch + 1, -1, msg.tick
    return msg.epoch + 1, msg.tick + 1, msg.tick


def _note_ready(tracker: EdgeTracker, ids: IdListener, ticks, read_at: float | None) -> None:
    """Remembers when each track became ready for an id, for the latency figures: the capture
    time for live cameras, the time the frame was read for recorded files (whose timestamps are
    stream time)."""
    for t in ticks:
        for e in t.embeddings:
            if tracker.identified((t.camera, e.track)) and not e.identified:  # this embedding made it ready
                ids.became_ready(t.camera, e.track, e.segment, t.timestamp if read_at is None else read_at)


def _pace(t_start: float, ticks: int, fps: float) -> None:
    wait = t_start + ticks / fps - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def edge_summary_line(s: EdgeSummary) -> str:
    p = s.publisher
    return (f"[{s.edge}] {s.ticks} ticks, {p.published} messages published ({p.bytes / 1e6:.2f} MB), "
            f"{p.dropped_boxes} box-only ticks dropped, {p.dropped_other} other ticks dropped, "
            f"{p.already_stored} retried publishes already stored; {s.ids} global ids received")


__all__ = ["EdgeConfig", "EdgeSummary", "IdListener", "Publisher", "default_edge_name", "run_edge"]
