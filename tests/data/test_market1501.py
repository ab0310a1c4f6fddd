"""Tests for the Market-1501 / DukeMTMC-reID readers on tiny fake folders."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from PIL import Image

from mlfn_keras.data import DatasetNotFoundError, load_dukemtmc_reid, load_market1501

FILES = {
    "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000551_01.jpg", "0007_c3s3_077419_03.jpg",
                           "Thumbs.db"],
    "bounding_box_test": ["0000_c1s1_000151_01.jpg", "-1_c1s1_000401_03.jpg", "0001_c2s1_000301_01.jpg",
                          "0003_c6s1_000201_02.jpg"],
    "query": ["0001_c1s1_001051_00.jpg", "0003_c3s1_000301_00.jpg"],
    "gt_bbox": ["0001_c1s1_001051_00.jpg", "0001_c1s1_009376_00.jpg"],
}


def make_market(root, files=FILES):
    for split, names in files.items():
        (root / split).mkdir(parents=True)
        for name in names:
            if name.endswith(".jpg"):
                Image.fromarray(np.full((8, 4, 3), 100, np.uint8)).save(root / split / name)
            else:
                (root / split / name).write_bytes(b"x")
    return root


def test_reads_folder_drops_junk_keeps_distractors(tmp_path):
    ds = load_market1501(make_market(tmp_path / "Market-1501-v15.09.15"))
    assert [(r.pid, r.camid) for r in ds.train] == [(2, 0), (2, 1), (7, 2)]
    gallery = sorted((r.pid, r.camid) for r in ds.gallery)
    assert gallery == [(0, 0), (1, 1), (3, 5)]  # -1 dropped, 0 kept, cameras 0-based
    assert sorted(r.pid for r in ds.query) == [1, 3]
    assert len(ds.multi_query) == 2
    paths, labels, camids = ds.train_labels()
    assert labels.tolist() == [0, 0, 1] and camids.tolist() == [0, 1, 2]
    assert ds.num_train_pids == 2
    assert "query" in ds.summary()


def test_finds_nested_folder_and_zip(tmp_path):
    make_market(tmp_path / "data" / "Market-1501-v15.09.15")
    assert len(load_market1501(tmp_path / "data").train) == 3
    archive = tmp_path / "Market-1501-v15.09.15.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((tmp_path / "data").rglob("*")):
            zf.write(p, p.relative_to(tmp_path / "data"))
    ds = load_market1501(archive, extract_dir=tmp_path / "extracted")
    assert len(ds.train) == 3 and ds.root.startswith(str(tmp_path / "extracted"))
    # A second call reuses the extraction.
    assert load_market1501(archive, extract_dir=tmp_path / "extracted").fingerprint() == ds.fingerprint()


def test_fingerprint_changes_with_content(tmp_path):
    root = make_market(tmp_path / "m")
    before = load_market1501(root).fingerprint()
    Image.fromarray(np.zeros((8, 4, 3), np.uint8)).save(root / "bounding_box_train" / "0009_c1s1_000001_01.jpg")
    assert load_market1501(root).fingerprint() != before


def test_missing_subfolder_is_named(tmp_path):
    root = make_market(tmp_path / "m", {k: v for k, v in FILES.items() if k != "query"})
    with pytest.raises(DatasetNotFoundError, match=r"query.*does not exist"):
        load_market1501(root)


def test_missing_root_and_empty_root(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_market1501(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="bounding_box_train"):
        load_market1501(tmp_path / "empty")


def test_bad_file_name(tmp_path):
    root = make_market(tmp_path / "m")
    Image.fromarray(np.zeros((8, 4, 3), np.uint8)).save(root / "query" / "person.jpg")
    with pytest.raises(DatasetNotFoundError, match="person.jpg"):
        load_market1501(root)


def test_not_a_zip(tmp_path):
    bad = tmp_path / "Market.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DatasetNotFoundError, match="not a zip"):
        load_market1501(bad)


def test_duke_names(tmp_path):
    files = {
        "bounding_box_train": ["0001_c2_f0046182.jpg", "0001_c5_f0051341.jpg"],
        "bounding_box_test": ["0005_c8_f0107345.jpg"],
        "query": ["0005_c2_f0046985.jpg"],
    }
    ds = load_dukemtmc_reid(make_market(tmp_path / "DukeMTMC-reID", files))
    assert ds.name == "dukemtmcreid"
    assert [r.camid for r in ds.train] == [1, 4]
    assert ds.gallery[0].camid == 7
    assert ds.multi_query is None
