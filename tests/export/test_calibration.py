import cv2
import numpy as np
import pytest

from mlfn_keras.export.calibration import calibration_images, load_image_folder


def _write(path, colour, size=(40, 20)):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full(size + (3,), colour, np.uint8)
    cv2.imwrite(str(path), image)


def test_market_names_give_labels_and_junk_is_skipped(tmp_path):
    _write(tmp_path / "query" / "0002_c1s1_000451_03.jpg", 10)
    _write(tmp_path / "bounding_box_test" / "0002_c2s1_000301_01.jpg", 20)
    _write(tmp_path / "bounding_box_test" / "0007_c1s1_000101_01.jpg", 30)
    _write(tmp_path / "bounding_box_test" / "0000_c1s1_000001_01.jpg", 40)
    _write(tmp_path / "bounding_box_test" / "-1_c1s1_000002_01.jpg", 50)
    crops = load_image_folder(tmp_path, (16, 8, 3))
    assert crops.images.shape == (3, 16, 8, 3) and crops.images.dtype == np.uint8
    assert sorted(crops.labels.tolist()) == [2, 2, 7]


def test_folder_per_identity_and_whole_identities_only(tmp_path):
    for person in ("alice", "bob", "carol"):
        for k in range(3):
            _write(tmp_path / person / f"{k}.png", 100)
    crops = load_image_folder(tmp_path, (16, 8), max_images=7)
    # 7 would split an identity: only whole ones (2 x 3 crops) are taken.
    assert len(crops) == 6
    assert np.bincount(crops.labels).tolist() == [0, 3, 3]


def test_errors_say_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_image_folder(tmp_path / "nope", (16, 8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Market-1501"):
        load_image_folder(tmp_path / "empty", (16, 8))


def test_generated_crops_are_labelled_people_not_noise():
    crops = calibration_images((64, 32, 3), max_images=12)
    assert crops.source == "generated"
    assert crops.images.shape == (12, 64, 32, 3)
    # Several crops per identity, so retrieval can be checked.
    assert np.bincount(crops.labels).max() >= 2
    # Different seeds give different identities.
    other = calibration_images((64, 32, 3), max_images=12, seed=1)
    assert not np.array_equal(other.images, crops.images)
