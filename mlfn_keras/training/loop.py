"""``train()``: build the preset in the strategy's scope, compile with the recipe, ``model.fit``, save.

A run is a short script of named steps (:func:`train`):

1. the strategy and this process's place in it (:mod:`~mlfn_keras.training.distribute`);
2. the data set and what defines the run (preset, data fingerprint, steps,
   schedule...); every worker must agree on it;
3. the resume point: the newest checkpoint of *this* run in ``--output``
   (a checkpoint of another run is refused, never resumed or deleted);
4. the model, compiled with the recipe inside the strategy's scope;
5. ``model.fit`` in checkpoint intervals until exactly ``--steps`` (or
   ``--minutes``), a checkpoint (weights + optimizer) after each interval;
6. the outputs, written atomically by the chief only: ``model.keras`` (the
   embedding model), ``train_config.json`` (configuration, data fingerprint,
   outcome), CSV and TensorBoard logs.

Re-running the same command after a kill (or a ``--minutes`` stop) resumes at
the step the last checkpoint holds; a finished run drops its checkpoints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from mlfn_keras.errors import UserError
from mlfn_keras.fileio import (
    atomic_output,
    check_output_dir,
    check_run_definition,
    legacy_listing,
    run_fingerprint,
    run_lock,
    write_json,
    write_run_definition,
)
from mlfn_keras.training import distribute
from mlfn_keras.training.checkpoints import (
    StopAtStep,
    TimeBudget,
    backup_callback,
    clear_checkpoints,
    latest_checkpoint,
)
from mlfn_keras.training.data import training_source
from mlfn_keras.training.distribute import Replicas
from mlfn_keras.training.progress import StepProgress
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
        history: Per-interval metrics of this invocation.
        num_classes: Training identities (classes).
        dataset_fingerprint: See :meth:`mlfn_keras.data.ReidDataset.fingerprint`.
        skipped_images: Training images left out because they failed to decode.
        num_replicas: Devices the strategy trained on (over all workers).
        finished: Whether the run reached ``steps``.
        is_chief: Whether this process wrote the outputs (a worker other
            than the chief of a multi-worker run writes nothing).
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
    finished: bool = False
    is_chief: bool = True


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (``auto`` picks one from the machine and ``TF_CONFIG``)."""
    cluster = distribute.resolve_cluster(None, None)
    return distribute.make_strategy(name, cluster).strategy


#: The manifest kind of a training run's folder, and every entry a run writes there.
RUN_KIND = "mlfn_keras.train_run"
RUN_OUTPUTS = ("model.keras", "classifier.keras", "train_config.json", "logs", "checkpoints")


@contextlib.contextmanager
def _run_folder(config: TrainConfig, replicas: Replicas) -> Iterator[Path]:
    """The folder this process writes: ``--output`` for the chief, a temporary one (removed after) otherwise.

    The chief holds ``--output``'s run lock for the whole run (a second run
    into it is refused, naming this one) and refuses a folder holding files
    a training run did not write, before any work (see :mod:`mlfn_keras.fileio`).
    """
    if replicas.is_chief:
        out = Path(config.output)
        with run_lock(out):
            claim = check_output_dir(out, RUN_KIND, force=config.force, writes=RUN_OUTPUTS,
                                     legacy=legacy_listing(RUN_OUTPUTS, marker="train_config.json"))
            claim.write_manifest(RUN_OUTPUTS)
            yield out
        return
    tmp = Path(tempfile.mkdtemp(prefix=f"mlfn-train-worker{replicas.cluster.index}-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


RUN_FILE = "run.json"


def _resume_point(config: TrainConfig, backup_dir: Path, definition: dict, fingerprint: str, summary: str) -> int:
    """The step the newest checkpoint of this run holds (0 for a fresh start).

    Raises:
        UserError: the folder holds a checkpoint of another run (and ``fresh`` is off).
    """
    found = latest_checkpoint(backup_dir)
    if found is None:
        return 0
    if config.fresh:
        logger.warning("--fresh: discarding the checkpoint in %s (step %s)", backup_dir, found.step)
        clear_checkpoints(backup_dir)
        return 0
    recorded = check_run_definition(backup_dir / RUN_FILE, definition, summary, what="checkpoint")
    if found.run != fingerprint and (found.run is not None or not recorded):
        # The checkpoint itself is of another run (or of an unknown one, with no record beside it).
        what = "an unknown run" if found.run is None else f"another run ({found.run})"
        raise UserError(
            f"--output {config.output!r} holds a checkpoint of {what} (step {found.step}); this run is of "
            f"{summary}; it was neither resumed nor deleted; use a new --output or --fresh "
            "(which discards that checkpoint)")
    if found.step is None:  # written before steps were recorded: the epoch counted whole intervals
        return found.epoch * max(1, config.checkpoint_every)
    return found.step


def _check_previous_outputs(config: TrainConfig, out: Path, fingerprint: str, summary: str) -> None:
    """Refuses to replace the model of a run that is not resumed: another run's, or this run's finished one.

    Raises:
        UserError: ``out`` holds a finished run (any) or the outputs of another run, and ``fresh`` is off.
    """
    record = _read_json(out / "train_config.json")
    if not record or config.fresh or latest_checkpoint(out / "checkpoints") is not None:
        return  # nothing there, asked to start over, or a checkpoint (checked by _resume_point)
    theirs = record.get("run_fingerprint")
    try:
        what = TrainConfig(**record["config"]).summary()
    except (KeyError, TypeError, ValueError):
        what = "an unknown run"
    if theirs == fingerprint and not record.get("finished"):
        logger.warning("%s holds this run's outputs but no checkpoint: training starts over", out)
        return
    state = "finished run" if record.get("finished") else f"run stopped at step {record.get('steps')}"
    same = " (this same run)" if theirs == fingerprint else ""
    raise UserError(
        f"--output {str(out)!r} holds the {state} of {what}{same} (model.keras, train_config.json); it was left "
        f"as it is; this run is of {summary}; use a new --output or --fresh (which trains again and replaces it)")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def train(config: TrainConfig, callbacks: Sequence[keras.callbacks.Callback] = ()) -> TrainResult:
    """Trains a preset and saves the embedding model.

    Builds ``MLFN.from_preset`` and ``MLFNClassifier`` inside the
    distribution strategy's scope, compiles with the recipe's optimizer and
    losses, and calls ``model.fit``. Re-running with the same ``output``
    after an interruption resumes from the last checkpoint, at its exact step.

    Args:
        config: The run's configuration; ``None`` fields take the paper's values.
        callbacks: Extra Keras callbacks for ``fit``.

    Returns:
        Paths and figures of the run.

    Raises:
        UserError: a checkpoint of another run in ``output``, a batch that
            does not split over the replicas, a worker with another
            configuration than the chief, a lost worker.
    """
    config = config.resolved()
    cluster = distribute.resolve_cluster(config.workers, config.worker_index)
    replicas = distribute.make_strategy(config.strategy, cluster, config.cluster_timeout)
    replicas.per_replica_batch(config.batch_size, config.num_instances if config.triplet_weight > 0 else None)
    _check_precision(config, replicas)
    resume_hint = f" from the last checkpoint in {config.output!r}"
    with _run_folder(config, replicas) as out, distribute.cluster_failures(replicas, resume_hint):
        return _train(config, replicas, out, callbacks)


def _train(config: TrainConfig, replicas: Replicas, out: Path,
           callbacks: Sequence[keras.callbacks.Callback]) -> TrainResult:
    import mlfn_keras
    from mlfn_keras.losses import BatchHardTripletLoss, IdentityCrossEntropy

    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy, chief = replicas.strategy, replicas.is_chief
    verbose = 1 if config.verbose == "auto" else int(config.verbose)
    if not chief:
        verbose = 0  # the chief reports; the others say where they are
        config = dataclasses.replace(config, verbose=0)
        print(f"{replicas.cluster.describe()}: training with the chief; it writes {config.output!r}", flush=True)
    num_instances = config.num_instances if config.triplet_weight > 0 else None

    # What the run is, and where it resumes: every worker must agree.
    image_shape = mlfn_keras.get_preset(config.preset)["image_shape"]
    source = training_source(config, image_shape)
    definition = {**config.definition(), "dataset_fingerprint": source.fingerprint}
    fingerprint = run_fingerprint(definition)
    summary = config.summary()
    distribute.agree_on_run(replicas, definition, config.cluster_timeout)
    backup_dir = out / "checkpoints"
    refusal, planned = None, 0
    if chief:
        try:
            _check_previous_outputs(config, out, fingerprint, summary)
            planned = _resume_point(config, backup_dir, definition, fingerprint, summary)
        except UserError as error:
            refusal, planned = error, -1
    initial_step = int(distribute.broadcast_from_chief(replicas, [planned])[0])
    if refusal is not None:
        raise refusal
    if initial_step < 0:
        raise distribute.ClusterError(f"{replicas.cluster.describe()}: the chief refused to start this run "
                                      "(its output says why); nothing was trained")
    if chief:
        backup_dir.mkdir(parents=True, exist_ok=True)
        write_run_definition(backup_dir / RUN_FILE, definition, summary)

    # A resumed run draws new batches instead of replaying the first ones.
    data = source.pipeline(config.seed + 1000 * initial_step)
    if verbose != 0:
        print(data.summary)

    def to_targets(images, labels):
        # Keras resolves targets for every named output, even loss-free ones.
        return images, {"logits": labels, "embedding": labels}

    dataset = data.dataset.map(to_targets)

    with strategy.scope():
        # The policy goes to the model, not to a process-wide switch: a later
        # model built in this process (an evaluation, a test) stays float32.
        dtype = "mixed_float16" if config.mixed_precision else None
        backbone = mlfn_keras.MLFN.from_preset(config.preset, dtype=dtype)
        model = mlfn_keras.MLFNClassifier(backbone, num_classes=data.num_classes, bnneck=config.bnneck)
        init_report = None
        if config.init_weights:
            init_report = load_init_weights(model, config.init_weights)
            if verbose != 0:
                print(f"init weights from {config.init_weights}: {len(init_report['loaded'])} layers loaded, "
                      f"{len(init_report['shape_mismatch'])} skipped (shape mismatch), "
                      f"{len(init_report['not_in_source'])} left at initialisation (not in the file)")
        losses = {"logits": IdentityCrossEntropy(label_smoothing=config.label_smoothing)}
        loss_weights = {"logits": 1.0}
        if num_instances:
            losses["embedding"] = BatchHardTripletLoss(margin=config.triplet_margin)
            loss_weights["embedding"] = float(config.triplet_weight)
        model.compile(
            optimizer=build_optimizer(config),
            loss=losses,
            loss_weights=loss_weights,
            metrics={"logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]},
            jit_compile=bool(config.xla),
        )
    distribute.prepare_model(model, replicas)

    # fit() in checkpoint intervals ("epochs"); StopAtStep ends it at exactly --steps.
    interval = max(1, min(config.checkpoint_every, config.steps))
    # One spare interval: a fallback to the older checkpoint, and room for steps mixed precision skips
    # (overflowing gradients while the loss scale settles); StopAtStep ends the run at exactly --steps.
    epochs = math.ceil(config.steps / interval) + 1
    if initial_step >= config.steps:
        epochs = initial_step // interval  # killed after its last checkpoint: restore and save, no step more
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    budget = None
    if config.minutes:
        budget = TimeBudget(config.minutes, agree=lambda stop: distribute.stop_together(replicas, stop))

    def give_everyone_the_chiefs_state(m):
        distribute.broadcast_variables(replicas, list(m.variables) + list(m.optimizer.variables))

    backup = backup_callback(backup_dir, run=fingerprint, writes=chief, resume_epoch=False,
                             after_restore=give_everyone_the_chiefs_state)
    all_callbacks = [*callbacks, _AverageStatistics(replicas), backup, StopAtStep(config.steps), keras.callbacks.TerminateOnNaN()]
    if budget is not None:
        all_callbacks.append(budget)
    if chief:
        all_callbacks.append(_StepInLogs())
        all_callbacks.append(keras.callbacks.CSVLogger(str(logs / "train.csv"), append=True))
        try:
            import tensorboard  # noqa: F401  (tf.summary needs it)

            all_callbacks.append(keras.callbacks.TensorBoard(str(logs / "tensorboard"), update_freq="epoch",
                                                             write_graph=False))
        except ImportError:
            logger.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
    if verbose != 0:
        all_callbacks.append(StepProgress(config.steps, initial_step,
                                          deadline=budget.deadline if budget is not None else None,
                                          lines=verbose == 2))

    start = time.monotonic()
    history = model.fit(dataset, epochs=epochs, initial_epoch=initial_step // interval,
                        steps_per_epoch=interval, callbacks=all_callbacks, shuffle=False, verbose=0)
    seconds = time.monotonic() - start
    steps_done = int(model.optimizer.iterations.numpy())
    stopped_by_time = bool(budget is not None and budget.stopped and steps_done < config.steps)
    finished = steps_done >= config.steps
    restored = backup.restored
    initial_step = restored.step if restored is not None and restored.step is not None else initial_step

    model_path = out / "model.keras"
    config_path = out / "train_config.json"
    classifier_path = out / "classifier.keras" if config.save_classifier else None
    hist = {k: [float(np.mean(v)) for v in vals] for k, vals in history.history.items()}
    if chief:
        _save_model(backbone, model_path)
        if classifier_path is not None:
            _save_model(model, classifier_path)
        record = {
            "config": dataclasses.asdict(config),
            "run_fingerprint": fingerprint,
            "dataset_fingerprint": data.fingerprint,
            "num_classes": data.num_classes,
            "skipped_images": data.skipped_images,
            "steps": steps_done,
            "initial_step": initial_step,
            "seconds": round(seconds, 2),
            "stopped_by_time": stopped_by_time,
            "finished": finished,
            "num_replicas": replicas.num_replicas,
            "num_workers": replicas.num_workers,
            "per_replica_batch": config.batch_size // replicas.num_replicas,
            "init_weights_report": None if init_report is None else {k: len(v) for k, v in init_report.items()},
            "final_metrics": {k: v[-1] for k, v in hist.items() if v},
            "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                         "keras": keras.__version__, "numpy": np.__version__,
                         "mlfn_keras": mlfn_keras.__version__},
            "command": sys.argv,
        }
        write_json(config_path, record, default=str)
        if finished:
            # A finished run needs no resume; a new run in this folder starts afresh.
            clear_checkpoints(backup_dir)
    return TrainResult(
        output=str(out), model_path=str(model_path), config_path=str(config_path),
        classifier_path=None if classifier_path is None else str(classifier_path),
        steps=steps_done, initial_step=initial_step, seconds=seconds,
        stopped_by_time=stopped_by_time, history=hist, num_classes=data.num_classes,
        dataset_fingerprint=data.fingerprint, skipped_images=data.skipped_images,
        num_replicas=replicas.num_replicas, finished=finished, is_chief=chief,
    )


class _AverageStatistics(keras.callbacks.Callback):
    """Averages BatchNorm's moving statistics over the replicas before each checkpoint (and at the end)."""

    def __init__(self, replicas: Replicas):
        super().__init__()
        self.replicas = replicas

    def on_epoch_end(self, epoch, logs=None):
        stats = [v for v in self.model.non_trainable_variables if "float" in str(v.dtype)]
        distribute.average_across_replicas(self.replicas, stats)


class _StepInLogs(keras.callbacks.Callback):
    """Adds the optimizer step to each interval's logs (the CSV's ``step`` column; epochs are intervals)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["step"] = int(self.model.optimizer.iterations.numpy())


def _check_precision(config: TrainConfig, replicas: Replicas) -> None:
    """Refuses settings that cannot train under the strategy, before any data is read.

    ``--mixed-precision`` works on one device (also on CPU, slowly); over
    several CPU devices the loss became NaN after the first step, and with
    several workers the first step never completed in our runs, so both are
    refused. Several GPUs are not refused (untested here: no GPU).
    ``--xla`` works on one device; with several replicas Keras 3.15 compiles
    the whole distributed step as one XLA program, which fails (a variable on
    another device, keras-team/keras#19005; on CPU, a collective XLA cannot
    compile, then a crash), so it is refused with the way out.
    """
    if config.mixed_precision and replicas.num_workers > 1:
        raise UserError(
            "--mixed-precision with several workers does not train on this TensorFlow (2.21) and Keras (3.15): "
            "the first step never completed in our multi-worker runs; train multi-worker runs in float32 (drop "
            "--mixed-precision), or use mixed precision on one machine (--strategy mirrored or default)")
    if (config.mixed_precision and replicas.num_replicas > 1
            and all("CPU" in d.upper() for d in replicas.strategy.extended.worker_devices)):
        raise UserError(
            f"--mixed-precision over {replicas.num_replicas} CPU devices does not train on this TensorFlow (2.21) "
            "and Keras (3.15): the loss becomes NaN after the first step in our runs (one CPU device trains); "
            "use mixed precision on GPUs or on one device (--strategy default), or drop --mixed-precision")
    if config.xla and replicas.num_replicas > 1:
        raise UserError(
            f"--xla works on one device; this run has {replicas.num_replicas} replicas, and Keras 3.15 cannot "
            "compile a train step that spans several devices or workers with XLA; drop --xla (mixed precision "
            "still works), or train on one device with --strategy default --xla")


def _save_model(model, path: Path) -> None:
    """Saves a Keras model atomically (a kill leaves the previous file or the new one)."""
    with atomic_output(path) as tmp:
        model.save(tmp)
