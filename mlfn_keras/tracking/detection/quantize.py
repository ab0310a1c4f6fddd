"""The int8 SSDLite detector: static quantisation, its parity record, and the automatic choice.

:func:`quantize_ssdlite` quantises the cached fp32 core graph (see
:mod:`~mlfn_keras.tracking.detection.ssdlite`) with onnxruntime's static
quantiser: weights int8 per output channel, activations uint8, ranges
calibrated (per-tile min/max, averaged) on detector tiles cut from frames the caller gives (the
PETS09 video, or any footage of the site). The result is cached beside the
fp32 graph, with a JSON record of how it was made.

The int8 record (:class:`~mlfn_keras.tracking.detection.ssdlite.Int8Record`)
and the start-up timing live with the detector that reads them, in
:mod:`~mlfn_keras.tracking.detection.ssdlite`.

The int8 graph is used only once it has passed a parity gate: recall and
precision at IoU 0.5 on PETS09 frames within :data:`PARITY_TOLERANCE` of the
fp32 detector's on the same frames (``export/detector_int8.py`` runs the gate
and writes the verdict into the record; see
:func:`mlfn_keras.tracking.bench.detector.int8_parity`). Then ``--detector
ssdlite`` (``precision="auto"``) times both graphs on this CPU when it starts
and keeps the faster one: int8 pays off on CPUs with int8 dot-product
instructions (AVX-512 VNNI, AMX, ARM dot-product) and may or may not on
others, which is why it is measured rather than assumed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mlfn_keras.tracking.detection.ssdlite import (  # noqa: F401  (re-exported: the int8 record's home is the detector)
    _CORE_INPUT,
    AUTO_SPEEDUP,
    INPUT_SIZE,
    Int8Record,
    int8_paths,
    network_input,
    read_record,
    time_sessions,
)

#: Largest allowed drop (or rise) of recall and of precision, as a fraction, for the int8 detector.
PARITY_TOLERANCE = 0.01


def write_record(record: Int8Record, fp32_path: str | os.PathLike) -> Path:
    """Writes the record beside the fp32 graph (atomically)."""
    from mlfn_keras.fileio import atomic_output

    _, path = int8_paths(fp32_path)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(asdict(record), indent=1))
    return path


def calibration_tiles(detector, frames: Iterable[np.ndarray], max_tiles: int = 64) -> np.ndarray:
    """Detector tiles (RGB 300×300 ``uint8``) cut from frames as the detector cuts them.

    Args:
        detector: an :class:`~mlfn_keras.tracking.detection.ssdlite.SSDLiteDetector` (its tile layout).
        frames: BGR frames, ideally spread over the footage.
        max_tiles: stop after this many tiles.
    """
    import cv2

    out = []
    for frame in frames:
        for t in detector.layout(frame.shape[1], frame.shape[0]):
            tile = cv2.resize(frame[t.y0 : t.y1, t.x0 : t.x1], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
            out.append(cv2.cvtColor(tile, cv2.COLOR_BGR2RGB))
            if len(out) >= max_tiles:
                return np.stack(out)
    if not out:
        raise ValueError("calibration got no frames; expected frames of the footage to calibrate the int8 detector on.")
    return np.stack(out)


def quantize_ssdlite(
    fp32_path: str | os.PathLike, tiles: np.ndarray, calibration: str, log=print
) -> Int8Record:
    """Quantises the fp32 core graph to int8 with onnxruntime's static quantiser (cached).

    Weights are int8 per output channel, activations uint8 (onnxruntime's
    ``QOperator`` format: fused ``QLinearConv`` kernels), activation ranges
    from the min/max of each tile averaged over ``tiles``. The parity gate is separate
    (:func:`mlfn_keras.tracking.bench.detector.int8_parity`); the record
    written here has ``parity=None`` until it runs.

    Args:
        fp32_path: the fp32 core graph (:func:`~mlfn_keras.tracking.detection.ssdlite.ssdlite_core_onnx`).
        tiles: calibration tiles from :func:`calibration_tiles`.
        calibration: what the tiles were cut from (for the record).

    Returns:
        The record, also written beside the model.
    """
    import tempfile

    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from mlfn_keras.fileio import atomic_output

    model, _ = int8_paths(fp32_path)

    class _Tiles(CalibrationDataReader):
        def __init__(self):
            self._it = iter(range(len(tiles)))

        def get_next(self):
            i = next(self._it, None)
            return None if i is None else {_CORE_INPUT: network_input(tiles[i : i + 1])}

    log(f"Quantising the SSDLite detector to int8 on {len(tiles)} tiles of {calibration} (cached at {model}) ...")
    with tempfile.TemporaryDirectory(prefix="ssdlite-int8-") as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(str(fp32_path), pre, skip_symbolic_shape=True)
        with atomic_output(model) as out:
            quantize_static(
                pre, str(out), _Tiles(), quant_format=QuantFormat.QOperator, activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8, per_channel=True, calibrate_method=CalibrationMethod.MinMax,
                # Ranges averaged over the tiles rather than the extremes of all of them: plain min/max
                # let a few outlier activations stretch the ranges and cost 2-4 points of recall on PETS09.
                extra_options={"CalibMovingAverage": True},
            )
    record = Int8Record(str(model), str(fp32_path), calibration, int(len(tiles)))
    write_record(record, fp32_path)
    return record
