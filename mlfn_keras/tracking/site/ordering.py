"""Putting the edges' ticks back in order: duplicates, gaps, a watermark, late ticks.

The broker delivers each edge's messages at least once, edges run at their
own pace, and a restarted central reads its pending list again. The central
commits a tick only when every edge that can still send it has sent it:

* **duplicates** (a tick already committed or buffered) are dropped and counted;
* each message names the edge's previous tick, so the central knows when it
  holds an edge's ticks without a hole (its **chain head**); a hole that does
  not fill within ``gap_seconds`` (a message lost by the broker) is skipped
  and counted;
* the **watermark** is the lowest chain head over the edges that are still
  running; ticks up to it are committed in tick order, all edges' messages
  of one tick together. An edge that finished, or went silent (its liveness
  key expired: :meth:`TickOrderer.set_stale`), leaves the watermark; a live
  edge holds it back at most ``max_lag_seconds`` (its ticks are capture times);
* a message for a tick already committed is **late**: it is committed on
  its own, right away (its boxes still reach the offline re-clustering), and
  counted.

No I/O and no clock of its own: the caller passes wall time in, so tests
drive it with a fake clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlfn_keras.tracking.site.messages import EdgeMessage


@dataclass
class Delivery:
    """One message as the central received it."""

    message: EdgeMessage
    entry_id: str
    received: float


@dataclass
class EdgeFeed:
    """The central's view of one edge's stream.

    Attributes:
        edge: the edge's name.
        recorded: ticks are frame positions (``False``: capture times in
            ``1/tick_hz`` steps).
        tick_hz: live edges: ticks per second.
        epoch: the newest epoch seen.
        applied: the last tick committed.
        head: the last tick of the chain held without a hole.
        done: the edge sent its last message and it was committed.
        stale: the edge went silent; it does not hold the watermark back.
    """

    edge: str
    recorded: bool = True
    tick_hz: float = 30.0
    epoch: int = -1
    applied: int = -1
    head: int = -1
    done: bool = False
    stale: bool = False
    last_received: float = 0.0
    buffer: dict[int, Delivery] = field(default_factory=dict)
    _hole_since: float | None = None

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (the buffer is re-delivered from the pending list)."""
        return {"edge": self.edge, "recorded": self.recorded, "tick_hz": self.tick_hz, "epoch": self.epoch,
                "applied": self.applied, "done": self.done, "stale": self.stale}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> EdgeFeed:
        return cls(d["edge"], d["recorded"], d["tick_hz"], d["epoch"], d["applied"], d["applied"], d["done"], d["stale"])

    @property
    def holds_watermark(self) -> bool:
        return not self.done and not self.stale


@dataclass
class SiteTick:
    """Messages of several edges committed together.

    Attributes:
        tick: the tick.
        deliveries: one per edge, in edge-name order.
        late: the tick had been committed already (these came too late to join it).
    """

    tick: int
    deliveries: list[Delivery]
    late: bool = False


@dataclass
class OrderCounts:
    """What the orderer had to fix."""

    duplicates: int = 0
    late: int = 0
    gaps: int = 0


class TickOrderer:
    """Orders deliveries into committed ticks behind a watermark (see the module docstring).

    Args:
        max_lag_seconds: a live edge holds the watermark back at most this long.
        gap_seconds: a hole in an edge's chain is skipped after this long.
    """

    def __init__(self, max_lag_seconds: float = 1.0, gap_seconds: float = 5.0):
        self.max_lag_seconds = max_lag_seconds
        self.gap_seconds = gap_seconds
        self.feeds: dict[str, EdgeFeed] = {}
        self.committed = -1  # the last tick committed (on time)
        self.counts = OrderCounts()

    def feed(self, edge: str, recorded: bool = True, tick_hz: float = 30.0) -> EdgeFeed:
        """The edge's feed (created on first use)."""
        f = self.feeds.get(edge)
        if f is None:
            f = self.feeds[edge] = EdgeFeed(edge, recorded, tick_hz)
        return f

    def add(self, delivery: Delivery) -> str:
        """Takes one delivery; returns ``"ok"`` or ``"duplicate"``."""
        msg = delivery.message
        f = self.feed(msg.edge)
        f.last_received = max(f.last_received, delivery.received)
        if msg.tick <= f.head or msg.tick in f.buffer:  # committed, held, or skipped over a hole
            self.counts.duplicates += 1
            return "duplicate"
        f.buffer[msg.tick] = delivery
        f.epoch = max(f.epoch, msg.epoch)
        f.stale = False
        self._advance(f)
        return "ok"

    def _advance(self, f: EdgeFeed) -> None:
        by_prev = {d.message.prev: t for t, d in f.buffer.items()}
        while f.head in by_prev:
            f.head = by_prev[f.head]

    def set_stale(self, edge: str, stale: bool = True) -> None:
        """Marks an edge as silent (it leaves the watermark) or back."""
        if edge in self.feeds:
            self.feeds[edge].stale = stale

    def watermark(self, now: float) -> float:
        """The highest tick every running edge has delivered up to (``inf`` with none running)."""
        heads = []
        for f in self.feeds.values():
            if not f.holds_watermark:
                continue
            head = float(f.head)
            if not f.recorded and self.max_lag_seconds is not None:
                head = max(head, math.floor((now - self.max_lag_seconds) * f.tick_hz))
            heads.append(head)
        return min(heads) if heads else math.inf

    def _skip_holes(self, now: float) -> None:
        for f in self.feeds.values():
            off_chain = [t for t in f.buffer if t > f.head]
            if not off_chain:
                f._hole_since = None
            elif f._hole_since is None:
                f._hole_since = now
            elif now - f._hole_since >= self.gap_seconds:
                f.head = f.buffer[min(off_chain)].message.prev  # jump the hole
                f._hole_since = None
                self.counts.gaps += 1
                self._advance(f)

    def ready(self, now: float) -> list[SiteTick]:
        """The ticks that can be committed now, in order (late ones first)."""
        self._skip_holes(now)
        w = self.watermark(now)
        groups: dict[int, list[Delivery]] = {}
        for f in self.feeds.values():
            for t in sorted(f.buffer):
                if t > f.head or t > w:
                    break
                groups.setdefault(t, []).append(f.buffer.pop(t))
                f.applied = t
        out = []
        for t in sorted(groups):
            deliveries = sorted(groups[t], key=lambda d: d.message.edge)
            late = t <= self.committed
            if late:
                self.counts.late += len(deliveries)
            self.committed = max(self.committed, t)
            out.append(SiteTick(t, deliveries, late))
        return out

    def mark_done(self, edge: str) -> None:
        self.feeds[edge].done = True

    def pending(self) -> int:
        """Messages buffered, not yet committed."""
        return sum(len(f.buffer) for f in self.feeds.values())
