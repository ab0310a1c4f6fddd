import pytest

from mlfn_keras.errors import OutputExistsError
from mlfn_keras.fileio import atomic_output, check_output_dir


def test_atomic_file_replaces_only_on_success(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_text("good")
    with pytest.raises(ValueError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise ValueError("parity gate failed")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_atomic_dir_swaps_a_whole_folder(tmp_path):
    target = tmp_path / "saved"
    target.mkdir()
    (target / "old.pb").write_text("old")
    with atomic_output(target, is_dir=True) as tmp:
        (tmp / "saved_model.pb").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["saved_model.pb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]


def test_check_output_dir_refuses_foreign_files(tmp_path):
    (tmp_path / "bounding_box_train").mkdir()
    with pytest.raises(OutputExistsError, match="bounding_box_train.*--force"):
        check_output_dir(tmp_path, ours=["meta.json"])
    assert check_output_dir(tmp_path, ours=["bounding_box_train"]) == tmp_path
    assert check_output_dir(tmp_path, force=True) == tmp_path
    assert (tmp_path / "bounding_box_train").is_dir()
    with pytest.raises(OutputExistsError, match="is a file"):
        (tmp_path / "f").write_text("x")
        check_output_dir(tmp_path / "f")
