"""Build a TensorRT engine from the exported ONNX file (fp32, fp16, int8).

Needs an NVIDIA GPU, the ``tensorrt`` Python package (TensorRT ≥ 10) and
torch with CUDA (for device buffers in calibration and the runtime). Without
them `require_tensorrt` raises `TensorRTUnavailableError` saying what is
missing, and nothing is written.

Engines are specific to the GPU model and TensorRT version that built them,
and cannot hold free-form metadata, so the metadata goes to a sidecar
``<engine>.json``. The engine keeps the ONNX contract: ``images`` uint8
``(N, H, W, 3)``, N in ``[1, max_batch]`` → ``embedding`` float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlfn_keras.runtime.formats import TensorRTUnavailableError, require_tensorrt  # noqa: F401  (re-exported)
from mlfn_keras.runtime.metadata import write_sidecar
from mlfn_keras.export.parity import ExportResult, run_parity_gate

PRECISIONS = ("fp32", "fp16", "int8")


def _calibrator(trt, images: np.ndarray, cache_path: Path, batch_size: int = 8):
    import torch

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        """Feeds uint8 person crops to TensorRT's int8 calibration."""

        def __init__(self):
            super().__init__()
            self.images = np.ascontiguousarray(images, dtype=np.uint8)
            self.position = 0
            self.device = torch.empty(
                (batch_size,) + self.images.shape[1:], dtype=torch.uint8, device="cuda"
            )

        def get_batch_size(self):
            return batch_size

        def get_batch(self, names):
            if self.position + batch_size > len(self.images):
                return None
            chunk = self.images[self.position : self.position + batch_size]
            self.device.copy_(torch.from_numpy(chunk))
            self.position += batch_size
            return [int(self.device.data_ptr())]

        def read_calibration_cache(self):
            return cache_path.read_bytes() if cache_path.exists() else None

        def write_calibration_cache(self, cache):
            cache_path.write_bytes(bytes(cache))

    return EntropyCalibrator()


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    precision: str = "fp16",
    max_batch: int = 32,
    calibration_images: np.ndarray | None = None,
    workspace_gib: float = 4.0,
) -> Path:
    """Builds and serialises a TensorRT engine from an exported ONNX file.

    Args:
        onnx_path: a file written by `mlfn_keras.export.onnx.export_onnx`.
        engine_path: the ``.engine`` / ``.plan`` to write.
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"`` (int8 keeps fp16
            fallback for layers without int8 kernels).
        max_batch: largest batch of the optimisation profile (opt = max/2).
        calibration_images: uint8 crops ``(N, H, W, 3)``; required for int8.
        workspace_gib: builder workspace limit.

    Raises:
        TensorRTUnavailableError: without a GPU/TensorRT.
        ValueError: on an unknown precision or int8 without calibration crops.
        RuntimeError: if TensorRT cannot parse the ONNX or build the engine.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown TensorRT precision {precision!r}; expected one of {PRECISIONS}.")
    if precision == "int8" and (calibration_images is None or len(calibration_images) < 8):
        raise ValueError("TensorRT int8 needs at least 8 calibration crops; received "
                         f"{0 if calibration_images is None else len(calibration_images)}.")
    trt = require_tensorrt()
    from mlfn_keras.runtime.formats import read_onnx_metadata

    metadata = read_onnx_metadata(onnx_path)
    height, width, channels = metadata.image_shape
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    profile = builder.create_optimization_profile()
    profile.set_shape(
        "images",
        (1, height, width, channels),
        (max(1, max_batch // 2), height, width, channels),
        (max_batch, height, width, channels),
    )
    config.add_optimization_profile(profile)
    engine_path = Path(engine_path)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.set_calibration_profile(profile)
        config.int8_calibrator = _calibrator(
            trt, calibration_images, engine_path.with_suffix(".calibration.cache")
        )
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build a {precision} engine from {onnx_path}.")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    write_sidecar(engine_path, metadata.replace(format="tensorrt", precision=precision, parity=None))
    return engine_path


def export_tensorrt(
    model,
    onnx_path: str | Path,
    engine_path: str | Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    precision: str = "fp16",
    max_batch: int = 32,
    calibration_images: np.ndarray | None = None,
) -> ExportResult:
    """Builds an engine from ``onnx_path`` and gates it on parity with ``model``.

    Raises:
        TensorRTUnavailableError: without a GPU/TensorRT.
        ParityError: if the engine is outside the precision's cosine bound.
    """
    if calibration_images is None:
        calibration_images = images
    from mlfn_keras.runtime.metadata import read_sidecar
    from mlfn_keras.fileio import atomic_output

    # Built beside ``engine_path`` and moved there only once the gate passed:
    # a failed export never replaces the previous engine.
    path = Path(engine_path)
    with atomic_output(path) as tmp:
        try:
            build_engine(onnx_path, tmp, precision, max_batch, calibration_images)
            report = run_parity_gate(model, str(tmp), images, labels, precision)
            stored = read_sidecar(tmp).replace(parity=report.to_dict())
        finally:
            Path(str(tmp) + ".json").unlink(missing_ok=True)
            tmp.with_suffix(".calibration.cache").unlink(missing_ok=True)
    write_sidecar(path, stored)
    return ExportResult(
        path=str(path),
        format="tensorrt",
        precision=precision,
        parity=report,
        details={"size_bytes": path.stat().st_size, "max_batch": max_batch},
    )
