"""How fast the edge pipeline runs, where the time goes, and what each speed-up costs in quality.

Two benchmarks share this module:

* :func:`benchmark_pipeline`: one run of the demo on given cameras, headless,
  frames per second per camera and milliseconds per stage
  (``demo/benchmark.py``).
* :func:`run_throughput`: the cost story (``benchmarks/throughput.py``). For
  every *setting* (full rate fp32 → a detection interval → motion gating →
  the int8 detector; :class:`SpeedSetting`) and every number of cameras
  (1, 2, 4, 8 PETS09 full-frame 768×576 streams, :func:`offset_cameras`: one
  video, each camera starting at another frame so no two are alike), the
  pipeline runs as the demo runs it and reports frames per second per camera,
  process CPU per camera frame, milliseconds per stage, and per-camera
  HOTA/IDF1 against the ground truth. Each setting also runs PETS09's ``lr``
  cameras (the left and right of one view, same clock) for cross-camera IDF1.

Wall-clock figures depend on everything else the machine runs; CPU time per
frame (all threads of the process) much less so. Compare settings only
within one run (the table says which machine).

Example:

    config = ThroughputConfig(cameras=(1, 2), frames=60, settings=("full", "every:3"))
    results = run_throughput(config)
    print(format_throughput(results))
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlfn_keras.errors import UserError
from mlfn_keras.preprocessing import crop_rgb
from mlfn_keras.runtime import load_embedder
from mlfn_keras.tracking.app.runner import STAGES, RunOptions, run_multicam
from mlfn_keras.tracking.app.sources import SourceSpec
from mlfn_keras.tracking.detection.detectors import build_detector
from mlfn_keras.tracking.detection.schedule import DetectionScheduler, ScheduleConfig

# ---------------------------------------------------------------- one run


def benchmark_pipeline(
    specs: Sequence[SourceSpec], detector: str, reid: str, max_frames: int, schedule: ScheduleConfig | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Runs the pipeline headless over ``specs`` and returns timings.

    The detector and re-id model are warmed up on one frame first, so one-off
    costs (ONNX conversion, graph tracing) are not counted.

    Returns:
        ``{"detector", "reid", "frames", "fps_per_camera", "ms_per_tick", "ms_decode_per_frame", ...}``.
    """
    import cv2

    det = build_detector(detector)
    emb = load_embedder(reid, what="--reid")
    cap = cv2.VideoCapture(specs[0].target)
    ok, frame = cap.read()
    cap.release()
    if ok:
        for _ in range(2):
            det([frame] * len(specs), list(range(len(specs))), [0] * len(specs))
            emb([crop_rgb(frame, (0, 0, 100, 200))] * 4)
    summary = run_multicam(specs, DetectionScheduler(det, schedule), emb,
                           options=RunOptions(max_frames=max_frames, progress=progress, write_video=False))
    ticks = max(summary.ticks, 1)
    frames = [c["frames"] for c in summary.cameras]
    stages = summary.stage_seconds
    return {
        "detector": detector + ("" if schedule is None else f" ({schedule.label})"),
        "reid": os.path.basename(reid),
        "cameras": len(specs),
        "ticks": summary.ticks,
        "frames_per_camera": frames,
        "wall_seconds": round(summary.wall_seconds, 2),
        "fps_per_camera": [round(f / summary.wall_seconds, 2) for f in frames],
        "ms_decode_per_frame": round(1000 * stages["decode"] / max(sum(frames), 1), 2),
        "ms_per_tick": {k: round(1000 * stages[k] / ticks, 2) for k in STAGES if k != "decode"},
        "embeddings_per_tick": round(summary.tracker_stats.get("embeddings", 0) / ticks, 2),
        "cpu_count": os.cpu_count(),
    }


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table of :func:`benchmark_pipeline` results."""
    head = "| detector | FPS per camera | decode ms/frame* | detect | track | embed | associate | output | crops/tick |"
    lines = [head, "|" + "---|" * 9]
    for r in results:
        t = r["ms_per_tick"]
        fps = " / ".join(f"{f:.1f}" for f in r["fps_per_camera"])
        lines.append(
            f"| {r['detector']} | {fps} | {r['ms_decode_per_frame']:.1f} | {t['detect']:.1f} | {t['track']:.1f} | "
            f"{t['embed']:.1f} | {t['associate']:.1f} | {t['output']:.1f} | {r['embeddings_per_tick']:.2f} |"
        )
    lines.append(
        "\nStage columns are milliseconds per tick (one frame from each camera) on the main thread; "
        "*decode runs on the camera threads in parallel."
    )
    return "\n".join(lines)


# ------------------------------------------------------------- settings


@dataclass(frozen=True)
class SpeedSetting:
    """One way of running the edge pipeline.

    Attributes:
        name: the spec it was parsed from (``"full"``, ``"every:3+motion+int8"``).
        schedule: when and where to detect.
        precision: the SSDLite detector's precision (``"fp32"``, ``"int8"``, ``"auto"``).
    """

    name: str
    schedule: ScheduleConfig
    precision: str = "fp32"

    @property
    def label(self) -> str:
        return f"{self.schedule.label}, {self.precision}"


#: The cost story, one step at a time.
DEFAULT_SETTINGS = ("full", "every:2", "every:3", "every:2+motion", "every:2+motion+int8", "every:3+motion+int8")


def parse_setting(spec: str) -> SpeedSetting:
    """``"full"`` or ``+``-joined parts: ``every:K``, ``motion``, ``fp32`` / ``int8`` / ``auto``.

    Raises:
        UserError: for a part that is none of these.
    """
    every, motion, precision = 1, False, "fp32"
    for part in spec.strip().lower().split("+"):
        if part in ("full", "fp32", "int8", "auto"):
            precision = part if part != "full" else precision
        elif part == "motion":
            motion = True
        elif part.startswith("every:") and part[6:].isdigit() and int(part[6:]) >= 1:
            every = int(part[6:])
        else:
            raise UserError(f"setting {spec!r}: unknown part {part!r}; expected full, every:K, motion, fp32, int8 or auto joined by '+'")
    return SpeedSetting(spec.strip(), ScheduleConfig(every=every, motion=motion), precision)


# -------------------------------------------------------------- cameras


#: Frames of the PETS09 video per benchmark camera, and the most cameras the offsets are spread for.
DEFAULT_FRAMES = 200
MAX_CAMERAS = 8


def offset_cameras(n: int, frames: int = DEFAULT_FRAMES, spread: int = MAX_CAMERAS, video: str | None = None,
                   log: Callable[[str], None] = print) -> tuple[list[SourceSpec], list[str]]:
    """``n`` full-frame PETS09 cameras, each ``frames`` long, starting at different frames of the video.

    Camera ``k`` plays frames ``[k·s, k·s + frames)`` with ``s`` chosen so
    that ``spread`` cameras fit into the 795 frames; the first ``n`` of them
    are used, so 1, 2, 4 and 8 cameras share their first cameras. Every
    camera is a cached MJPEG file decoded on its own thread, as a recorded
    camera would be, on one clock (they run side by side).

    Returns:
        ``(specs, ground-truth paths)``.
    """
    from mlfn_keras.data import pets09

    if not 1 <= frames <= pets09.NUM_FRAMES:
        raise UserError(f"--frames must be 1..{pets09.NUM_FRAMES}; got {frames}")
    if not 1 <= n <= spread:
        raise UserError(f"at most {spread} offset cameras; got {n}")
    step = (pets09.NUM_FRAMES - frames) // max(spread - 1, 1)
    cameras = [pets09.PseudoCamera(f"offset{k * step:03d}", k * step, k * step + frames) for k in range(spread)]
    files = pets09.write_cameras(cameras, pets09.cache_dir() / f"offset_{spread}x{frames}", video, log)[:n]
    specs = [SourceSpec("file", str(f.video), f.camera.name, fps=pets09.FPS) for f in files]
    return specs, [str(f.gt) for f in files]


# ------------------------------------------------------------ the story


@dataclass
class ThroughputConfig:
    """What :func:`run_throughput` runs.

    Attributes:
        cameras: numbers of offset cameras.
        settings: setting specs (:func:`parse_setting`).
        frames: frames per offset camera.
        lr: also run PETS09 ``lr`` per setting (cross-camera IDF1).
        lr_frames: frames of the ``lr`` run per camera (``None``: all 795).
        reid: re-id model (path or ``"hist"``).
        video: PETS09 ``vtest.avi`` (``None``: cached or fetched).
        output_dir: keep runs and results here (``None``: a temporary folder).
        threads: onnxruntime threads of the detector (``None``: its default).
        progress: progress bars.
    """

    cameras: Sequence[int] = (1, 2, 4, 8)
    settings: Sequence[str] = DEFAULT_SETTINGS
    frames: int = DEFAULT_FRAMES
    lr: bool = True
    lr_frames: int | None = None
    reid: str = ""
    video: str | None = None
    output_dir: str | None = None
    threads: int | None = None
    progress: bool = True
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))


@dataclass
class ThroughputRow:
    """One setting on one set of cameras.

    Attributes:
        setting: the setting's spec; ``label`` what it means.
        footage: ``"offset"`` (full-frame PETS09 cameras offset in time) or ``"lr"``.
        cameras: number of cameras.
        fps_per_camera: mean over cameras of frames per second of the
            camera's active time.
        cpu_ms_per_frame: process CPU time (all threads) per camera frame.
        stage_ms_per_frame: per stage, milliseconds per camera frame
            (``decode`` on the camera threads, the rest on the main loop).
        detected: share of frames detected; ``tiles_reused``: share of
            tiles of detected frames reused by motion gating.
        hota, idf1: per-camera figures (mean over cameras); ``per_camera_idf1`` each.
        cross_camera_idf1: for ``lr`` runs.
        precision: which detector graph ran.
    """

    setting: str
    label: str
    footage: str
    cameras: int
    frames: int
    fps_per_camera: float
    cpu_ms_per_frame: float
    stage_ms_per_frame: dict[str, float]
    detected: float
    tiles_reused: float
    forced: float
    hota: float
    idf1: float
    per_camera_idf1: list[float]
    cross_camera_idf1: float | None = None
    precision: str = "fp32"

    def cameras_at(self, fps: float = 10.0, cores: int | None = None) -> float:
        """Cameras the CPU time per frame would allow at ``fps`` each, on ``cores`` (an estimate)."""
        cores = cores or os.cpu_count() or 1
        return 1000.0 * cores / (fps * max(self.cpu_ms_per_frame, 1e-9))


def _run_once(specs, gt_paths, setting: SpeedSetting, embedder, run_dir: Path, config: ThroughputConfig,
              footage: str, max_frames: int | None, total: int | None) -> ThroughputRow:
    from mlfn_keras.tracking.bench.realvideo import score_run_dir
    from mlfn_keras.tracking.detection.ssdlite import SSDLiteDetector, read_record

    if setting.precision == "int8":  # measured whether or not it passed its gate (the table says)
        fp32 = SSDLiteDetector(threads=config.threads, precision="fp32")
        record = read_record(fp32.onnx_path)
        if record is None:
            raise UserError("no int8 detector to measure; build it first with: python export/detector_int8.py")
        detector = SSDLiteDetector(threads=config.threads, model_path=record.model)
        precision = "int8" + ("" if record.passed else " (failed its parity gate)")
    else:
        detector = SSDLiteDetector(threads=config.threads, precision=setting.precision)
        precision = detector.precision
    scheduler = DetectionScheduler(detector, setting.schedule)
    detector([np.zeros((576, 768, 3), np.uint8)])  # warm-up
    if run_dir.exists():
        shutil.rmtree(run_dir)
    options = RunOptions(output_dir=str(run_dir), write_video=False, progress=config.progress, max_frames=max_frames,
                         total_frames=total)
    summary = run_multicam(specs, scheduler, embedder, None, options)
    frames = sum(c["frames"] for c in summary.cameras)
    stage = summary.stage_seconds
    scores = score_run_dir(run_dir, gt_paths, [s.name for s in specs])
    stats = scheduler.stats
    tiles = stats.tiles_run + stats.tiles_reused
    return ThroughputRow(
        setting=setting.name, label=setting.schedule.label, footage=footage, cameras=len(specs), frames=frames,
        fps_per_camera=float(np.mean([c["fps"] for c in summary.cameras])),
        cpu_ms_per_frame=1000.0 * summary.cpu_seconds / max(frames, 1),
        stage_ms_per_frame={k: 1000.0 * v / max(frames, 1) for k, v in stage.items()},
        detected=stats.detected / max(stats.frames, 1), tiles_reused=stats.tiles_reused / tiles if tiles else 0.0,
        forced=stats.forced / max(stats.frames, 1),
        hota=float(np.mean([c.hota for c in scores.cameras])), idf1=float(np.mean([c.idf1 for c in scores.cameras])),
        per_camera_idf1=[float(c.idf1) for c in scores.cameras],
        cross_camera_idf1=float(scores.cross_camera) if footage == "lr" else None, precision=precision,
    )


def run_throughput(config: ThroughputConfig) -> list[ThroughputRow]:
    """Runs every setting on every number of cameras (and on ``lr``); writes results with an output dir."""
    from mlfn_keras.tracking.bench.realvideo import pets09_setting

    settings = [parse_setting(s) for s in config.settings]
    if not settings or not config.cameras:
        raise UserError("nothing to run: expected at least one setting and one number of cameras")
    spread = max(max(config.cameras), MAX_CAMERAS)
    tmp = None
    if config.output_dir:
        root = Path(config.output_dir)
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="mlfn-throughput-")
        root = Path(tmp)
    try:
        embedder = load_embedder(config.reid)
        rows = []
        for setting in settings:
            for n in config.cameras:
                specs, gts = offset_cameras(n, config.frames, spread, config.video, config.log)
                config.log(f"{setting.name}: {n} camera(s)")
                rows.append(_run_once(specs, gts, setting, embedder, root / "runs" / _slug(setting.name) / f"{n}cams",
                                      config, "offset", config.frames, config.frames))
            if config.lr:
                lr = pets09_setting("lr", config.video, config.log)
                config.log(f"{setting.name}: PETS09 lr")
                rows.append(_run_once(list(lr.specs), lr.gt_paths, setting, embedder, root / "runs" / _slug(setting.name) / "lr",
                                      config, "lr", config.lr_frames, config.lr_frames or lr.num_frames))
        if config.output_dir:
            write_throughput(rows, root, config)
        return rows
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower())


def machine() -> str:
    """``"<CPU model>, <n> cores"`` of this machine (what the figures were measured on)."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = [f for f in ("avx512_vnni", "avx_vnni", "amx_int8", "avx512f", "avx2") if f" {f}" in text]
        flags = f" ({', '.join(found)})" if found else ""
    except OSError:
        pass
    return f"{name}{flags}, {os.cpu_count()} cores"


def _pct(v: float | None) -> str:
    return "–" if v is None or v != v else f"{100 * v:.1f}"


def format_throughput(rows: Sequence[ThroughputRow], load: float | None = None) -> str:
    """The cost story as markdown: a row per setting and number of cameras, quality beside speed, then the stages."""
    base = {r.footage + str(r.cameras): r for r in rows if r.setting == rows[0].setting} if rows else {}
    lines = [
        "| setting | detector | cameras | FPS per camera | CPU ms per camera frame | ≈ cameras at 10 FPS | "
        "frames detected | per-camera IDF1 (Δ) | per-camera HOTA (Δ) | cross-camera IDF1 `lr` (Δ) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lr_rows = {r.setting: r for r in rows if r.footage == "lr"}
    lr_base = lr_rows.get(rows[0].setting) if rows else None
    for r in rows:
        if r.footage != "offset":
            continue
        b = base.get("offset" + str(r.cameras))
        lr = lr_rows.get(r.setting)
        cross = "–"
        if lr is not None and lr_base is not None:
            cross = f"{_pct(lr.cross_camera_idf1)} ({100 * (lr.cross_camera_idf1 - lr_base.cross_camera_idf1):+.1f})"
        lines.append(
            f"| {r.label} | {r.precision} | {r.cameras} | {r.fps_per_camera:.1f} | {r.cpu_ms_per_frame:.1f} | "
            f"{r.cameras_at():.1f} | {100 * r.detected:.0f} % | {_pct(r.idf1)} ({100 * (r.idf1 - b.idf1):+.1f}) | "
            f"{_pct(r.hota)} ({100 * (r.hota - b.hota):+.1f}) | {cross} |"
        )
    lines += ["", "Where the time goes (milliseconds per camera frame; decode runs on the camera threads):", "",
              "| setting | cameras | " + " | ".join(STAGES) + " | tiles reused | forced detections |",
              "|---|---:|" + "---:|" * (len(STAGES) + 2)]
    for r in rows:
        if r.footage != "offset":
            continue
        lines.append(f"| {r.label}, {r.precision} | {r.cameras} | "
                     + " | ".join(f"{r.stage_ms_per_frame.get(k, 0.0):.1f}" for k in STAGES)
                     + f" | {100 * r.tiles_reused:.0f} % | {100 * r.forced:.0f} % |")
    if lr_rows:
        lines += ["", "| setting | PETS09 `lr` cross-camera IDF1 | per-camera IDF1 | FPS per camera |", "|---|---:|---:|---:|"]
        for r in lr_rows.values():
            lines.append(f"| {r.label}, {r.precision} | {_pct(r.cross_camera_idf1)} | "
                         f"{' / '.join(_pct(v) for v in r.per_camera_idf1)} | {r.fps_per_camera:.1f} |")
    note = (f"\nMachine: {machine()}" + (f"; 1-minute load average {load:.1f} at the start" if load is not None else "")
            + ". Δ: against the first setting in the same run. ≈ cameras at 10 FPS = cores × 1000 / (10 × CPU ms per "
            "camera frame), an estimate from CPU time that ignores how well the work spreads over the cores.")
    return "\n".join(lines) + "\n" + note


def write_throughput(rows: Sequence[ThroughputRow], out_dir: str | os.PathLike, config: ThroughputConfig | None = None,
                     plot: str | os.PathLike | None = None) -> None:
    """Writes ``throughput.json``, ``throughput.md`` and ``throughput.png`` (or ``plot``) into ``out_dir``."""
    out = Path(out_dir)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    meta = {} if config is None else {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items() if k != "log"}
    (out / "throughput.json").write_text(json.dumps({"machine": machine(), "config": meta, "rows": [asdict(r) for r in rows]}, indent=1))
    (out / "throughput.md").write_text(format_throughput(rows, load) + "\n")
    plot_throughput(rows, plot or out / "throughput.png")


def plot_throughput(rows: Sequence[ThroughputRow], path: str | os.PathLike) -> Path:
    """Left: FPS per camera against cameras, a line per setting. Right: where a camera frame's time goes at the most cameras."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    offset = [r for r in rows if r.footage == "offset"]
    settings = list(dict.fromkeys(r.setting for r in offset))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for s in settings:
        mine = sorted((r for r in offset if r.setting == s), key=lambda r: r.cameras)
        ax.plot([r.cameras for r in mine], [r.fps_per_camera for r in mine], marker="o",
                label=f"{mine[0].label}, {mine[0].precision} (IDF1 {100 * np.mean([r.idf1 for r in mine]):.1f})")
    ax.axhline(10, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("cameras (PETS09 768×576, one box)")
    ax.set_ylabel("frames per second per camera")
    ax.set_xscale("log", base=2)
    ax.legend(fontsize=7)
    most = max((r.cameras for r in offset), default=1)
    at_most = [next(r for r in offset if r.setting == s and r.cameras == most) for s in settings]
    bottom = np.zeros(len(at_most))
    for stage in STAGES:
        v = np.array([r.stage_ms_per_frame.get(stage, 0.0) for r in at_most])
        bx.bar(range(len(at_most)), v, bottom=bottom, label=stage)
        bottom += v
    import textwrap

    bx.set_xticks(range(len(at_most)), [textwrap.fill(f"{r.label}, {r.precision}", 16) for r in at_most], fontsize=6)
    bx.set_ylabel(f"ms per camera frame ({most} cameras)")
    bx.legend(fontsize=7)
    fig.suptitle(f"Edge pipeline throughput and its cost ({machine()})", fontsize=9)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
