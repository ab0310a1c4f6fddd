"""A wrong model file gets a true message: empty/damaged is not "File not found", non-MLFN is refused."""


import keras
import numpy as np
import pytest

from mlfn_keras.errors import UserError
from mlfn_keras.modelfile import NotMLFNError, load_mlfn_keras

from repo import load_script


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    (d / "empty.keras").write_bytes(b"")
    (d / "random.keras").write_bytes(np.random.default_rng(0).bytes(5000))
    other = keras.Sequential([keras.Input((64, 32, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(8)])
    other.save(d / "other.keras")
    import mlfn_keras

    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(d / "tiny.keras")
    good = (d / "tiny.keras").read_bytes()
    (d / "truncated.keras").write_bytes(good[: len(good) // 2])
    return d


@pytest.mark.parametrize("name, expected", [("empty", "empty"), ("random", "not a .keras archive"),
                                            ("truncated", "not a .keras archive")])
def test_damaged_keras_file_is_not_file_not_found(files, name, expected):
    with pytest.raises(UserError) as info:
        load_mlfn_keras(files / f"{name}.keras")
    message = str(info.value)
    assert expected in message and f"{name}.keras" in message and "not found" not in message.lower()


def test_non_mlfn_keras_model_is_refused(files):
    with pytest.raises(NotMLFNError, match="not an MLFN"):
        load_mlfn_keras(files / "other.keras")
    assert isinstance(load_mlfn_keras(files / "tiny.keras"), keras.Model)


def test_runtime_and_export_refuse_a_non_mlfn_model(files):
    from mlfn_keras.export.source import load_export_source
    from mlfn_keras.runtime import load_embedder

    with pytest.raises(NotMLFNError):
        load_embedder(files / "other.keras")
    with pytest.raises(NotMLFNError):
        load_export_source(model_path=files / "other.keras")


def test_mlfn_eval_refuses_a_non_mlfn_model(files):
    from mlfn_keras.evaluation.models import load_model

    with pytest.raises(NotMLFNError):  # a UserError: mlfn-eval prints it and exits with 2
        load_model(str(files / "other.keras"), None)
    with pytest.raises(UserError, match="empty"):
        load_model(str(files / "empty.keras"), None)


def test_demo_refuses_a_non_mlfn_reid_model(files, capsys, tmp_path):
    multicam = load_script("demo/multicam.py", "demo_multicam_models")
    rc = multicam.main(["--no-show", "--quiet", "--frames", "5", "--people", "2", "--size", "192x144",
                        "--reid", str(files / "other.keras"), "--output", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2 and "not an MLFN" in err and "Traceback" not in err and len(err.strip().splitlines()) == 2
