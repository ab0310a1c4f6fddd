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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlfn_keras.tracking.app.runner import RunOptions, RunSummary, run_multicam
from mlfn_keras.tracking.app.scene import SceneConfig, cached_scene
from mlfn_keras.tracking.app.sources import SourceSpec, parse_cams
from mlfn_keras.tracking.core.pipeline import PipelineConfig
from mlfn_keras.tracking.core.reid import load_reid
from mlfn_keras.tracking.detection.detectors import build_detector

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
        reid: re-id model path.
        scene: the built-in scene (used when ``cams`` is empty).
        pipeline: multi-camera tracker settings.
        output_dir: where to write outputs (``None``: nothing).
        show: live window.
        max_frames: stop after this many frames per camera.
        write_video: annotated videos in the output dir.
        progress: progress bars.
        evaluate: score the run against ground truth (built-in scene only).
        serve: ``"[HOST:]PORT"``: serve the live web view there (``None``: no web view).
        on_serve: called with the web view's URL once it listens (e.g. to learn
            the port ``--serve 127.0.0.1:0`` picked).
        offline: re-cluster the whole run at the end for the final ids
            (``None``: automatic, on when every source is a file/folder).
        start_times: per ``cams`` value, when that file's first frame was
            recorded (seconds on a common clock; ``None``: all 0, the files
            started together). Live sources ignore it.
    """

    cams: Sequence[str] = ()
    detector: str = "auto"
    reid: str = ""
    scene: SceneConfig = field(default_factory=SceneConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    output_dir: str | None = None
    show: bool = False
    max_frames: int | None = None
    write_video: bool = True
    progress: bool = True
    evaluate: bool = False
    serve: str | None = None
    on_serve: Callable[[str], None] | None = None
    offline: bool | None = None
    start_times: Sequence[float] | None = None


def scene_specs(scene: SceneConfig, progress: bool = True) -> tuple[list[SourceSpec], list[str]]:
    """Renders (or reuses) the built-in scene; returns camera specs and ground-truth paths."""
    paths = cached_scene(scene, progress=progress)
    specs = [SourceSpec("file", v, f"cam{i}", fps=scene.fps) for i, v in enumerate(paths["videos"])]
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
    else:
        specs, gt_paths = scene_specs(config.scene, config.progress)
        total = config.scene.num_frames
    detector_name = config.detector
    if detector_name == "auto":
        detector_name = "ssdlite" if config.cams else SCENE_DETECTOR
    if detector_name == "gt":
        print("NOTE: --detector gt uses ground-truth boxes; this isolates re-id, it is not a detector.", file=sys.stderr)
    detector = build_detector(detector_name, gt_lookup_from_files(gt_paths) if gt_paths else None)
    embedder = load_reid(config.reid)
    if config.evaluate and not gt_paths:
        raise ValueError("--evaluate needs ground truth, which only the built-in scene (no --cams) has.")
    if config.output_dir and gt_paths:
        os.makedirs(os.path.join(config.output_dir, "gt"), exist_ok=True)
        for p in gt_paths:
            shutil.copy(p, os.path.join(config.output_dir, "gt", os.path.basename(p)))
    views = []
    if config.serve:  # the runner closes it when the run ends
        from mlfn_keras.tracking.view.web import start_web_view

        views = [v for v in [start_web_view(config.serve, [s.name for s in specs])] if v is not None]
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
    )
    summary = run_multicam(specs, detector, embedder, config.pipeline, options)
    scores = None
    if config.evaluate:
        if not config.output_dir:
            raise ValueError("--evaluate needs --output (it scores the written MOT files).")
        from mlfn_keras.tracking.eval.metrics import evaluate_run

        scores = evaluate_run(config.output_dir, max_frames=config.max_frames)
    return summary, scores
