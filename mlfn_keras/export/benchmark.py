"""Latency, throughput and memory of every runtime, side by side with torchreid.

Each (runtime, file) is measured in a fresh Python process, so peak memory is
that runtime's alone and thread settings take effect. ONNX and TFLite are
loaded the way an edge box would: without importing TensorFlow or Keras. All
runtimes get the same crops (uint8 NHWC for ours; the same pixels normalised
to float NCHW for torchreid, whose model takes that) and the same number of
threads. Latency is per call of the model on a ready batch; resizing crops is
not included.

Peers (when torch and torchreid are installed): torchreid's MLFN
(`torchreid.reid.models.mlfn.mlfn`) in PyTorch eager, and its ONNX export
(torch's exporter, opset 17) in onnxruntime with our session options.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

OUR_BACKENDS = (
    "keras",
    "saved_model",
    "onnx",
    "tflite_fp32",
    "tflite_fp16",
    "tflite_dynamic_int8",
    "tflite_int8",
)
PEER_BACKENDS = ("torchreid_eager", "torchreid_onnx")
DEFAULT_BATCH_SIZES = (1, 8, 32)
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Measurement:
    """One runtime at one batch size.

    Attributes:
        backend: e.g. ``"onnx"``, ``"tflite_int8"``, ``"torchreid_eager"``.
        batch: images per call.
        p50_ms: median latency of one call.
        p95_ms: 95th percentile latency.
        images_per_s: ``batch / median latency``.
        peak_rss_mb: peak resident memory of the measuring process.
        file_mb: size of the model file(s), ``None`` for eager torch.
        iterations: timed calls.
        tensorflow_loaded: whether the measuring process imported TensorFlow
            (it should not for ONNX/TFLite).
    """

    backend: str
    batch: int
    p50_ms: float
    p95_ms: float
    images_per_s: float
    peak_rss_mb: float
    file_mb: float | None
    iterations: int
    tensorflow_loaded: bool = False


def _size_mb(path: str | Path | None) -> float | None:
    if path is None:
        return None
    path = Path(path)
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return sum(p.stat().st_size for p in files) / 1e6


def torchreid_mlfn(num_classes: int = 751, seed: int = 0):
    """torchreid's reference MLFN (eval mode, initialised from ``seed``), from its model file.

    Imports the model file by path: torchreid's package ``__init__`` pulls in
    dependencies (e.g. for data loading) that inference does not need.

    Raises:
        ImportError: if torch or torchreid is not installed.
    """
    import importlib.util

    import torch

    spec = importlib.util.find_spec("torchreid")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchreid is not installed (pip install torchreid==0.2.5 --no-deps).")
    model_file = Path(spec.submodule_search_locations[0]) / "reid" / "models" / "mlfn.py"
    if not model_file.exists():
        model_file = Path(spec.submodule_search_locations[0]) / "models" / "mlfn.py"
    module_spec = importlib.util.spec_from_file_location("_torchreid_mlfn", model_file)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    torch.manual_seed(seed)
    return module.mlfn(num_classes=num_classes, loss="softmax", pretrained=False).eval()


def export_torchreid_onnx(path: str | Path, image_shape=(256, 128, 3), opset: int = 17) -> Path:
    """Exports torchreid's MLFN to ONNX as its users would (NCHW float input)."""
    import torch

    model = torchreid_mlfn()
    dummy = torch.zeros((1, 3, image_shape[0], image_shape[1]))
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        opset_version=opset,
        input_names=["images"],
        output_names=["embedding"],
        dynamic_axes={"images": {0: "batch"}, "embedding": {0: "batch"}},
        dynamo=False,
    )
    return Path(path)


def prepare_files(
    work_dir: str | Path,
    backends: tuple[str, ...],
    preset: str | None = "mlfn",
    model_path: str | None = None,
    num_parity_images: int = 32,
    log=print,
) -> tuple[dict[str, str | None], dict[str, Any]]:
    """Writes every file the benchmark loads, each through its parity gate.

    Returns:
        ``(paths, info)``: backend → file (``None`` for eager torch), and
        facts to report (parity summaries, ONNX graph stats, image shape).
    """
    from mlfn_keras.export.calibration import calibration_images
    from mlfn_keras.export.onnx import export_onnx
    from mlfn_keras.export.saved_model import export_saved_model
    from mlfn_keras.export.source import load_export_source
    from mlfn_keras.export.tflite import export_tflite

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    source = load_export_source(model_path=model_path, preset=None if model_path else preset)
    model, meta = source.model, source.metadata
    if model_path is None and preset == "mlfn" and any(b.startswith("torchreid") for b in backends):
        # Same weights on both sides: torchreid's initialisation converted to ours,
        # so the peers compute the same function (checked below).
        from mlfn_keras.convert import convert_torchreid

        state = {k: v.numpy() for k, v in torchreid_mlfn().state_dict().items()}
        model, _, _ = convert_torchreid(state, preset="mlfn")
        info_source = "torchreid mlfn initialisation (seed 0), converted"
    else:
        info_source = meta.source
    crops = calibration_images(meta.image_shape, max_images=num_parity_images)
    paths: dict[str, str | None] = {}
    info: dict[str, Any] = {"image_shape": list(meta.image_shape), "preset": meta.preset,
                            "parameters": int(model.count_params()), "parity": {},
                            "weights": info_source}
    keras_path = work_dir / "model.keras"
    if "keras" in backends:
        model.save(keras_path)
        paths["keras"] = str(keras_path)
    results = []
    if "saved_model" in backends:
        results.append(export_saved_model(model, meta, work_dir / "saved_model", crops.images, crops.labels))
        paths["saved_model"] = results[-1].path
    if "onnx" in backends:
        results.append(export_onnx(model, meta, work_dir / "model.onnx", crops.images, crops.labels))
        paths["onnx"] = results[-1].path
        info["onnx_graph"] = results[-1].details
    calibration = None
    for backend in backends:
        if not backend.startswith("tflite_"):
            continue
        precision = backend[len("tflite_"):]
        if precision == "int8" and calibration is None:
            calibration = calibration_images(meta.image_shape, max_images=64, seed=1).images
        start = time.perf_counter()
        results.append(
            export_tflite(model, meta, work_dir / f"model_{precision}.tflite", crops.images,
                          crops.labels, precision=precision, calibration_images=calibration)
        )
        log(f"  (converted in {time.perf_counter() - start:.0f} s)")
        paths[backend] = results[-1].path
    for result in results:
        log(result.summary())
        info["parity"][f"{result.format}_{result.precision}"] = result.parity.to_dict()
    if "torchreid_eager" in backends:
        paths["torchreid_eager"] = None
    if model_path is None and preset == "mlfn" and "torchreid_eager" in backends:
        import torch

        peer = torchreid_mlfn()
        nchw = (crops.images.astype(np.float32) - np.array(meta.mean, np.float32)) / np.array(
            meta.std, np.float32)
        with torch.inference_mode():
            theirs = peer(torch.from_numpy(np.ascontiguousarray(nchw.transpose(0, 3, 1, 2)))).numpy()
        from mlfn_keras.export.parity import check_parity, keras_embeddings

        report = check_parity(theirs, keras_embeddings(model, crops.images), "fp32", crops.labels)
        log(f"torchreid eager vs our Keras model: {report.summary()}")
        info["parity"]["torchreid_vs_keras"] = report.to_dict()
    if "torchreid_onnx" in backends:
        paths["torchreid_onnx"] = str(
            export_torchreid_onnx(work_dir / "torchreid_mlfn.onnx", tuple(meta.image_shape))
        )
    info["crops"] = crops.images
    return paths, info


# ---------------------------------------------------------------------------
# The measuring child process.
# ---------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys, types
    args = json.loads(sys.argv[1])
    sys.path.insert(0, args["root"])
    if args["edge"]:
        # Import mlfn_keras submodules without the package __init__ (which
        # imports Keras/TensorFlow), as on a box with only the runtime.
        package = types.ModuleType("mlfn_keras")
        package.__path__ = [args["root"] + "/mlfn_keras"]
        sys.modules["mlfn_keras"] = package
    from mlfn_keras.export.benchmark import _measure_in_child
    print("RESULT " + json.dumps(_measure_in_child(args)))
    """
)


def _peak_rss_mb() -> float:
    # VmHWM restarts at exec; ru_maxrss would report the (TensorFlow-sized)
    # parent's peak, which Linux carries into the child.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _time_calls(run, batch, min_iterations, min_seconds, max_iterations):
    for _ in range(2):  # warm-up: lazy allocation, graph tracing, XNNPACK packing
        run(batch)
    times = []
    start = time.perf_counter()
    while len(times) < max_iterations and (
        len(times) < min_iterations or time.perf_counter() - start < min_seconds
    ):
        t0 = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - t0)
    return np.array(times)


def _measure_in_child(args: dict) -> list[dict]:
    backend, path, threads = args["backend"], args["path"], args["threads"]
    crops = np.load(args["crops"])
    if backend == "torchreid_eager":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        model = torchreid_mlfn()
        mean = np.array(args["mean"], np.float32)
        std = np.array(args["std"], np.float32)
        nchw = np.ascontiguousarray(((crops.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2))
        tensors = torch.from_numpy(nchw)

        def run(batch):
            with torch.inference_mode():
                return model(batch)

        make_batch = lambda n: tensors[:n]  # noqa: E731
    elif backend == "torchreid_onnx":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        mean = np.array(args["mean"], np.float32)
        std = np.array(args["std"], np.float32)
        nchw = np.ascontiguousarray(((crops.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2))

        def run(batch):
            return session.run(None, {"images": batch})

        make_batch = lambda n: nchw[:n]  # noqa: E731
    else:
        from mlfn_keras.runtime import load_embedder

        embedder = load_embedder(path, num_threads=threads, batch_size=max(args["batch_sizes"]))

        def run(batch):
            return embedder._run(batch)

        make_batch = lambda n: crops[:n]  # noqa: E731
    rows = []
    for n in args["batch_sizes"]:
        times = _time_calls(
            run, make_batch(n), args["min_iterations"], args["min_seconds"], args["max_iterations"]
        )
        p50 = float(np.median(times))
        rows.append(dataclasses.asdict(Measurement(
            backend=backend, batch=n, p50_ms=p50 * 1e3,
            p95_ms=float(np.percentile(times, 95)) * 1e3, images_per_s=n / p50,
            peak_rss_mb=_peak_rss_mb(), file_mb=_size_mb(path), iterations=len(times),
            tensorflow_loaded="tensorflow" in sys.modules,
        )))
    return rows


def measure(
    backend: str,
    path: str | None,
    crops: np.ndarray,
    batch_sizes=DEFAULT_BATCH_SIZES,
    threads: int = 2,
    min_iterations: int = 5,
    min_seconds: float = 3.0,
    max_iterations: int = 50,
) -> list[Measurement]:
    """Measures one runtime in a fresh process.

    Raises:
        RuntimeError: with the child's output if it failed.
    """
    from mlfn_keras.preprocessing import IMAGENET_MEAN, IMAGENET_STD

    if len(crops) < max(batch_sizes):
        crops = np.concatenate([crops] * (-(-max(batch_sizes) // len(crops))))
    with tempfile.TemporaryDirectory() as tmp:
        crops_file = Path(tmp) / "crops.npy"
        np.save(crops_file, crops[: max(batch_sizes)])
        args = {
            "root": str(_PACKAGE_ROOT), "backend": backend, "path": path, "threads": threads,
            "crops": str(crops_file), "batch_sizes": list(batch_sizes),
            "min_iterations": min_iterations, "min_seconds": min_seconds,
            "max_iterations": max_iterations, "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD), "edge": backend not in ("keras", "saved_model"),
        }
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS=str(threads))
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(args)],
            capture_output=True, text=True, env=env,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return [Measurement(**row) for row in json.loads(line[len("RESULT "):])]
    raise RuntimeError(
        f"Measuring {backend} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


def ratios(rows: list[Measurement]) -> dict[str, Any]:
    """The issue's targets as ratios within one run (``None`` if a side is missing)."""
    by = {(r.backend, r.batch): r for r in rows}
    ours = [r for r in rows if not r.backend.startswith("torchreid")]
    out: dict[str, Any] = {}
    best1 = min((r for r in ours if r.batch == 1), key=lambda r: r.p50_ms, default=None)
    best32 = max((r for r in ours if r.batch == 32), key=lambda r: r.images_per_s, default=None)
    peer_onnx1 = by.get(("torchreid_onnx", 1))
    eager32 = by.get(("torchreid_eager", 32))
    eager1 = by.get(("torchreid_eager", 1))
    if best1 and peer_onnx1:
        out["best_b1_latency_vs_torchreid_onnx"] = {
            "ours": best1.backend, "ratio": best1.p50_ms / peer_onnx1.p50_ms, "target": "<= 1.0"}
    if best32 and eager32:
        out["best_b32_throughput_vs_torchreid_eager"] = {
            "ours": best32.backend, "ratio": best32.images_per_s / eager32.images_per_s,
            "target": ">= 2.0"}
    for serving in ("keras", "saved_model"):
        if (serving, 32) in by and eager32:
            out[f"{serving}_b32_throughput_vs_torchreid_eager"] = {
                "ratio": by[(serving, 32)].images_per_s / eager32.images_per_s, "target": ">= 1.0"}
        if (serving, 1) in by and eager1:
            out[f"{serving}_b1_latency_vs_torchreid_eager"] = {
                "ratio": by[(serving, 1)].p50_ms / eager1.p50_ms, "target": "<= 1.0"}
    return out


def to_markdown(rows: list[Measurement], context: dict[str, Any]) -> str:
    """A markdown report: context line, the table, the target ratios."""
    lines = [
        f"Model: {context.get('preset')} {tuple(context.get('image_shape', ()))}, "
        f"{context.get('parameters', 0) / 1e6:.1f}M parameters; threads: {context.get('threads')}; "
        f"CPU: {context.get('cpu')}; {context.get('date')}; 1-min load average at start/end: "
        f"{context.get('load_average_start_end')}",
        "",
        "| backend | batch | p50 ms | p95 ms | img/s | peak RSS MB | file MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        file_mb = "—" if r.file_mb is None else f"{r.file_mb:.1f}"
        lines.append(
            f"| {r.backend} | {r.batch} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
            f"{r.images_per_s:.1f} | {r.peak_rss_mb:.0f} | {file_mb} |"
        )
    targets = context.get("ratios", {})
    if targets:
        lines += ["", "| target | ours | ratio | goal |", "|---|---|---:|---|"]
        for name, value in targets.items():
            lines.append(
                f"| {name} | {value.get('ours', name.split('_b')[0])} | {value['ratio']:.2f} | {value['target']} |"
            )
    return "\n".join(lines) + "\n"


def run_benchmark(
    work_dir: str | Path,
    preset: str | None = "mlfn",
    model_path: str | None = None,
    backends: tuple[str, ...] = OUR_BACKENDS + PEER_BACKENDS,
    batch_sizes=DEFAULT_BATCH_SIZES,
    threads: int = 2,
    min_seconds: float = 3.0,
    min_iterations: int = 5,
    log=print,
) -> dict[str, Any]:
    """Exports, checks and measures every backend; returns the JSON-able report.

    Peers are skipped (with a note) when torch/torchreid are missing.
    """
    import importlib.util

    notes = []
    if any(b.startswith("torchreid") for b in backends) and (
        importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchreid") is None
    ):
        notes.append("torch/torchreid not installed: peers skipped")
        backends = tuple(b for b in backends if not b.startswith("torchreid"))
    load_start = os.getloadavg()
    paths, info = prepare_files(work_dir, backends, preset=preset, model_path=model_path, log=log)
    crops = info.pop("crops")
    rows: list[Measurement] = []
    for backend in backends:
        log(f"measuring {backend} ...")
        measured = measure(backend, paths[backend], crops, batch_sizes, threads,
                           min_iterations=min_iterations, min_seconds=min_seconds)
        for r in measured:
            log(f"  batch {r.batch}: p50 {r.p50_ms:.1f} ms, {r.images_per_s:.1f} img/s")
        rows.extend(measured)
    context = dict(info)
    context.update({
        "threads": threads,
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "versions": _versions(),
        "notes": notes,
        # Other processes on the machine distort every figure; say how busy it was.
        "load_average_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
    })
    context["ratios"] = ratios(rows)
    return {"context": context, "rows": [dataclasses.asdict(r) for r in rows],
            "markdown": to_markdown(rows, context)}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "onnxruntime", "ai-edge-litert",
                 "tf2onnx", "onnxslim", "torch", "torchreid"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions
