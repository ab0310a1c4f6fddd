"""Tests for mlfn_keras.training.progress: progress in steps, a total the run will reach, plain lines in logs."""

from __future__ import annotations

import io
import types

from mlfn_keras.training import progress as progress_module
from mlfn_keras.training.progress import StepProgress


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _fake_model():
    state = types.SimpleNamespace(n=0)
    iterations = types.SimpleNamespace(numpy=lambda: state.n)
    return types.SimpleNamespace(optimizer=types.SimpleNamespace(iterations=iterations)), state


def _run(monkeypatch, steps, initial, deadline_in, step_seconds, stop_at, stream):
    clock = _Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    model, state = _fake_model()
    state.n = initial
    bar = StepProgress(steps, initial, deadline=None if deadline_in is None else clock.now + deadline_in,
                       file=stream, lines=True)
    bar.set_model(model)
    bar.on_train_begin()
    totals = []
    while state.n < stop_at:
        clock.now += step_seconds
        state.n += 1
        bar.on_train_batch_end(state.n, {"loss": 1.0})
        totals.append(bar.bar.total)
    end = bar.bar
    bar.on_train_end()
    return totals, end


def test_the_total_is_steps_without_a_budget(monkeypatch):
    totals, end = _run(monkeypatch, steps=50, initial=10, deadline_in=None, step_seconds=1.0, stop_at=50,
                       stream=io.StringIO())
    assert set(totals) == {50} and end.n == 50


def test_with_minutes_the_total_is_the_step_the_budget_reaches(monkeypatch):
    # 100 s of budget at 2 s a step from step 5: the run ends near step 55, not at --steps 1000.
    totals, end = _run(monkeypatch, steps=1000, initial=5, deadline_in=100.0, step_seconds=2.0, stop_at=55,
                       stream=io.StringIO())
    assert totals[-1] == 55 and all(50 <= t <= 56 for t in totals)  # never --steps 1000
    assert end.total == 55 and end.n == 55  # the count reached, never an unreached total


def test_a_log_file_gets_plain_lines(monkeypatch):
    stream = io.StringIO()
    _run(monkeypatch, steps=20, initial=0, deadline_in=None, step_seconds=1.0, stop_at=20, stream=stream)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert text.strip().splitlines()[-1].startswith("training: 20/20 step")
