"""Checkpoints for resuming a killed or stopped run, and the callbacks that end ``fit`` at the right step.

A checkpoint holds the weights and the optimizer (its step counter
included) and, as attributes inside the file, the optimizer step it was taken
at and the fingerprint of the run it belongs to. It is written under a
temporary name and renamed into place, and the one before it is kept: a run
killed at any moment (even during the write) leaves at least one complete
checkpoint, and a resume takes the newest one that loads, saying which it
skipped and why.

The file is first written in memory and then copied to disk with plain
writes, after checking that it fits: a full disk, a quota or a file-size
limit ends the run with one :class:`~mlfn_keras.errors.DiskFullError` line
and the previous checkpoint intact, and h5py never writes to a failing file.

Resuming is by optimizer step, not by epoch: a run stopped by ``--minutes``
in the middle of a checkpoint interval resumes at exactly the step it
stopped at, and :class:`StopAtStep` ends the run at exactly ``--steps``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import time
from pathlib import Path

import keras

from mlfn_keras.errors import DISK_FULL_ERRNOS, DiskFullError

logger = logging.getLogger(__name__)

#: The checkpoint files, newest first (``latest`` as Keras ``BackupAndRestore`` names it).
LATEST = "latest.weights.h5"
PREVIOUS = "previous.weights.h5"
_EPOCH_ATTR = "mlfn_keras_epoch"
_STEP_ATTR = "mlfn_keras_step"
_RUN_ATTR = "mlfn_keras_run"
#: Free space kept beyond a checkpoint's size before writing it.
_SPACE_MARGIN = 1 << 20

__all__ = ["AtomicBackupAndRestore", "Checkpoint", "StopAtStep", "TimeBudget", "backup_callback",
           "clear_checkpoints", "latest_checkpoint", "loadable_checkpoints", "previous_epoch"]


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` cleanly once ``minutes`` of wall-clock time are spent.

    Args:
        minutes: The budget.
        agree: Optional ``agree(stop) -> bool`` that makes every worker of a
            multi-worker run stop at the same step (see
            :func:`mlfn_keras.training.distribute.stop_together`).
    """

    def __init__(self, minutes: float, agree=None):
        super().__init__()
        self.minutes = float(minutes)
        self.deadline = time.monotonic() + 60.0 * minutes
        self.stopped = False
        self._agree = agree

    def on_train_batch_end(self, batch, logs=None):
        over = time.monotonic() >= self.deadline
        if self._agree is not None:
            over = self._agree(over)
        if over:
            self.stopped = True
            self.model.stop_training = True


class StopAtStep(keras.callbacks.Callback):
    """Ends ``fit`` when the optimizer has taken ``steps`` steps (a resumed run stops at exactly ``--steps``)."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = int(steps)

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.steps:
            self.model.stop_training = True


class Checkpoint:
    """What a checkpoint file says about itself.

    Attributes:
        path: The file.
        epoch: Checkpoint intervals completed (Keras's epoch counter).
        step: Optimizer step it was taken at (``None`` in files written
            before steps were recorded).
        run: Fingerprint of the run it belongs to (``None`` if not recorded).
    """

    def __init__(self, path: Path, epoch: int, step: int | None, run: str | None):
        self.path, self.epoch, self.step, self.run = path, epoch, step, run

    def __repr__(self) -> str:
        return f"Checkpoint({self.path.name}, epoch={self.epoch}, step={self.step})"


def _read_checkpoint(weights: Path) -> Checkpoint | None:
    """The checkpoint's record, or ``None`` if the file cannot be opened as one."""
    import h5py

    try:
        with h5py.File(weights, "r") as f:
            attrs = dict(f.attrs)
    except Exception:  # truncated or damaged: h5py raises OSError, sometimes others
        return None

    def text(value):
        return value.decode() if isinstance(value, bytes) else (None if value is None else str(value))

    if _EPOCH_ATTR in attrs:
        step = attrs.get(_STEP_ATTR)
        return Checkpoint(weights, int(attrs[_EPOCH_ATTR]), None if step is None else int(step),
                          text(attrs.get(_RUN_ATTR)))
    if weights.name != LATEST:
        return None
    # Written before the epoch was stored in the file: Keras's metadata file.
    meta = weights.parent / "training_metadata.json"
    try:
        return Checkpoint(weights, int(json.loads(meta.read_text())["epoch"]), None, None)
    except (OSError, ValueError, KeyError):
        return None


def _checkpoint_epoch(weights: Path) -> int | None:
    found = _read_checkpoint(weights)
    return None if found is None else found.epoch


def loadable_checkpoints(backup_dir: Path) -> list[Checkpoint]:
    """Each checkpoint whose file opens, newest first."""
    found = [c for c in (_read_checkpoint(Path(backup_dir) / n) for n in (LATEST, PREVIOUS)
                         if (Path(backup_dir) / n).exists()) if c is not None]
    return sorted(found, key=lambda c: (-(c.step if c.step is not None else -1), -c.epoch))


def latest_checkpoint(backup_dir: Path) -> Checkpoint | None:
    """The newest checkpoint in ``backup_dir`` that opens, or ``None``."""
    found = loadable_checkpoints(backup_dir)
    return found[0] if found else None


def previous_epoch(backup_dir: Path) -> int:
    """The epoch of the newest checkpoint in ``backup_dir`` that opens (0 when there is none)."""
    found = latest_checkpoint(backup_dir)
    return found.epoch if found else 0


def _weights_bytes(model) -> bytes:
    """The model's ``.weights.h5`` (weights and optimizer) as bytes, written in memory."""
    try:
        from keras.src.saving import saving_lib

        buffer = io.BytesIO()
        store = saving_lib.H5IOStore(buffer, mode="w")
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="",
                               visited_saveables=set())
        store.close()
        return buffer.getvalue()
    except (ImportError, AttributeError, TypeError):  # another Keras: through a file in memory-backed /dev/shm
        import tempfile

        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            path = Path(tmp) / "c.weights.h5"
            model.save_weights(str(path))
            return path.read_bytes()


def _with_attrs(data: bytes, attrs: dict) -> bytes:
    import h5py

    buffer = io.BytesIO(data)
    with h5py.File(buffer, "a") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
    return buffer.getvalue()


def _disk_full(folder: Path, needed: int, reason: str) -> DiskFullError:
    return DiskFullError(
        f"No space left on the device holding {str(folder)!r} while writing the checkpoint "
        f"({needed / 1e6:.1f} MB needed; {reason}); the previous checkpoint is intact"
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_checkpoint_file(data: bytes, target: Path) -> None:
    """Writes ``data`` to ``target`` atomically; a full disk is a :class:`DiskFullError`, the old file intact.

    Checks the free space first, writes a hidden temporary beside ``target``
    with plain writes, fsyncs it and renames it into place.
    """
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    needed = len(data) + _SPACE_MARGIN
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if free is not None and free < needed:
        raise _disk_full(folder, len(data), f"{free / 1e6:.1f} MB free")
    tmp = folder / f".{target.name}.tmp-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno in DISK_FULL_ERRNOS:
            raise _disk_full(folder, len(data), os.strerror(error.errno)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose checkpoints survive a kill at any moment and a full disk.

    Saving writes the weights (with the epoch, the optimizer step and the
    run's fingerprint stored inside the file) in memory, keeps the last good
    checkpoint as ``previous.weights.h5`` and moves the new one into place
    (``training_metadata.json`` follows, as Keras writes it, for tools that
    read it). Restoring tries the newest checkpoint first and falls back to
    the older one when a file does not load (a disk error, a copy cut short);
    with none loadable the run starts from scratch and says so.

    Args:
        backup_dir: The checkpoint folder.
        run: Fingerprint of the run, stored in every checkpoint.
        writes: Whether this process writes checkpoints (only the chief of a
            multi-worker run does).
        resume_epoch: Set the model's initial epoch from the checkpoint (as
            Keras does); :func:`~mlfn_keras.training.train` resumes by step
            and turns it off.
        after_restore: Called with the model once it is restored (or not),
            e.g. to give every worker the chief's weights.
    """

    def __init__(self, backup_dir, run: str | None = None, writes: bool = True, resume_epoch: bool = True,
                 after_restore=None):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.run, self.writes, self.resume_epoch, self.after_restore = run, writes, resume_epoch, after_restore
        self.restored: Checkpoint | None = None

    def on_train_begin(self, logs=None):
        if not self.model.built:
            return super().on_train_begin(logs)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        if self.writes:
            self._restore()
        if self.after_restore is not None:
            self.after_restore(self.model)

    def _restore(self) -> None:
        backup_dir = Path(self.backup_dir)
        for stale in backup_dir.glob(".*.tmp-*"):  # left by a kill during a write
            stale.unlink(missing_ok=True)
        present = [backup_dir / n for n in (LATEST, PREVIOUS) if (backup_dir / n).exists()]
        for found in loadable_checkpoints(backup_dir):
            try:
                self.model.load_weights(str(found.path))
            except Exception as exc:  # damaged inside although it opens
                logger.warning("checkpoint %s does not load (%s); trying an older one", found.path, exc)
                continue
            if found.path.name != LATEST:
                logger.warning("resuming from the older checkpoint %s (step %s): the newest does not load",
                               found.path, found.step)
            if self.resume_epoch:
                self.model._initial_epoch = found.epoch
            self._current_epoch = found.epoch
            self.restored = found
            return
        if present:
            logger.warning("no checkpoint in %s loads (%s); training starts from scratch",
                           backup_dir, ", ".join(p.name for p in present))

    def _save_model(self):
        if not self.writes:
            return
        backup_dir = Path(self.backup_dir)
        step = int(self.model.optimizer.iterations.numpy()) if self.model.optimizer is not None else 0
        attrs = {_EPOCH_ATTR: self._current_epoch, _STEP_ATTR: step}
        if self.run:
            attrs[_RUN_ATTR] = self.run
        data = _with_attrs(_weights_bytes(self.model), attrs)
        latest, previous = backup_dir / LATEST, backup_dir / PREVIOUS
        staged = backup_dir / f".{LATEST}.new"
        write_checkpoint_file(data, staged)  # raises DiskFullError with latest/previous untouched
        if latest.exists() and _checkpoint_epoch(latest) is not None:
            os.replace(latest, previous)  # keep the last good one until the new one is in place
        os.replace(staged, latest)
        meta = {"epoch": self._current_epoch, "batch": self._last_batch_seen, "step": step}
        meta_tmp = backup_dir / f".training_metadata.json.tmp-{os.getpid()}"
        try:
            meta_tmp.write_text(json.dumps(meta))
            os.replace(meta_tmp, backup_dir / "training_metadata.json")
        except OSError:  # the metadata is a courtesy copy; the checkpoint file holds the same
            meta_tmp.unlink(missing_ok=True)


def backup_callback(backup_dir: Path, **kwargs) -> AtomicBackupAndRestore:
    """The callback that saves a checkpoint (weights + optimizer) every epoch and restores it on a rerun.

    Checkpoints are atomic and the previous one is kept, so a rerun after a
    kill at any moment resumes from the newest checkpoint that loads.
    ``kwargs`` go to :class:`AtomicBackupAndRestore`.
    """
    return AtomicBackupAndRestore(backup_dir, **kwargs)


def clear_checkpoints(backup_dir: Path) -> None:
    """Removes a finished run's checkpoints (a new run in the folder then starts afresh)."""
    if backup_dir.exists():
        shutil.rmtree(backup_dir)
