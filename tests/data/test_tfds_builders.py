"""Tests for the TFDS builders (tfds.load from a manual_dir)."""

from __future__ import annotations

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from mlfn_keras.data import tfds_builders  # noqa: E402
from mlfn_keras.data.synthetic import generate_market_layout  # noqa: E402


def test_builders_are_registered():
    names = set(tfds.list_builders())
    assert set(tfds_builders.BUILDERS) <= names


def test_tfds_load_from_manual_dir(tmp_path):
    root = generate_market_layout(tmp_path / "synth", num_identities=6, num_cameras=2,
                                  images_per_identity_camera=2, height=32, width=16, num_distractors=2,
                                  num_junk=1, progress=False)
    config = tfds.download.DownloadConfig(manual_dir=str(root))
    train = tfds.load("synthetic_reid", split="train", data_dir=str(tmp_path / "tfds"),
                      download_and_prepare_kwargs={"download_config": config})
    examples = list(tfds.as_numpy(train))
    assert len(examples) == len(list((root / "bounding_box_train").iterdir()))
    ex = examples[0]
    assert ex["image"].shape == (32, 16, 3) and ex["image"].dtype == np.uint8
    assert 1 <= ex["pid"] <= 3 and ex["camid"] in (0, 1)
    gallery = list(tfds.as_numpy(tfds.load("synthetic_reid", split="gallery", data_dir=str(tmp_path / "tfds"))))
    pids = {int(e["pid"]) for e in gallery}
    assert 0 in pids and -1 not in pids  # distractors kept, junk dropped
