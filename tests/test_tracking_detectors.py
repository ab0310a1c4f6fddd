"""Detectors: YOLO-style ONNX decoding, background subtraction, the --detector switch."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mlfn_keras.tracking.detection.detectors import (
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


# ------------------------------------------------------------------- tiling
from mlfn_keras.tracking.bench.detector import score_split  # noqa: E402
from mlfn_keras.tracking.detection.detectors import parse_tiles  # noqa: E402
from mlfn_keras.tracking.detection.ssdlite import SSDLiteDetector  # noqa: E402
from mlfn_keras.tracking.detection.tiling import (  # noqa: E402
    Tile,
    grid_tiles,
    merge_tile_detections,
    suppress,
)
from mlfn_keras.tracking.eval.detection import DetectionCounts, count_frame  # noqa: E402


def test_grid_tiles_cover_the_frame_with_the_asked_overlap():
    tiles = grid_tiles(768, 576, 1, 2, overlap=0.25)
    assert tiles == [Tile(0, 0, 439, 576), Tile(329, 0, 768, 576)]
    assert tiles[0].x1 - tiles[1].x0 >= 0.25 * tiles[0].width  # shared columns
    t = grid_tiles(100, 90, 3, 2, overlap=0.5)
    assert len(t) == 6 and t[0].x0 == 0 and t[0].y0 == 0 and t[-1].x1 == 100 and t[-1].y1 == 90
    assert grid_tiles(50, 40, 1, 1) == [Tile(0, 0, 50, 40)]
    with pytest.raises(ValueError, match="overlap"):
        grid_tiles(50, 40, 2, 2, overlap=1.0)


def test_boxes_are_mapped_back_to_frame_pixels():
    tiles = [Tile(0, 0, 60, 100), Tile(40, 0, 100, 100)]
    xyxy, conf = merge_tile_detections(
        [np.array([[5, 10, 15, 50]]), np.array([[30, 20, 40, 70]])], [np.array([0.9]), np.array([0.8])], tiles, (100, 100))
    order = np.argsort(xyxy[:, 0])
    np.testing.assert_allclose(xyxy[order], [[5, 10, 15, 50], [70, 20, 80, 70]])
    np.testing.assert_allclose(conf[order], [0.9, 0.8])


def test_a_person_seen_whole_in_two_overlapping_tiles_is_one_box():
    tiles = [Tile(0, 0, 60, 100), Tile(40, 0, 100, 100)]
    # Frame box (42, 20, 56, 80): at x 42..56 in tile 0, at x 2..16 in tile 1.
    xyxy, conf = merge_tile_detections(
        [np.array([[42, 20, 56, 80]]), np.array([[5, 21, 16, 80]])], [np.array([0.6]), np.array([0.9])], tiles, (100, 100))
    assert len(xyxy) == 1 and conf[0] == pytest.approx(0.9)
    np.testing.assert_allclose(xyxy[0], [45, 21, 56, 80])


def test_a_person_cut_by_a_tile_seam_is_joined_into_one_box():
    # Two rows of tiles sharing rows 40..60; a person at y 20..90 is cut by both tile edges.
    tiles = [Tile(0, 0, 100, 60), Tile(0, 40, 100, 100)]
    top = np.array([[30, 20, 45, 60]])  # ends on tile 0's bottom edge (y = 60, an inner edge)
    bottom = np.array([[31, 0, 46, 50]])  # starts on tile 1's top edge (frame y 40) and ends at 90
    xyxy, conf = merge_tile_detections([top, bottom], [np.array([0.7]), np.array([0.5])], tiles, (100, 100))
    assert len(xyxy) == 1
    np.testing.assert_allclose(xyxy[0], [30, 20, 46, 90])
    assert conf[0] == pytest.approx(0.7)


def test_people_side_by_side_across_a_seam_stay_apart():
    tiles = [Tile(0, 0, 100, 60), Tile(0, 40, 100, 100)]
    # Cut at the seam, but the box below is another person 30 px to the right.
    xyxy, _ = merge_tile_detections(
        [np.array([[30, 20, 45, 60]]), np.array([[60, 0, 75, 50]])], [np.array([0.7]), np.array([0.6])], tiles, (100, 100))
    assert len(xyxy) == 2


def test_a_box_on_the_frame_edge_is_not_treated_as_cut():
    # Both tiles end at the frame bottom; boxes touching it are not seam parts.
    tiles = [Tile(0, 0, 60, 100), Tile(40, 0, 100, 100)]
    xyxy, _ = merge_tile_detections(
        [np.array([[10, 60, 25, 100]]), np.array([[20, 50, 35, 100]])], [np.array([0.7]), np.array([0.6])], tiles, (100, 100))
    assert len(xyxy) == 2  # x 10..25 and 60..75: two people


def test_suppress_drops_overlaps_and_contained_parts_but_keeps_neighbours():
    boxes = np.array([[0, 0, 20, 60], [1, 1, 21, 61], [2, 0, 18, 25], [40, 0, 60, 60]], np.float32)
    keep = suppress(boxes, np.array([0.9, 0.8, 0.7, 0.6]), nms_iou=0.5, containment=0.8)
    assert keep.tolist() == [0, 3]  # duplicate by IoU, the head-and-shoulders part by containment
    assert suppress(boxes, np.array([0.9, 0.8, 0.7, 0.6]), nms_iou=0.5, containment=1.01).tolist() == [0, 2, 3]


# ------------------------------------------------------------------ scoring
def test_count_frame_matches_one_to_one_and_ignores_ignored_boxes():
    gt = np.array([[0, 0, 10, 30], [50, 0, 60, 30], [80, 0, 90, 30]])
    consider = np.array([1, 1, 0])
    pred = np.array([[0, 0, 10, 30], [1, 0, 11, 30], [80, 1, 90, 30], [200, 0, 210, 30]])
    c = count_frame(pred, gt, consider)
    # a hit; its duplicate is a false positive; the ignored box's match is neither; the stray one is a FP
    assert (c.tp, c.fp, c.fn, c.ignored) == (1, 2, 1, 1)
    assert c.recall == pytest.approx(0.5) and c.precision == pytest.approx(1 / 3)


def test_count_frame_needs_iou_half():
    gt = np.array([[0, 0, 10, 20]])
    c = count_frame(np.array([[0, 0, 10, 9]]), gt)  # IoU 0.45
    assert (c.tp, c.fp, c.fn) == (0, 1, 1)
    c = count_frame(np.array([[0, 0, 10, 11]]), gt)  # IoU 0.55
    assert (c.tp, c.fp, c.fn) == (1, 0, 0)
    assert count_frame(np.zeros((0, 4)), np.zeros((0, 4))) == DetectionCounts()


class _Cam:
    def __init__(self, start, stop, x0, x1):
        self.start, self.stop, self.x0, self.x1 = start, stop, x0, x1


def test_score_split_cuts_cameras_and_counts_per_range():
    # Two pseudo-cameras of a 20x10 frame; a detector that returns the true box
    # in the left camera and nothing in the right one.
    cams = [_Cam(0, 4, 0, 12), _Cam(0, 4, 8, 20)]
    gt_left = np.array([[f, 1, 2, 1, 4, 8, 1] for f in range(4)], float)
    gt_right = np.array([[f, 2, 3, 1, 4, 8, 1] for f in range(4)], float)
    seen = []

    def detector(images, cameras, indices):
        seen.append(([im.shape[1] for im in images], list(cameras), list(indices)))
        out = []
        for cam in cameras:
            xyxy = np.array([[2, 1, 6, 9]], np.float32) if cam == 0 else np.zeros((0, 4), np.float32)
            out.append(sv.Detections(xyxy=xyxy, confidence=np.ones(len(xyxy), np.float32)))
        return out

    import supervision as sv

    frames = [(i, np.zeros((10, 20, 3), np.uint8)) for i in range(4)]
    score = score_split(detector, frames, cams, [gt_left, gt_right], "lr", {"a": (0, 2), "b": (2, 4)}, thresholds=[0.5, 2.0])
    assert score.sweep[0.5]["a"] == score.counts["a"]
    assert score.sweep[2.0]["a"].tp == 0 and score.sweep[2.0]["a"].fn == 4  # every detection filtered out
    assert seen[0] == ([12, 12], [0, 1], [0, 0])
    assert (score.counts["a"].tp, score.counts["a"].fn, score.counts["b"].tp) == (2, 2, 2)
    assert score.total.recall == pytest.approx(0.5) and score.total.precision == 1.0
    assert score.camera_frames == 8 and score.ticks == 4


# ------------------------------------------------------------------ SSDLite
def _fake_network(per_tile):
    """A stand-in for the SSDLite core: tile ``k`` gets the normalised ``(ymin, xmin, ymax, xmax, score)`` rows ``per_tile[k]``."""
    calls = []

    def run(batch):
        calls.append(batch.copy())
        anchors = 8
        boxes = np.zeros((len(batch), anchors, 4), np.float32)
        scores = np.zeros((len(batch), anchors), np.float32)
        for k, rows in enumerate(per_tile[: len(batch)]):
            for a, r in enumerate(rows):
                boxes[k, a], scores[k, a] = r[:4], r[4]
        return boxes, scores

    return run, calls


def test_ssdlite_runs_all_tiles_of_all_frames_in_one_batch_and_maps_boxes_back():
    # A 200x100 frame as 1x2 tiles of 125 px (overlap 0.4): tile 1 starts at x 75.
    run, calls = _fake_network([
        [(0.2, 0.2, 0.8, 0.3, 0.9)],  # tile 0: x 25..37.5, y 20..80
        [(0.1, 0.6, 0.9, 0.7, 0.8), (0.1, 0.6, 0.9, 0.7, 0.05)],  # tile 1: x 150..162.5; the second is below threshold
        [(0.0, 0.0, 0.5, 0.1, 0.5)],  # second frame, whole (1 tile): x 0..5, y 0..25
    ])
    det = SSDLiteDetector(tiles=(1, 2), overlap=0.4, min_height=0, runner=run)
    det.tiles = (1, 2)
    frame_a = np.zeros((100, 200, 3), np.uint8)
    frame_a[:, 75:] = (255, 0, 0)  # BGR blue on the right tile: RGB channel 2 in the batch
    layouts = {(200, 100): [Tile(0, 0, 125, 100), Tile(75, 0, 200, 100)], (50, 50): [Tile(0, 0, 50, 50)]}
    det._layouts.update(layouts)
    a, b = det([frame_a, np.zeros((50, 50, 3), np.uint8)])
    assert len(calls) == 1 and calls[0].shape == (3, 300, 300, 3)
    assert calls[0][1, :, :, 2].min() == 255 and calls[0][0, :, :, 2].max() == 255  # tile 0 covers x 75..125 too
    order = np.argsort(a.xyxy[:, 0])
    np.testing.assert_allclose(a.xyxy[order], [[25, 20, 37.5, 80], [150, 10, 162.5, 90]], atol=1e-4)
    np.testing.assert_allclose(b.xyxy, [[0, 0, 5, 25]], atol=1e-4)


def test_ssdlite_auto_layout_and_aspect_filter():
    run, _ = _fake_network([[(0.1, 0.1, 0.9, 0.3, 0.9), (0.1, 0.5, 0.3, 0.9, 0.9), (0.5, 0.8, 0.8, 0.85, 0.9)]])
    det = SSDLiteDetector(runner=run)  # auto: full-height tiles at most 448/576 as wide as high
    assert len(det.layout(416, 576)) == 1
    assert [(t.x0, t.x1) for t in det.layout(768, 576)] == [(0, 439), (329, 768)]
    assert [(t.y0, t.y1) for t in det.layout(1280, 720)] == [(0, 720)] * 3
    (d,) = det([np.zeros((100, 70, 3), np.uint8)])  # narrower than 448/576: one tile
    # kept: 80 px tall; dropped: the box wider than tall, and the one 30 px tall (min_height 45)
    np.testing.assert_allclose(d.xyxy, [[7, 10, 21, 90]], atol=1e-4)
    (d,) = SSDLiteDetector(min_height=0, runner=run)([np.zeros((100, 70, 3), np.uint8)])
    assert len(d) == 2
    with pytest.raises(ValueError, match="tiles"):
        SSDLiteDetector(tiles=(0, 2), runner=run)


def test_parse_tiles():
    assert parse_tiles("1x2") == (1, 2) and parse_tiles("2X3") == (2, 3)
    for bad in ("2", "0x1", "ax2", "1x2x3"):
        with pytest.raises(ValueError, match="rows x columns"):
            parse_tiles(bad)


def test_ssdlite_core_cut_fails_clearly_on_a_graph_without_its_tensors(tmp_path, monkeypatch):
    from mlfn_keras.tracking.detection import ssdlite

    path = tmp_path / "ssdlite_mobilenet_v2_pedestrian_x.onnx"
    _constant_model(path, np.zeros((1, 6), np.float32))
    monkeypatch.setattr(ssdlite, "convert_ssdlite_to_onnx", lambda cache_dir=None: str(path))
    with pytest.raises(RuntimeError, match="Delete that file"):
        ssdlite.ssdlite_core_onnx(str(tmp_path))
    assert not (tmp_path / "ssdlite_mobilenet_v2_pedestrian_x_core.onnx").exists()
