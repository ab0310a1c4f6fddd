"""Training progress in optimizer steps, with a true ETA for ``--steps`` and ``--minutes``.

On a terminal it is a progress bar; in a log file (``> train.log``, CI,
``nohup``) it prints plain periodic lines without carriage returns or
terminal codes (see :mod:`mlfn_keras.progress`). The total is ``--steps``;
with ``--minutes`` it is the step the budget will reach at the measured speed
(never more than ``--steps``), so the bar never shows a count the run will
not reach, and the ETA is the sooner of the two ends.
"""

from __future__ import annotations

import sys
import time

import keras

from mlfn_keras.progress import LineProgress, tqdm

__all__ = ["StepProgress"]


def _tqdm(lines: bool = False, **kwargs):
    return LineProgress(**kwargs) if lines else tqdm(**kwargs)


class StepProgress(keras.callbacks.Callback):
    """Progress of a training run in optimizer steps.

    Args:
        steps: The step the run ends at (``--steps``).
        initial_step: The step it resumes from.
        deadline: ``time.monotonic()`` at which ``--minutes`` stops the run, or ``None``.
        desc: The bar's label.
        file: Where it goes (default stderr).
        lines: Plain periodic lines even on a terminal (``--verbose 2``).
    """

    def __init__(self, steps: int, initial_step: int = 0, deadline: float | None = None, desc: str = "training",
                 file=None, lines: bool = False):
        super().__init__()
        self.lines = lines
        self.steps, self.initial_step, self.deadline = int(steps), int(initial_step), deadline
        self.desc, self.file = desc, file
        self.bar = None
        self._t0 = None

    def _reachable(self, n: int) -> int | None:
        """The step the run will end at, as far as the speed so far tells (``None``: not known yet)."""
        if self.deadline is None:
            return self.steps
        done = n - self.initial_step
        elapsed = time.monotonic() - self._t0 if self._t0 is not None else 0.0
        if done < 1 or elapsed <= 0:
            return None
        left = max(0.0, self.deadline - time.monotonic())
        return int(min(self.steps, n + done / elapsed * left))

    def on_train_begin(self, logs=None):
        self._t0 = time.monotonic()
        self.bar = _tqdm(lines=self.lines, total=self._reachable(self.initial_step), initial=self.initial_step,
                         desc=self.desc, unit="step",
                         file=self.file if self.file is not None else sys.stderr, dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is None:
            return
        n = int(self.model.optimizer.iterations.numpy())
        total = self._reachable(n)
        if total != self.bar.total:
            self.bar.total = total
        if logs and "loss" in logs:
            try:
                self.bar.set_postfix_str(f"loss {float(keras.ops.convert_to_numpy(logs['loss']).mean()):.4f}",
                                         refresh=False)
            except (TypeError, ValueError):
                pass
        self.bar.update(n - self.bar.n)

    def on_train_end(self, logs=None):
        if self.bar is None:
            return
        n = int(self.model.optimizer.iterations.numpy())
        self.bar.total = min(n, self.steps) if n < self.steps else self.steps  # a stopped run ends at its count
        self.bar.update(n - self.bar.n)
        self.bar.close()
        self.bar = None
