"""Data readers on empty or malformed folders: a message naming the folder or file, never an empty data set."""

import cv2
import numpy as np
import pytest

from mlfn_keras.data.dataset import DatasetNotFoundError
from mlfn_keras.data.market1501 import read_market_layout


def _layout(root, train=(), query=(), test=()):
    for split, names in (("bounding_box_train", train), ("query", query), ("bounding_box_test", test)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for n in names:
            cv2.imwrite(str(root / split / n), np.zeros((8, 4, 3), np.uint8))
    return root


def test_market_layout_with_empty_splits_is_refused(tmp_path):
    root = _layout(tmp_path / "market", query=["0001_c1s1_000001_00.jpg"], test=["0001_c2s1_000001_00.jpg"])
    with pytest.raises(DatasetNotFoundError, match="bounding_box_train holds no usable images"):
        read_market_layout(root)


def test_market_file_name_that_does_not_parse_is_named(tmp_path):
    root = _layout(tmp_path / "market", train=["holiday.jpg"], query=["0001_c1s1_000001_00.jpg"],
                   test=["0001_c2s1_000001_00.jpg"])
    with pytest.raises(DatasetNotFoundError, match="holiday.jpg"):
        read_market_layout(root)


def test_market_layout_reads_a_good_folder(tmp_path):
    root = _layout(tmp_path / "market", train=["0001_c1s1_000001_00.jpg"], query=["0002_c1s1_000001_00.jpg"],
                   test=["0002_c2s1_000001_00.jpg", "-1_c1s1_000001_00.jpg"])
    data = read_market_layout(root)
    assert len(data.train) == 1 and len(data.query) == 1 and len(data.gallery) == 1


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_market_layout_writer_never_replaces_a_real_market_folder(tmp_path):
    from mlfn_keras.data.pets09_reid import write_market_layout
    from mlfn_keras.errors import OutputExistsError

    from test_data_pets09_reid import _crops

    real = _layout(tmp_path / "Market-1501", train=["0001_c1s1_000001_00.jpg"], query=["0002_c1s1_000001_00.jpg"],
                   test=["0002_c2s1_000001_00.jpg"])
    before = _snapshot(real)
    with pytest.raises(OutputExistsError, match="bounding_box_test/, bounding_box_train/, query/.*--force"):
        write_market_layout(_crops(), real)
    with pytest.raises(OutputExistsError, match="would have to replace"):  # --force never replaces them
        write_market_layout(_crops(), real, force=True)
    assert _snapshot(real) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Market-1501"]  # no staging folder left behind


def test_market_layout_writer_replaces_its_own_output(tmp_path):
    from mlfn_keras.data.pets09_reid import write_market_layout

    from test_data_pets09_reid import _crops

    out = write_market_layout(_crops(), tmp_path / "pets_market")
    (out / "query" / "stale.jpg").write_bytes(b"x")  # inside a listed folder: replaced with it
    write_market_layout(_crops(), out)
    assert not (out / "query" / "stale.jpg").exists() and (out / "manifest.json").exists()


def test_real_reid_benchmark_refuses_a_market_folder_before_reading_the_video(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    real = _layout(tmp_path / "Market-1501", train=["0001_c1s1_000001_00.jpg"])
    before = _snapshot(real)
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("real_reid_rel", root / "benchmarks" / "real_reid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The video does not exist: refusing the folder first proves no work was done.
    rc = module.main(["--video", str(tmp_path / "missing.avi"), "--market-dir", str(real), "--no-default-rows"])
    err = capsys.readouterr().err
    assert rc == 2 and "bounding_box_train/" in err and "missing.avi" not in err and "Traceback" not in err
    assert _snapshot(real) == before
