"""``mlfn-adapt`` as named steps: check outputs, mine tracklets, adapt, save, export, summarise.

    summary = run_adaptation(AdaptRequest(sources=["cam0.mp4", "cam1.mp4"], out="site.keras"))

1. refuse to overwrite ``out`` (and its export) without ``force``, and a
   second run writing the same ``out`` at once (a lock held for the run);
2. load the starting model (``init``, default the shipped demo weights);
3. mine tracklets with the project's detector + ByteTrack per camera (or read
   them from the checkpoint of an interrupted run of the *same* definition:
   footage, detector, starting model and settings, recorded in the
   checkpoint's ``run.json``; another run's checkpoint is refused, never
   resumed or deleted, and a damaged one asks for ``--fresh``);
4. check the footage can teach anything (people, more than one);
5. :func:`mlfn_keras.adapt.trainer.adapt` within the time budget;
6. write ``out`` and its parity-gated ONNX/TFLite export atomically;
7. a summary (JSON beside the model) and the checkpoint removed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlfn_keras.adapt.tracklets import CameraReport, check_enough, mine_tracklets
from mlfn_keras.adapt.trainer import (
    AdaptConfig,
    AdaptResult,
    Checkpoint,
    adapt,
    save_tracklets,
)
from mlfn_keras.errors import InputPathError, OutputExistsError, UserError
from mlfn_keras.weights import SHIPPED_REID

#: The demo's shipped weights, the default starting point.
SHIPPED_WEIGHTS = SHIPPED_REID
EXPORTS = ("onnx", "tflite", "none")


@dataclass
class AdaptRequest:
    """Everything one ``mlfn-adapt`` run needs.

    Attributes:
        sources: one per camera: a video file, an image folder, a webcam index or a URL.
        out: the adapted ``.keras`` model to write.
        init: starting ``.keras`` model (default :data:`SHIPPED_WEIGHTS`).
        detector: ``ssdlite``, ``bgsub`` or ``onnx:PATH`` (see `mlfn_keras.tracking.detection.detectors`), or a
            detector object (e.g. a `GroundTruthDetector` on a generated scene).
        export: ``onnx``, ``tflite`` or ``none``: the deployable file written beside ``out``.
        force: overwrite existing outputs.
        resume: continue from the checkpoint of an interrupted run with the same footage and settings.
        live_minutes: how long live sources are read (files and folders are read to the end).
        min_crops, max_crops, min_height, every: tracklet mining knobs (see `mine_camera`).
        config: the training loop's knobs (``config.minutes`` bounds training).
        progress: tqdm bars.
    """

    sources: Sequence[str]
    out: str | Path
    init: str | Path | None = None
    detector: object = "ssdlite"
    export: str = "onnx"
    force: bool = False
    resume: bool = True
    live_minutes: float = 5.0
    min_crops: int = 4
    max_crops: int = 32
    min_height: float = 48.0
    every: int = 1
    config: AdaptConfig = field(default_factory=AdaptConfig)
    progress: bool = True


@dataclass
class AdaptSummary:
    """What the run produced and how it went."""

    model_path: str
    export_path: str | None
    summary_path: str
    cameras: list[CameraReport]
    result: AdaptResult
    mining_seconds: float
    export_parity: str | None

    def lines(self) -> list[str]:
        r = self.result
        out = [f"Adapted model: {self.model_path}"]
        if self.export_path:
            out.append(f"Export: {self.export_path} ({self.export_parity})")
        for c in self.cameras:
            out.append(f"  {c.name}: {c.frames} frames ({c.corrupt_frames} corrupt), {c.detections} detections, "
                       f"{c.tracks} tracks, {c.tracklets_kept} tracklets kept")
        out.append(f"Tracklets used: {r.tracklets} ({r.crops} crops), cannot-link pairs: {r.cannot_link_pairs}")
        out.append(f"Pseudo-identities: {r.rounds[0].pseudo_identities} at the start -> {r.pseudo_identities} after "
                   f"{len(r.rounds) - 1} rounds ({r.rounds[-1].steps} steps, {r.minutes:.1f} min"
                   + (f", resumed after round {r.resumed_from}" if r.resumed_from else "") + ")")
        first, last = r.rounds[0], r.rounds[-1]
        out.append(f"Calibrated similarity threshold: {first.threshold:.3f} -> {last.threshold:.3f} "
                   f"(same-tracklet median {first.positive_median:.2f} -> {last.positive_median:.2f}, "
                   f"seen-together median {first.negative_median:.2f} -> {last.negative_median:.2f}, "
                   f"balanced error {first.balanced_error:.3f} -> {last.balanced_error:.3f})")
        out.append(f"Summary: {self.summary_path}")
        return out


def output_paths(out: str | Path, export: str) -> tuple[Path, Path | None, Path, Path]:
    """``(model, export, summary json, checkpoint folder)`` of an output ``.keras`` path."""
    out = Path(out)
    if out.suffix != ".keras":
        raise UserError(f"--output {str(out)!r} must end in .keras (the adapted model); e.g. --output site.keras")
    exported = None if export == "none" else out.with_suffix("." + export)
    return out, exported, out.with_name(out.stem + ".adapt.json"), out.with_name(out.stem + ".adapt-checkpoint")


def check_outputs(out: str | Path, export: str, force: bool) -> None:
    """Raises `OutputExistsError` when a file this run writes already exists and ``force`` is off."""
    model, exported, summary, _ = output_paths(out, export)
    existing = [str(p) for p in (model, exported, summary) if p is not None and p.exists()]
    if existing and not force:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); expected new output paths; "
                                "pass --force to overwrite")


def load_start_model(init: str | Path | None):
    """The model adaptation starts from: ``init`` or the shipped demo weights."""
    import mlfn_keras

    mlfn_keras.register_keras_objects()  # the package registers its layers lazily
    path = Path(init) if init else SHIPPED_WEIGHTS
    if not path.is_file() or path.suffix != ".keras":
        raise InputPathError(
            f"starting model {str(path)!r} " + ("does not exist" if not path.exists() else "is not a .keras file")
            + "; expected an MLFN .keras model (--init-weights), e.g. the shipped " + SHIPPED_REID.name)
    from mlfn_keras.modelfile import load_mlfn_keras

    model = load_mlfn_keras(path, what="starting model (--init-weights)")  # damaged, Lambda or non-MLFN: one line
    if hasattr(model, "backbone"):  # an MLFNClassifier: adapt its backbone
        model = model.backbone
    return model


def _parse_sources(sources: Sequence[str]):
    from mlfn_keras.tracking.app.sources import CamsError, parse_cam

    if not sources:
        raise UserError("no footage given; expected --cams with one video file, image folder or live source per camera")
    try:
        return [parse_cam(s, i) for i, s in enumerate(sources)]
    except CamsError as error:
        raise InputPathError(str(error)) from None


def export_model(model_path: Path, export: str, target: Path, images: np.ndarray, labels: np.ndarray):
    """Writes the parity-gated export atomically; returns the gate's one-line summary."""
    from mlfn_keras.export.source import load_export_source
    from mlfn_keras.fileio import atomic_output

    source = load_export_source(model_path=model_path)
    with atomic_output(target) as tmp:
        if export == "onnx":
            from mlfn_keras.export.onnx import export_onnx

            result = export_onnx(source.model, source.metadata, tmp, images, labels)
        else:
            from mlfn_keras.export.tflite import export_tflite

            result = export_tflite(source.model, source.metadata, tmp, images, labels)
    return result.parity.summary()


def run_definition(request: AdaptRequest) -> tuple[dict, str]:
    """What defines a run (its checkpoint resumes only the same one) and a short description of it."""
    from mlfn_keras.adapt.trainer import resumable_config
    from mlfn_keras.fileio import path_identity

    detector = request.detector if isinstance(request.detector, str) else type(request.detector).__name__
    init = Path(request.init) if request.init else SHIPPED_WEIGHTS
    definition = {
        "sources": [path_identity(s) for s in request.sources], "detector": detector, "init": path_identity(init),
        "mining": {"min_crops": request.min_crops, "max_crops": request.max_crops, "min_height": request.min_height,
                   "every": request.every, "live_minutes": request.live_minutes},
        "config": resumable_config(dataclasses.asdict(request.config)),
    }
    summary = f"{' '.join(str(s) for s in request.sources)} (detector {detector}, init {init.name})"
    return definition, summary


def _open_checkpoint(request: AdaptRequest, checkpoint: Checkpoint) -> bool:
    """Whether the checkpoint holds this run's mined tracklets; refuses another run's or a damaged one.

    Raises:
        RunMismatchError: the checkpoint holds a run of other footage or settings.
        DamagedFileError: its record cannot be read (``--fresh`` discards it).
    """
    from mlfn_keras.fileio import check_run_definition, damaged, folder_entries, write_run_definition

    definition, summary = run_definition(request)
    if not request.resume:
        checkpoint.remove()
    if checkpoint.folder.is_dir() and folder_entries(checkpoint.folder):
        if not checkpoint.run_path.exists():
            raise damaged(checkpoint.folder, "checkpoint of an interrupted run",
                          f"no {checkpoint.run_path.name}: written by another version, or not by mlfn-adapt")
        check_run_definition(checkpoint.run_path, definition, summary, output_flag="--output",
                             what="checkpoint of an interrupted run")
        return checkpoint.tracklets_path.is_file()
    checkpoint.folder.mkdir(parents=True, exist_ok=True)
    write_run_definition(checkpoint.run_path, definition, summary)  # first: the folder always says whose it is
    return False


def run_adaptation(request: AdaptRequest, on_round: Callable | None = None,
                   log: Callable[[str], None] = print) -> AdaptSummary:
    """Runs the steps of the module docstring; see `AdaptRequest`.

    Raises:
        OutputLockedError: another run is writing the same ``out``.
        OutputExistsError: ``out`` (or its export or summary) exists and ``force`` is off.
        RunMismatchError: the checkpoint beside ``out`` holds a run of other footage or settings.
        DamagedFileError: that checkpoint cannot be read (``resume=False`` discards it).
    """
    from mlfn_keras.fileio import run_lock

    if request.export not in EXPORTS:
        raise UserError(f"--export got {request.export!r}; expected one of {', '.join(EXPORTS)}")
    model_path, _, _, _ = output_paths(request.out, request.export)
    with run_lock(model_path, "--output"):
        return _run_adaptation(request, on_round, log)


def _run_adaptation(request: AdaptRequest, on_round: Callable | None, log: Callable[[str], None]) -> AdaptSummary:
    from mlfn_keras.fileio import atomic_output, ensure_free_space, write_json

    model_path, export_path, summary_path, checkpoint_dir = output_paths(request.out, request.export)
    check_outputs(request.out, request.export, request.force)
    specs = _parse_sources(request.sources)
    model = load_start_model(request.init)
    checkpoint = Checkpoint(checkpoint_dir)
    resumed = _open_checkpoint(request, checkpoint)

    start = time.monotonic()
    reports: list[CameraReport]
    if resumed:
        tracklets, reports = checkpoint.load_mined()
        log(f"Using the {len(tracklets)} tracklets mined by the interrupted run ({checkpoint.folder})")
    else:
        from mlfn_keras.tracking.detection.detectors import build_detector

        detector = request.detector
        if isinstance(detector, str):
            try:
                detector = build_detector(detector)
            except ValueError as error:
                raise UserError(str(error)) from None
        height, width = tuple(model.image_shape[:2])
        mined = mine_tracklets(specs, detector, image_size=(height, width), min_crops=request.min_crops,
                               max_crops=request.max_crops, min_height=request.min_height, every=request.every,
                               live_seconds=request.live_minutes * 60.0, progress=request.progress, log=log)
        tracklets, reports = mined.tracklets, mined.cameras
        check_enough(tracklets, reports)
        write_json(checkpoint.cameras_path, [dataclasses.asdict(c) for c in reports])
        save_tracklets(checkpoint.tracklets_path, tracklets)  # last: its presence means mining finished
    check_enough(tracklets, reports)
    mining_seconds = time.monotonic() - start
    log(f"{len(tracklets)} tracklets from {len(reports)} camera(s) in {mining_seconds:.0f} s; adapting "
        f"for up to {request.config.minutes:g} min ...")

    result = adapt(model, tracklets, request.config, checkpoint=checkpoint, on_round=on_round,
                   progress=request.progress, log=log)

    ensure_free_space(model_path.parent, int(4.4 * model.count_params()) + (1 << 20), f"the model {str(model_path)!r}")
    with atomic_output(model_path) as tmp:
        model.save(tmp)
    parity = None
    if export_path is not None:
        rng = np.random.default_rng(0)
        picks = [(i, int(rng.integers(len(t.crops)))) for i, t in enumerate(tracklets)][:64]
        images = np.stack([tracklets[i].crops[c] for i, c in picks])
        log(f"Exporting {export_path.name} (parity gate against Keras) ...")
        parity = export_model(model_path, request.export, export_path, images, np.arange(len(images)))
    summary = AdaptSummary(str(model_path), str(export_path) if export_path else None, str(summary_path), reports,
                           result, mining_seconds, parity)
    record = {
        "model": summary.model_path, "export": summary.export_path, "export_parity": parity,
        "init": str(request.init or SHIPPED_WEIGHTS), "sources": list(request.sources), "detector": str(request.detector),
        "mining_seconds": mining_seconds, "cameras": [dataclasses.asdict(c) for c in reports],
        "tracklets": result.tracklets, "crops": result.crops, "cannot_link_pairs": result.cannot_link_pairs,
        "config": dataclasses.asdict(request.config), "minutes": result.minutes, "resumed_from": result.resumed_from,
        "rounds": [dataclasses.asdict(r) for r in result.rounds],
    }
    write_json(summary_path, record, default=float)
    checkpoint.remove()
    return summary
