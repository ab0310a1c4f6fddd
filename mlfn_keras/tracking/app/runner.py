"""The demo's main loop: cameras → detector → multi-camera tracker → window/files.

:func:`run_multicam` owns the threads, the window and the files; the tracking
logic lives in :class:`~mlfn_keras.tracking.core.pipeline.MultiCameraTracker`.
One tick takes at most one frame per camera: offline sources (files, folders,
generated scenes) are read frame by frame and stay in step, live sources
contribute their freshest frame when one is ready. Detection runs on all of a
tick's frames in one call, and so does re-id.

A camera that fails is reported (stderr and ``events.jsonl``) and, if live,
retried by its reader thread with back-off while the others keep running
(live frames are taken only when ready, so a dead camera never holds back a
working one); after ``max_retries`` attempts without a frame it is given up.
The run ends when every stream has ended, been given up or delivered
``max_frames`` frames, on ``q`` in the window, or on Ctrl-C, and always closes
its files and writes the summary. Every output, the web page and
``report.html`` then name the final ids (:meth:`~mlfn_keras.tracking.app.outputs.RunOutputs.finish`).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlfn_keras.errors import UserError
from mlfn_keras.runtime.contract import Embedder
from mlfn_keras.tracking.app.cameras import CameraSet, CameraState, probe_fps
from mlfn_keras.tracking.app.outputs import RunOutputs, finish_offline
from mlfn_keras.tracking.app.sources import (
    LIVE_MAX_RETRIES,
    LIVE_RETRY_BACKOFF,
    SourceSpec,
)
from mlfn_keras.tracking.core import events as ev
from mlfn_keras.tracking.core.frames import FramePacket
from mlfn_keras.tracking.core.pipeline import (
    MultiCameraTracker,
    PipelineConfig,
    TickResult,
)
from mlfn_keras.tracking.detection.detectors import Detector
from mlfn_keras.tracking.detection.schedule import DetectionScheduler
from mlfn_keras.tracking.view import View
from mlfn_keras.tracking.view.feed import CameraHealth, Clock, IdentityFeed

STAGES = ("decode", "detect", "track", "embed", "associate", "output")


__all__ = ["NoFramesError", "RunOptions", "RunSummary", "probe_fps", "run_multicam"]


class NoFramesError(UserError):
    """A run ended without a single frame from any camera."""


@dataclass
class RunOptions:
    """How to run.

    Attributes:
        output_dir: write videos/events/MOT/summary here (``None``: nothing written).
        show: open the live window (:class:`~mlfn_keras.tracking.view.window.WindowView`;
            without a display it says so and the run goes on headless).
        views: more live views fed every tick (e.g. the web view); closed at the end.
        max_frames: stop each camera after this many frames (``None``: until
            the streams end).
        write_video: write annotated videos when ``output_dir`` is set.
        progress: show a progress bar (offline sources with a known length).
        total_frames: length for the progress bar.
        queue_size: per-camera frame queue (live sources keep only the freshest).
        log: where fault reports go (default: stderr).
        offline: re-cluster the whole run at the end and rewrite ``mot/`` with
            the final ids (recorded video); ``False``: live ids only, revised
            as the run goes; ``None`` (default): offline when no source is live.
        retry_backoff: ``(first, max)`` seconds between reconnects of a live
            source (doubling); see :class:`~mlfn_keras.tracking.app.sources.CameraStream`.
        max_retries: reconnects in a row without a frame before a live source is
            given up (``None``: retry until stopped; the run then only ends on
            ``max_frames``, ``q`` or Ctrl-C).
        feed: the identities the web page and ``report.html`` show (default:
            a new one).
        thumbnails: keep crops of people for the page and the report
            (``False``: ``--no-thumbnails``).
    """

    output_dir: str | None = None
    show: bool = False
    views: Sequence[View] = ()
    max_frames: int | None = None
    write_video: bool = True
    progress: bool = True
    total_frames: int | None = None
    queue_size: int = 4
    log: Callable[[str], None] | None = None
    offline: bool | None = None
    retry_backoff: tuple[float, float] = LIVE_RETRY_BACKOFF
    max_retries: int | None = LIVE_MAX_RETRIES
    feed: IdentityFeed | None = None
    thumbnails: bool = True


@dataclass
class RunSummary:
    """What a run did: returned by :func:`run_multicam` and written to ``summary.json``.

    Attributes:
        identities: the people the run found: distinct final ids (those in
            ``mot/``, the videos and the report).
        tracker_stats: counters of the live tracker (``summary.json`` names
            the count of ids given ``id_assignments``: not a count of people).
    """

    cameras: list[dict[str, Any]] = field(default_factory=list)
    ticks: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    tracker_stats: dict[str, int] = field(default_factory=dict)
    detection: dict[str, int] = field(default_factory=dict)
    identities: int = 0
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "identities": self.identities,
            "cameras": self.cameras,
            "ticks": self.ticks,
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "tracker_stats": self.tracker_stats,
            "detection": self.detection,
            "interrupted": self.interrupted,
        }


def run_multicam(
    specs: Sequence[SourceSpec],
    detector: Detector,
    embedder: Embedder,
    config: PipelineConfig | None = None,
    options: RunOptions | None = None,
) -> RunSummary:
    """Runs the multi-camera demo until the streams end (or a stop condition).

    Args:
        specs: the cameras.
        detector: person detector for a batch of frames, or a
            :class:`~mlfn_keras.tracking.detection.schedule.DetectionScheduler`
            around one (a detection interval, motion gating; a plain detector
            runs on every frame).
        embedder: re-id embedder for a batch of crops.
        config: multi-camera tracker settings.
        options: outputs and stop conditions.

    Returns:
        The run's summary (also written to ``summary.json`` with an output dir).

    Raises:
        NoFramesError: no camera ever delivered a frame (after the summary is
            written), naming each camera's last fault.
    """
    options = options or RunOptions()
    log = options.log or _stderr
    scheduler = detector if isinstance(detector, DetectionScheduler) else DetectionScheduler(detector)
    cameras = CameraSet(specs, options.queue_size, options.retry_backoff, options.max_retries, options.max_frames, log,
                        prepare=scheduler.prepare if scheduler.gating else None)
    offline = options.offline if options.offline is not None else not cameras.live
    unsynced = [i for i, s in enumerate(specs) if not s.synced]
    if unsynced and len(specs) > 1:
        log(f"no start time for {', '.join(specs[i].name for i in unsynced)}: files given without --start-times may not "
            "have started together, so people are linked across them only where their views are found to overlap "
            "(give --start-times, e.g. all 0 if they started together)")
    mct = MultiCameraTracker(len(specs), embedder, cameras.fps, config, unsynced=unsynced)
    outputs = RunOutputs(cameras.names, cameras.fps, options.output_dir, options.write_video, options.views,
                         options.show, log, options.feed, options.thumbnails, options.progress)
    outputs.follow(mct.central.tracklet_gid)
    if cameras.live:
        outputs.feed.clock = Clock(time.time())  # live timestamps count from the start: shown as wall-clock time
    outputs.feed.settings.setdefault("final ids", "whole run re-grouped at the end" if offline else "live ids, revised as the run goes")
    summary = RunSummary(stage_seconds=dict.fromkeys(STAGES, 0.0))
    bar = _progress_bar(options)
    cameras.start()
    t_start, cpu_start = time.perf_counter(), time.process_time()
    try:
        with _stop_between_ticks() as stop:
            _main_loop(cameras, mct, scheduler, outputs, summary, bar, stop)
        summary.interrupted = stop.is_set()
    except KeyboardInterrupt:  # a second Ctrl-C, or off the main thread
        summary.interrupted = True
    finally:
        if summary.interrupted:
            log("Interrupted: flushing outputs and closing cameras.")
        summary.wall_seconds = time.perf_counter() - t_start
        summary.cpu_seconds = time.process_time() - cpu_start  # every thread's, frames only (not the re-clustering)
        cameras.stop()
        for c in cameras.cameras:
            if not c.ended:
                outputs.events(mct.end_camera(c.index, c.last_frame + 1, c.last_timestamp))
        if bar is not None:
            bar.close()
        outputs.close_views()
        now = max(c.last_timestamp for c in cameras.cameras)
        if offline:
            finish_offline(mct.central, outputs, now, log)
        else:
            outputs.finish(dict(mct.central.tracklet_gid), every_box=False,
                           note="Final identities: the live ids after the run's merges and splits")
        summary.tracker_stats = dict(mct.stats)
        summary.detection = scheduler.stats.to_dict()
        summary.identities = outputs.identities or 0
        summary.cameras = cameras.summaries()
        outputs.close(summary.to_dict())
    reason = cameras.silence_reason()
    if reason is not None and not summary.interrupted:
        raise NoFramesError(reason)
    return summary


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)



def _main_loop(cameras: CameraSet, mct: MultiCameraTracker, scheduler: DetectionScheduler, outputs: RunOutputs,
               summary: RunSummary, bar, stop: threading.Event) -> None:
    """Reads, tracks and writes one tick at a time until every camera has ended (or ``stop``, or q in the window)."""
    while not cameras.done and not stop.is_set():
        read = cameras.read_tick()
        outputs.events(_end_cameras(mct, read.ended) + read.messages)
        if not read.packets:
            if cameras.live:
                time.sleep(0.005)
            continue
        result = _track_tick(mct, scheduler, read.packets, summary.stage_seconds)
        t0 = time.perf_counter()
        keep_running = _output_tick(outputs, cameras, read.packets, result)
        summary.stage_seconds["output"] += time.perf_counter() - t0
        cameras.delivered(read.packets)  # counted once its outputs are written
        summary.ticks += 1
        if bar is not None:
            bar.update(1)
        if not keep_running:  # q/Esc in the window
            break


@contextlib.contextmanager
def _stop_between_ticks():
    """Ctrl-C ends the run after the tick in progress, so every output covers the same frames.

    A second Ctrl-C interrupts at once. Off the main thread (where signal
    handlers cannot be set) Ctrl-C interrupts at once as usual.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_sigint(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_bar(options: RunOptions):
    if not options.progress:
        return None
    from mlfn_keras.progress import tqdm

    total = options.total_frames
    if options.max_frames is not None:
        total = min(total or options.max_frames, options.max_frames)
    return tqdm(total=total, desc="tracking", unit="tick", file=sys.stderr)


def _end_cameras(mct: MultiCameraTracker, ended: Sequence[CameraState]) -> list[ev.Event]:
    """The events of cameras whose stream ended: their tracks end, then ``stream_end``."""
    events: list[ev.Event] = []
    for c in ended:
        events += mct.end_camera(c.index, c.last_frame + 1, c.last_timestamp)
        events.append(ev.StreamEnd(c.index, c.last_frame + 1, c.last_timestamp))
    return events


def _track_tick(mct: MultiCameraTracker, scheduler: DetectionScheduler, packets: Sequence[FramePacket],
                stage: dict[str, float]) -> TickResult:
    """Detects the tick's frames that need it in one call, then tracks and associates."""
    stage["decode"] += sum(p.decode_s for p in packets)
    t0 = time.perf_counter()
    detections = scheduler(packets, mct.trackers)  # None: not detected this tick, tracks predicted
    stage["detect"] += time.perf_counter() - t0
    result = mct.step(packets, detections)
    for k in ("track", "embed", "associate"):
        stage[k] += result.timings.get(k, 0.0)
    return result


def _output_tick(outputs: RunOutputs, cameras: CameraSet, packets: Sequence[FramePacket], result: TickResult) -> bool:
    """Records and shows one tick; ``False`` when a view asks to stop."""
    want_images = outputs.wants_images
    for p in packets:
        rate = cameras.cameras[p.camera].rate
        outputs.frame(p.camera, p.index, result.cameras[p.camera].objects, p.image if want_images else None, rate, p.timestamp)
    outputs.events(result.events)
    health = [CameraHealth(c.rate, c.frames, c.stream.stats.reconnects, c.stream.stats.gave_up, c.ended,
                           c.stream.stats.frames_dropped) for c in cameras.cameras]
    return outputs.show(result.events, [c.rate for c in cameras.cameras], health)
