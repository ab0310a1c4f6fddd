"""A reused --output loses nothing foreign and keeps nothing stale; evaluation scores this run only."""

import importlib.util
import json
import os

import pytest

from mlfn_keras.errors import OutputExistsError
from mlfn_keras.tracking.app.recorder import RunRecorder, prepare_output_dir
from mlfn_keras.tracking.eval.metrics import evaluate_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name):
    spec = importlib.util.spec_from_file_location(f"demo_{name}_rel", os.path.join(ROOT, "demo", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(out, cams: int) -> None:
    recorder = RunRecorder(str(out), [f"cam{i}" for i in range(cams)], [10.0] * cams, write_video=False)
    recorder.close({"cameras": [{"name": f"cam{i}", "frames": 5} for i in range(cams)], "ticks": 5})


def test_reused_output_drops_the_previous_runs_files(tmp_path):
    out = tmp_path / "run"
    _record(out, 3)
    (out / "gt").mkdir()
    (out / "gt" / "cam2.txt").write_text("1,1,0,0,1,1\n")  # the built-in scene's copy
    (out / "scores.json").write_text("{}")
    assert (out / "mot" / "cam2.txt").exists()
    prepare_output_dir(str(out))
    _record(out, 2)
    assert not (out / "mot" / "cam2.txt").exists()
    assert not (out / "mot_local" / "cam2.txt").exists()
    assert not (out / "gt" / "cam2.txt").exists()
    assert not (out / "scores.json").exists()
    assert (out / "mot" / "cam1.txt").exists()


def test_reused_output_from_an_older_version_without_manifest(tmp_path):
    out = tmp_path / "run"
    _record(out, 3)
    (out / "manifest.json").unlink()  # runs written before the manifest existed
    prepare_output_dir(str(out))
    assert not (out / "mot" / "cam2.txt").exists() and not (out / "summary.json").exists()


def test_interrupted_run_is_still_recognised(tmp_path):
    out = tmp_path / "run"
    RunRecorder(str(out), ["cam0"], [10.0], write_video=False)  # killed: never closed, no summary
    prepare_output_dir(str(out))
    assert not (out / "events.jsonl").exists()


def test_foreign_folder_is_refused_without_force_and_kept_with_it(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(OutputExistsError, match="--force"):
        prepare_output_dir(str(out))
    assert (out / "thesis.tex").read_text() == "precious"
    _record(out, 1)  # a run there with --force ...
    prepare_output_dir(str(out), force=True)  # ... and a second one
    assert (out / "thesis.tex").read_text() == "precious"
    assert not (out / "summary.json").exists()


def test_foreign_file_next_to_a_previous_run_is_kept_and_refused(tmp_path):
    out = tmp_path / "run"
    _record(out, 1)
    (out / "mot" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        prepare_output_dir(str(out))
    assert (out / "mot" / "notes.txt").read_text() == "mine"


def _mot(path, pid_offset=0, frames=10):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"{f},{1 + pid_offset},{10 + f},20,30,60,1,-1,-1,-1" for f in range(1, frames + 1)]
    path.write_text("\n".join(rows) + "\n")


def test_evaluate_scores_only_the_cameras_of_the_current_run(tmp_path):
    run = tmp_path / "run"
    for i in range(3):
        _mot(run / "gt" / f"cam{i}.txt")
        _mot(run / "mot" / f"cam{i}.txt", pid_offset=0 if i < 2 else 7)  # cam2: a stale earlier run
    (run / "summary.json").write_text(json.dumps({"cameras": [{"name": "cam0", "frames": 10}, {"name": "cam1", "frames": 10}]}))
    scores = evaluate_run(str(run))
    assert sorted(scores["per_camera"]) == ["cam0", "cam1"]
    assert scores["cross_camera"]["IDF1"] == pytest.approx(1.0)


def test_evaluate_limits_frames_by_camera_name(tmp_path):
    run = tmp_path / "run"
    for i in range(2):
        _mot(run / "gt" / f"cam{i}.txt")
        _mot(run / "mot" / f"cam{i}.txt", frames=4 if i == 1 else 10)
    # summary lists cam1 first: its limit is 4 frames, cam0's 10
    (run / "summary.json").write_text(json.dumps({"cameras": [{"name": "cam1", "frames": 4}, {"name": "cam0", "frames": 10}]}))
    scores = evaluate_run(str(run))
    assert scores["per_camera"]["cam0"]["MOTA"] == pytest.approx(1.0)
    assert scores["per_camera"]["cam1"]["MOTA"] == pytest.approx(1.0)


def test_evaluate_names_a_listed_camera_without_ground_truth(tmp_path):
    run = tmp_path / "run"
    _mot(run / "gt" / "cam0.txt")
    _mot(run / "mot" / "cam0.txt")
    _mot(run / "mot" / "cam1.txt")
    (run / "summary.json").write_text(json.dumps({"cameras": [{"name": "cam0", "frames": 10}, {"name": "cam1", "frames": 10}]}))
    with pytest.raises(FileNotFoundError, match="cam1"):
        evaluate_run(str(run))


@pytest.fixture
def no_run(monkeypatch):
    import mlfn_keras.tracking.app.demo as app

    def refuse(config):
        raise AssertionError("the demo ran although its arguments were invalid")

    monkeypatch.setattr(app, "run_demo", refuse)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--evaluate"], "--output"),
        (["--max-frames", "-5"], "--max-frames"),
        (["--max-frames", "0"], "--max-frames"),
        (["--frames", "0"], "--frames"),
        (["--people", "-1"], "--people"),
        (["--embed-every", "0"], "--embed-every"),
        (["--threshold", "1.5"], "--threshold"),
        (["--expiry", "0"], "--expiry"),
    ],
)
def test_bad_demo_arguments_fail_before_running(no_run, capsys, argv, expected):
    with pytest.raises(SystemExit) as info:
        _load("multicam").main(["--no-show", *argv])
    assert info.value.code == 2
    assert expected in capsys.readouterr().err


def test_demo_refuses_a_foreign_output_folder(no_run, capsys, tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    assert _load("multicam").main(["--no-show", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "thesis.tex" in err and "Traceback" not in err
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_evaluate_cli_on_a_missing_folder_is_a_clear_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        _load("evaluate").main([str(tmp_path / "nope")])
    assert info.value.code == 2
    assert "nope" in capsys.readouterr().err


def test_evaluate_cli_refuses_negative_max_frames(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        _load("evaluate").main([str(tmp_path), "--max-frames", "-5"])
    assert info.value.code == 2
    assert "--max-frames" in capsys.readouterr().err
