"""Detectors: YOLO-style ONNX decoding, background subtraction, the --detector switch."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mlfn_keras.tracking.detectors import (
    BackgroundSubtractionDetector,
    GroundTruthDetector,
    YoloOnnxDetector,
    build_detector,
)


def _constant_model(path, output: np.ndarray, size=64):
    """An ONNX 'detector' with a (1, 3, S, S) input that always returns ``output``."""
    out = helper.make_tensor("out_value", TensorProto.FLOAT, output.shape, output.ravel().tolist())
    # Multiply a reduced input by 0 and add, so the input is used and the output constant.
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Constant", [], ["c"], value=out),
        helper.make_node("Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.FLOAT, [], [0.0])),
        helper.make_node("Mul", ["m", "zero"], ["m0"]),
        helper.make_node("Add", ["c", "m0"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "det",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_yolov8_layout_maps_boxes_back_to_the_frame(tmp_path):
    # 2 classes (person=0, other=1), 3 candidates, (1, 4 + C, N) channels-first.
    cand = np.array(
        [
            [32, 32, 16, 32, 0.9, 0.1],  # person
            [33, 32, 16, 32, 0.8, 0.1],  # duplicate, suppressed by NMS
            [10, 10, 8, 8, 0.1, 0.95],  # not a person
        ],
        np.float32,
    )
    cand = np.vstack([cand, np.zeros((20, 6), np.float32)])  # real models have thousands of candidates
    path = tmp_path / "v8.onnx"
    _constant_model(path, cand.T[None])
    det = YoloOnnxDetector(str(path), score_threshold=0.5)
    frame = np.zeros((64, 128, 3), np.uint8)  # letterboxed: scale 0.5, 16 px top padding
    (d,) = det([frame])
    assert len(d) == 1 and d.confidence[0] == pytest.approx(0.9)
    np.testing.assert_allclose(d.xyxy[0], [48, 0, 80, 64], atol=1e-3)


def test_yolov5_and_end_to_end_layouts(tmp_path):
    v5 = np.array([[32, 32, 16, 32, 0.5, 0.9, 0.1], [10, 10, 8, 8, 0.9, 0.1, 0.9]], np.float32)
    v5 = np.vstack([v5, np.zeros((20, 7), np.float32)])[None]
    _constant_model(tmp_path / "v5.onnx", v5)
    (d,) = YoloOnnxDetector(str(tmp_path / "v5.onnx"), score_threshold=0.3)([np.zeros((64, 64, 3), np.uint8)])
    assert len(d) == 1 and d.confidence[0] == pytest.approx(0.45)
    e2e = np.array([[[8, 8, 24, 40, 0.7, 0], [1, 1, 5, 5, 0.9, 2], [0, 0, 0, 0, 0, 0]]], np.float32)
    _constant_model(tmp_path / "e2e.onnx", e2e)
    (d,) = YoloOnnxDetector(str(tmp_path / "e2e.onnx"), score_threshold=0.3)([np.zeros((64, 64, 3), np.uint8)])
    np.testing.assert_allclose(d.xyxy, [[8, 8, 24, 40]], atol=1e-3)


def _person(rng, h, w):
    # Textured, like clothes: a flat block would blend into MOG2's model where it overlaps itself.
    return rng.integers(0, 255, (h, w, 3)).astype(np.uint8)


def test_background_subtraction_finds_a_moving_person():
    det = BackgroundSubtractionDetector(history=50)
    rng = np.random.default_rng(0)
    background = rng.integers(90, 110, (120, 160, 3)).astype(np.uint8)
    person = _person(rng, 60, 20)
    for t in range(30):
        frame = background.copy()
        x = 20 + 3 * t
        frame[30:90, x : x + 20] = person
        (d,) = det([frame], [0])
    assert len(d) == 1
    x1, y1, x2, y2 = d.xyxy[0]
    assert max(abs(x1 - x), abs(y1 - 30), abs(x2 - (x + 20)), abs(y2 - 90)) <= 6  # half-resolution masks
    (empty,) = BackgroundSubtractionDetector()([background], [1])  # another camera, own model
    assert len(empty) == 0


def test_two_people_side_by_side_are_split():
    det = BackgroundSubtractionDetector(history=50)
    rng = np.random.default_rng(1)
    background = rng.integers(90, 110, (120, 200, 3)).astype(np.uint8)
    a, b = _person(rng, 80, 30), _person(rng, 80, 30)
    for t in range(20):
        frame = background.copy()
        x = 20 + 3 * t
        frame[20:100, x : x + 30] = a
        frame[20:100, x + 36 : x + 66] = b  # a 6-px gap: one blob after morphology
        (d,) = det([frame], [0])
    assert len(d) == 2
    centres = sorted(float(v) for v in (d.xyxy[:, 0] + d.xyxy[:, 2]) / 2)
    assert x < centres[0] < x + 30 and x + 36 < centres[1] < x + 66


def test_build_detector_names():
    assert isinstance(build_detector("bgsub"), BackgroundSubtractionDetector)
    gt = build_detector("gt", gt_lookup=lambda cam, idx: np.array([[1, 2, 3, 4]]))
    assert isinstance(gt, GroundTruthDetector)
    (d,) = gt([np.zeros((8, 8, 3), np.uint8)], [0], [5])
    np.testing.assert_array_equal(d.xyxy, [[1, 2, 3, 4]])
    with pytest.raises(ValueError, match="only the built-in scene"):
        build_detector("gt")
    with pytest.raises(ValueError, match="ssdlite, bgsub"):
        build_detector("yolo")
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        build_detector("onnx:missing.onnx")
