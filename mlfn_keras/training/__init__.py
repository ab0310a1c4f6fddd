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

from mlfn_keras._lazy import lazy_exports

# Imported on first use, so `mlfn ... --help` and light imports stay fast (no TensorFlow).
_EXPORTS = {
    "TimeBudget": "mlfn_keras.training.checkpoints",
    "TrainResult": "mlfn_keras.training.loop",
    "train": "mlfn_keras.training.loop",
    "PAPER_RECIPES": "mlfn_keras.training.recipes",
    "TrainConfig": "mlfn_keras.training.recipes",
    "LinearWarmup": "mlfn_keras.training.schedule",
    "build_optimizer": "mlfn_keras.training.schedule",
    "load_init_weights": "mlfn_keras.training.transplant",
}

__all__ = ["PAPER_RECIPES", "LinearWarmup", "TimeBudget", "TrainConfig", "TrainResult", "build_optimizer",
           "load_init_weights", "train"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
