"""The cameras of one run: a state object per camera and a set that reads one tick.

:class:`CameraSet` starts one :class:`~mlfn_keras.tracking.app.sources.CameraStream`
per source and :meth:`~CameraSet.read_tick` takes at most one frame from each:
recorded sources (files, folders, generated scenes) are read frame by frame and
stay in step, on their common clock where they have one (files given start
times: a recording that started later waits until the others reach its
first frame, as it would have on a live site); live sources contribute their
freshest frame when one is ready, so a dead camera never holds back a
working one. Each camera's
:class:`CameraState` counts what it delivered and measures its frame rate;
:meth:`CameraState.summary` is its row of ``summary.json``.

The single-box runner and an edge box read their cameras through this one
class.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlfn_keras.tracking.app.sources import (
    DEFAULT_FPS,
    LIVE_MAX_RETRIES,
    LIVE_RETRY_BACKOFF,
    CameraStream,
    SourceSpec,
    probe_source,
)
from mlfn_keras.tracking.core import events as ev
from mlfn_keras.tracking.core.frames import FramePacket


def probe_fps(spec: SourceSpec, default: float = DEFAULT_FPS) -> float:
    """The source's frame rate if it says so (`probe_source`), else ``default``."""
    return float(probe_source(spec).fps or default)


@dataclass
class CameraState:
    """One camera of a run and what it has delivered so far.

    Attributes:
        index: the camera's index in the run.
        spec: its source.
        stream: its reader.
        fps: its nominal frame rate (from the source, else the default).
        frames: frames processed.
        last_frame: index of the last processed frame (``-1`` before the first).
        last_timestamp: capture time of the last processed frame.
        rate: measured frames per second (smoothed), ``0`` until measured.
        ended: its stream ended, was given up or reached ``max_frames``.
        waiting: a frame read but held back: it lies later on the common
            clock than the other cameras have reached.
    """

    index: int
    spec: SourceSpec
    stream: CameraStream
    fps: float
    frames: int = 0
    last_frame: int = -1
    last_timestamp: float = 0.0
    rate: float = 0.0
    ended: bool = False
    waiting: FramePacket | None = None
    _first_wall: float = 0.0
    _last_wall: float = 0.0

    @property
    def name(self) -> str:
        return self.spec.name

    def delivered(self, packet: FramePacket, wall: float) -> None:
        """Counts a processed frame (``wall``: ``time.perf_counter()`` when it was done)."""
        if self.frames:
            dt = wall - self._last_wall
            if dt > 0:
                self.rate = 1.0 / dt if self.rate == 0 else 0.9 * self.rate + 0.1 / dt
        else:
            self._first_wall = wall
        self._last_wall = wall
        self.frames += 1
        self.last_frame, self.last_timestamp = packet.index, packet.timestamp

    def summary(self) -> dict[str, Any]:
        """Its row of ``summary.json``."""
        stats = self.stream.stats
        active = self._last_wall - self._first_wall
        return {
            "name": self.name,
            "source": str(self.spec.target) if self.spec.kind != "generator" else "generated",
            "kind": self.spec.kind,
            "frames": self.frames,
            # over the camera's own active time, so a camera that ended early
            # (or one that never delivered) does not skew another's rate
            "fps": round((self.frames - 1) / active, 2) if self.frames > 1 and active > 0 else 0.0,
            "dropped": stats.frames_dropped,
            "corrupt_skipped": stats.corrupt_skipped,
            "reconnects": stats.reconnects,
            "gave_up": stats.gave_up,
            "messages": stats.messages,
        }


@dataclass
class CameraRead:
    """What one tick read from the cameras.

    Attributes:
        packets: at most one frame per camera, in camera order.
        ended: cameras whose stream ended this tick (no frame from them).
        messages: fault reports since the last tick.
    """

    packets: list[FramePacket] = field(default_factory=list)
    ended: list[CameraState] = field(default_factory=list)
    messages: list[ev.CameraMessage] = field(default_factory=list)


class CameraSet:
    """The cameras of one run, read one tick at a time.

    Args:
        specs: the sources.
        queue_size: frames buffered per recorded source (live ones keep only the freshest).
        retry_backoff: ``(first, max)`` seconds between reconnects of a live source.
        max_retries: reconnects in a row without a frame before a live source
            is given up (``None``: retry until stopped).
        max_frames: stop each camera after this many frames (``None``: until it ends).
        log: where fault reports go as they happen.
        prepare: per-frame work on each camera's reader thread (see
            :class:`~mlfn_keras.tracking.app.sources.CameraStream`).
    """

    def __init__(
        self,
        specs: Sequence[SourceSpec],
        queue_size: int = 4,
        retry_backoff: tuple[float, float] = LIVE_RETRY_BACKOFF,
        max_retries: int | None = LIVE_MAX_RETRIES,
        max_frames: int | None = None,
        log: Callable[[str], None] = print,
        prepare: Callable[[FramePacket], None] | None = None,
    ):
        self.max_frames = max_frames
        self._log = log
        self._lock = threading.Lock()
        self._messages: list[ev.CameraMessage] = []
        self.cameras = [
            CameraState(i, s, CameraStream(s, i, queue_size=1 if s.live else queue_size, on_message=self._on_message(i),
                                           retry_backoff=retry_backoff, max_retries=max_retries, prepare=prepare),
                        probe_fps(s))
            for i, s in enumerate(specs)
        ]

    def _on_message(self, camera: int) -> Callable[[str], None]:
        def report(line: str) -> None:
            self._log(line)
            with self._lock:
                self._messages.append(ev.CameraMessage(camera, -1, time.time(), line))

        return report

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    @property
    def fps(self) -> list[float]:
        return [c.fps for c in self.cameras]

    @property
    def live(self) -> bool:
        """Whether any camera is live (webcam, stream)."""
        return any(c.spec.live for c in self.cameras)

    @property
    def done(self) -> bool:
        """Every camera has ended."""
        return all(c.ended for c in self.cameras)

    def start(self) -> CameraSet:
        for c in self.cameras:
            c.stream.start()
        return self

    def stop(self) -> None:
        for c in self.cameras:
            c.stream.stop()

    def read_tick(self) -> CameraRead:
        """Takes at most one frame from each camera that has not ended.

        Recorded sources are waited for (they stay in step); live ones give a
        frame only when one is ready. Recorded sources with a start time stay
        in step on their common clock: one whose next frame lies later than
        the earliest of theirs waits (its frame is kept for a later tick), so
        a recording that started a minute after another joins the run a
        minute of footage in, not at its first tick. A camera whose stream is
        over (or that reached ``max_frames``) is marked ended and listed once.
        """
        out = CameraRead()
        for c in self.cameras:
            if c.ended or c.waiting is not None:
                continue
            reached = self.max_frames is not None and c.frames >= self.max_frames
            packet = None
            if reached:
                pass
            elif c.spec.live:
                packet = c.stream.read(timeout=0)  # never wait on a live camera
            else:
                while packet is None and not c.stream.finished:
                    packet = c.stream.read(timeout=0.2)
            if packet is None and (reached or c.stream.finished):
                c.ended = True
                out.ended.append(c)
            elif packet is not None:
                c.waiting = packet
        clocked = [c.waiting.timestamp for c in self.cameras if c.waiting is not None and _on_common_clock(c.spec)]
        now = min(clocked, default=0.0)
        for c in self.cameras:
            packet = c.waiting
            # half a frame of slack: cameras of different frame rates share a tick with their nearest frame
            if packet is not None and (not _on_common_clock(c.spec) or packet.timestamp <= now + 0.5 / c.fps):
                out.packets.append(packet)
                c.waiting = None
        with self._lock:
            out.messages, self._messages = self._messages, []
        return out

    def delivered(self, packets: Sequence[FramePacket]) -> None:
        """Counts a tick's processed frames (after detection and tracking)."""
        wall = time.perf_counter()
        for p in packets:
            self.cameras[p.camera].delivered(p, wall)

    def summaries(self) -> list[dict[str, Any]]:
        """Every camera's row of ``summary.json``."""
        return [c.summary() for c in self.cameras]

    def silence_reason(self) -> str | None:
        """When no camera ever delivered a frame: why, in one line; else ``None``."""
        if any(c.frames for c in self.cameras):
            return None
        why = []
        for c in self.cameras:
            last = c.stream.stats.messages[-1] if c.stream.stats.messages else f"[{c.name}] delivered no frames"
            why.append(last)
        return "no camera delivered a frame: " + "; ".join(why)


def _on_common_clock(spec: SourceSpec) -> bool:
    """A recorded source whose frames are timed on the cameras' common clock (given a start time)."""
    return not spec.live and spec.start_time is not None
