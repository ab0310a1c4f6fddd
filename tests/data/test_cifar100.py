"""Tests for the CIFAR-100 reader on tiny fake pickles."""

from __future__ import annotations

import pickle
import tarfile

import numpy as np
import pytest

from mlfn_keras.data import DatasetNotFoundError, load_cifar100


def make_cifar(folder, n_train=6, n_test=4):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("train", n_train), ("test", n_test)):
        batch = {"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8), "fine_labels": list(range(n)),
                 "coarse_labels": [0] * n}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"c{i}" for i in range(100)]}))
    return folder


def test_folder_and_tarball(tmp_path):
    folder = make_cifar(tmp_path / "cifar-100-python")
    data = load_cifar100(tmp_path)
    assert data.x_train.shape == (6, 32, 32, 3) and data.x_train.dtype == np.uint8
    assert data.y_test.tolist() == [0, 1, 2, 3]
    assert data.label_names[1] == "c1"
    # Channel-first rows become HWC: pixel (0, 0) of image 0 is bytes 0, 1024, 2048.
    raw = pickle.loads((folder / "train").read_bytes())["data"][0]
    assert data.x_train[0, 0, 0].tolist() == [raw[0], raw[1024], raw[2048]]

    archive = tmp_path / "cifar-100-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-100-python")
    from_tar = load_cifar100(archive)
    np.testing.assert_array_equal(from_tar.x_train, data.x_train)


def test_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="cifar-100-python.tar.gz"):
        load_cifar100(tmp_path)
