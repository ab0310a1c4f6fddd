import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from model_fixtures import tiny_with_batchnorm_statistics

from mlfn_keras.export.calibration import calibration_images
from mlfn_keras.export.metadata import metadata_from_model
from mlfn_keras.export.parity import BOUNDS
from mlfn_keras.export.tflite import embed_metadata, export_tflite, read_tflite_metadata


@pytest.fixture(scope="module")
def source():
    model = tiny_with_batchnorm_statistics(0)
    crops = calibration_images(model.image_shape, max_images=24)
    calibration = calibration_images(model.image_shape, max_images=32, seed=1)
    return model, crops, calibration


@pytest.mark.parametrize("precision", ["fp32", "fp16", "dynamic_int8", "int8"])
def test_each_precision_passes_its_parity_bound(source, tmp_path, precision):
    model, crops, calibration = source
    path = tmp_path / f"tiny_{precision}.tflite"
    result = export_tflite(
        model, metadata_from_model(model), path, crops.images, crops.labels,
        precision=precision, calibration_images=calibration.images, num_threads=1,
    )
    assert result.parity.passed
    assert result.parity.min_cosine >= BOUNDS[precision]
    assert result.parity.rank1_agreement is not None
    meta = read_tflite_metadata(path)
    assert meta.precision == precision and meta.format == "tflite"
    assert meta.parity["min_cosine"] == pytest.approx(result.parity.min_cosine)

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    runner = interpreter.get_signature_runner("serving_default")
    out = runner(images=crops.images[:3])["embedding"]
    expected = np.asarray(model(crops.images[:3].astype(np.float32))["embedding"])
    cos = np.sum(out * expected, 1) / np.linalg.norm(out, axis=1) / np.linalg.norm(expected, axis=1)
    assert cos.min() >= BOUNDS[precision]
    dtypes = {d["dtype"] for d in interpreter.get_tensor_details()}
    if precision == "fp16":
        assert np.float16 in dtypes
    if precision == "int8":
        assert np.int8 in dtypes
    input_detail = interpreter.get_input_details()[0]
    assert input_detail["dtype"] == np.uint8
    assert list(input_detail["shape_signature"]) == [-1, 64, 32, 3]


def test_metadata_is_replaced_not_duplicated(source, tmp_path):
    model, crops, _ = source
    path = tmp_path / "tiny.tflite"
    export_tflite(model, metadata_from_model(model), path, crops.images[:8])
    data = path.read_bytes()
    twice = embed_metadata(data, read_tflite_metadata(path).replace(source="changed"))
    path.write_bytes(twice)
    assert read_tflite_metadata(path).source == "changed"
    from ai_edge_litert import schema_py_generated as schema

    fb = schema.Model.GetRootAs(twice, 0)
    names = [fb.Metadata(i).Name() for i in range(fb.MetadataLength())]
    assert names.count(b"mlfn_keras") == 1


def test_int8_without_calibration_is_refused(source, tmp_path):
    model, _, _ = source
    from mlfn_keras.export.tflite import convert_to_tflite

    with pytest.raises(ValueError, match="calibration_images"):
        convert_to_tflite(model, metadata_from_model(model), "int8", None)
    with pytest.raises(ValueError, match="precision 'int4'"):
        convert_to_tflite(model, metadata_from_model(model), "int4")
