"""The multi-camera demo as a library call: what ``demo/multicam.py`` runs.

:func:`run_demo` resolves the cameras (``--cams`` values, or the built-in
generated two-camera scene), the detector and the re-id model, runs
:func:`~mlfn_keras.tracking.app.runner.run_multicam`, and, for the built-in scene,
can score the run against its ground truth.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlfn_keras.runtime import load_embedder
from mlfn_keras.tracking.app.runner import RunOptions, RunSummary, run_multicam
from mlfn_keras.tracking.app.scene import SceneConfig, cached_scene
from mlfn_keras.tracking.app.sources import SourceSpec, parse_cams
from mlfn_keras.tracking.core.pipeline import PipelineConfig
from mlfn_keras.tracking.detection.detectors import build_detector
from mlfn_keras.tracking.detection.schedule import DetectionScheduler, default_schedule
from mlfn_keras.tracking.view.feed import IdentityFeed

#: Detector used with the built-in scene. The SSDLite pedestrian detector was
#: trained on real photographs and misses the renderer's drawn people (measured
#: on rendered frames: 2 of 24 people found, at score < 0.2), while the scene's
#: cameras are static, so background subtraction finds them reliably.
SCENE_DETECTOR = "bgsub"


@dataclass
class DemoConfig:
    """Everything ``demo/multicam.py`` can set.

    Attributes:
        cams: ``--cams`` values; empty for the built-in scene.
        detector: ``"auto"`` (``bgsub`` for the built-in scene, ``ssdlite`` for
            real cameras), ``"ssdlite"``, ``"bgsub"``, ``"gt"`` or ``"onnx:PATH"``.
        reid: re-id embedder spec (:func:`mlfn_keras.runtime.load_embedder`: a
            model file, ``hist``, ``untrained[:PRESET]`` or ``A+B``).
        scene: the built-in scene (used when ``cams`` is empty).
        pipeline: multi-camera tracker settings.
        detect_every: detect every this many frames (``--detect-every``; ``None``:
            :func:`~mlfn_keras.tracking.detection.schedule.default_schedule`).
        motion_gating: skip detector tiles without motion (``--motion-gating``;
            ``None``: on for detectors with tiles).
        output_dir: where to write outputs (``None``: nothing).
        show: live window.
        max_frames: stop after this many frames per camera.
        write_video: annotated videos in the output dir.
        progress: progress bars.
        evaluate: score the run against ground truth (the built-in scene's, or ``gt``).
        gt: ground truth for ``cams``: one MOT file per camera (``frame,id,x,y,w,h[,consider]``,
            ids are people across all cameras), for ``evaluate`` and ``--detector gt``.
        serve: ``"[HOST:]PORT"``: serve the live web view there (``None``: no web view).
        on_serve: called with the web view's URL once it listens (e.g. to learn
            the port ``--serve 127.0.0.1:0`` picked).
        offline: re-cluster the whole run at the end for the final ids
            (``None``: automatic, on when every source is a file/folder).
        start_times: per ``cams`` value, when that file's first frame was
            recorded (seconds on a common clock; ``None``: all 0, the files
            started together). Live sources ignore it.
        thumbnails: keep crops of people for the web page and ``report.html``
            (``False``: ``--no-thumbnails``; tracked people are personal data).
        serve_token: ``--serve-token``: every web client must give it.
        serve_until: with ``serve``, a run that was not interrupted keeps the
            page up, showing its final identities, until this event is set
            (the CLI: until Ctrl-C); ``None``: the page closes with the run.
    """

    cams: Sequence[str] = ()
    detector: str = "auto"
    reid: str = ""
    scene: SceneConfig = field(default_factory=SceneConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    detect_every: int | None = None
    motion_gating: bool | None = None
    output_dir: str | None = None
    show: bool = False
    max_frames: int | None = None
    write_video: bool = True
    progress: bool = True
    evaluate: bool = False
    gt: Sequence[str] = ()
    serve: str | None = None
    on_serve: Callable[[str], None] | None = None
    offline: bool | None = None
    start_times: Sequence[float] | None = None
    thumbnails: bool = True
    serve_token: str | None = None
    serve_until: threading.Event | None = None


def scene_specs(scene: SceneConfig, progress: bool = True) -> tuple[list[SourceSpec], list[str]]:
    """Renders (or reuses) the built-in scene; returns camera specs and ground-truth paths."""
    paths = cached_scene(scene, progress=progress)
    # the scene's cameras are rendered on one clock: their start times are known
    specs = [SourceSpec("file", v, f"cam{i}", fps=scene.fps, start_time=0.0) for i, v in enumerate(paths["videos"])]
    return specs, paths["gt"]


def gt_lookup_from_files(gt_paths: Sequence[str]):
    """``(camera, frame_index) -> xyxy`` boxes from MOT ground-truth files (for ``--detector gt``)."""
    import numpy as np

    from mlfn_keras.data.mot import read_mot

    tables = []
    for p in gt_paths:
        rows = read_mot(p)
        by_frame: dict[int, np.ndarray] = {}
        for f in np.unique(rows[:, 0]).astype(int):
            r = rows[rows[:, 0] == f]
            by_frame[f - 1] = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], 1)
        tables.append(by_frame)
    return lambda cam, idx: tables[cam].get(int(idx), np.zeros((0, 4)))


def run_demo(config: DemoConfig) -> tuple[RunSummary, dict[str, Any] | None]:
    """Runs the demo.

    Returns:
        ``(summary, scores)``: scores is ``None`` unless ``config.evaluate``.

    Raises:
        CamsError: for a bad ``--cams`` value.
        ValueError: for an unknown detector or ``--detector gt`` with real cameras.
    """
    gt_paths: list[str] = []
    if config.cams:
        specs = parse_cams(list(config.cams))
        if config.start_times is not None:
            if len(config.start_times) != len(specs):
                raise ValueError(f"got {len(config.start_times)} start times for {len(specs)} cameras; expected one per --cams value")
            specs = [dataclasses.replace(s, start_time=float(t)) for s, t in zip(specs, config.start_times)]
        total = None
        if config.gt:
            if len(config.gt) != len(specs):
                raise ValueError(f"got {len(config.gt)} ground-truth files for {len(specs)} cameras; expected one per --cams value")
            missing = [p for p in config.gt if not os.path.isfile(p)]
            if missing:
                raise ValueError(f"ground truth {missing[0]!r} does not exist; expected a MOT file frame,id,x,y,w,h per camera")
            gt_paths = list(config.gt)
    else:
        specs, gt_paths = scene_specs(config.scene, config.progress)
        total = config.scene.num_frames
    detector_name = config.detector
    if detector_name == "auto":
        detector_name = "ssdlite" if config.cams else SCENE_DETECTOR
    if detector_name == "gt":
        print("NOTE: --detector gt uses ground-truth boxes; this isolates re-id, it is not a detector.", file=sys.stderr)
    detector = build_detector(detector_name, gt_lookup_from_files(gt_paths) if gt_paths else None)
    note = getattr(detector, "precision_note", None)
    if note and config.progress:
        print(f"detector: {detector_name}, {detector.precision} ({note})", file=sys.stderr)
    embedder = load_embedder(config.reid, what="--reid")
    if config.evaluate and not gt_paths:
        raise ValueError("--evaluate needs ground truth: the built-in scene has it; with --cams give --gt FILE per camera.")
    if config.output_dir and gt_paths:
        os.makedirs(os.path.join(config.output_dir, "gt"), exist_ok=True)
        for i, p in enumerate(gt_paths):
            shutil.copy(p, os.path.join(config.output_dir, "gt", f"cam{i}.txt"))
    names = [s.name for s in specs]
    feed = IdentityFeed(names, thumbnails=config.thumbnails, settings=_settings(config, detector_name))
    views = []
    if config.serve:
        from mlfn_keras.tracking.view.web import start_web_view

        views = [v for v in [start_web_view(config.serve, names, feed=feed, token=config.serve_token)] if v is not None]
        if views and config.serve_until is not None:
            views[0].outlives_run = True  # the runner leaves it open; closed below
        if views and config.on_serve:
            config.on_serve(views[0].url)
    options = RunOptions(
        output_dir=config.output_dir,
        show=config.show,
        max_frames=config.max_frames,
        write_video=config.write_video,
        progress=config.progress,
        total_frames=total,
        views=views,
        offline=config.offline,
        feed=feed,
        thumbnails=config.thumbnails,
    )
    try:
        schedule = default_schedule(detector, config.detect_every, config.motion_gating)
        summary = run_multicam(specs, DetectionScheduler(detector, schedule), embedder, config.pipeline, options)
        scores = None
        if config.evaluate:
            if not config.output_dir:
                raise ValueError("--evaluate needs --output (it scores the written MOT files).")
            from mlfn_keras.tracking.eval.metrics import evaluate_run
            from mlfn_keras.tracking.eval.scoring import score_run_folder
            from mlfn_keras.tracking.view.report import scores_table, write_report

            scores = evaluate_run(config.output_dir, max_frames=config.max_frames)
            gt_copies = [os.path.join(config.output_dir, "gt", f"cam{i}.txt") for i in range(len(gt_paths))]
            feed.scores = scores_table(score_run_folder(config.output_dir, gt_copies, names), names)
            write_report(config.output_dir, feed)  # again, with the scores
        if views and config.serve_until is not None and not summary.interrupted:
            linger(views[0].url, config.serve_until)
    finally:
        for view in views:
            view.close()
    return summary, scores


def linger(url: str, until: threading.Event) -> None:
    """Keeps the page of a finished run up until ``until`` is set (or Ctrl-C)."""
    print(f"The run has ended; its final identities stay at {url} until you press Ctrl-C.", file=sys.stderr, flush=True)
    try:
        while not until.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def _settings(config: DemoConfig, detector: str) -> dict[str, Any]:
    """The run's settings as the page and the report show them."""
    p = config.pipeline
    out: dict[str, Any] = {
        "detector": detector,
        "re-id model": os.path.basename(config.reid) if config.reid else "",
        "threshold": "calibrated on the footage" if p.threshold is None else p.threshold,
        "max gap between cameras": "none" if p.max_gap_seconds is None else f"{p.max_gap_seconds:g} s",
        "thumbnails": "kept" if config.thumbnails else "off (--no-thumbnails)",
    }
    if not config.cams:
        s = config.scene
        out["scene"] = f"built-in, seed {s.seed}, {s.num_people} people, {s.num_frames} frames, {s.width}x{s.height}"
    if config.max_frames:
        out["max frames"] = config.max_frames
    if config.start_times:
        out["start times"] = list(config.start_times)
    return out
