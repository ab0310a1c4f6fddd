import numpy as np
import onnx
import onnxruntime as ort
import pytest
from model_fixtures import tiny_with_batchnorm_statistics

from mlfn_keras.export.calibration import calibration_images
from mlfn_keras.export.metadata import metadata_from_model
from mlfn_keras.export.onnx import export_onnx, read_onnx_metadata
from mlfn_keras.export.parity import ParityError, run_parity_gate


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny_with_batchnorm_statistics(0)
    crops = calibration_images(model.image_shape, max_images=24)
    meta = metadata_from_model(model, source="test", include_factor_signature=True)
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    result = export_onnx(model, meta, path, crops.images, crops.labels)
    return model, crops, result


def test_onnxruntime_loads_the_file_and_matches_keras(exported):
    model, crops, result = exported
    session = ort.InferenceSession(result.path, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "images" and inp.type == "tensor(uint8)"
    assert inp.shape == ["batch", 64, 32, 3]
    assert [o.name for o in session.get_outputs()] == ["embedding", "factor_signature"]
    for batch in (1, 5):
        images = crops.images[:batch]
        embedding, signature = session.run(None, {"images": images})
        expected = model(images.astype(np.float32), training=False)
        np.testing.assert_allclose(embedding, expected["embedding"], atol=1e-4)
        np.testing.assert_allclose(signature, expected["factor_signature"], atol=1e-5)


def test_graph_is_clean_and_opset_17(exported):
    _, _, result = exported
    model = onnx.load(result.path)
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    ops = {node.op_type for node in model.graph.node}
    # The XLA-wrapped grouped conv would leave a call onnxruntime cannot run.
    assert not ops & {"StatefulPartitionedCall", "PartitionedCall"}
    assert [i.name for i in model.graph.input] == ["images"]  # no leaked constants
    assert result.details["nodes"] == len(model.graph.node)
    assert result.details["nodes"] <= result.details["nodes_before_slim"]


def test_metadata_travels_in_the_file(exported):
    model, _, result = exported
    meta = read_onnx_metadata(result.path)
    assert meta.format == "onnx" and meta.precision == "fp32"
    assert meta.image_shape == model.image_shape
    assert meta.embedding_dim == model.embedding_dim
    assert meta.parity["passed"] and meta.parity["min_cosine"] >= 0.9999
    props = {p.key: p.value for p in onnx.load(result.path).metadata_props}
    assert props["preset"] == "mlfn_tiny"


def test_gate_fails_for_a_model_that_does_not_match(exported):
    _, crops, result = exported
    other = tiny_with_batchnorm_statistics(1)
    with pytest.raises(ParityError, match="does not reproduce"):
        run_parity_gate(other, result.path, crops.images, crops.labels, "fp32")


def test_opset_below_17_is_refused(exported, tmp_path):
    model, crops, _ = exported
    with pytest.raises(ValueError, match="opset must be >= 17; received 13"):
        export_onnx(model, metadata_from_model(model), tmp_path / "x.onnx", crops.images, opset=13)
