"""Training survives a kill at any moment: atomic checkpoints, resume from the newest loadable one."""

from __future__ import annotations

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
    backup = tmp_path / "checkpoints"
    model, _ = _fit(backup, 1)
    callback = backup_callback(backup)
    callback.set_model(model)
    callback._current_epoch = 2

    def killed_mid_write(filepath, overwrite=True):
        Path(filepath).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)  # a header, then nothing
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(model, "save_weights", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        callback._save_model()
    assert previous_epoch(backup) == 1
    _model().load_weights(str(backup / "latest.weights.h5"))  # still complete
    assert not [p for p in backup.iterdir() if ".tmp-" in p.name]


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
