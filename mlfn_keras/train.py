"""Compatibility module: ``from mlfn_keras.train import train`` and ``mlfn_keras.train:main``.

The training code lives in :mod:`mlfn_keras.training` (recipes, schedule,
weight transplanting, data wiring, checkpoints, the ``model.fit`` loop and the
``mlfn-train`` command line); ``mlfn-train --help`` shows examples.
"""

from mlfn_keras.training import (
    PAPER_RECIPES,
    LinearWarmup,
    TimeBudget,
    TrainConfig,
    TrainResult,
    build_optimizer,
    load_init_weights,
    train,
)
from mlfn_keras.training.cli import config_from_args, main

__all__ = ["PAPER_RECIPES", "LinearWarmup", "TimeBudget", "TrainConfig", "TrainResult", "build_optimizer",
           "config_from_args", "load_init_weights", "main", "train"]

if __name__ == "__main__":
    raise SystemExit(main())
