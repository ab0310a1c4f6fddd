"""Training recipes: the paper's per-data-set settings and the run configuration.

Paper recipe (Sec. 4.1), the default: fine-tune from ImageNet weights, Adam,
batch 64, learning rate 3.5e-4 for 100k iterations (5e-4 and 75k for CUHK03
Setting 2), cross-entropy over training identities, 256×128 inputs with
left-right flips. CIFAR-100: SGD with Nesterov momentum 0.9, batch 256,
lr 0.1 decayed ×0.1 every 100 epochs, 307 epochs.

Opt-in, beyond the paper: label smoothing, batch-hard triplet loss with a
BN-neck and P×K batches, linear warm-up, cosine decay, random erasing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["PAPER_RECIPES", "TrainConfig"]

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
        workers: ``host:port,host:port`` of every worker of a multi-machine
            run, the chief first (the same on every worker; ``TF_CONFIG``
            works too).
        worker_index: This worker's place in ``workers``.
        cluster_timeout: Seconds a worker waits for the others to join.
        fresh: Discard a checkpoint of another (or the same) run in ``output``
            and start over, instead of refusing or resuming.
        force: Write into an ``output`` folder that holds files a training
            run did not write (they are kept, never replaced).
        checkpoint_every: Steps between checkpoints (and between log lines).
        seed: Seed for weights and data order.
        deterministic: Deterministic ops (slower); the data order is always the seed's.
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
    workers: str | None = None
    worker_index: int | None = None
    cluster_timeout: float = 300.0
    fresh: bool = False
    force: bool = False
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

    def definition(self) -> dict[str, Any]:
        """What defines the run (of a resolved config): a checkpoint resumes only into the same definition.

        Left out: where things are (``output``, ``data_root``: the data set
        fingerprint stands for the data), how the run is carried out
        (``strategy`` and workers, ``xla``, ``deterministic``, ``verbose``)
        and for how long this invocation runs (``minutes``). ``--batch-size``
        is the global batch, so the same run can resume on other devices.
        """
        left_out = {"output", "data_root", "minutes", "strategy", "workers", "worker_index", "cluster_timeout",
                    "fresh", "force", "xla", "deterministic", "verbose", "save_classifier"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in left_out}

    def summary(self) -> str:
        """``mlfn_tiny on synthetic, 30 steps of batch 8 (adam, lr 0.00035, constant)``."""
        return (f"{self.preset} on {self.dataset}, {self.steps} steps of batch {self.batch_size} "
                f"({self.optimizer}, lr {self.learning_rate:g}, {self.schedule})")
