"""Tests for the tf.data pipeline (mlfn_keras.data.pipeline)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mlfn_keras.data.pipeline import (
    PKSampler,
    make_cifar_dataset,
    make_inference_dataset,
    make_train_dataset,
    random_erasing,
    validate_images,
)
from mlfn_keras.preprocessing import IMAGENET_MEAN


@pytest.fixture
def images(tmp_path):
    """12 tiny images of 4 identities; image i is a left/right gradient with value i."""
    paths, labels = [], []
    for i in range(12):
        arr = np.zeros((20, 10, 3), np.uint8)
        arr[:, :5] = 10 * i
        arr[:, 5:] = 200
        path = tmp_path / f"{i:02d}.png"
        Image.fromarray(arr).save(path)
        paths.append(str(path))
        labels.append(i % 4)
    return paths, np.asarray(labels)


def test_batches_are_unnormalised_rgb_at_model_size(images):
    paths, labels = images
    data = make_train_dataset(paths, labels, (16, 8, 3), batch_size=4, flip=False, deterministic=True,
                              progress=False)
    x, y = next(iter(data.dataset))
    assert x.shape == (4, 16, 8, 3) and x.dtype == tf.float32
    assert y.dtype == tf.int32
    assert float(tf.reduce_max(x)) == pytest.approx(200, abs=1)  # [0, 255], no normalisation
    assert data.num_classes == 4 and data.steps_per_epoch == 3


def test_deterministic_mode_repeats_exactly(images):
    paths, labels = images

    def first_batches():
        data = make_train_dataset(paths, labels, (16, 8), batch_size=4, seed=3, deterministic=True,
                                  random_erasing_prob=0.5, progress=False)
        return [b[0].numpy() for b in data.dataset.take(3)]

    a, b = first_batches(), first_batches()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_flip_happens(images):
    paths, labels = images
    data = make_train_dataset(paths, labels, (20, 10), batch_size=12, seed=0, progress=False)
    x = next(iter(data.dataset))[0].numpy()
    right_bright = x[:, 10, -1, 0] == 200
    assert 0 < right_bright.sum() < 12  # some images flipped, some not


def test_corrupt_images_are_skipped_and_counted(images, tmp_path):
    paths, labels = images
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    truncated = tmp_path / "truncated.jpg"
    Image.fromarray(np.zeros((64, 32, 3), np.uint8) + 90).save(truncated, quality=95)
    truncated.write_bytes(truncated.read_bytes()[:200])
    all_paths = paths + [str(bad), str(truncated)]
    mask = validate_images(all_paths, progress=False)
    assert mask.tolist() == [True] * 12 + [False, False]
    data = make_train_dataset(all_paths, np.r_[labels, 0, 1], (16, 8), batch_size=4, repeat=False,
                              progress=False)
    assert data.skipped == [str(bad), str(truncated)]
    assert data.num_images == 12
    assert sum(int(b[0].shape[0]) for b in data.dataset) == 12


def test_unvalidated_corrupt_image_does_not_stop_the_epoch(images, tmp_path):
    paths, labels = images
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    data = make_train_dataset(paths + [str(bad)], np.r_[labels, 0], (16, 8), batch_size=1, repeat=False,
                              validate=False, progress=False)
    assert sum(1 for _ in data.dataset) == 12


def test_pk_batches_are_identity_balanced(images):
    paths, labels = images
    data = make_train_dataset(paths, labels, (16, 8), batch_size=4, num_instances=2, progress=False)
    for _, y in data.dataset.take(6):
        values, counts = np.unique(y.numpy(), return_counts=True)
        assert len(values) == 2 and counts.tolist() == [2, 2]


def test_pk_sampler():
    labels = np.array([0, 0, 0, 1, 2, 2, 3, 3, 3, 3])
    sampler = PKSampler(labels, num_identities=2, num_instances=3, seed=1)
    epoch = sampler.epoch(0)
    assert len(epoch) == 12 and sampler.steps_per_epoch() == 2
    for block in epoch.reshape(-1, 6):
        ids = labels[block].reshape(2, 3)
        assert (ids == ids[:, :1]).all() and ids[0, 0] != ids[1, 0]
    np.testing.assert_array_equal(epoch, PKSampler(labels, 2, 3, seed=1).epoch(0))
    assert not np.array_equal(epoch, sampler.epoch(1))
    with pytest.raises(ValueError, match="at least P=5 identities"):
        PKSampler(labels, 5, 2)


def test_bad_arguments(images):
    paths, labels = images
    with pytest.raises(ValueError, match="multiple of num_instances"):
        make_train_dataset(paths, labels, (16, 8), batch_size=5, num_instances=2, progress=False)
    with pytest.raises(ValueError, match="differ in length"):
        make_train_dataset(paths, labels[:3], (16, 8), progress=False)


def test_random_erasing_uses_mean_colour():
    image = tf.zeros((32, 16, 3))
    erased = random_erasing(image, tf.constant([1, 2], tf.int64), probability=1.0).numpy()
    changed = (erased != 0).any(-1)
    assert 0 < changed.mean() <= 0.45
    np.testing.assert_allclose(erased[changed][0], IMAGENET_MEAN, rtol=1e-6)
    untouched = random_erasing(image, tf.constant([1, 2], tf.int64), probability=0.0).numpy()
    assert not untouched.any()


def test_inference_dataset_keeps_order(images):
    paths, _ = images
    batches = list(make_inference_dataset(paths, (20, 10), batch_size=5))
    assert [b.shape[0] for b in batches] == [5, 5, 2]
    left = np.concatenate([b.numpy()[:, 0, 0, 0] for b in batches])
    np.testing.assert_allclose(left, 10 * np.arange(12))


def test_cifar_dataset():
    x = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    y = np.arange(8)
    xb, yb = next(iter(make_cifar_dataset(x, y, batch_size=4)))
    assert xb.shape == (4, 32, 32, 3) and xb.dtype == tf.float32
    xt, yt = next(iter(make_cifar_dataset(x, y, batch_size=8, training=False)))
    np.testing.assert_array_equal(xt.numpy(), x.astype(np.float32))
