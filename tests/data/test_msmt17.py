"""Tests for the MSMT17 reader on a tiny fake folder."""

from __future__ import annotations

import pytest

from mlfn_keras.data import DatasetNotFoundError, load_msmt17


def make_msmt(root, train_dir="train", test_dir="test"):
    lists = {
        "list_train.txt": (train_dir, ["0000/0000_000_01_0303morning_0015_0.jpg 0",
                                       "0001/0001_003_14_0303morning_0040_1.jpg 1"]),
        "list_val.txt": (train_dir, ["0002/0002_000_05_0303noon_0001_0.jpg 2"]),
        "list_query.txt": (test_dir, ["0000/0000_000_02_0303afternoon_0001_0.jpg 0"]),
        "list_gallery.txt": (test_dir, ["0000/0000_001_07_0303afternoon_0002_0.jpg 0",
                                        "0003/0003_004_15_0303afternoon_0003_0.jpg 3"]),
    }
    for name, (sub, lines) in lists.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        (root / name).write_text("\n".join(lines) + "\n")
    return root


def test_reads_lists(tmp_path):
    ds = load_msmt17(make_msmt(tmp_path / "msmt17" / "MSMT17_V1").parent)
    assert [(r.pid, r.camid) for r in ds.train] == [(0, 0), (1, 13)]
    assert ds.train[0].path.endswith("MSMT17_V1/train/0000/0000_000_01_0303morning_0015_0.jpg")
    assert [(r.pid, r.camid) for r in ds.gallery] == [(0, 6), (3, 14)]
    assert len(load_msmt17(tmp_path, include_val=True).train) == 3


def test_v2_dirs(tmp_path):
    ds = load_msmt17(make_msmt(tmp_path / "MSMT17_V2", "mask_train_v2", "mask_test_v2"))
    assert "mask_test_v2" in ds.query[0].path


def test_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="list_train.txt"):
        load_msmt17(tmp_path)
    root = make_msmt(tmp_path / "MSMT17_V1")
    (root / "list_query.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match="list_query.txt"):
        load_msmt17(root)
    make_msmt(tmp_path / "MSMT17_V1")
    (root / "list_gallery.txt").write_text("justonefield\n")
    with pytest.raises(DatasetNotFoundError, match=r"list_gallery.txt:1"):
        load_msmt17(root)
