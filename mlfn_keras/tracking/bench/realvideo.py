"""The real-video benchmark: the demo pipeline on PETS09 and on the built-in scene, one table.

For each *setting* — PETS09 S2.L1 split into pseudo-cameras (``lr``: left and
right halves, ``time``: first and second half of the video; see
:mod:`mlfn_keras.data.pets09`) and the built-in generated scene with a few
seeds — the multi-camera pipeline runs once per re-id model (the shipped
weights, then the colour-histogram baseline) and per mode, exactly as
``demo/multicam.py`` runs it (default :class:`~mlfn_keras.tracking.core.pipeline.PipelineConfig`, no
ground truth used by the pipeline unless ``--detector gt``). Each run is
scored by :func:`~mlfn_keras.tracking.eval.scoring.score_run`: per camera HOTA /
MOTA / IDF1 and box recall / precision, cross-camera IDF1 of the global ids,
and, from the same run, the *no re-id* and *oracle re-id* references.

Two modes (:data:`MODES`): ``offline``, what recorded files get (the whole
run re-clustered at the end, ``mot/`` rewritten with the final ids), and
``online``, what live cameras get (``--cams 0 1``, streams, a live central):
the ids as they were shown at each frame, revised as the run goes, never
rewritten afterwards.

Clocks: a split whose cameras were filmed at different times (``time``) is
run with its start times (the second camera starts 57.1 s later, as
``--start-times 0 57.1`` says) and, with ``start_times="both"``, also without
them (what a user who gives no ``--start-times`` gets: both files count from
0, and their clocks are not trusted to agree): association must not be fooled
by the clock. The other settings' cameras are given their (equal) start times.

Steps (:func:`run_benchmark`): resolve settings → load the re-id models →
for every setting, model and mode: build a fresh detector, run, score → table.

Example:

    config = BenchmarkConfig(splits=("lr",), scene_seeds=(0,), max_frames=100)
    results = run_benchmark(config)
    print(format_table(results))
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlfn_keras.errors import UserError
from mlfn_keras.fileio import atomic_output, write_json, write_text
from mlfn_keras.runtime import check_spec, load_embedder
from mlfn_keras.runtime.histogram import NAME as HIST_SPEC
from mlfn_keras.tracking.app.sources import SourceSpec
from mlfn_keras.tracking.eval.scoring import (
    RunScores,
    detection_scores,
    limit_frames,
    read_run_folder,
    score_run,
)
from mlfn_keras.weights import SHIPPED_REID as _SHIPPED_REID

#: The re-id weights shipped in the package (what ``mlfn demo`` uses by default).
SHIPPED_REID = str(_SHIPPED_REID)
#: ``--reid`` value that selects the colour-histogram baseline.
HIST = HIST_SPEC
#: Detector per kind of footage for ``--detector auto`` (as the demo chooses).
AUTO_DETECTOR = {"generated": "bgsub", "real": "ssdlite"}
#: ``offline``: recorded files, re-clustered at the end; ``online``: live ids as shown.
MODES = ("offline", "online")
#: ``given``: cameras keep their start times; ``none``: every camera starts at 0; ``both``.
START_TIMES = ("given", "none", "both")
#: Files and folders the benchmark writes into ``--output``.
OUTPUT_NAMES = ("results.json", "table.md", "cross_camera_idf1.png", "runs")
#: The manifest kind of the benchmark's --output folder (see `mlfn_keras.fileio`).
OUTPUT_KIND = "mlfn_keras.real_video_benchmark"


@dataclass(frozen=True)
class Setting:
    """One set of cameras with ground truth.

    Attributes:
        name: short label (``"scene s0"``, ``"PETS09 lr"``).
        kind: ``"generated"`` or ``"real"``.
        specs: the cameras, as the pipeline reads them.
        gt_paths: one MOT ground-truth file per camera (global person ids;
            column 7 = 0 marks an ignored box).
        num_frames: ticks the run takes (for the progress bar): the longest
            camera's frames, or the span of the common clock where the
            cameras started at different times (a later one waits for it).
    """

    name: str
    kind: str
    specs: tuple[SourceSpec, ...]
    gt_paths: tuple[str, ...]
    num_frames: int | None = None

    @property
    def staggered(self) -> bool:
        """Whether its cameras started at different times."""
        return len({s.start_time or 0.0 for s in self.specs}) > 1

    def without_start_times(self) -> Setting:
        """The same cameras with no start times: files given without ``--start-times`` (each counts from 0)."""
        specs = tuple(dataclasses.replace(s, start_time=None) for s in self.specs)
        # without start times every file counts from its first frame: the longest file's length, not known here
        frames = None if self.staggered else self.num_frames
        return dataclasses.replace(self, name=f"{self.name}, no start times", specs=specs, num_frames=frames)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_")


def scene_setting(seed: int, progress: bool = True) -> Setting:
    """The built-in generated scene (demo defaults) with ``seed``; rendered once and cached."""
    from mlfn_keras.tracking.app.demo import scene_specs
    from mlfn_keras.tracking.app.scene import SceneConfig

    scene = SceneConfig(seed=seed)
    specs, gt = scene_specs(scene, progress=progress)
    return Setting(f"scene s{seed}", "generated", tuple(specs), tuple(gt), scene.num_frames)


def pets09_setting(split: str, video: str | None = None, log: Callable[[str], None] = print) -> Setting:
    """A PETS09 S2.L1 split (``lr`` or ``time``) written as one video per pseudo-camera (cached)."""
    from mlfn_keras.data import pets09

    files = pets09.prepare_split(split, video=video, log=log)
    # Each pseudo-camera keeps the video's clock: the time split's second camera
    # starts 400 frames (57.1 s) after the first, as a second recording would.
    specs = tuple(SourceSpec("file", str(f.video), f.camera.name, fps=pets09.FPS, start_time=f.camera.start / pets09.FPS)
                  for f in files)
    frames = max(f.camera.stop for f in files) - min(f.camera.start for f in files)  # the common clock's span
    return Setting(f"PETS09 {split}", "real", specs, tuple(str(f.gt) for f in files), frames)


def reid_label(reid: str) -> str:
    """How a ``--reid`` value is named in the table."""
    if reid == HIST:
        return "colour histogram"
    return Path(reid).name if os.path.abspath(reid) != SHIPPED_REID else f"shipped ({Path(reid).name})"


def warm_embedder(reid: str):
    """The embedder a ``--reid`` spec names (:func:`mlfn_keras.runtime.load_embedder`), warmed up on a few crops."""
    embedder = load_embedder(reid, what="--reid")
    # One-off costs (graph tracing) stay out of the FPS figures.
    rng = np.random.default_rng(0)
    embedder([rng.integers(0, 255, (128, 64, 3), np.uint8) for _ in range(4)])
    return embedder


@dataclass
class RunResult:
    """One pipeline run of one setting with one re-id model, scored."""

    setting: str
    kind: str
    reid: str
    detector: str
    cameras: list[str]
    scores: RunScores
    fps: list[float]
    frames: list[int]
    run_dir: str | None = None
    mode: str = "offline"

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "scores"}
        d["scores"] = self.scores.to_dict()
        return _no_nan(d)


def _no_nan(value):
    """NaN (undefined figures) as JSON null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


class RecordingDetector:
    """Passes a detector's output through and keeps every box, to score the detector on its own.

    Args:
        detector: the detector.
        num_cameras: cameras in the run.
    """

    def __init__(self, detector, num_cameras: int):
        self.detector = detector
        self.rows: list[list[list[float]]] = [[] for _ in range(num_cameras)]

    def __call__(self, frames, cameras=(), indices=()):
        out = self.detector(frames, cameras, indices)
        for det, cam, idx in zip(out, cameras, indices):
            scores = det.confidence if det.confidence is not None else np.ones(len(det.xyxy))
            for (x1, y1, x2, y2), score in zip(det.xyxy, scores):
                self.rows[cam].append([idx + 1, -1, x1, y1, x2 - x1, y2 - y1, float(score)])
        return out

    def write(self, run_dir: str | os.PathLike) -> None:
        """``detections/cam{i}.txt``: MOT rows ``frame, -1, x, y, w, h, score``."""
        folder = Path(run_dir) / "detections"
        folder.mkdir(parents=True, exist_ok=True)
        for i, rows in enumerate(self.rows):
            with open(folder / f"cam{i}.txt", "w") as f:
                f.writelines(f"{int(r[0])},-1,{r[2]:.1f},{r[3]:.1f},{r[4]:.1f},{r[5]:.1f},{r[6]:.3f}\n" for r in rows)


def _read_detections(path: Path) -> np.ndarray:
    """``(N, 7)`` rows ``frame, id, x, y, w, h, score`` of a ``detections/cam{i}.txt`` file."""
    from mlfn_keras.data.mot import read_mot

    return read_mot(path, columns=7)


def score_run_dir(run_dir: str | os.PathLike, gt_paths: Sequence[str], names: Sequence[str] | None = None,
                  detection_threshold: float | None = None, ids: str = "final") -> RunScores:
    """Scores a demo output folder (``mot/``, ``mot_local/``, ``summary.json``) against ground truth.

    Only the frames each camera processed are scored (``summary.json``), so a
    ``--max-frames`` run is scored fairly. Where the run folder has
    ``detections/`` (:class:`RecordingDetector`), the raw detections with a
    score ≥ ``detection_threshold`` (default: the score that can start a
    track) are scored too.

    Args:
        ids: ``"final"`` (``mot/``) or ``"shown"`` (the ids the live view
            showed at each frame; :func:`~mlfn_keras.tracking.eval.scoring.read_run_folder`).

    Raises:
        FileNotFoundError: naming the missing run file.
    """
    run_dir = Path(run_dir)
    run = read_run_folder(run_dir, gt_paths, ids)
    scores = score_run(run.gts, run.global_preds, run.local_preds, names)
    gts, frames = run.gts, run.frames
    if detection_threshold is None:
        from mlfn_keras.tracking.core.pipeline import PipelineConfig

        detection_threshold = PipelineConfig().activation_threshold
    for i, (gt, cam) in enumerate(zip(gts, scores.cameras)):
        path = run_dir / "detections" / f"cam{i}.txt"
        if path.is_file():
            rows = limit_frames(_read_detections(path), frames[i])
            det = detection_scores(gt, rows[rows[:, 6] >= detection_threshold, :6])
            cam.detector_recall, cam.detector_precision = det.recall, det.precision
    scores.details["detection_threshold"] = detection_threshold
    return scores


def run_setting(setting: Setting, reid: str, embedder, run_dir: str, detector: str = "auto", max_frames: int | None = None,
                progress: bool = True, mode: str = "offline") -> RunResult:
    """Runs the demo pipeline once on ``setting`` and scores it.

    Args:
        setting: cameras and ground truth.
        reid: the ``--reid`` value (for the label).
        embedder: the loaded embedder.
        mode: ``"offline"`` (final ids from the whole run) or ``"online"``
            (the live ids, as shown at each frame).
        detector: ``"auto"`` (``bgsub`` for generated, ``ssdlite`` for real
            video), or any ``--detector`` value; ``"gt"`` uses the setting's
            ground-truth boxes (isolates re-id).
        max_frames: stop after this many frames per camera.
        run_dir: where the run writes its outputs (scored from there).
    """
    from mlfn_keras.tracking.app.demo import gt_lookup_from_files
    from mlfn_keras.tracking.app.runner import RunOptions, run_multicam
    from mlfn_keras.tracking.core.pipeline import PipelineConfig
    from mlfn_keras.tracking.detection.detectors import build_detector

    name = AUTO_DETECTOR[setting.kind] if detector == "auto" else detector
    # A fresh detector per run: background subtraction keeps per-camera state.
    try:
        det = build_detector(name, gt_lookup_from_files(setting.gt_paths) if name == "gt" else None)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    recording = RecordingDetector(det, len(setting.specs))
    if mode not in MODES:
        raise UserError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    options = RunOptions(output_dir=run_dir, max_frames=max_frames, write_video=False, progress=progress,
                         total_frames=setting.num_frames, offline=mode == "offline")
    summary = run_multicam(list(setting.specs), recording, embedder, PipelineConfig(), options)
    recording.write(run_dir)
    names = [s.name for s in setting.specs]
    # online: what a live viewer saw at each frame, not the ids after the run's later merges and splits
    scores = score_run_dir(run_dir, setting.gt_paths, names, ids="shown" if mode == "online" else "final")
    return RunResult(
        setting=setting.name,
        kind=setting.kind,
        reid=reid_label(reid),
        detector=name,
        cameras=names,
        scores=scores,
        fps=[float(c["fps"]) for c in summary.cameras],
        frames=[int(c["frames"]) for c in summary.cameras],
        run_dir=run_dir,
        mode=mode,
    )


@dataclass
class BenchmarkConfig:
    """What :func:`run_benchmark` runs.

    Attributes:
        splits: PETS09 splits (``lr``, ``time``, ``full``).
        scene_seeds: built-in scene seeds.
        video: PETS09 ``vtest.avi`` (``None``: the cached copy, else fetched
            with ``apt-get download opencv-doc``).
        reids: re-id models, each a path or ``"hist"``; the first one's runs
            give the no-re-id and oracle rows shown in the table.
        detector: ``"auto"`` or a ``--detector`` value.
        max_frames: frames per camera (``None``: all; a shortened run's
            figures are not comparable with full ones).
        output_dir: keep every run's outputs, the JSON and the table here
            (``None``: a temporary folder, removed).
        progress: progress bars.
        modes: :data:`MODES` to run: ``offline`` (recorded files) and/or
            ``online`` (live ids as shown).
        start_times: for settings whose cameras started at different times:
            ``"given"`` (their start times), ``"none"`` (every camera at 0)
            or ``"both"``.
    """

    splits: Sequence[str] = ("lr", "time")
    scene_seeds: Sequence[int] = (0, 1, 2)
    video: str | None = None
    reids: Sequence[str] = (SHIPPED_REID, HIST)
    detector: str = "auto"
    max_frames: int | None = None
    output_dir: str | None = None
    progress: bool = True
    modes: Sequence[str] = MODES
    start_times: str = "both"
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))


def resolve_settings(config: BenchmarkConfig) -> list[Setting]:
    """Generated scenes first, then PETS09 splits (rendered / cut once, then cached)."""
    from mlfn_keras.data import pets09

    for split in config.splits:
        pets09.split_cameras(split)  # a bad name fails before anything runs
    if config.start_times not in START_TIMES:
        raise UserError(f"start_times {config.start_times!r} is not one of {', '.join(START_TIMES)}")
    settings = [scene_setting(seed, config.progress) for seed in config.scene_seeds]
    settings += [pets09_setting(split, config.video, config.log) for split in config.splits]
    out = []
    for setting in settings:
        if not setting.staggered or config.start_times in ("given", "both"):
            out.append(setting)
        if setting.staggered and config.start_times in ("none", "both"):
            out.append(setting.without_start_times())
    return out


def run_benchmark(config: BenchmarkConfig) -> list[RunResult]:
    """Runs every setting with every re-id model; writes ``results.json`` and ``table.md`` with an output dir."""
    from mlfn_keras.fileio import check_output_dir, legacy_listing, run_lock

    if not config.reids:
        raise UserError("no re-id model given; expected at least one --reid PATH or 'hist'")
    if not config.modes or any(m not in MODES for m in config.modes):
        raise UserError(f"modes {list(config.modes)} must be one or more of {', '.join(MODES)}")
    for reid in config.reids:  # a wrong path fails before any long step
        check_spec(reid, what="--reid")
    with contextlib.ExitStack() as lock:
        if config.output_dir:
            lock.enter_context(run_lock(config.output_dir, "--output"))  # one run per folder
            claim = check_output_dir(config.output_dir, OUTPUT_KIND, what="--output folder", writes=OUTPUT_NAMES,
                                     legacy=legacy_listing(OUTPUT_NAMES, "results.json"))
            claim.write_manifest(OUTPUT_NAMES)  # first, so a killed run's files are known
        return _run_settings(config, Path(config.output_dir) if config.output_dir else None)


def _run_settings(config: BenchmarkConfig, output_dir: Path | None) -> list[RunResult]:
    if output_dir is not None:
        root, tmp = output_dir, None
    else:
        tmp = tempfile.mkdtemp(prefix="mlfn-realvideo-")
        root = Path(tmp)
    try:
        settings = resolve_settings(config)
        embedders = [warm_embedder(r) for r in config.reids]
        results = []
        for mode in config.modes:
            for setting in settings:
                for reid, embedder in zip(config.reids, embedders):
                    slug = re.sub(r"[^a-z0-9]+", "_", reid_label(reid).lower()).strip("_")
                    run_dir = root / "runs" / mode / setting.slug / slug
                    if run_dir.exists():
                        shutil.rmtree(run_dir)
                    config.log(f"{setting.name} ({mode}): re-id {reid_label(reid)}")
                    result = run_setting(setting, reid, embedder, str(run_dir), config.detector, config.max_frames,
                                         config.progress, mode)
                    if tmp:
                        result.run_dir = None
                    results.append(result)
        if config.output_dir:
            write_results(results, root, config)
        return results
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def write_results(results: Sequence[RunResult], out_dir: str | os.PathLike, config: BenchmarkConfig | None = None) -> None:
    """Writes ``results.json``, ``table.md`` (the table and the per-camera details) and ``cross_camera_idf1.png``."""
    out = Path(out_dir)
    meta = {}
    if config is not None:
        meta = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items() if k != "log"}
    write_json(out / "results.json", {"config": meta, "runs": [r.to_dict() for r in results]}, indent=1)
    write_text(out / "table.md", format_table(results) + "\n\n" + format_details(results) + "\n")
    plot_results(results, out / "cross_camera_idf1.png")


def plot_results(results: Sequence[RunResult], path: str | os.PathLike) -> Path:
    """A bar chart of cross-camera IDF1 per setting: each re-id model beside the no-re-id and oracle rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def label(r: RunResult) -> str:
        return r.setting if r.mode == "offline" else f"{r.setting}, online"

    settings = list(dict.fromkeys(label(r) for r in results))
    reids = list(dict.fromkeys(r.reid for r in results))
    run = {(label(r), r.reid): r for r in results}
    first = {s: next(r for r in results if label(r) == s) for s in settings}
    bars = [("no re-id", lambda s: first[s].scores.no_reid)]
    bars += [(reid, lambda s, reid=reid: run[(s, reid)].scores.cross_camera if (s, reid) in run else np.nan) for reid in reids]
    bars += [("oracle re-id", lambda s: first[s].scores.oracle)]
    width = 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(settings), 4.0))
    x = np.arange(len(settings))
    for k, (label, value) in enumerate(bars):
        ax.bar(x + (k - (len(bars) - 1) / 2) * width, [100 * value(s) for s in settings], width, label=label)
    ax.set_xticks(x, [f"{s.replace(', ', chr(10))}\n({first[s].kind})" for s in settings], fontsize=7)
    ax.set_ylabel("cross-camera IDF1")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    ax.set_title("Cross-camera IDF1: re-id against no re-id and the oracle (same run)", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return out


def _pct(v: float) -> str:
    return "–" if v != v else f"{100 * v:.1f}"  # NaN: undefined (e.g. recall with no ground truth)


def _nan(v: float | None) -> float:
    return float("nan") if v is None else v


def _per_cam(values: Sequence[float], fmt=_pct) -> str:
    return " / ".join(fmt(v) for v in values)


#: How each mode is titled above its table.
MODE_TITLES = {
    "offline": "Offline (recorded files: final ids from the whole run)",
    "online": "Online (live cameras: the ids as shown at each frame, revised as the run goes)",
}


def format_table(results: Sequence[RunResult]) -> str:
    """Markdown tables, one per mode: a column per setting (generated and real side by side), a row per figure.

    The no-re-id and oracle rows come from the first re-id model's run of
    each setting in that mode; per-camera figures are ``camera 0 / camera 1``.
    """
    modes = list(dict.fromkeys(r.mode for r in results))
    parts = []
    for mode in modes:
        lines = _mode_table([r for r in results if r.mode == mode])
        parts.append((f"**{MODE_TITLES[mode]}**\n\n" if len(modes) > 1 or mode != "offline" else "") + "\n".join(lines))
    ref = next(iter(dict.fromkeys(r.reid for r in results)), "")
    note = (
        f"Per-camera rows and the no-re-id / oracle rows are from the {ref} run. HOTA / MOTA / IDF1 per camera score "
        "the global ids; box recall / precision (IoU 0.5) score every tracked box (per-camera tracks), detector recall / "
        "precision the raw detections that can start a track (score ≥ the pipeline's activation threshold). Ignored ground "
        "truth (MOT15 consider=0, or < 60 % visible in a PETS09 pseudo-camera) counts neither way. FPS is frames "
        "processed per second of wall time per stream, all streams in one process."
    )
    return "\n\n".join(parts) + "\n\n" + note


def _mode_table(results: Sequence[RunResult]) -> list[str]:
    settings: list[str] = []
    for r in results:
        if r.setting not in settings:
            settings.append(r.setting)
    reids: list[str] = []
    for r in results:
        if r.reid not in reids:
            reids.append(r.reid)
    run = {(r.setting, r.reid): r for r in results}
    first = {s: next(r for r in results if r.setting == s) for s in settings}

    def row(label: str, cell: Callable[[RunResult], str], reid: str | None = None) -> str:
        cells = []
        for s in settings:
            r = first[s] if reid is None else run.get((s, reid))
            cells.append(cell(r) if r is not None else "")
        return f"| {label} | " + " | ".join(cells) + " |"

    head = "| | " + " | ".join(f"{s} ({first[s].kind})" for s in settings) + " |"
    lines = [head, "|---|" + "---:|" * len(settings)]
    lines.append(row("detector", lambda r: r.detector))
    for reid in reids:
        lines.append(row(f"**cross-camera IDF1, re-id {reid}**", lambda r: _pct(r.scores.cross_camera), reid))
    lines.append(row("cross-camera IDF1, no re-id (same run)", lambda r: _pct(r.scores.no_reid)))
    lines.append(row("cross-camera IDF1, oracle re-id (same run)", lambda r: _pct(r.scores.oracle)))
    for reid in reids:
        lines.append(row(f"global ids / people, {reid}", lambda r: f"{r.scores.global_ids} / {r.scores.people}", reid))
    lines.append(row("HOTA per camera", lambda r: _per_cam([c.hota for c in r.scores.cameras])))
    lines.append(row("MOTA per camera", lambda r: _per_cam([c.mota for c in r.scores.cameras])))
    lines.append(row("IDF1 per camera", lambda r: _per_cam([c.idf1 for c in r.scores.cameras])))
    lines.append(row("box recall per camera", lambda r: _per_cam([c.recall for c in r.scores.cameras])))
    lines.append(row("box precision per camera", lambda r: _per_cam([c.precision for c in r.scores.cameras])))
    lines.append(row("detector recall per camera", lambda r: _per_cam([_nan(c.detector_recall) for c in r.scores.cameras])))
    lines.append(row("detector precision per camera", lambda r: _per_cam([_nan(c.detector_precision) for c in r.scores.cameras])))
    for reid in reids:
        lines.append(row(f"FPS per stream, {reid}", lambda r: _per_cam(r.fps, lambda v: f"{v:.1f}"), reid))
    lines.append(row("frames per camera", lambda r: _per_cam(r.frames, str)))
    return lines


def format_details(results: Sequence[RunResult]) -> str:
    """Per run and camera: HOTA, MOTA, IDF1, IDSW, recall, precision, FPS (markdown)."""
    lines = [
        "| setting | mode | re-id | camera | HOTA | MOTA | IDF1 | IDSW | box recall | box precision | det. recall | det. precision | FPS |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for c, fps in zip(r.scores.cameras, r.fps):
            d = r.scores.details["per_camera"][c.name]
            lines.append(
                f"| {r.setting} | {r.mode} | {r.reid} | {c.name} | {_pct(c.hota)} | {_pct(c.mota)} | {_pct(c.idf1)} | "
                f"{int(d['IDSW'])} | {_pct(c.recall)} | {_pct(c.precision)} | {_pct(_nan(c.detector_recall))} | "
                f"{_pct(_nan(c.detector_precision))} | {fps:.1f} |"
            )
    return "\n".join(lines)


def results_json(results: Sequence[RunResult]) -> str:
    """All results as JSON text."""
    return json.dumps([r.to_dict() for r in results], indent=1)
