import numpy as np
import pytest

import mlfn_keras
from mlfn_keras.export.calibration import calibration_images
from mlfn_keras.runtime.metadata import metadata_from_model
from mlfn_keras.export.onnx import export_onnx
from mlfn_keras.export.parity import BOUNDS, check_parity
from mlfn_keras.export.saved_model import export_saved_model
from mlfn_keras.export.tflite import export_tflite
from mlfn_keras.runtime import Embedder, load_embedder


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same tiny model as .keras, SavedModel, ONNX and TFLite (fp32/fp16/int8)."""
    root = tmp_path_factory.mktemp("runtime")
    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    model.save(root / "tiny.keras")
    crops = calibration_images(model.image_shape, max_images=16)
    meta = metadata_from_model(model)
    export_saved_model(model, meta, root / "tiny_savedmodel", crops.images, crops.labels)
    export_onnx(model, meta, root / "tiny.onnx", crops.images, crops.labels)
    for precision in ("fp32", "fp16", "int8"):
        export_tflite(model, meta, root / f"tiny_{precision}.tflite", crops.images, crops.labels,
                      precision=precision)
    paths = {
        ("keras", "fp32"): root / "tiny.keras",
        ("saved_model", "fp32"): root / "tiny_savedmodel",
        ("onnx", "fp32"): root / "tiny.onnx",
        ("tflite", "fp32"): root / "tiny_fp32.tflite",
        ("tflite", "fp16"): root / "tiny_fp16.tflite",
        ("tflite", "int8"): root / "tiny_int8.tflite",
    }
    return model, paths


def _crops_of_many_sizes(n=7, seed=0):
    rng = np.random.default_rng(seed)
    base = calibration_images((96, 48), max_images=n).images
    # Detector crops come in any size: resize each to a random one.
    import cv2

    return [cv2.resize(img, (int(rng.integers(20, 90)), int(rng.integers(40, 200)))) for img in base]


@pytest.mark.parametrize(
    "key",
    [("keras", "fp32"), ("saved_model", "fp32"), ("onnx", "fp32"), ("tflite", "fp32"),
     ("tflite", "fp16"), ("tflite", "int8")],
    ids=lambda k: "-".join(k),
)
def test_every_backend_gives_the_same_unit_embeddings(files, key):
    model, paths = files
    backend, precision = key
    # TF fixes its thread pools at first use (the fixture), so threads only for the others.
    threads = 1 if backend in ("onnx", "tflite") else None
    embedder = load_embedder(paths[key], num_threads=threads, batch_size=3)
    assert isinstance(embedder, Embedder)
    assert embedder.backend == backend
    assert embedder.image_shape == (64, 32, 3)
    assert embedder.embedding_dim == model.embedding_dim
    assert embedder.metadata.preset == "mlfn_tiny"

    crops = _crops_of_many_sizes()
    features = embedder(crops)
    assert features.shape == (len(crops), model.embedding_dim) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)

    # Reference: the Keras model on the same resized batch.
    batch = embedder.prepare(crops)
    assert batch.dtype == np.uint8 and batch.shape == (len(crops), 64, 32, 3)
    reference = np.asarray(model(batch.astype(np.float32))["embedding"])
    report = check_parity(reference, embedder.raw_embeddings(crops), precision)
    assert report.passed, report.summary()
    # Batching must not change results (7 crops in batches of 3 vs one call each).
    singles = np.concatenate([embedder(c[None]) for c in batch])
    np.testing.assert_allclose(singles, features, atol=1e-4 if precision == "fp32" else 2e-3)


def test_array_input_and_empty_input(files):
    _, paths = files
    embedder = load_embedder(paths[("onnx", "fp32")])
    images = calibration_images((64, 32), max_images=4).images
    np.testing.assert_allclose(embedder(images), embedder(list(images)), atol=1e-6)
    assert embedder([]).shape == (0, embedder.embedding_dim)
    with pytest.raises(ValueError, match=r"\(B, h, w, 3\)"):
        embedder(np.zeros((2, 8, 8), np.uint8))


def test_onnx_provider_aliases(files):
    _, paths = files
    embedder = load_embedder(paths[("onnx", "fp32")], providers=["cpu"], num_threads=1)
    assert embedder.providers == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="not available here"):
        load_embedder(paths[("onnx", "fp32")], providers=["NoSuchExecutionProvider"])


def test_bad_paths_are_explained(files, tmp_path):
    _, paths = files
    with pytest.raises(FileNotFoundError, match="missing.onnx' does not exist; expected a .keras"):
        load_embedder(tmp_path / "missing.onnx")
    (tmp_path / "weights.bin").write_bytes(b"0")
    with pytest.raises(ValueError, match="Cannot tell the backend"):
        load_embedder(tmp_path / "weights.bin")
    with pytest.raises(ValueError, match="without saved_model.pb"):
        load_embedder(tmp_path)
    with pytest.raises(ValueError, match="providers apply to .onnx"):
        load_embedder(paths[("tflite", "fp32")], providers=["cpu"])


def test_bounds_cover_every_tested_precision():
    assert {"fp32", "fp16", "int8"} <= set(BOUNDS)
