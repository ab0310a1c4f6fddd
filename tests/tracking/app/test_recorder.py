"""A reused --output loses nothing foreign and keeps nothing stale; evaluation scores this run only."""

import json
import os

import pytest

from mlfn_keras.errors import OutputExistsError
from mlfn_keras.tracking.app.recorder import RunRecorder, prepare_output_dir
from mlfn_keras.tracking.eval.metrics import evaluate_run

from repo import ROOT, load_script


def _load(name):
    return load_script(f"demo/{name}.py", f"demo_{name}_rel")


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


# ---------------------------------------------------------------------------- one rule for output folders
def test_refused_rerun_deletes_nothing_of_the_previous_run(tmp_path):
    out = tmp_path / "run"
    _record(out, 2)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    (out / "notes.txt").write_text("the user's")
    with pytest.raises(OutputExistsError, match="notes.txt"):
        prepare_output_dir(str(out))
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.name != "notes.txt") == before


def test_dot_files_are_foreign_too(tmp_path):
    out = tmp_path / "run"
    _record(out, 1)
    (out / ".env").write_text("SECRET=1")
    with pytest.raises(OutputExistsError, match=r"\.env"):
        prepare_output_dir(str(out))
    assert (out / "summary.json").exists()
    prepare_output_dir(str(out), force=True)
    assert (out / ".env").read_text() == "SECRET=1" and not (out / "summary.json").exists()


def test_eval_output_that_is_a_file_is_refused_before_the_evaluation(tmp_path, capsys):
    from mlfn_keras.evaluation import cli

    target = tmp_path / "results.txt"
    target.write_text("the user's")
    # The data set root does not exist either: refusing the output first proves no work was done.
    rc = cli.main(["--preset", "mlfn_tiny", "--dataset", "synthetic", "--data-root", str(tmp_path / "missing"),
                   "--output", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "is a file" in err and "Traceback" not in err and target.read_text() == "the user's"


def test_eval_output_with_foreign_files_is_refused_before_the_evaluation(tmp_path, capsys):
    from mlfn_keras.evaluation import cli

    out = tmp_path / "runs"
    out.mkdir()
    (out / "model.keras").write_bytes(b"weights")
    rc = cli.main(["--preset", "mlfn_tiny", "--dataset", "synthetic", "--data-root", str(tmp_path / "missing"),
                   "--output", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "model.keras" in err and "--force" in err and (out / "model.keras").read_bytes() == b"weights"


# ---------------------------------------------------------------------------- every final file atomic
_WRITER = r"""
import hashlib, sys
from mlfn_keras.fileio import staged_folder, write_json
target, mode = sys.argv[1], sys.argv[2]
i = 0
print("ready", flush=True)
while True:
    payload = str(i % 10) * (40000 + 997 * (i % 13))
    if mode == "file":
        write_json(target, {"i": i, "payload": payload, "sha": hashlib.sha256(payload.encode()).hexdigest()})
    else:
        with staged_folder(target, "mlfn_keras.kill_test") as tmp:
            for name in ("a.txt", "b.txt"):
                (tmp / name).write_text(payload)
    i += 1
"""


def _child_env():
    return {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.parametrize("mode", ["file", "folder"])
def test_a_kill_at_any_moment_leaves_the_previous_output_or_the_new_one(tmp_path, mode):
    import hashlib
    import random
    import signal
    import subprocess
    import sys
    import time

    from mlfn_keras.fileio import read_manifest

    target = tmp_path / ("out.json" if mode == "file" else "out")
    rng = random.Random(0)
    versions = set()
    for _ in range(8):
        child = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), mode], stdout=subprocess.PIPE,
                                 env=_child_env())
        assert child.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 60
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        if mode == "file":
            data = json.loads(target.read_text())  # never a fragment: always a whole version
            assert hashlib.sha256(data["payload"].encode()).hexdigest() == data["sha"]
            versions.add(data["i"])
        else:
            assert sorted(p.name for p in target.iterdir()) == ["a.txt", "b.txt", "manifest.json"]
            assert (target / "a.txt").read_text() == (target / "b.txt").read_text()
            assert read_manifest(target, "mlfn_keras.kill_test") == ["a.txt", "b.txt", "manifest.json"]
            versions.add((target / "a.txt").read_text()[:1])
    assert len(versions) > 1  # the kills did land while the output was being rewritten


# ---------------------------------------------------------------------------- disk full: one line
_FULL = r"""
import sys
from mlfn_keras.errors import cli_entry
from mlfn_keras.fileio import write_json

@cli_entry
def main(argv=None):
    if sys.argv[2] == "atomic":
        write_json(sys.argv[1], {"payload": "x" * 3_000_000})
    else:  # a stream such as the demo's events.jsonl
        with open(sys.argv[1], "w") as f:
            for _ in range(3000):
                f.write("x" * 1000 + "\n")
    return 0

sys.exit(main())
"""


def _limit_file_size():
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # CPython ignores SIGXFSZ: writes fail with EFBIG


@pytest.mark.parametrize("mode", ["atomic", "stream"])
def test_a_full_disk_is_one_line_and_the_previous_file_stays(tmp_path, mode):
    import subprocess
    import sys

    target = tmp_path / "summary.json"
    target.write_text('{"previous": true}')
    run = subprocess.run([sys.executable, "-c", _FULL, str(target), mode], capture_output=True, text=True,
                         env=_child_env(), preexec_fn=_limit_file_size, timeout=120)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "File too large" in lines[0] and "while writing" in lines[0] and len(lines) == 2
    if mode == "atomic":
        assert "summary.json" in lines[0]
        assert "previous summary.json is intact" in lines[0] and "MB needed" in lines[0]
        assert target.read_text() == '{"previous": true}'
        assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left behind


def test_ensure_free_space_refuses_before_writing(tmp_path):
    from mlfn_keras.errors import DiskFullError
    from mlfn_keras.fileio import ensure_free_space

    ensure_free_space(tmp_path / "new" / "folder", 1, "a tiny file")
    with pytest.raises(DiskFullError, match="No space left.*MB needed.*nothing was written"):
        ensure_free_space(tmp_path, 1 << 62, "the export")


# ---------------------------------------------------------------------------- one run per output folder
_HOLDER = r"""
import sys
from mlfn_keras.fileio import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def held(tmp_path):
    """Holds the run lock of a path in another process: ``held(path) -> pid``."""
    import subprocess
    import sys

    children = []

    def hold(path):
        child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=_child_env())
        assert child.stdout.readline().strip() == b"locked"
        children.append(child)
        return child.pid

    yield hold
    for child in children:
        child.stdin.close()
        child.wait(timeout=30)


def test_two_processes_never_hold_one_output_at_once(tmp_path):
    import subprocess
    import sys

    code = ("import sys, time\nfrom mlfn_keras.fileio import run_lock\nfrom mlfn_keras.errors import OutputLockedError\n"
            "try:\n    with run_lock(sys.argv[1]):\n        time.sleep(1.5)\n        print('ran')\n"
            "except OutputLockedError as e:\n    print('refused', e)\n")
    children = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "out")], stdout=subprocess.PIPE,
                                 text=True, env=_child_env()) for _ in range(4)]
    answers = [c.communicate(timeout=120)[0].strip() for c in children]
    assert sum(a == "ran" for a in answers) >= 1
    # Every run that overlapped a holder was refused with its process id; none ran beside another.
    for a in answers:
        assert a == "ran" or ("refused" in a and "process " in a)
    assert not (tmp_path / ".out.lock").exists()  # removed on a clean release


def test_second_demo_on_one_output_is_refused_and_names_the_first(tmp_path, held, no_run, capsys):
    out = tmp_path / "run"
    _record(out, 1)
    pid = held(out)
    assert _load("multicam").main(["--no-show", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"process {pid}" in err and "Traceback" not in err
    assert (out / "summary.json").exists() and (out / "events.jsonl").exists()  # nothing was cleared


@pytest.mark.parametrize("command", ["eval", "onnx", "saved_model", "synthetic", "adapt", "export_benchmark"])
def test_every_writing_command_takes_the_lock(tmp_path, held, capsys, command):
    out = tmp_path / {"onnx": "m.onnx", "adapt": "site.keras"}.get(command, "out")
    pid = held(out)
    if command == "eval":
        from mlfn_keras.evaluation import cli

        rc = cli.main(["--preset", "mlfn_tiny", "--dataset", "synthetic", "--data-root", str(tmp_path), "--output", str(out)])
    elif command in ("onnx", "saved_model"):
        module = load_script(f"export/to_{command}.py", f"to_{command}_lock")
        rc = module.main(["--preset", "mlfn_tiny", "--output", str(out)])
    elif command == "export_benchmark":
        module = load_script("export/benchmark.py", "export_benchmark_lock")
        rc = module.main(["--output", str(out)])
    elif command == "synthetic":
        from mlfn_keras.data.synthetic import cli

        rc = cli.main(["--output", str(out)])
    else:
        from mlfn_keras.adapt import cli

        rc = cli.main(["--cams", str(tmp_path), "--output", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and f"process {pid}" in err and "one run per output" in err and "Traceback" not in err


def test_force_never_replaces_a_foreign_file_the_demo_would_write(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "cam0.mp4").write_bytes(b"the user's recording")
    prepare_output_dir(str(out), force=True)
    with pytest.raises(OutputExistsError, match="cam0.mp4.*would replace"):
        RunRecorder(str(out), ["cam0"], [10.0], write_video=True)
    assert (out / "cam0.mp4").read_bytes() == b"the user's recording"
    (out / "mot").mkdir()
    with pytest.raises(OutputExistsError, match=r"holds mot\b.*would have to replace"):
        prepare_output_dir(str(out), force=True)
