"""Tests for mlfn_keras.training.schedule."""

from __future__ import annotations

import numpy as np
import pytest

from mlfn_keras.training.schedule import LinearWarmup


def test_linear_warmup_schedule():
    schedule = LinearWarmup(0.1, warmup_steps=4)
    values = [float(schedule(s)) for s in range(6)]
    np.testing.assert_allclose(values, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1], rtol=1e-6)
    clone = LinearWarmup.from_config(schedule.get_config())
    assert float(clone(1)) == pytest.approx(0.05)
