"""Tests for mlfn_keras.training.schedule."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from harness import run_serialization_test

from mlfn_keras.training.schedule import LinearWarmup


def test_linear_warmup_schedule():
    schedule = LinearWarmup(0.1, warmup_steps=4)
    values = [float(schedule(s)) for s in range(6)]
    np.testing.assert_allclose(values, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1], rtol=1e-6)
    assert float(run_serialization_test(schedule)(1)) == pytest.approx(0.05)


def test_linear_warmup_wrapping_a_schedule_serialises():
    schedule = LinearWarmup(keras.optimizers.schedules.CosineDecay(0.1, decay_steps=10), warmup_steps=2)
    clone = run_serialization_test(schedule)
    assert float(clone(5)) == pytest.approx(float(schedule(5)))
