"""Training MLFN with the paper's recipe (or the "bag of tricks") using plain ``model.fit``.

One concept per module:

* :mod:`~mlfn_keras.training.recipes` — the paper's settings and :class:`TrainConfig`;
* :mod:`~mlfn_keras.training.schedule` — learning-rate schedules and the optimizer;
* :mod:`~mlfn_keras.training.transplant` — initialising from another model by layer name;
* :mod:`~mlfn_keras.training.data` — the data set to a ``tf.data`` pipeline (global batches);
* :mod:`~mlfn_keras.training.distribute` — strategies, several machines (``--workers``),
  the batch rule, agreement between workers, a lost worker;
* :mod:`~mlfn_keras.training.checkpoints` — resume by step after a kill, wall-clock budget,
  exact ``--steps``, full disks;
* :mod:`~mlfn_keras.training.progress` — progress in steps with a true ETA;
* :mod:`~mlfn_keras.training.loop` — :func:`train`, a short script of named steps;
* :mod:`~mlfn_keras.training.cli` — ``mlfn-train``.

From Python:

    from mlfn_keras.training import TrainConfig, train
    result = train(TrainConfig(dataset="synthetic", preset="mlfn_tiny", steps=20, output="runs/tiny"))
    print(result.model_path)
"""

from mlfn_keras.training.checkpoints import TimeBudget
from mlfn_keras.training.loop import TrainResult, train
from mlfn_keras.training.recipes import PAPER_RECIPES, TrainConfig
from mlfn_keras.training.schedule import LinearWarmup, build_optimizer
from mlfn_keras.training.transplant import load_init_weights

__all__ = ["PAPER_RECIPES", "LinearWarmup", "TimeBudget", "TrainConfig", "TrainResult", "build_optimizer",
           "load_init_weights", "train"]
