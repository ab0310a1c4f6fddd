"""The Keras test harness fails on the mistakes it exists to catch."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from harness import run_layer_test, run_model_test, run_serialization_test


@keras.saving.register_keras_serializable(package="harness_test")
class ForgetfulScale(keras.layers.Layer):
    """Scales by ``factor`` but forgets it in ``get_config``."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return super().get_config()  # bug: `factor` is not saved


@keras.saving.register_keras_serializable(package="harness_test")
class Scale(ForgetfulScale):
    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_a_correct_layer_passes(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    run_layer_test(Scale, {"factor": 3.0}, x, tmp_path, expected_output_shape=(4, 3), expected_num_weights=0)


def test_a_layer_that_drops_an_argument_from_its_config_fails(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    with pytest.raises(AssertionError):
        run_layer_test(ForgetfulScale, {"factor": 3.0}, x, tmp_path)


@keras.saving.register_keras_serializable(package="harness_test")
class DtypeDeaf(keras.Model):
    """A model that accepts ``dtype`` and does not pass it to its layers."""

    def __init__(self, units=2, **kwargs):
        kwargs.pop("dtype", None)
        x = keras.Input((3,))
        super().__init__(x, keras.layers.Dense(units)(x), **kwargs)
        self.units = units

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "units": self.units}


def test_a_model_that_ignores_dtype_fails(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    run_model_test(lambda dtype=None: DtypeDeaf(), x, tmp_path, mixed_precision=False)  # fine in float32
    with pytest.raises(AssertionError, match="dtype"):
        run_model_test(lambda dtype=None: DtypeDeaf(dtype=dtype), x, tmp_path)


def test_serialization_of_a_config_only_object():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert run_serialization_test(schedule).decay_steps == 10
