"""Batched feature extraction from Keras models and plain callables."""

import numpy as np
import pytest

import mlfn_keras
from mlfn_keras.evaluation.features import Features, extract_features, model_image_size


class _Runtime:
    """A runtime-like callable: uint8 in, a (B, 3) array out (mean colour)."""

    image_shape = (8, 4, 3)

    def __init__(self):
        self.batches = []

    def __call__(self, batch):
        self.batches.append(batch)
        # Left half vs right half makes the flip visible in the output.
        b = batch.astype(np.float32)
        return np.stack([b[:, :, :2].mean((1, 2, 3)), b[:, :, 2:].mean((1, 2, 3)), b.mean((1, 2, 3))], 1)


def _images(n, h=10, w=6, seed=0):
    return [np.random.RandomState(seed + i).randint(0, 256, (h, w, 3)).astype(np.uint8) for i in range(n)]


def test_callable_batches_uint8_and_flip_averages():
    rt = _Runtime()
    imgs = _images(5)
    plain = extract_features(rt, imgs, batch_size=2, progress=False)
    assert [b.shape[0] for b in rt.batches] == [2, 2, 1]
    assert all(b.dtype == np.uint8 and b.shape[1:] == (8, 4, 3) for b in rt.batches)
    assert plain.embedding.shape == (5, 3) and plain.factor_signature is None
    flipped = extract_features(rt, imgs, batch_size=2, flip=True, progress=False)
    # Flip TTA averages left/right halves: both columns become their mean.
    np.testing.assert_allclose(flipped.embedding[:, 0], flipped.embedding[:, 1], rtol=1e-6)
    np.testing.assert_allclose(
        flipped.embedding[:, 0], plain.embedding[:, :2].mean(1), rtol=1e-5
    )


def test_keras_backbone_outputs_and_files(tmp_path):
    import cv2

    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    imgs = _images(3, 70, 30)
    paths = []
    for i, img in enumerate(imgs):
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        paths.append(p)
    from_files = extract_features(model, paths, batch_size=2, progress=False)
    from_arrays = extract_features(model, imgs, batch_size=3, progress=False)
    np.testing.assert_allclose(from_files.embedding, from_arrays.embedding, rtol=1e-4, atol=1e-5)
    assert from_files.embedding.shape == (3, model.embedding_dim)
    k = from_files.factor_signature.shape[1]
    assert list(from_files.selections) == [f"selection_{i + 1}" for i in range(len(from_files.selections))]
    assert sum(s.shape[1] for s in from_files.selections.values()) == k
    direct = model.predict(
        mlfn_keras.preprocessing.resize_crops(imgs, model.image_shape[:2]), verbose=0
    )
    np.testing.assert_allclose(from_arrays.embedding, direct["embedding"], rtol=1e-4, atol=1e-5)
    from_files.save(tmp_path / "f.npz")
    loaded = Features.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(loaded.factor_signature, from_files.factor_signature)
    assert list(loaded.selections) == list(from_files.selections)


def test_errors():
    with pytest.raises(ValueError, match="empty"):
        extract_features(_Runtime(), [], progress=False)
    with pytest.raises(ValueError, match="Cannot read image"):
        extract_features(_Runtime(), ["/nonexistent/x.jpg"], progress=False)
    with pytest.raises(ValueError, match="image_size"):
        model_image_size(lambda x: x)
    with pytest.raises(TypeError, match="callable"):
        extract_features(object(), _images(1), image_size=(8, 4), progress=False)


def test_runtime_embedder_gives_normalised_keras_embeddings(tmp_path):
    from mlfn_keras.runtime import load_embedder

    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    model.save(tmp_path / "tiny.keras")
    imgs = _images(4, 64, 32)
    ref = extract_features(model, imgs, progress=False).embedding
    runtime = extract_features(load_embedder(tmp_path / "tiny.keras"), imgs, batch_size=3, progress=False)
    assert runtime.factor_signature is None
    np.testing.assert_allclose(
        runtime.embedding, ref / np.linalg.norm(ref, axis=1, keepdims=True), rtol=1e-4, atol=1e-5
    )
