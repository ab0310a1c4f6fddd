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


def test_one_registry_serves_training_evaluation_and_reports():
    from mlfn_keras.data.registry import (
        DATASETS,
        DatasetSpec,
        dataset_names,
        dataset_title,
        get_dataset,
    )
    from mlfn_keras.evaluation import splits

    assert splits.DATASETS == dataset_names()  # evaluation accepts exactly the registry's names
    assert get_dataset("cuhk03_detected") is get_dataset("CUHK03") is DATASETS["cuhk03"]
    assert dataset_title("cuhk03_detected") == "CUHK03 Detected" and dataset_title("Market-1501") == "Market-1501"
    assert dataset_title("not_registered") == "not_registered"
    assert all(isinstance(spec, DatasetSpec) and spec.title for spec in DATASETS.values())


def test_register_dataset_refuses_a_taken_name(monkeypatch):
    from mlfn_keras.data import registry

    monkeypatch.setattr(registry, "DATASETS", dict(registry.DATASETS))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    spec = registry.register_dataset(registry.DatasetSpec("mine", "Mine", registry.load_market1501, aliases=("my-set",)))
    assert registry.get_dataset("my_set") is spec and "my-set" in registry.dataset_names()
    with pytest.raises(ValueError, match="already registered"):
        registry.register_dataset(registry.DatasetSpec("market1501", "Again", registry.load_market1501))


def test_unknown_name_is_a_user_error():
    from mlfn_keras.errors import UserError

    with pytest.raises(UserError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet", "/tmp")
