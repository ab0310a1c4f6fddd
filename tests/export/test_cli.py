
import onnxruntime as ort
import pytest

from repo import load_script



def _cli(name):
    return load_script(f"export/{name}.py", f"export_cli_{name}")


@pytest.mark.parametrize("name", ["to_onnx", "to_saved_model", "to_tflite", "to_tensorrt"])
def test_help_has_runnable_examples(name, capsys):
    with pytest.raises(SystemExit) as info:
        _cli(name).main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and f"python export/{name}.py" in out


def test_to_onnx_from_a_keras_file(tmp_path, capsys):
    import mlfn_keras

    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(tmp_path / "tiny.keras")
    code = _cli("to_onnx").main(
        [str(tmp_path / "tiny.keras"), "--num-images", "8", "--output", str(tmp_path / "t.onnx")]
    )
    assert code == 0
    assert "PASS" in capsys.readouterr().out
    session = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["source_sha256"] != "None"


def test_source_must_be_exactly_one(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _cli("to_onnx").main(["--output", str(tmp_path / "x.onnx")])
    assert info.value.code == 2
    assert "exactly one of MODEL" in capsys.readouterr().err


def test_to_tensorrt_without_gpu_says_so(tmp_path, capsys):
    from mlfn_keras.export.tensorrt import TensorRTUnavailableError, require_tensorrt

    try:
        require_tensorrt()
        pytest.skip("TensorRT and a GPU are present")
    except TensorRTUnavailableError:
        pass
    code = _cli("to_tensorrt").main(["--preset", "mlfn_tiny", "--output", str(tmp_path / "x.engine")])
    assert code == 3
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "x.engine").exists()
