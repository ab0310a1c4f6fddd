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


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Empty, random and truncated .onnx / .tflite / SavedModel files."""
    d = tmp_path_factory.mktemp("exported")
    rng = np.random.default_rng(0)
    for suffix in (".onnx", ".tflite"):
        (d / f"empty{suffix}").write_bytes(b"")
        (d / f"random{suffix}").write_bytes(rng.bytes(5000))
    (d / "saved").mkdir()
    (d / "saved" / "saved_model.pb").write_bytes(rng.bytes(300))
    return d


@pytest.mark.parametrize("name, fmt", [("empty.onnx", "onnx"), ("random.onnx", "onnx"), ("empty.tflite", "tflite"),
                                       ("random.tflite", "tflite"), ("saved", "saved_model")])
def test_damaged_exported_files_name_the_file_and_what_it_should_be(exported, name, fmt):
    from mlfn_keras.errors import DamagedFileError
    from mlfn_keras.runtime import load_embedder

    with pytest.raises(DamagedFileError) as info:
        load_embedder(exported / name)
    message = str(info.value)
    assert str(exported / name) in message and "expected" in message and "\n" not in message
    assert {"onnx": "export/to_onnx.py", "tflite": "export/to_tflite.py", "saved_model": "SavedModel"}[fmt] in message


def test_eval_on_a_damaged_onnx_is_one_line(exported, tmp_path, capsys):
    from mlfn_keras.data.synthetic import generate_market_layout
    from mlfn_keras.evaluation import cli

    root = generate_market_layout(tmp_path / "synth", num_identities=4, num_cameras=2, images_per_identity_camera=2,
                                  height=32, width=16, progress=False)
    rc = cli.main(["--model", str(exported / "random.onnx"), "--dataset", "synthetic", "--data-root", str(root),
                   "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "random.onnx" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def lambda_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("lambda") / "lambda.keras"
    inp = keras.Input((8,))
    keras.Model(inp, keras.layers.Lambda(lambda x: x * 2)(inp)).save(path)
    return path


@pytest.mark.parametrize("name", ["truncated.keras", "random.keras", "lambda"])
def test_adapt_init_that_is_damaged_or_a_lambda_is_one_line(files, lambda_model, tmp_path, capsys, name):
    import cv2

    from mlfn_keras.adapt import cli

    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0.jpg"), np.zeros((60, 80, 3), np.uint8))
    init = lambda_model if name == "lambda" else files / name
    rc = cli.main(["--cams", str(frames), "--output", str(tmp_path / "site.keras"), "--init-weights", str(init),
                   "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "--init-weights" in err and str(init) in err and "Traceback" not in err
