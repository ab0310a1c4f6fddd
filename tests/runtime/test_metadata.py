import json

import keras
import numpy as np
import pytest

import mlfn_keras
from mlfn_keras.runtime.metadata import (
    ExportMetadata,
    metadata_from_model,
    read_sidecar,
    sha256_file,
    write_sidecar,
)


@pytest.fixture(scope="module")
def tiny():
    return mlfn_keras.MLFN.from_preset("mlfn_tiny")


def test_metadata_describes_the_model_contract(tiny):
    meta = metadata_from_model(tiny, source="preset:mlfn_tiny", include_factor_signature=True)
    assert meta.preset == "mlfn_tiny"
    assert meta.image_shape == (64, 32, 3)
    assert meta.embedding_dim == tiny.embedding_dim
    assert meta.outputs == ["embedding", "factor_signature"]
    assert meta.factor_signature_dim == tiny.factor_signature_dim
    np.testing.assert_allclose(meta.mean, mlfn_keras.preprocessing.IMAGENET_MEAN)
    np.testing.assert_allclose(meta.std, mlfn_keras.preprocessing.IMAGENET_STD)
    assert meta.project_version == mlfn_keras.__version__
    assert (meta.input_dtype, meta.input_layout, meta.color_order) == ("uint8", "NHWC", "RGB")


def test_json_round_trip_and_flat_properties(tiny):
    meta = metadata_from_model(tiny).replace(precision="fp16", parity={"min_cosine": 0.5})
    again = ExportMetadata.from_json(meta.to_json())
    assert again == meta
    flat = meta.flat_properties()
    assert json.loads(flat["mlfn_keras"])["precision"] == "fp16"
    assert flat["embedding_dim"] == str(tiny.embedding_dim)
    assert "[N,64,32,3]" in flat["input"]


def test_unknown_keys_are_ignored_and_junk_rejected(tiny):
    data = metadata_from_model(tiny).to_dict()
    data["from_the_future"] = 1
    assert ExportMetadata.from_dict(data).embedding_dim == tiny.embedding_dim
    with pytest.raises(ValueError, match="image_shape"):
        ExportMetadata.from_dict({"preset": "x"})


def test_model_without_embedding_output_is_rejected():
    inputs = keras.Input((8, 4, 3))
    model = keras.Model(inputs, {"features": keras.layers.GlobalAveragePooling2D()(inputs)})
    with pytest.raises(ValueError, match="'embedding'"):
        metadata_from_model(model)


def test_factor_signature_requires_the_output():
    inputs = keras.Input((8, 4, 3))
    model = keras.Model(inputs, {"embedding": keras.layers.GlobalAveragePooling2D()(inputs)})
    assert metadata_from_model(model).outputs == ["embedding"]
    with pytest.raises(ValueError, match="factor_signature"):
        metadata_from_model(model, include_factor_signature=True)


def test_sha256_of_file_and_directory(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"abc")
    assert sha256_file(tmp_path / "d" / "a") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    before = sha256_file(tmp_path / "d")
    (tmp_path / "d" / "b").write_bytes(b"x")
    assert sha256_file(tmp_path / "d") != before


def test_sidecar_round_trip(tmp_path, tiny):
    engine = tmp_path / "model.engine"
    assert read_sidecar(engine) is None
    meta = metadata_from_model(tiny).replace(format="tensorrt")
    write_sidecar(engine, meta)
    assert read_sidecar(engine) == meta
