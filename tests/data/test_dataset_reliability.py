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
