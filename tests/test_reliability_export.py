"""Exporters never destroy what they did not write, and a failed parity gate replaces nothing."""

from pathlib import Path

import numpy as np
import pytest

import mlfn_keras
from mlfn_keras.errors import OutputExistsError
from mlfn_keras.export.parity import ParityError
from mlfn_keras.export.serving import load_export_source


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "tiny.keras"
    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(path)
    return load_export_source(model_path=path)


@pytest.fixture(scope="module")
def crops():
    return np.random.default_rng(0).integers(0, 255, (4, 64, 32, 3), dtype=np.uint8)


def _failing_gate(*args, **kwargs):
    raise ParityError("parity gate failed (simulated)")


def _no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_failed_gate_keeps_the_previous_onnx_file(source, crops, tmp_path, monkeypatch):
    from mlfn_keras.export import onnx as onnx_export

    target = tmp_path / "model.onnx"
    target.write_bytes(b"the previous good export")
    monkeypatch.setattr(onnx_export, "run_parity_gate", _failing_gate)
    with pytest.raises(ParityError):
        onnx_export.export_onnx(source.model, source.metadata, target, crops, simplify=False)
    assert target.read_bytes() == b"the previous good export"
    assert _no_temporaries(tmp_path)


def test_failed_gate_keeps_the_previous_tflite_file(source, crops, tmp_path, monkeypatch):
    from mlfn_keras.export import tflite as tflite_export

    target = tmp_path / "model.tflite"
    target.write_bytes(b"the previous good export")
    monkeypatch.setattr(tflite_export, "run_parity_gate", _failing_gate)
    with pytest.raises(ParityError):
        tflite_export.export_tflite(source.model, source.metadata, target, crops)
    assert target.read_bytes() == b"the previous good export"
    assert _no_temporaries(tmp_path)


def test_saved_model_refuses_a_foreign_folder(source, crops, tmp_path):
    from mlfn_keras.export.saved_model import export_saved_model

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"weights")
    (run / "logs").mkdir()
    (run / "logs" / "train.csv").write_text("step,loss\n")
    with pytest.raises(OutputExistsError, match="--force"):
        export_saved_model(source.model, source.metadata, run, crops)
    assert (run / "model.keras").read_bytes() == b"weights" and (run / "logs" / "train.csv").exists()


def test_saved_model_with_force_keeps_foreign_files(source, crops, tmp_path):
    from mlfn_keras.export.saved_model import export_saved_model

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"weights")
    export_saved_model(source.model, source.metadata, run, crops, force=True)
    assert (run / "model.keras").read_bytes() == b"weights" and (run / "saved_model.pb").exists()


def test_failed_gate_keeps_the_previous_saved_model(source, crops, tmp_path, monkeypatch):
    from mlfn_keras.export import saved_model as sm

    out = tmp_path / "sm"
    sm.export_saved_model(source.model, source.metadata, out, crops)
    before = (out / "saved_model.pb").read_bytes()
    monkeypatch.setattr(sm, "run_parity_gate", _failing_gate)
    with pytest.raises(ParityError):
        sm.export_saved_model(source.model, source.metadata, out, crops)
    assert (out / "saved_model.pb").read_bytes() == before
    assert _no_temporaries(tmp_path)
    # a previous SavedModel is ours: re-exporting over it needs no --force
    monkeypatch.undo()
    sm.export_saved_model(source.model, source.metadata, out, crops)


def test_export_cli_refuses_a_foreign_folder_with_a_message(tmp_path, capsys):
    import importlib.util
    import os

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("to_saved_model_rel", root / "export" / "to_saved_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "notes.txt").write_text("mine")
    rc = module.main(["--preset", "mlfn_tiny", "--num-images", "4", "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "--force" in err and "Traceback" not in err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_failed_gate_keeps_the_previous_tensorrt_engine(tmp_path, monkeypatch):
    # TensorRT needs a GPU: the engine build is replaced by a stand-in that
    # writes an engine and its sidecar the way build_engine does.
    from mlfn_keras.export import tensorrt as trt_export
    from mlfn_keras.export.metadata import ExportMetadata, write_sidecar

    meta = ExportMetadata(preset=None, image_shape=(64, 32, 3), embedding_dim=8, outputs=["embedding"],
                          mean=[0.0] * 3, std=[1.0] * 3, project_version="test")

    def fake_build(onnx_path, engine_path, precision, max_batch, calibration_images):
        Path(engine_path).write_bytes(b"new engine")
        write_sidecar(engine_path, meta)
        return Path(engine_path)

    target = tmp_path / "model.engine"
    target.write_bytes(b"previous engine")
    monkeypatch.setattr(trt_export, "build_engine", fake_build)
    monkeypatch.setattr(trt_export, "run_parity_gate", _failing_gate)
    with pytest.raises(ParityError):
        trt_export.export_tensorrt(None, "m.onnx", target, np.zeros((1, 64, 32, 3), np.uint8))
    assert target.read_bytes() == b"previous engine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.engine"]


def _script(name):
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(f"{name}_rel22", root / "export" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_saved_model_export_keeps_dot_files(source, crops, tmp_path):
    from mlfn_keras.export.saved_model import export_saved_model

    out = tmp_path / "d"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (out / ".env").write_text("SECRET=1")
    with pytest.raises(OutputExistsError, match=r"\.env, \.git/"):
        export_saved_model(source.model, source.metadata, out, crops)
    assert sorted(p.name for p in out.iterdir()) == [".env", ".git"]
    export_saved_model(source.model, source.metadata, out, crops, force=True)  # beside them, never over them
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main" and (out / ".env").read_text() == "SECRET=1"
    assert (out / "saved_model.pb").exists() and (out / "manifest.json").exists()
    export_saved_model(source.model, source.metadata, out, crops, force=True)  # and again
    assert (out / ".env").read_text() == "SECRET=1"


def test_saved_model_cli_refuses_dot_files_before_any_work(tmp_path, capsys):
    out = tmp_path / "d"
    (out / ".git").mkdir(parents=True)
    # An unknown preset would fail when the model is built: the refusal comes first.
    rc = _script("to_saved_model").main(["--preset", "no_such_preset", "--output", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and ".git/" in err and "--force" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == [".git"]


def test_a_foreign_saved_model_is_never_replaced_even_with_force(source, crops, tmp_path):
    from mlfn_keras.export.saved_model import export_saved_model

    out = tmp_path / "theirs"
    out.mkdir()
    (out / "saved_model.pb").write_bytes(b"someone else's model")
    with pytest.raises(OutputExistsError, match="would have to replace"):
        export_saved_model(source.model, source.metadata, out, crops, force=True)
    assert (out / "saved_model.pb").read_bytes() == b"someone else's model"


def test_an_exported_file_given_as_the_export_source_is_one_line(tmp_path, capsys):
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(b"onnx")
    rc = _script("to_onnx").main([str(onnx_file), "--output", str(tmp_path / "out.onnx")])
    err = capsys.readouterr().err
    assert rc == 2 and "model.onnx" in err and "exported model" in err and "Traceback" not in err


def test_calibration_probes_are_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = _script("to_tflite").main(["--preset", "mlfn_tiny", "--num-images", "4", "--precision", "int8", "--images",
                                    str(empty), "--output", str(tmp_path / "m.tflite")])
    err = capsys.readouterr().err
    assert rc == 2 and "empty" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as info:  # refused by the parser, before the model is built
        _script("to_tflite").main(["--preset", "mlfn_tiny", "--precision", "int8", "--calibration-images", "0",
                                   "--output", str(tmp_path / "m.tflite")])
    assert info.value.code == 2 and "--calibration-images" in capsys.readouterr().err
    assert not (tmp_path / "m.tflite").exists()


def test_export_output_that_is_a_folder_is_refused_before_any_work(tmp_path, capsys):
    rc = _script("to_onnx").main(["--preset", "no_such_preset", "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "is a folder" in err and "Traceback" not in err


def test_export_on_a_full_disk_is_one_line_and_keeps_the_previous_file(tmp_path):
    import os
    import subprocess
    import sys

    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # the tiny ONNX file is 35 kB

    root = Path(__file__).resolve().parents[1]
    target = tmp_path / "tiny.onnx"
    target.write_bytes(b"the previous export")
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, str(root / "export" / "to_onnx.py"), "--preset", "mlfn_tiny",
                          "--num-images", "4", "--no-simplify", "--output", str(target)],
                         capture_output=True, text=True, env=env, preexec_fn=limit, timeout=600)
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert len(errors) == 1 and "File too large" in errors[0] and "tiny.onnx" in errors[0]
    assert "previous tiny.onnx is intact" in errors[0]
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.onnx"]


def test_a_failed_parity_gate_is_one_line_and_keeps_the_previous_file(tmp_path, monkeypatch, capsys):
    from mlfn_keras.export import onnx as onnx_export

    target = tmp_path / "m.onnx"
    target.write_bytes(b"the previous good export")
    monkeypatch.setattr(onnx_export, "run_parity_gate", _failing_gate)
    rc = _script("to_onnx").main(["--preset", "mlfn_tiny", "--num-images", "4", "--no-simplify", "--output",
                                  str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "parity gate failed" in err and "Traceback" not in err
    assert target.read_bytes() == b"the previous good export"
