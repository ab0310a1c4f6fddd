"""Tests for the CUHK03 767/700 reader on a tiny fake release built here."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from scipy.io import savemat

from mlfn_keras.data import DatasetNotFoundError, load_cuhk03


def _write_raw_mat(path, rng):
    """A cuhk-03.mat look-alike: 2 camera pairs x 2 persons x 10 cells (HDF5 refs)."""
    with h5py.File(path, "w") as f:
        for image_type in ("detected", "labeled"):
            pair_refs = []
            for pair in range(2):
                cells = np.empty((10, 2), dtype=h5py.ref_dtype)  # stored transposed, like MATLAB
                for pid in range(2):
                    for k in range(10):
                        name = f"{image_type}_{pair}_{pid}_{k}"
                        if k in (3, 4, 8, 9):  # empty cells, as in the real file
                            data = np.zeros(2, np.uint64)
                        else:
                            data = rng.integers(0, 255, (3, 6, 12), dtype=np.uint8)  # (C, W, H)
                        cells[k, pid] = f.create_dataset(name, data=data).ref
                pair_refs.append(f.create_dataset(f"{image_type}_pair{pair}", data=cells).ref)
            f.create_dataset(image_type, data=np.array([pair_refs], dtype=h5py.ref_dtype))


def _write_config(path, names, labels, train, query, gallery):
    filelist = np.empty((len(names), 1), dtype=object)
    for i, n in enumerate(names):
        filelist[i, 0] = n
    savemat(path, {
        "filelist": filelist,
        "labels": np.asarray(labels, np.float64)[:, None],
        "train_idx": np.asarray(train, np.float64)[:, None] + 1,
        "query_idx": np.asarray(query, np.float64)[:, None] + 1,
        "gallery_idx": np.asarray(gallery, np.float64)[:, None] + 1,
    })


@pytest.fixture
def release(tmp_path):
    root = tmp_path / "cuhk03"
    (root / "cuhk03_release").mkdir(parents=True)
    _write_raw_mat(root / "cuhk03_release" / "cuhk-03.mat", np.random.default_rng(0))
    names = ["1_001_1_01.png", "1_001_2_06.png", "1_002_1_01.png", "2_001_1_02.png", "2_001_2_07.png",
             "2_002_2_08.png"]
    labels = [1, 1, 2, 3, 3, 4]
    for kind in ("detected", "labeled"):
        _write_config(root / f"cuhk03_new_protocol_config_{kind}.mat", names, labels,
                      train=[0, 1, 2], query=[3], gallery=[4, 5])
    return root


def test_extracts_and_reads_split(release):
    ds = load_cuhk03(release.parent)
    assert ds.name == "cuhk03_detected"
    assert [(r.pid, r.camid) for r in ds.train] == [(1, 0), (1, 1), (2, 0)]
    assert [(r.pid, r.camid) for r in ds.query] == [(3, 0)]
    assert [(r.pid, r.camid) for r in ds.gallery] == [(3, 1), (4, 1)]
    import cv2

    img = cv2.imread(ds.query[0].path)
    assert img is not None and img.shape == (12, 6, 3)
    # Empty cells are skipped: 2 pairs x 2 persons x 6 non-empty images.
    assert len(list((release / "images_detected").glob("*.png"))) == 24
    assert load_cuhk03(release, labeled=True).name == "cuhk03_labeled"


def test_pre_extracted_images_need_no_raw_mat(release):
    load_cuhk03(release)
    (release / "cuhk03_release" / "cuhk-03.mat").unlink()
    assert len(load_cuhk03(release).train) == 3


def test_errors(tmp_path, release):
    with pytest.raises(DatasetNotFoundError, match="cuhk03_new_protocol_config_detected.mat"):
        load_cuhk03(tmp_path / "nothing")
    (release / "cuhk03_release" / "cuhk-03.mat").unlink()
    with pytest.raises(DatasetNotFoundError, match="neither extracted images"):
        load_cuhk03(release)
