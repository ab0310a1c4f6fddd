import pytest

import mlfn_keras
from mlfn_keras.export.benchmark import Measurement, measure, ratios, to_markdown
from mlfn_keras.export.calibration import calibration_images
from mlfn_keras.runtime.metadata import metadata_from_model
from mlfn_keras.export.onnx import export_onnx


def _row(backend, batch, ms):
    return Measurement(backend, batch, ms, ms * 1.1, batch / ms * 1e3, 100.0, 1.0, 5)


def test_ratios_compare_within_one_run():
    rows = [
        _row("onnx", 1, 30.0), _row("tflite_fp32", 1, 20.0), _row("keras", 1, 60.0),
        _row("tflite_fp32", 32, 1000.0), _row("keras", 32, 2000.0),
        _row("torchreid_onnx", 1, 40.0), _row("torchreid_eager", 1, 80.0),
        _row("torchreid_eager", 32, 3200.0),
    ]
    result = ratios(rows)
    best = result["best_b1_latency_vs_torchreid_onnx"]
    assert best["ours"] == "tflite_fp32" and best["ratio"] == pytest.approx(0.5)
    assert result["best_b32_throughput_vs_torchreid_eager"]["ratio"] == pytest.approx(3.2)
    assert result["keras_b32_throughput_vs_torchreid_eager"]["ratio"] == pytest.approx(1.6)
    table = to_markdown(rows, {"preset": "mlfn", "image_shape": [256, 128, 3], "ratios": result})
    assert "| tflite_fp32 | 1 | 20.0 |" in table and "| 0.50 | <= 1.0 |" in table


def test_measure_runs_onnx_in_a_fresh_process_without_tensorflow(tmp_path):
    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    crops = calibration_images(model.image_shape, max_images=8)
    export_onnx(model, metadata_from_model(model), tmp_path / "t.onnx", crops.images, crops.labels)
    rows = measure("onnx", str(tmp_path / "t.onnx"), crops.images, batch_sizes=(1, 4),
                   threads=1, min_iterations=2, min_seconds=0.0)
    assert [r.batch for r in rows] == [1, 4]
    for r in rows:
        assert r.iterations >= 2 and r.p50_ms > 0 and r.p95_ms >= r.p50_ms * 0.999
        assert r.images_per_s == pytest.approx(r.batch / r.p50_ms * 1e3)
        assert 0 < r.peak_rss_mb < 2000
        assert r.file_mb == pytest.approx((tmp_path / "t.onnx").stat().st_size / 1e6)
        # An edge box has onnxruntime and no TensorFlow: the runtime must not need it.
        assert r.tensorflow_loaded is False
