"""Learning-rate schedules and the optimizer of a training recipe."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from mlfn_keras.training.recipes import TrainConfig

__all__ = ["LinearWarmup", "build_optimizer", "learning_rate"]


def learning_rate(config: TrainConfig):
    """The learning rate (a constant or a Keras schedule) of a resolved config."""
    lr = float(config.learning_rate)
    warmup = int(config.warmup_steps)
    if config.schedule == "constant":
        schedule = lr
    elif config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else lr, decay_steps=max(1, config.steps - warmup),
            warmup_target=lr if warmup else None, warmup_steps=warmup, alpha=0.01,
        )
    elif config.schedule == "step":
        n = max(1, config.steps // config.decay_every + 1)
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
            [config.decay_every * (i + 1) for i in range(n - 1)] or [config.steps + 1],
            [lr * 0.1 ** i for i in range(n)] if n > 1 else [lr, lr],
        )
    else:
        raise ValueError(f"schedule must be constant, cosine or step; received {config.schedule!r}")
    return LinearWarmup(schedule, warmup) if warmup else schedule


@keras.saving.register_keras_serializable(package="mlfn_keras")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to the wrapped schedule's value over ``warmup_steps``.

    Args:
        after: The schedule (or constant learning rate) used after warm-up.
        warmup_steps: Length of the ramp.
    """

    def __init__(self, after: float | keras.optimizers.schedules.LearningRateSchedule, warmup_steps: int):
        self.after = after
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if callable(self.after):
            after = self.after(step)
            target = self.after(ops.cast(self.warmup_steps, "float32"))
        else:
            after = target = ops.cast(self.after, "float32")
        ramp = target * (step + 1.0) / float(self.warmup_steps)
        return ops.where(step < self.warmup_steps, ramp, after)

    def get_config(self) -> dict[str, Any]:
        after = keras.saving.serialize_keras_object(self.after) if callable(self.after) else self.after
        return {"after": after, "warmup_steps": self.warmup_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LinearWarmup":
        after = config["after"]
        if isinstance(after, dict):
            after = keras.saving.deserialize_keras_object(after)
        return cls(after, config["warmup_steps"])


def build_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """The optimizer of a resolved config (Adam, or SGD with Nesterov momentum 0.9).

    Args:
        config: A resolved :class:`TrainConfig`.

    Returns:
        A Keras optimizer.
    """
    lr = learning_rate(config)
    wd = float(config.weight_decay) or None
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr, weight_decay=wd)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    raise ValueError(f"optimizer must be adam or sgd; received {config.optimizer!r}")
