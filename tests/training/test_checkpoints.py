"""Training survives a kill at any moment: atomic checkpoints, resume from the newest loadable one."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest

from mlfn_keras.training import TrainConfig, train
from mlfn_keras.training.checkpoints import backup_callback, previous_epoch

X = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _fit(backup: Path, epochs: int, initial=None):
    model = _model()
    history = model.fit(X, Y, epochs=epochs, batch_size=4, verbose=0, callbacks=[backup_callback(backup)])
    return model, history


def test_a_write_cut_short_leaves_the_previous_checkpoint_in_place(tmp_path, monkeypatch):
    from mlfn_keras.training import checkpoints

    backup = tmp_path / "checkpoints"
    model, _ = _fit(backup, 1)
    callback = backup_callback(backup)
    callback.set_model(model)
    callback._current_epoch = 2

    def killed_mid_write(fd, data):
        os.write(fd, data[: len(data) // 3])
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(checkpoints, "_write_all", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        callback._save_model()
    assert previous_epoch(backup) == 1
    _model().load_weights(str(backup / "latest.weights.h5"))  # still complete
    assert not [p for p in backup.iterdir() if ".tmp-" in p.name or p.name.endswith(".new")]


def test_resume_falls_back_to_the_newest_loadable_checkpoint(tmp_path):
    backup = tmp_path / "checkpoints"
    _fit(backup, 2)
    latest = backup / "latest.weights.h5"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 3])  # what a kill mid-write left
    assert previous_epoch(backup) == 1
    _, history = _fit(backup, 4)  # does not die on the damaged file
    assert history.epoch == [1, 2, 3]  # resumed after epoch 1, the newest one that loads
    assert previous_epoch(backup) == 4


def test_no_loadable_checkpoint_starts_from_scratch(tmp_path):
    backup = tmp_path / "checkpoints"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"")
    _, history = _fit(backup, 2)
    assert history.epoch == [0, 1]


SYNTH = dict(num_identities=8, num_cameras=2, images_per_identity_camera=2)


class _StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def test_train_resumes_after_a_damaged_checkpoint(tmp_path):
    config = TrainConfig(dataset="synthetic", data_root=str(tmp_path / "data"), preset="mlfn_tiny",
                         output=str(tmp_path / "run"), steps=4, batch_size=4, checkpoint_every=1,
                         synthetic=SYNTH, verbose=0)
    first = train(config, callbacks=[_StopAfter(2)])
    assert not first.finished if hasattr(first, "finished") else True
    latest = tmp_path / "run" / "checkpoints" / "latest.weights.h5"
    latest.write_bytes(latest.read_bytes()[:1000])
    result = train(config)
    assert result.initial_step == 1 and result.steps == 4


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--steps", "0"], "--steps"),
        (["--batch-size", "0"], "--batch-size"),
        (["--preset", "nope"], "mlfn_tiny"),
        (["--dataset", "nope"], "market1501"),
        (["--minutes", "-1"], "--minutes"),
    ],
)
def test_cli_refuses_values_that_cannot_train(tmp_path, capsys, monkeypatch, argv, expected):
    import mlfn_keras.training.cli as cli
    import mlfn_keras.training.loop as loop  # the CLI imports train() only to run it (its --help stays light)

    monkeypatch.setattr(loop, "train", lambda config: pytest.fail("trained although the arguments were invalid"))
    with pytest.raises(SystemExit) as info:
        cli.main(["--output", str(tmp_path / "run"), *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


@pytest.mark.parametrize("dataset", ["market1501", "dukemtmcreid", "msmt17", "cuhk03", "cifar100"])
def test_cli_missing_or_empty_data_folder_is_a_message(tmp_path, capsys, dataset):
    from mlfn_keras.training.cli import main

    for root in (tmp_path / "missing", tmp_path):
        assert main(["--dataset", dataset, "--data-root", str(root), "--output", str(tmp_path / "run"),
                     "--preset", "mlfn_tiny", "--steps", "1"]) == 2
        err = capsys.readouterr().err
        assert str(root) in err and "Traceback" not in err and "expected" in err
    assert not (tmp_path / "run" / "model.keras").exists()


# ---------------------------------------------------------------- runs know who they are; exact steps; full disks
from repo import REPO  # noqa: E402


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mlfn_keras.data import load_dataset

    root = tmp_path_factory.mktemp("synthetic")
    load_dataset("synthetic", str(root), progress=False, height=64, width=32, **SYNTH)
    return str(root)


def _tiny(root, output, **kwargs):
    base = dict(dataset="synthetic", data_root=root, preset="mlfn_tiny", output=str(output), steps=4, batch_size=4,
                checkpoint_every=1, synthetic=SYNTH, verbose=0)
    return TrainConfig(**{**base, **kwargs})


def _checkpoint_bytes(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run / "checkpoints").iterdir())}


def test_a_checkpoint_of_another_run_is_refused_never_resumed_or_deleted(synth_root, tmp_path):
    from mlfn_keras.errors import UserError
    from mlfn_keras.training.checkpoints import latest_checkpoint

    run = tmp_path / "run"
    train(_tiny(synth_root, run), callbacks=[_StopAfter(2)])
    before = _checkpoint_bytes(run)
    assert latest_checkpoint(run / "checkpoints").step == 2
    for other in (dict(steps=6), dict(learning_rate=1e-3), dict(seed=1)):
        with pytest.raises(UserError, match=r"holds a run of mlfn_tiny on synthetic, 4 steps.*"
                                            r"neither resumed nor deleted.*new --output or --fresh"):
            train(_tiny(synth_root, run, **other))
        assert _checkpoint_bytes(run) == before
    result = train(_tiny(synth_root, run, steps=3, fresh=True))  # --fresh: start over, as asked
    assert result.initial_step == 0 and result.steps == 3 and result.finished


def test_a_finished_run_is_not_replaced_without_fresh(synth_root, tmp_path):
    from mlfn_keras.errors import UserError

    run = tmp_path / "run"
    train(_tiny(synth_root, run, steps=2))
    model = (run / "model.keras").read_bytes()
    with pytest.raises(UserError, match="holds the finished run of mlfn_tiny on synthetic, 2 steps.*--fresh"):
        train(_tiny(synth_root, run, steps=3))
    assert (run / "model.keras").read_bytes() == model
    assert train(_tiny(synth_root, run, steps=3, fresh=True)).steps == 3


def test_a_minutes_stop_records_exact_steps_and_the_rerun_reaches_steps(synth_root, tmp_path, monkeypatch):
    """A budget that ends in the middle of a checkpoint interval: the run records the steps it took,
    and the rerun resumes at exactly that step and ends at exactly --steps."""
    run = tmp_path / "run"
    first = train(_tiny(synth_root, run, steps=7, checkpoint_every=3, minutes=1e-6))
    assert first.stopped_by_time and not first.finished and first.steps == 1  # stopped after its first step
    record = json.loads((run / "train_config.json").read_text())
    assert record["steps"] == 1 and not record["finished"] and record["stopped_by_time"]
    second = train(_tiny(synth_root, run, steps=7, checkpoint_every=3))
    assert second.initial_step == 1 and second.steps == 7 and second.finished
    record = json.loads((run / "train_config.json").read_text())
    assert record["steps"] == 7 and record["finished"] and record["final_metrics"]
    steps = [line.split(",") for line in (run / "logs" / "train.csv").read_text().splitlines()]
    column = steps[0].index("step")
    assert [int(r[column]) for r in steps[1:]] == [1, 4, 7]


def test_disk_full_during_a_checkpoint_is_one_error_and_the_previous_checkpoint_is_intact(synth_root, tmp_path,
                                                                                         monkeypatch):
    from mlfn_keras.errors import UserError
    from mlfn_keras.training import checkpoints

    run = tmp_path / "run"
    writes = []
    real = checkpoints._write_all

    def full_on_second(fd, data):
        writes.append(len(data))
        if len(writes) == 2:
            os.write(fd, data[:100])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(checkpoints, "_write_all", full_on_second)
    with pytest.raises(UserError) as info:
        train(_tiny(synth_root, run))
    message = str(info.value)
    assert message.startswith("No space left on the device holding")
    assert "while writing the checkpoint" in message and "MB needed" in message
    assert message.endswith("the previous checkpoint is intact")
    assert checkpoints.latest_checkpoint(run / "checkpoints").step == 1
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]


def test_a_checkpoint_that_cannot_fit_is_refused_before_writing(tmp_path, monkeypatch):
    from mlfn_keras.training import checkpoints

    backup = tmp_path / "checkpoints"
    model, _ = _fit(backup, 1)
    before = (backup / "latest.weights.h5").read_bytes()
    monkeypatch.setattr(checkpoints.shutil, "disk_usage", lambda path: types.SimpleNamespace(free=1000))
    callback = backup_callback(backup)
    callback.set_model(model)
    callback._current_epoch = 2
    with pytest.raises(checkpoints.DiskFullError, match=r"MB needed; 0.0 MB free\); the previous checkpoint is intact"):
        callback._save_model()
    assert (backup / "latest.weights.h5").read_bytes() == before


_FSIZE = """
import resource, sys
from mlfn_keras.training.cli import main
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_file_size_limit_during_a_checkpoint_is_one_line_not_a_crash(synth_root, tmp_path):
    """A real write failure (RLIMIT_FSIZE: the kernel refuses writes past 64 kB) through the command line."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "MLFN_KERAS_PROGRESS": "off"}
    proc = subprocess.run(
        [sys.executable, "-c", _FSIZE, str(64 * 1024), "--dataset", "synthetic", "--data-root", synth_root,
         "--preset", "mlfn_tiny", "--steps", "2", "--batch-size", "4", "--checkpoint-every", "1",
         "--synthetic-identities", "8", "--synthetic-cameras", "2", "--synthetic-images", "2",
         "--output", str(tmp_path / "run"), "--verbose", "0"],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "No space left" in errors[0] and "while writing the checkpoint" in errors[0], \
        proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Segmentation" not in proc.stderr
    assert not (tmp_path / "run" / "model.keras").exists()


def test_the_final_model_is_replaced_atomically(tmp_path):
    from mlfn_keras.training.loop import _save_model

    target = tmp_path / "model.keras"
    target.write_bytes(b"the previous good model")

    class KilledWhileSaving:
        def save(self, path):
            Path(path).write_bytes(b"PK\x03\x04 half a zip")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _save_model(KilledWhileSaving(), target)
    assert target.read_bytes() == b"the previous good model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


_HOLD_LOCK = """
import sys, time
from mlfn_keras.fileio import run_lock
with run_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_one_training_run_per_output_folder(tmp_path):
    from mlfn_keras.errors import OutputLockedError

    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(run)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLockedError, match=f"being written by another run \\(process {holder.pid}"):
            train(_tiny(str(tmp_path / "data"), run))
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert not (run / "model.keras").exists()


def test_a_folder_with_foreign_files_is_refused_before_any_work(tmp_path):
    from mlfn_keras.errors import OutputExistsError

    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    (run / ".git").mkdir()
    with pytest.raises(OutputExistsError, match=r"\.git/, notes\.txt.*--force"):
        train(_tiny(str(tmp_path / "data"), run))
    assert sorted(p.name for p in run.iterdir()) == [".git", "notes.txt"]
    assert not (tmp_path / "data").exists()  # refused before the data set was even generated
