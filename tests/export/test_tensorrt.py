import numpy as np
import pytest

from mlfn_keras.export import tensorrt as trt_export


def _gpu_and_tensorrt() -> bool:
    try:
        trt_export.require_tensorrt()
        return True
    except trt_export.TensorRTUnavailableError:
        return False


@pytest.mark.skipif(_gpu_and_tensorrt(), reason="TensorRT and a GPU are present")
def test_clear_error_without_gpu_or_tensorrt(tmp_path):
    with pytest.raises(trt_export.TensorRTUnavailableError) as info:
        trt_export.build_engine(tmp_path / "m.onnx", tmp_path / "m.engine", "fp16")
    message = str(info.value)
    assert "tensorrt" in message.lower() or "GPU" in message
    assert not (tmp_path / "m.engine").exists()


def test_precision_is_validated_before_anything_else(tmp_path):
    with pytest.raises(ValueError, match="precision 'int4'"):
        trt_export.build_engine(tmp_path / "m.onnx", tmp_path / "m.engine", "int4")
    with pytest.raises(ValueError, match="calibration crops"):
        trt_export.build_engine(tmp_path / "m.onnx", tmp_path / "m.engine", "int8", calibration_images=None)


@pytest.mark.skipif(not _gpu_and_tensorrt(), reason="needs an NVIDIA GPU and the tensorrt package")
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_engine_matches_keras(tmp_path, precision):
    import mlfn_keras
    from mlfn_keras.export.calibration import calibration_images
    from mlfn_keras.runtime.metadata import metadata_from_model
    from mlfn_keras.export.onnx import export_onnx
    from mlfn_keras.runtime import load_embedder

    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    crops = calibration_images(model.image_shape, max_images=32)
    onnx_path = tmp_path / "tiny.onnx"
    export_onnx(model, metadata_from_model(model), onnx_path, crops.images, crops.labels)
    result = trt_export.export_tensorrt(
        model, onnx_path, tmp_path / f"tiny_{precision}.engine", crops.images, crops.labels,
        precision=precision, max_batch=8,
    )
    assert result.parity.passed
    embedder = load_embedder(result.path)
    assert embedder.backend == "tensorrt"
    np.testing.assert_allclose(np.linalg.norm(embedder(crops.images[:3]), axis=1), 1, atol=1e-5)

