"""Checkpoints for resuming a killed run, and the wall-clock budget callback.

A checkpoint is written under a temporary name and renamed into place, and
the one before it is kept: a run killed at any moment (even during the write)
leaves at least one complete checkpoint, and a resume takes the newest one
that loads, saying which it skipped and why.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import keras

logger = logging.getLogger(__name__)

#: The checkpoint files, newest first (``latest`` as Keras ``BackupAndRestore`` names it).
LATEST = "latest.weights.h5"
PREVIOUS = "previous.weights.h5"
_EPOCH_ATTR = "mlfn_keras_epoch"

__all__ = ["AtomicBackupAndRestore", "TimeBudget", "backup_callback", "clear_checkpoints", "loadable_checkpoints", "previous_epoch"]


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


def _checkpoint_epoch(weights: Path) -> int | None:
    """The epoch stored in a checkpoint file, or ``None`` if the file cannot be opened as one."""
    import h5py

    try:
        with h5py.File(weights, "r") as f:
            if _EPOCH_ATTR in f.attrs:
                return int(f.attrs[_EPOCH_ATTR])
    except Exception:  # truncated or damaged: h5py raises OSError, sometimes others
        return None
    if weights.name != LATEST:
        return None
    # Written before the epoch was stored in the file: Keras's metadata file.
    meta = weights.parent / "training_metadata.json"
    try:
        return int(json.loads(meta.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return None


def loadable_checkpoints(backup_dir: Path) -> list[tuple[Path, int]]:
    """``(file, epoch)`` of each checkpoint whose file opens, newest epoch first."""
    found = []
    for name in (LATEST, PREVIOUS):
        path = Path(backup_dir) / name
        if path.exists():
            epoch = _checkpoint_epoch(path)
            if epoch is not None:
                found.append((path, epoch))
    return sorted(found, key=lambda pe: -pe[1])


def previous_epoch(backup_dir: Path) -> int:
    """The epoch of the newest checkpoint in ``backup_dir`` that opens (0 when there is none)."""
    found = loadable_checkpoints(backup_dir)
    return found[0][1] if found else 0


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose checkpoints survive a kill at any moment.

    Saving writes the weights (with the epoch stored inside the file) under a
    temporary name, keeps the last good checkpoint as ``previous.weights.h5``
    and renames the new one into place (``training_metadata.json`` follows, as
    Keras writes it, for tools that read it). Restoring tries the newest checkpoint first and falls
    back to the older one when a file does not load (a disk error, a copy cut
    short); with none loadable the run starts from scratch and says so.
    """

    def on_train_begin(self, logs=None):
        if not self.model.built:
            return super().on_train_begin(logs)
        backup_dir = Path(self.backup_dir)
        for stale in backup_dir.glob(".*.tmp-*"):  # left by a kill during a write
            stale.unlink(missing_ok=True)
        present = [backup_dir / n for n in (LATEST, PREVIOUS) if (backup_dir / n).exists()]
        for path, epoch in loadable_checkpoints(backup_dir):
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)
            try:
                self.model.load_weights(str(path))
            except Exception as exc:  # damaged inside although it opens
                logger.warning("checkpoint %s does not load (%s); trying an older one", path, exc)
                continue
            if path.name != LATEST:
                logger.warning("resuming from the older checkpoint %s (epoch %d): the newest does not load",
                               path, epoch)
            self.model._initial_epoch = epoch
            return
        if present:
            logger.warning("no checkpoint in %s loads (%s); training starts from scratch",
                           backup_dir, ", ".join(p.name for p in present))

    def _save_model(self):
        backup_dir = Path(self.backup_dir)
        backup_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{LATEST}.tmp-", suffix=".weights.h5", dir=backup_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            self.model.save_weights(filepath=str(tmp), overwrite=True)
            import h5py

            with h5py.File(tmp, "a") as f:
                f.attrs[_EPOCH_ATTR] = self._current_epoch
            meta = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
            latest, previous = backup_dir / LATEST, backup_dir / PREVIOUS
            meta_path = backup_dir / "training_metadata.json"
            if latest.exists() and _checkpoint_epoch(latest) is not None:
                os.replace(latest, previous)  # keep the last good one until the new one is in place
            os.replace(tmp, latest)
            meta_tmp = backup_dir / f".training_metadata.json.tmp-{os.getpid()}"
            meta_tmp.write_text(json.dumps(meta))
            os.replace(meta_tmp, meta_path)
        finally:
            tmp.unlink(missing_ok=True)


def backup_callback(backup_dir: Path) -> keras.callbacks.Callback:
    """The callback that saves a checkpoint (weights + optimizer) every epoch and restores it on a rerun.

    Checkpoints are atomic and the previous one is kept, so a rerun after a
    kill at any moment resumes from the newest checkpoint that loads.
    """
    return AtomicBackupAndRestore(str(backup_dir), save_freq="epoch", delete_checkpoint=False)


def clear_checkpoints(backup_dir: Path) -> None:
    """Removes a finished run's checkpoints (a new run in the folder then starts afresh)."""
    if backup_dir.exists():
        shutil.rmtree(backup_dir)
