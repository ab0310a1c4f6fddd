"""``train()``: build the preset in the strategy's scope, compile with the recipe, ``model.fit``, save.

Long runs lose nothing: a checkpoint (weights + optimizer) every
``checkpoint_every`` steps, resumed automatically when the same command is run
again after the process was killed; CSV and TensorBoard logs; the final
embedding model ``model.keras`` and ``train_config.json`` with the exact
configuration and the data set fingerprint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from mlfn_keras.training.checkpoints import (
    TimeBudget,
    backup_callback,
    clear_checkpoints,
    previous_epoch,
)
from mlfn_keras.training.data import training_data
from mlfn_keras.training.recipes import TrainConfig
from mlfn_keras.training.schedule import build_optimizer
from mlfn_keras.training.transplant import load_init_weights

__all__ = ["TrainResult", "make_strategy", "train"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        output: Run folder.
        model_path: The trained embedding model (``MLFN``), ``.keras``.
        config_path: JSON with the exact configuration, data fingerprint and outcome.
        classifier_path: The classifier model, when saved.
        steps: Total optimizer steps taken (including resumed ones).
        initial_step: Step the run resumed from (0 for a fresh run).
        seconds: Wall-clock time of this invocation's ``fit``.
        stopped_by_time: Whether ``minutes`` ended the run.
        history: Per-epoch metrics of this invocation.
        num_classes: Training identities (classes).
        dataset_fingerprint: See :meth:`mlfn_keras.data.ReidDataset.fingerprint`.
        skipped_images: Training images left out because they failed to decode.
        num_replicas: Devices the strategy trained on.
    """

    output: str
    model_path: str
    config_path: str
    classifier_path: str | None
    steps: int
    initial_step: int
    seconds: float
    stopped_by_time: bool
    history: dict[str, list[float]]
    num_classes: int
    dataset_fingerprint: str
    skipped_images: int
    num_replicas: int


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (``auto`` picks one from the machine)."""
    if name == "auto":
        if "TF_CONFIG" in os.environ:
            name = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        # Without GPUs, mirror over the logical CPU devices (how tests and
        # CPU-only machines exercise the distributed path).
        devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be auto, default, mirrored or multiworker; received {name!r}")


def train(config: TrainConfig, callbacks: Sequence[keras.callbacks.Callback] = ()) -> TrainResult:
    """Trains a preset and saves the embedding model.

    Builds ``MLFN.from_preset`` and ``MLFNClassifier`` inside the
    distribution strategy's scope, compiles with the recipe's optimizer and
    losses, and calls ``model.fit``. Re-running with the same ``output``
    after an interruption resumes from the last checkpoint.

    Args:
        config: The run's configuration; ``None`` fields take the paper's values.
        callbacks: Extra Keras callbacks for ``fit``.

    Returns:
        Paths and figures of the run.
    """
    import mlfn_keras
    from mlfn_keras.losses import BatchHardTripletLoss, IdentityCrossEntropy

    config = config.resolved()
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    backup_dir = out / "checkpoints"
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()

    steps_per_epoch = max(1, min(config.checkpoint_every, config.steps))
    epochs = math.ceil(config.steps / steps_per_epoch)
    resumed_epoch = previous_epoch(backup_dir)
    # A resumed run draws new batches instead of replaying the first ones.
    data_seed = config.seed + 1000 * resumed_epoch

    strategy = make_strategy(config.strategy)
    image_shape = mlfn_keras.get_preset(config.preset)["image_shape"]
    data = training_data(config, image_shape, data_seed)
    dataset, num_classes, fingerprint, skipped = data.dataset, data.num_classes, data.fingerprint, data.skipped_images
    if config.verbose != 0:
        print(data.summary)

    use_triplet = config.triplet_weight > 0

    def to_targets(images, labels):
        # Keras resolves targets for every named output, even loss-free ones.
        return images, {"logits": labels, "embedding": labels}

    dataset = dataset.map(to_targets)

    with strategy.scope():
        # The policy goes to the model, not to a process-wide switch: a later
        # model built in this process (an evaluation, a test) stays float32.
        dtype = "mixed_float16" if config.mixed_precision else None
        backbone = mlfn_keras.MLFN.from_preset(config.preset, dtype=dtype)
        model = mlfn_keras.MLFNClassifier(backbone, num_classes=num_classes, bnneck=config.bnneck)
        init_report = None
        if config.init_weights:
            init_report = load_init_weights(model, config.init_weights)
            print(f"init weights from {config.init_weights}: {len(init_report['loaded'])} layers loaded, "
                  f"{len(init_report['shape_mismatch'])} skipped (shape mismatch), "
                  f"{len(init_report['not_in_source'])} left at initialisation (not in the file)")
        losses = {"logits": IdentityCrossEntropy(label_smoothing=config.label_smoothing)}
        loss_weights = {"logits": 1.0}
        if use_triplet:
            losses["embedding"] = BatchHardTripletLoss(margin=config.triplet_margin)
            loss_weights["embedding"] = float(config.triplet_weight)
        model.compile(
            optimizer=build_optimizer(config),
            loss=losses,
            loss_weights=loss_weights,
            metrics={"logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]},
            jit_compile=bool(config.xla),
        )

    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    budget = TimeBudget(config.minutes) if config.minutes else None
    callbacks = [
        *callbacks,
        backup_callback(backup_dir),
        keras.callbacks.CSVLogger(str(logs / "train.csv"), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    try:
        import tensorboard  # noqa: F401  (tf.summary needs it)

        callbacks.append(keras.callbacks.TensorBoard(str(logs / "tensorboard"), update_freq="epoch",
                                                     write_graph=False))
    except ImportError:
        logger.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
    if budget is not None:
        callbacks.append(budget)

    start = time.monotonic()
    history = model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=callbacks,
                        shuffle=False, verbose=config.verbose)
    seconds = time.monotonic() - start
    steps_done = int(model.optimizer.iterations.numpy())
    stopped_by_time = bool(budget is not None and budget.stopped)

    model_path = out / "model.keras"
    backbone.save(model_path)
    classifier_path = None
    if config.save_classifier:
        classifier_path = out / "classifier.keras"
        model.save(classifier_path)
    finished = steps_done >= epochs * steps_per_epoch
    if finished:
        # A finished run needs no resume; a new run in this folder starts afresh.
        clear_checkpoints(backup_dir)

    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    record = {
        "config": dataclasses.asdict(config),
        "dataset_fingerprint": fingerprint,
        "num_classes": num_classes,
        "skipped_images": skipped,
        "steps": steps_done,
        "initial_step": resumed_epoch * steps_per_epoch,
        "seconds": round(seconds, 2),
        "stopped_by_time": stopped_by_time,
        "finished": finished,
        "num_replicas": int(strategy.num_replicas_in_sync),
        "init_weights_report": None if init_report is None else {k: len(v) for k, v in init_report.items()},
        "final_metrics": {k: v[-1] for k, v in hist.items() if v},
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__, "mlfn_keras": mlfn_keras.__version__},
        "command": sys.argv,
    }
    config_path = out / "train_config.json"
    config_path.write_text(json.dumps(record, indent=2, default=str))
    return TrainResult(
        output=str(out), model_path=str(model_path), config_path=str(config_path),
        classifier_path=None if classifier_path is None else str(classifier_path),
        steps=steps_done, initial_step=resumed_epoch * steps_per_epoch, seconds=seconds,
        stopped_by_time=stopped_by_time, history=hist, num_classes=num_classes,
        dataset_fingerprint=fingerprint, skipped_images=skipped,
        num_replicas=int(strategy.num_replicas_in_sync),
    )
