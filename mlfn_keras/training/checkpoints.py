"""Checkpoints for resuming a killed run, and the wall-clock budget callback."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import keras

__all__ = ["TimeBudget", "backup_callback", "clear_checkpoints", "previous_epoch"]


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` cleanly once ``minutes`` of wall-clock time are spent."""

    def __init__(self, minutes: float):
        super().__init__()
        self.deadline = time.monotonic() + 60.0 * minutes
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline:
            self.stopped = True
            self.model.stop_training = True


def previous_epoch(backup_dir: Path) -> int:
    """The last completed epoch recorded in ``backup_dir`` (0 when there is none)."""
    meta = backup_dir / "training_metadata.json"
    try:
        return int(json.loads(meta.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def backup_callback(backup_dir: Path) -> keras.callbacks.Callback:
    """The callback that saves a checkpoint (weights + optimizer) every epoch and restores it on a rerun."""
    return keras.callbacks.BackupAndRestore(str(backup_dir), save_freq="epoch", delete_checkpoint=False)


def clear_checkpoints(backup_dir: Path) -> None:
    """Removes a finished run's checkpoints (a new run in the folder then starts afresh)."""
    if backup_dir.exists():
        shutil.rmtree(backup_dir)
