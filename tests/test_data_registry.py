"""Tests for mlfn_keras.data.registry (data sets by name)."""

from __future__ import annotations

import pytest

from mlfn_keras.data import DatasetNotFoundError, load_dataset


def test_synthetic_generates_once_then_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFN_KERAS_CACHE", str(tmp_path / "cache"))
    kwargs = dict(num_identities=6, num_cameras=2, images_per_identity_camera=1, height=32, width=16)
    ds = load_dataset("synthetic", progress=False, **kwargs)
    assert ds.name == "synthetic" and ds.num_train_pids == 3
    assert str(tmp_path / "cache") in ds.root
    again = load_dataset("synthetic", progress=False, **kwargs)
    assert again.fingerprint() == ds.fingerprint()
    # An existing generated folder can be given directly.
    assert load_dataset("synthetic", ds.root).fingerprint() == ds.fingerprint()


def test_unknown_and_missing(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'.*market1501"):
        load_dataset("imagenet", tmp_path)
    with pytest.raises(ValueError, match="needs a root"):
        load_dataset("market1501")
    with pytest.raises(DatasetNotFoundError):
        load_dataset("Market-1501", tmp_path / "missing")
    with pytest.raises(DatasetNotFoundError):
        load_dataset("DukeMTMC-reID", tmp_path / "missing")
