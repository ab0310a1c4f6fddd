"""Train MLFN with the paper's recipe (or the "bag of tricks") using plain ``model.fit``.

Paper recipe (Sec. 4.1), the default: fine-tune from ImageNet weights, Adam,
batch 64, learning rate 3.5e-4 for 100k iterations (5e-4 and 75k for CUHK03
Setting 2), cross-entropy over training identities, 256×128 inputs with
left-right flips. CIFAR-100: SGD with Nesterov momentum 0.9, batch 256,
lr 0.1 decayed ×0.1 every 100 epochs, 307 epochs.

Opt-in, beyond the paper: label smoothing, batch-hard triplet loss with a
BN-neck and P×K batches, linear warm-up, cosine decay, random erasing.

Long runs lose nothing: a checkpoint (weights + optimizer) every
``checkpoint_every`` steps, resumed automatically when the same command is run
again after the process was killed; CSV and TensorBoard logs; the final
embedding model ``model.keras`` and ``train_config.json`` with the exact
configuration and the data set fingerprint.

Examples:

    # No data needed: generated identities, 5 minutes on a CPU.
    mlfn-train --dataset synthetic --preset mlfn_small --minutes 5 --output runs/synthetic

    # The paper's Market-1501 setting, from converted ImageNet weights.
    python -m mlfn_keras.convert resnext50 resnext50_32x4d.pth --out init.keras
    mlfn-train --dataset market1501 --data-root ~/data/Market-1501-v15.09.15 \\
        --preset mlfn --init-weights init.keras --output runs/market

    # CUHK03 767/700 (lr 5e-4, 75k steps are picked automatically).
    mlfn-train --dataset cuhk03 --data-root ~/data/cuhk03 --init-weights init.keras

    # Bag of tricks on 2 GPUs with mixed precision and XLA.
    mlfn-train --dataset market1501 --data-root ~/data/market --label-smoothing 0.1 \\
        --triplet-weight 1 --bnneck --warmup-steps 2000 --schedule cosine \\
        --random-erasing 0.5 --mixed-precision --xla --strategy mirrored

From Python:

    from mlfn_keras.train import TrainConfig, train
    result = train(TrainConfig(dataset="synthetic", preset="mlfn_tiny", steps=20, output="runs/tiny"))
    print(result.model_path)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

__all__ = ["LinearWarmup", "TimeBudget", "TrainConfig", "TrainResult", "build_optimizer", "load_init_weights", "main", "train"]

logger = logging.getLogger(__name__)

#: The paper's per-data-set settings (Sec. 4.1, "Optimisation Settings").
PAPER_RECIPES: dict[str, dict[str, Any]] = {
    "default": dict(optimizer="adam", learning_rate=3.5e-4, batch_size=64, steps=100_000),
    "cuhk03": dict(optimizer="adam", learning_rate=5e-4, batch_size=64, steps=75_000),
    "cuhk03_labeled": dict(optimizer="adam", learning_rate=5e-4, batch_size=64, steps=75_000),
    # 307 epochs of 50k images at batch 256; lr ×0.1 every 100 epochs; weight
    # decay as in He et al.'s CIFAR recipe ([9]), which the paper follows.
    "cifar100": dict(optimizer="sgd", learning_rate=0.1, batch_size=256, steps=307 * (50_000 // 256),
                     schedule="step", decay_every=100 * (50_000 // 256), weight_decay=1e-4),
}


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (saved as JSON next to the model).

    ``None`` fields take the paper's value for the data set (see
    :data:`PAPER_RECIPES`).

    Attributes:
        dataset: ``market1501``, ``dukemtmcreid``, ``cuhk03``,
            ``cuhk03_labeled``, ``msmt17``, ``cifar100`` or ``synthetic``.
        data_root: Where the data set is (not needed for ``synthetic``).
        preset: Model preset (``mlfn_cifar`` is used for ``cifar100`` unless set).
        output: Run folder (model, logs, checkpoints).
        steps: Training iterations.
        minutes: Wall-clock budget; training stops cleanly when reached.
        batch_size: Global batch size.
        learning_rate: Initial learning rate.
        optimizer: ``adam`` or ``sgd`` (Nesterov, momentum 0.9).
        weight_decay: Decoupled weight decay (0 = none, as the paper states none).
        schedule: ``constant``, ``cosine`` or ``step`` (×0.1 every ``decay_every`` steps).
        decay_every: Steps between step-schedule decays.
        warmup_steps: Linear warm-up from 0 (0 = none).
        label_smoothing: Cross-entropy label smoothing ε.
        triplet_weight: Weight of the batch-hard triplet loss (0 = off).
        triplet_margin: Triplet margin.
        num_instances: K of P×K batches (used when the triplet loss is on).
        bnneck: BatchNorm before the classifier (Luo et al., 2019).
        random_erasing: Random erasing probability (0 = off).
        flip: Left-right flip augmentation.
        init_weights: ``.keras`` file (e.g. converted ImageNet ResNeXt) to
            initialise matching layers from.
        mixed_precision: ``mixed_float16`` policy (GPU).
        xla: Compile the train step with XLA.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multiworker``.
        checkpoint_every: Steps between checkpoints (and between log lines).
        seed: Seed for weights and data order.
        deterministic: Deterministic data order and ops (slower).
        save_classifier: Also save the classifier model.
        synthetic: Options of the generated data set (identities, cameras...).
        verbose: Keras progress output (1 = bar, 2 = one line per epoch, 0 = quiet).
    """

    dataset: str = "synthetic"
    data_root: str | None = None
    preset: str | None = None
    output: str = "runs/mlfn"
    steps: int | None = None
    minutes: float | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    decay_every: int | None = None
    warmup_steps: int = 0
    label_smoothing: float = 0.0
    triplet_weight: float = 0.0
    triplet_margin: float = 0.3
    num_instances: int = 4
    bnneck: bool = False
    random_erasing: float = 0.0
    flip: bool = True
    init_weights: str | None = None
    mixed_precision: bool = False
    xla: bool = False
    strategy: str = "auto"
    checkpoint_every: int = 1000
    seed: int = 0
    deterministic: bool = False
    save_classifier: bool = False
    synthetic: dict[str, Any] = dataclasses.field(default_factory=dict)
    verbose: int | str = "auto"

    def resolved(self) -> "TrainConfig":
        """A copy with every ``None`` replaced by the recipe's value."""
        key = self.dataset.lower()
        recipe = {**PAPER_RECIPES["default"], **PAPER_RECIPES.get(key, {})}
        out = dataclasses.replace(self)
        for name in ("steps", "batch_size", "learning_rate", "optimizer"):
            if getattr(out, name) is None:
                setattr(out, name, recipe[name])
        if out.schedule is None:
            out.schedule = recipe.get("schedule", "constant")
        if out.decay_every is None:
            out.decay_every = recipe.get("decay_every", max(1, out.steps // 3))
        if out.weight_decay is None:
            out.weight_decay = recipe.get("weight_decay", 0.0)
        if out.preset is None:
            out.preset = "mlfn_cifar" if key == "cifar100" else "mlfn"
        return out


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


# --------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------


def _make_strategy(name: str) -> tf.distribute.Strategy:
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


def _learning_rate(config: TrainConfig):
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
    lr = _learning_rate(config)
    wd = float(config.weight_decay) or None
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr, weight_decay=wd)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    raise ValueError(f"optimizer must be adam or sgd; received {config.optimizer!r}")


def _all_layers(model) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        children = getattr(layer, "layers", None)
        if children:  # a nested model: match its layers, not the container
            stack.extend(children)
        elif layer.weights:
            out.setdefault(layer.name, layer)
    return out


def load_init_weights(model, path: str | Path) -> dict[str, list[str]]:
    """Copies weights from a saved model into ``model`` by layer name.

    Layers are matched by name (the converter names layers as our presets
    do); a layer is copied only when all its weight shapes agree, so a
    different classifier width or a missing fusion branch is skipped, not an
    error.

    Args:
        model: The model to initialise (an ``MLFN`` or ``MLFNClassifier``).
        path: A ``.keras`` file, e.g. from ``python -m mlfn_keras.convert resnext50``.

    Returns:
        ``{"loaded": [...], "shape_mismatch": [...], "not_in_source": [...]}`` layer names.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--init-weights: {path} does not exist (expected a .keras model file)")
    source = _all_layers(keras.models.load_model(path, compile=False))
    report: dict[str, list[str]] = {"loaded": [], "shape_mismatch": [], "not_in_source": []}
    for name, layer in sorted(_all_layers(model).items()):
        src = source.get(name)
        if src is None:
            report["not_in_source"].append(name)
            continue
        values = src.get_weights()
        if [tuple(v.shape) for v in values] != [tuple(w.shape) for w in layer.weights]:
            report["shape_mismatch"].append(name)
            continue
        layer.set_weights(values)
        report["loaded"].append(name)
    return report


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` cleanly once ``minutes`` of wall-clock time are spent."""

    def __init__(self, minutes: float):
        super().__init__()
        self.deadline = time.monotonic() + 60.0 * minutes
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline:
            self.stopped = True
            self.model.stop_training = True


def _previous_epoch(backup_dir: Path) -> int:
    meta = backup_dir / "training_metadata.json"
    try:
        return int(json.loads(meta.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


# --------------------------------------------------------------------------
# train()
# --------------------------------------------------------------------------


def _reid_data(config: TrainConfig, image_shape, seed: int):
    from mlfn_keras.data import load_dataset
    from mlfn_keras.data.pipeline import make_train_dataset

    if config.dataset == "synthetic":
        options = {"height": image_shape[0], "width": image_shape[1], **config.synthetic}
        if config.data_root and (Path(config.data_root) / "meta.json").exists() and not config.synthetic:
            # A folder made by `mlfn-synthetic` is used as generated, whatever
            # its crop size (the pipeline resizes to the preset's input).
            options = {}
        dataset = load_dataset("synthetic", config.data_root, progress=config.verbose != 0, **options)
    else:
        dataset = load_dataset(config.dataset, config.data_root)
    paths, labels, _ = dataset.train_labels()
    data = make_train_dataset(
        paths, labels, image_shape, config.batch_size,
        num_instances=config.num_instances if config.triplet_weight > 0 else None,
        flip=config.flip, random_erasing_prob=config.random_erasing, seed=seed,
        deterministic=config.deterministic, progress=config.verbose != 0,
    )
    return data.dataset, data.num_classes, dataset.fingerprint(), len(data.skipped), dataset.summary()


def _cifar_data(config: TrainConfig, seed: int):
    import hashlib

    from mlfn_keras.data.cifar100 import load_cifar100
    from mlfn_keras.data.pipeline import make_cifar_dataset

    if config.data_root is None:
        raise ValueError("--dataset cifar100 needs --data-root (cifar-100-python.tar.gz or its folder)")
    data = load_cifar100(config.data_root)
    digest = hashlib.sha256(data.x_train.tobytes()[:1 << 20] + data.y_train.tobytes()).hexdigest()
    return (make_cifar_dataset(data.x_train, data.y_train, config.batch_size, seed=seed), 100, digest, 0,
            f"cifar100: {len(data.x_train)} train / {len(data.x_test)} test images")


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
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")

    steps_per_epoch = max(1, min(config.checkpoint_every, config.steps))
    epochs = math.ceil(config.steps / steps_per_epoch)
    resumed_epoch = _previous_epoch(backup_dir)
    # A resumed run draws new batches instead of replaying the first ones.
    data_seed = config.seed + 1000 * resumed_epoch

    strategy = _make_strategy(config.strategy)
    image_shape = mlfn_keras.get_preset(config.preset)["image_shape"]
    if config.dataset == "cifar100":
        dataset, num_classes, fingerprint, skipped, summary = _cifar_data(config, data_seed)
    else:
        dataset, num_classes, fingerprint, skipped, summary = _reid_data(config, image_shape, data_seed)
    if config.verbose != 0:
        print(summary)

    use_triplet = config.triplet_weight > 0

    def to_targets(images, labels):
        # Keras resolves targets for every named output, even loss-free ones.
        return images, {"logits": labels, "embedding": labels}

    dataset = dataset.map(to_targets)

    with strategy.scope():
        backbone = mlfn_keras.MLFN.from_preset(config.preset)
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
        keras.callbacks.BackupAndRestore(str(backup_dir), save_freq="epoch", delete_checkpoint=False),
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
    if finished and backup_dir.exists():
        # A finished run needs no resume; a new run in this folder starts afresh.
        import shutil

        shutil.rmtree(backup_dir)

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
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("float32")
    return TrainResult(
        output=str(out), model_path=str(model_path), config_path=str(config_path),
        classifier_path=None if classifier_path is None else str(classifier_path),
        steps=steps_done, initial_step=resumed_epoch * steps_per_epoch, seconds=seconds,
        stopped_by_time=stopped_by_time, history=hist, num_classes=num_classes,
        dataset_fingerprint=fingerprint, skipped_images=skipped,
        num_replicas=int(strategy.num_replicas_in_sync),
    )


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

_EPILOG = """examples:
  # no data needed: generated identities, 5 minutes on a CPU
  mlfn-train --dataset synthetic --preset mlfn_small --minutes 5 --output runs/synthetic

  # the paper's Market-1501 setting (Adam 3.5e-4, batch 64, 100k steps) from ImageNet weights
  mlfn-train --dataset market1501 --data-root ~/data/Market-1501-v15.09.15 \\
      --preset mlfn --init-weights init.keras --output runs/market

  # CUHK03 767/700, detected boxes (lr 5e-4, 75k steps chosen automatically)
  mlfn-train --dataset cuhk03 --data-root ~/data/cuhk03 --init-weights init.keras

  # CIFAR-100 recipe (SGD Nesterov, lr 0.1 x0.1 every 100 epochs, batch 256)
  mlfn-train --dataset cifar100 --data-root ~/data/cifar-100-python.tar.gz

  # "bag of tricks" on all local GPUs, mixed precision + XLA
  mlfn-train --dataset market1501 --data-root ~/data/market --label-smoothing 0.1 \\
      --triplet-weight 1 --bnneck --warmup-steps 2000 --schedule cosine \\
      --random-erasing 0.5 --mixed-precision --xla --strategy mirrored

Re-running a command with the same --output resumes from its last checkpoint.
Several machines: set TF_CONFIG on each and pass --strategy multiworker.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlfn-train",
        description="Train an MLFN preset with model.fit (paper recipe by default).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    d = TrainConfig()
    p.add_argument("--dataset", default=d.dataset,
                   help="market1501, dukemtmcreid, cuhk03, cuhk03_labeled, msmt17, cifar100 or synthetic "
                        "(default: synthetic)")
    p.add_argument("--data-root", help="data set folder or archive (synthetic: where to generate; default cache)")
    p.add_argument("--preset", help="model preset (default: mlfn; mlfn_cifar for cifar100)")
    p.add_argument("--output", default=d.output, help=f"run folder (default: {d.output})")
    budget = p.add_argument_group("budget")
    budget.add_argument("--steps", type=int, help="training iterations (default: paper's, e.g. 100000)")
    budget.add_argument("--minutes", type=float, help="stop cleanly after this many minutes")
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, help="global batch size (default: 64; 256 for cifar100)")
    opt.add_argument("--lr", dest="learning_rate", type=float, help="initial learning rate (default: paper's)")
    opt.add_argument("--optimizer", choices=("adam", "sgd"), help="default: adam (sgd for cifar100)")
    opt.add_argument("--weight-decay", type=float, help="decoupled weight decay (default 0; 1e-4 for cifar100)")
    opt.add_argument("--schedule", choices=("constant", "cosine", "step"), help="lr schedule (default: constant)")
    opt.add_argument("--decay-every", type=int, help="steps between x0.1 decays of --schedule step")
    opt.add_argument("--warmup-steps", type=int, default=0, help="linear warm-up steps (default 0)")
    tricks = p.add_argument_group("beyond the paper (opt-in)")
    tricks.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing")
    tricks.add_argument("--triplet-weight", type=float, default=0.0, help="batch-hard triplet loss weight")
    tricks.add_argument("--triplet-margin", type=float, default=d.triplet_margin, help="triplet margin (0.3)")
    tricks.add_argument("--num-instances", type=int, default=d.num_instances, help="K of PxK batches (4)")
    tricks.add_argument("--bnneck", action="store_true", help="BatchNorm neck before the classifier")
    tricks.add_argument("--random-erasing", type=float, default=0.0, help="random erasing probability")
    tricks.add_argument("--no-flip", dest="flip", action="store_false", help="disable left-right flips")
    sys_ = p.add_argument_group("system")
    sys_.add_argument("--init-weights", help=".keras file to initialise from (e.g. converted ImageNet ResNeXt)")
    sys_.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPU)")
    sys_.add_argument("--xla", action="store_true", help="XLA-compile the train step")
    sys_.add_argument("--strategy", default="auto", choices=("auto", "default", "mirrored", "multiworker"),
                      help="tf.distribute strategy (auto: multiworker with TF_CONFIG, mirrored with >1 GPU)")
    sys_.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                      help="steps between checkpoints/log lines (default 1000)")
    sys_.add_argument("--seed", type=int, default=0)
    sys_.add_argument("--deterministic", action="store_true", help="deterministic data order and ops")
    sys_.add_argument("--save-classifier", action="store_true", help="also save classifier.keras")
    sys_.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None, help="0 quiet, 1 bar, 2 line/epoch")
    syn = p.add_argument_group("synthetic data set")
    syn.add_argument("--synthetic-identities", type=int, help="generated identities (default 300, half for training)")
    syn.add_argument("--synthetic-cameras", type=int, help="generated cameras (default 4)")
    syn.add_argument("--synthetic-images", type=int, help="images per identity per camera (default 4)")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> TrainConfig:
    """Parses command-line arguments into a :class:`TrainConfig`."""
    args = vars(_parser().parse_args(argv))
    synthetic = {}
    for flag, key in (("synthetic_identities", "num_identities"), ("synthetic_cameras", "num_cameras"),
                      ("synthetic_images", "images_per_identity_camera")):
        value = args.pop(flag)
        if value is not None:
            synthetic[key] = value
    verbose = args.pop("verbose")
    return TrainConfig(**args, synthetic=synthetic, verbose="auto" if verbose is None else verbose)


def main(argv: Sequence[str] | None = None) -> int:
    """``mlfn-train`` entry point."""
    config = config_from_args(argv)
    result = train(config)
    how = "time budget reached" if result.stopped_by_time else "done"
    print(f"{how}: {result.steps} steps ({result.seconds:.0f} s this run); "
          f"model: {result.model_path}; config: {result.config_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
