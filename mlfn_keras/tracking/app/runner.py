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
its files and writes the summary.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlfn_keras.tracking.app.recorder import RunRecorder
from mlfn_keras.tracking.app.sources import (
    DEFAULT_FPS,
    LIVE_MAX_RETRIES,
    LIVE_RETRY_BACKOFF,
    CameraStream,
    SourceSpec,
)
from mlfn_keras.tracking.core.pipeline import MultiCameraTracker, PipelineConfig
from mlfn_keras.tracking.core.reid import Embedder
from mlfn_keras.tracking.detection.detectors import Detector
from mlfn_keras.tracking.view import LiveViews, View
from mlfn_keras.tracking.view.draw import annotate

STAGES = ("decode", "detect", "track", "embed", "associate", "output")


def probe_fps(spec: SourceSpec, default: float = DEFAULT_FPS) -> float:
    """The source's frame rate if it says so (files), else ``default``."""
    if spec.fps:
        return float(spec.fps)
    if spec.kind == "file":
        import cv2

        cap = cv2.VideoCapture(spec.target)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        cap.release()
        if 0 < fps < 1000:
            return fps
    return default


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


@dataclass
class RunSummary:
    """What a run did: returned by :func:`run_multicam` and written to ``summary.json``."""

    cameras: list[dict[str, Any]] = field(default_factory=list)
    ticks: int = 0
    wall_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    tracker_stats: dict[str, int] = field(default_factory=dict)
    global_ids: int = 0
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "cameras": self.cameras,
            "ticks": self.ticks,
            "wall_seconds": round(self.wall_seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "tracker_stats": self.tracker_stats,
            "global_ids": self.global_ids,
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
        detector: person detector for a batch of frames.
        embedder: re-id embedder for a batch of crops.
        config: multi-camera tracker settings.
        options: outputs and stop conditions.

    Returns:
        The run's summary (also written to ``summary.json`` with an output dir).
    """
    options = options or RunOptions()
    lock = threading.Lock()
    pending_messages: list[str] = []
    log = options.log or (lambda line: print(line, file=sys.stderr, flush=True))

    def on_message(line: str) -> None:
        log(line)
        with lock:
            pending_messages.append(line)

    fps = [probe_fps(s) for s in specs]
    streams = [
        CameraStream(
            s, i, queue_size=1 if s.live else options.queue_size, on_message=on_message,
            retry_backoff=options.retry_backoff, max_retries=options.max_retries,
        )
        for i, s in enumerate(specs)
    ]
    offline = options.offline if options.offline is not None else not any(s.live for s in specs)
    mct = MultiCameraTracker(len(specs), embedder, fps, config)
    recorder = RunRecorder(options.output_dir, [s.name for s in specs], fps, options.write_video) if options.output_dir else None
    views = LiveViews(list(options.views), [s.name for s in specs], log)
    if options.show:
        from mlfn_keras.tracking.view.window import WindowView

        views.views.append(WindowView(log))
    last_objects: list[list[Any]] = [[] for _ in specs]
    stage = dict.fromkeys(STAGES, 0.0)
    frames_done = [0] * len(specs)
    last_frame = [-1] * len(specs)
    cam_fps = [0.0] * len(specs)
    last_time = [0.0] * len(specs)
    first_time = [0.0] * len(specs)
    last_ts = [0.0] * len(specs)
    ended = [False] * len(specs)
    last_images: list[np.ndarray | None] = [None] * len(specs)
    summary = RunSummary()
    bar = None
    if options.progress:
        from mlfn_keras.progress import tqdm

        total = options.total_frames
        if options.max_frames is not None:
            total = min(total or options.max_frames, options.max_frames)
        bar = tqdm(total=total, desc="tracking", unit="tick", file=sys.stderr)

    for s in streams:
        s.start()
    want_images = (recorder is not None and options.write_video) or views.wants_images
    t_start = time.perf_counter()
    try:
        while not all(ended):
            packets = []
            for i, stream in enumerate(streams):
                if ended[i]:
                    continue
                done = options.max_frames is not None and frames_done[i] >= options.max_frames
                if done:
                    packet = None
                elif stream.spec.live:
                    packet = stream.read(timeout=0)  # never wait on a live camera
                else:
                    packet = None
                    while packet is None and not stream.finished:
                        packet = stream.read(timeout=0.2)
                if packet is None and (done or stream.finished):
                    ended[i] = True
                    events = mct.end_camera(i, last_frame[i] + 1, last_ts[i])
                    events.append({"event": "stream_end", "camera": i, "frame": last_frame[i] + 1})
                    if recorder:
                        recorder.events(events)
                    continue
                if packet is not None:
                    packets.append(packet)
            with lock:
                messages, pending_messages[:] = list(pending_messages), []
            if recorder and messages:
                recorder.events([{"event": "camera_message", "message": m} for m in messages])
            if not packets:
                if any(s.spec.live for s in streams):
                    time.sleep(0.005)
                continue
            stage["decode"] += sum(p.decode_s for p in packets)

            t0 = time.perf_counter()
            detections = detector([p.image for p in packets], [p.camera for p in packets], [p.index for p in packets])
            t1 = time.perf_counter()
            stage["detect"] += t1 - t0
            result = mct.step(packets, detections)
            for k in ("track", "embed", "associate"):
                stage[k] += result.timings.get(k, 0.0)

            t2 = time.perf_counter()
            now = time.perf_counter()
            for p in packets:
                dt = now - last_time[p.camera] if frames_done[p.camera] else 0.0
                if not frames_done[p.camera]:
                    first_time[p.camera] = now
                if dt > 0:
                    inst = 1.0 / dt
                    cam_fps[p.camera] = inst if cam_fps[p.camera] == 0 else 0.9 * cam_fps[p.camera] + 0.1 * inst
                last_time[p.camera] = now
                frames_done[p.camera] += 1
                last_frame[p.camera] = p.index
                last_ts[p.camera] = p.timestamp
                objs = result.cameras[p.camera].objects
                image = annotate(p.image, objs, specs[p.camera].name, cam_fps[p.camera] or None) if want_images else None
                if recorder:
                    recorder.frame(p.camera, p.index, objs, image)
                if views:
                    last_images[p.camera], last_objects[p.camera] = image, objs
            if recorder:
                recorder.events(result.events)
            if views:
                keep_running = views.update(last_images, last_objects, result.events, cam_fps)
                want_images = (recorder is not None and options.write_video) or views.wants_images
                if not keep_running:  # q/Esc in the window
                    break
            stage["output"] += time.perf_counter() - t2
            summary.ticks += 1
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        summary.interrupted = True
        log("Interrupted: flushing outputs and closing cameras.")
    finally:
        summary.wall_seconds = time.perf_counter() - t_start
        for s in streams:
            s.stop()
        for i in range(len(specs)):
            if not ended[i]:
                events = mct.end_camera(i, last_frame[i] + 1, last_ts[i])
                if recorder:
                    recorder.events(events)
        if bar is not None:
            bar.close()
        views.close()
        if offline:
            final = mct.finalize(max(last_ts))
            cal = final.calibration
            log(f"offline association: threshold {cal.threshold:.3f} ({cal.source}; {cal.same_pairs} same-person and "
                f"{cal.different_pairs} different-person pairs measured); {final.event.global_ids} global ids "
                f"for {final.event.tracklets} tracklets")
            for o in final.overlaps:
                log(f"overlapping views: cameras {o.cameras[0]} and {o.cameras[1]} see the same ground "
                    f"({o.support} of {o.candidates} co-visible tracklet pairs agree); {o.links} tracklet pairs linked by where the person stood")
            if recorder:
                recorder.events([mct.calibration_event(cal, max(last_ts)), final.event])
                recorder.final_ids(final.ids)
        summary.stage_seconds = stage
        summary.tracker_stats = dict(mct.stats)
        summary.global_ids = final.event.global_ids if offline else int(mct.gallery._next_id - 1)
        summary.cameras = [
            {
                "name": specs[i].name,
                "source": str(specs[i].target) if specs[i].kind != "generator" else "generated",
                "kind": specs[i].kind,
                "frames": frames_done[i],
                # over the camera's own active time, so a camera that ended early
                # (or one that never delivered) does not skew another's rate
                "fps": round((frames_done[i] - 1) / (last_time[i] - first_time[i]), 2)
                if frames_done[i] > 1 and last_time[i] > first_time[i] else 0.0,
                "dropped": streams[i].stats.frames_dropped,
                "corrupt_skipped": streams[i].stats.corrupt_skipped,
                "reconnects": streams[i].stats.reconnects,
                "gave_up": streams[i].stats.gave_up,
                "messages": streams[i].stats.messages,
            }
            for i in range(len(specs))
        ]
        if recorder:
            recorder.close(summary.to_dict())
    return summary

