"""Training on several devices and several machines with ``tf.distribute``.

One home for everything a strategy changes about a run:

* :class:`Cluster` — the workers of a multi-machine run, from
  ``--workers host:port,... --worker-index i`` or from ``TF_CONFIG``;
* :func:`make_strategy` — the strategy (``default``, ``mirrored`` over local
  GPUs or logical CPUs, ``multiworker``), with a bounded wait for the cluster
  to form and a SIGTERM that ends the process;
* :class:`Replicas` — where this process stands (chief or not, replicas in
  sync) and the batch rule: ``--batch-size`` is the **global** batch, split
  evenly over the replicas (P×K batches stay whole identities per replica),
  and the learning rate is the one for that global batch, whatever the
  number of devices;
* :func:`agree_on_run` and :func:`broadcast_from_chief` — collectives that
  refuse a worker started with another configuration and give every worker
  the chief's resumed state;
* :func:`prepare_model` — two fixes Keras 3.15 needs to ``fit`` under
  ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585);
* :func:`cluster_failures` — a lost worker becomes one clear message.

Only the chief writes into ``--output``; the other workers keep nothing
(their logs go to a temporary folder that is removed) and receive the
chief's checkpoint through :func:`broadcast_from_chief`, so ``--output`` need
not be on a shared file system.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from mlfn_keras.errors import UserError

__all__ = ["Cluster", "ClusterError", "Replicas", "agree_on_run", "broadcast_from_chief", "broadcast_variables",
           "average_across_replicas",
           "cluster_failures", "resolve_cluster",
           "make_strategy", "prepare_model", "stop_together"]

logger = logging.getLogger(__name__)

#: Seconds without a heartbeat after which a worker counts as lost (long enough for a loaded machine).
HEARTBEAT_TIMEOUT_S = 30


class ClusterError(UserError):
    """A multi-worker run cannot go on: a worker is lost, differs from the chief, or never joined."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The workers of a multi-machine run.

    Attributes:
        workers: ``host:port`` of every worker, the chief (index 0) first. The
            list is the same on every machine.
        index: This process's place in ``workers``.
    """

    workers: tuple[str, ...]
    index: int

    @classmethod
    def from_flags(cls, workers: str | Sequence[str], index: int | None) -> "Cluster":
        """``--workers host:port,host:port --worker-index i``.

        Raises:
            UserError: a malformed address, a repeated one, or an index outside the list.
        """
        items = [w.strip() for w in (workers.split(",") if isinstance(workers, str) else workers) if w.strip()]
        if not items:
            raise UserError(f"--workers got {workers!r}; expected host:port,host:port (the chief first)")
        for item in items:
            host, _, port = item.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise UserError(f"--workers got {item!r}; expected host:port with a port from 1 to 65535")
        if len(set(items)) != len(items):
            raise UserError(f"--workers lists an address twice ({','.join(items)}); each worker needs its own port")
        if index is None:
            raise UserError("--workers needs --worker-index (0 for the chief, 1.. for the others, in list order)")
        if not 0 <= index < len(items):
            raise UserError(f"--worker-index got {index}; expected 0 to {len(items) - 1} for {len(items)} workers")
        return cls(tuple(items), int(index))

    @classmethod
    def from_tf_config(cls, text: str) -> "Cluster":
        """A cluster from ``TF_CONFIG`` (``{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}``).

        A ``chief`` job, if listed, becomes index 0 and the workers follow.

        Raises:
            UserError: ``TF_CONFIG`` is not such a JSON object.
        """
        try:
            spec = json.loads(text)
            jobs = spec["cluster"]
            task_type, task_index = spec["task"]["type"], int(spec["task"]["index"])
            chief, workers = list(jobs.get("chief", [])), list(jobs.get("worker", []))
        except (ValueError, KeyError, TypeError) as error:
            raise UserError(f"TF_CONFIG is not a cluster description ({error}); expected "
                            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}') \
                from None
        if task_type not in ("chief", "worker"):
            raise UserError(f"TF_CONFIG task type {task_type!r} is not supported; expected worker (or chief)")
        index = task_index if task_type == "chief" else len(chief) + task_index
        return cls.from_flags(chief + workers, index)

    @property
    def is_chief(self) -> bool:
        """Whether this process is worker 0, the one that writes the outputs."""
        return self.index == 0

    def tf_config(self) -> str:
        """The ``TF_CONFIG`` TensorFlow reads (every worker in one ``worker`` job)."""
        return json.dumps({"cluster": {"worker": list(self.workers)}, "task": {"type": "worker", "index": self.index}})

    def describe(self) -> str:
        """``worker 1 of 2 (127.0.0.1:2223; chief 127.0.0.1:2222)``."""
        role = "the chief" if self.is_chief else f"chief {self.workers[0]}"
        return f"worker {self.index} of {len(self.workers)} ({self.workers[self.index]}; {role})"


def resolve_cluster(workers: str | None, worker_index: int | None) -> Cluster | None:
    """The cluster of a run: ``--workers``/``--worker-index``, else ``TF_CONFIG``, else none.

    Raises:
        UserError: both ``--workers`` and ``TF_CONFIG`` are given, or either is malformed.
    """
    env = os.environ.get("TF_CONFIG", "").strip()
    if workers:
        if env:
            raise UserError("both --workers and TF_CONFIG are set; expected one of them (unset TF_CONFIG)")
        return Cluster.from_flags(workers, worker_index)
    if worker_index is not None:
        raise UserError("--worker-index needs --workers host:port,host:port (the same list on every worker)")
    return Cluster.from_tf_config(env) if env else None


@dataclasses.dataclass(frozen=True)
class Replicas:
    """Where this process stands in a strategy.

    Attributes:
        strategy: The ``tf.distribute`` strategy.
        num_replicas: Replicas in sync (devices over all workers).
        cluster: The workers of a multi-worker run (``None`` on one machine).
    """

    strategy: tf.distribute.Strategy
    num_replicas: int
    cluster: Cluster | None = None

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the outputs (always, on one machine)."""
        return self.cluster is None or self.cluster.is_chief

    @property
    def num_workers(self) -> int:
        """Processes that train together."""
        return 1 if self.cluster is None else len(self.cluster.workers)

    def per_replica_batch(self, batch_size: int, num_instances: int | None = None) -> int:
        """Images each replica sees per step: the global ``batch_size`` split evenly.

        Args:
            batch_size: The global batch (``--batch-size``).
            num_instances: K of P×K batches, or ``None`` for shuffled batches.

        Raises:
            UserError: the batch does not split evenly, or a replica's share
                holds fewer than two whole identities (no triplet negatives).
        """
        replicas = self.num_replicas
        if batch_size % replicas:
            raise UserError(f"--batch-size {batch_size} does not split over {replicas} replicas; expected a "
                            f"multiple of {replicas} (--batch-size is the global batch over all devices)")
        share = batch_size // replicas
        if num_instances:
            if share % num_instances or share // num_instances < 2:
                need = 2 * num_instances * replicas
                raise UserError(
                    f"--batch-size {batch_size} over {replicas} replicas gives {share} images per replica; P×K "
                    f"batches need a multiple of --num-instances {num_instances} with at least 2 identities per "
                    f"replica (e.g. --batch-size {need} or a multiple of it)")
        return share


def _free_sigterm() -> None:
    # TensorFlow's preemption notifier swallows SIGTERM once a cluster is
    # configured, so `kill` or `timeout` would leave the worker running; give
    # SIGTERM its default meaning back (checkpoints are atomic).
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _StartupWatchdog:
    """Ends the process with one message when the cluster has not formed in time.

    TensorFlow waits forever for a worker that never starts; there is nothing
    to clean up before training, so the watchdog exits the process (code 2).
    """

    def __init__(self, cluster: Cluster, timeout_s: float):
        self.cluster, self.timeout_s = cluster, timeout_s
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        others = [w for i, w in enumerate(self.cluster.workers) if i != self.cluster.index]
        print(f"mlfn-train: error: {self.cluster.describe()} waited {self.timeout_s:.0f} s for the other workers "
              f"({', '.join(others)}) and they did not all join; start the same command on every worker with its "
              "own --worker-index, and check the addresses (--cluster-timeout sets the wait)",
              file=sys.stderr, flush=True)
        os._exit(2)

    def __enter__(self) -> "_StartupWatchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()


def _configure_coordination(cluster: Cluster) -> None:
    # Heartbeats find a lost worker in seconds instead of the default minutes.
    # TensorFlow 2.21 only applies its own defaults when nothing is configured.
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context

    if context.context().coordination_service is not None:
        return
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader="/job:worker/replica:0/task:0",
        heartbeat_timeout_in_ms=HEARTBEAT_TIMEOUT_S * 1000,
        shutdown_barrier_timeout_in_ms=HEARTBEAT_TIMEOUT_S * 3000,
        coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name="worker", num_tasks=len(cluster.workers))],
    )


def make_strategy(name: str, cluster: Cluster | None = None, cluster_timeout: float = 300.0) -> Replicas:
    """The strategy called ``name`` and this process's place in it.

    Args:
        name: ``auto`` (multiworker with a cluster, mirrored with several
            GPUs, else default), ``default``, ``mirrored`` (local GPUs, or the
            logical CPU devices where there is no GPU) or ``multiworker``.
        cluster: The workers, for ``multiworker`` (see :func:`resolve_cluster`).
        cluster_timeout: Seconds to wait for every worker to join before the
            process gives up with a message.

    Raises:
        UserError: an unknown name, or ``multiworker`` without a cluster.
    """
    if name == "auto":
        if cluster is not None:
            name = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        if cluster is not None and len(cluster.workers) > 1:
            raise UserError(f"--strategy default trains on one machine; {len(cluster.workers)} workers were given "
                            "(expected --strategy multiworker or auto)")
        strategy = tf.distribute.get_strategy()
        return Replicas(strategy, 1)
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        # Without GPUs, mirror over the logical CPU devices (how tests and
        # CPU-only machines exercise the distributed path).
        devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        return Replicas(strategy, int(strategy.num_replicas_in_sync))
    if name == "multiworker":
        if cluster is None:
            raise UserError("--strategy multiworker needs the workers: --workers host:port,host:port "
                            "--worker-index i (or TF_CONFIG)")
        os.environ["TF_CONFIG"] = cluster.tf_config()
        _configure_coordination(cluster)
        with _StartupWatchdog(cluster, cluster_timeout):
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _free_sigterm()
        return Replicas(strategy, int(strategy.num_replicas_in_sync), cluster)
    raise UserError(f"--strategy must be auto, default, mirrored or multiworker; received {name!r}")


def _field_codes(fields: Mapping[str, Any]) -> list[int]:
    # 20 bits: sums of squares over many workers stay exact in float64.
    return [int.from_bytes(hashlib.sha256(json.dumps(v, sort_keys=True, default=str).encode()).digest()[:4], "big")
            & 0xFFFFF for v in fields.values()]


_REDUCERS: dict[tuple, Any] = {}


def _all_reduce(replicas: Replicas, value: Any, op: str, first_replica_only: bool = False) -> tf.Tensor:
    """``op`` (``SUM`` or ``MEAN``, all ``tf.distribute`` offers) of ``value`` over every worker, as float64.

    With ``first_replica_only`` only replica 0 (the chief's first device)
    contributes, so a ``SUM`` hands the chief's value to everyone.
    """
    strategy = replicas.strategy
    key = (id(strategy), op, first_replica_only)
    if key not in _REDUCERS:
        @tf.function(reduce_retracing=True)
        def reduce(tensor):
            def per_replica(t):
                if not first_replica_only:
                    return tf.identity(t)
                first = tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group, 0)
                return tf.where(first, t, tf.zeros_like(t))

            return strategy.reduce(op, strategy.run(per_replica, args=(tensor,)), axis=None)

        _REDUCERS[key] = reduce
    return _REDUCERS[key](tf.cast(tf.convert_to_tensor(value), tf.float64))


def agree_on_run(replicas: Replicas, fields: Mapping[str, Any], timeout_s: float = 300.0) -> None:
    """Refuses to go on unless every worker was started with the same run definition.

    Each field is hashed; a collective compares the hashes of all workers, so
    the message can name the fields that differ. The first collective is
    also where the cluster forms, hence the bounded wait.

    Args:
        replicas: The strategy (a no-op on one machine).
        fields: What defines the run (preset, data fingerprint, batch, steps...).
        timeout_s: Seconds to wait for every worker.

    Raises:
        ClusterError: some field differs between this worker and another one.
    """
    if replicas.num_workers < 2:
        return
    # With only sums: every worker's code c equals all the others' exactly when
    # sum((x - c)^2) = Q - 2cS + n c^2 is 0 (S, Q: sums of codes and squares).
    codes = np.asarray(_field_codes(fields), np.float64)
    with _StartupWatchdog(replicas.cluster, timeout_s):
        sums = _all_reduce(replicas, np.stack([codes, codes ** 2]), "SUM").numpy()
    n = float(replicas.num_replicas)
    spread = sums[1] - 2 * codes * sums[0] + n * codes ** 2
    differ = [name for name, d in zip(fields, spread) if d != 0]
    if differ:
        raise ClusterError(
            f"{replicas.cluster.describe()} was started with another configuration than the other workers "
            f"(different {', '.join(differ)}); expected the same training arguments and data on every worker; "
            "nothing was trained")


def broadcast_from_chief(replicas: Replicas, values: Sequence[float]) -> list[float]:
    """The chief's numbers on every worker (the numbers themselves on one machine)."""
    if replicas.num_workers < 2:
        return list(values)
    return [float(x) for x in _all_reduce(replicas, list(values), "SUM", first_replica_only=True).numpy()]


def broadcast_variables(replicas: Replicas, variables: Sequence[Any]) -> None:
    """Gives every worker the chief's value of each variable (a resumed checkpoint), one collective per dtype."""
    if replicas.num_workers < 2 or not variables:
        return
    by_dtype: dict[str, list[Any]] = {}
    for v in variables:
        by_dtype.setdefault(tf.as_dtype(v.dtype).name, []).append(v)
    for group in by_dtype.values():
        dtype = tf.as_dtype(group[0].dtype)
        flat = tf.concat([tf.reshape(tf.cast(tf.convert_to_tensor(v), tf.float64), [-1]) for v in group], 0)
        summed = _all_reduce(replicas, flat, "SUM", first_replica_only=True)
        offset = 0
        for v in group:
            shape = tuple(v.shape)
            size = int(np.prod(shape, dtype=np.int64))
            v.assign(tf.cast(tf.reshape(summed[offset:offset + size], shape), dtype))
            offset += size


def average_across_replicas(replicas: Replicas, variables: Sequence[Any]) -> None:
    """Sets each variable to its mean over all replicas (BatchNorm moving statistics).

    Each replica updates the moving mean and variance of batch normalisation
    from its own share of the batch, so they drift apart; averaging them at
    every checkpoint keeps every worker's model the same and gives the saved
    model statistics of the whole data rather than of the chief's share.
    """
    if replicas.num_replicas < 2 or not variables:
        return
    strategy = replicas.strategy
    shapes = [tuple(v.shape) for v in variables]
    sizes = [int(np.prod(shape, dtype=np.int64)) for shape in shapes]

    @tf.function
    def mean_over_replicas():
        def local():  # in replica context a variable reads as this replica's copy
            return tf.concat([tf.reshape(tf.cast(v.value, tf.float32), [-1]) for v in variables], 0)

        return strategy.reduce("MEAN", strategy.run(local), axis=None)

    flat = mean_over_replicas()
    for v, part, shape in zip(variables, tf.split(flat, sizes), shapes):
        v.assign(tf.cast(tf.reshape(part, shape), v.dtype))


def stop_together(replicas: Replicas, stop: bool) -> bool:
    """Whether any worker wants to stop (every worker gets the same answer)."""
    if replicas.num_workers < 2:
        return stop
    return bool(_all_reduce(replicas, 1.0 if stop else 0.0, "SUM").numpy() > 0)


def prepare_model(model, replicas: Replicas) -> None:
    """Lets ``model.fit`` run under ``MultiWorkerMirroredStrategy`` (Keras 3.15, keras-team/keras#20585).

    * Keras builds the model from the first batch by *averaging* it across
      workers with ``strategy.reduce`` — a collective that fails on nested
      batches ("PerReplica ... to a Tensor") and would move a whole batch
      between machines. The first local replica's batch has the same shapes.
    * Keras averages each step's scalar logs across workers with
      ``reduce(..., axis=0)``, which fails on scalars; the logs are given a
      batch axis of one so that average is the mean over replicas.

    On one machine nothing changes.
    """
    if replicas.num_workers < 2:
        return
    from keras.src import tree

    strategy = replicas.strategy

    def symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues) else v, batch)
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    train_step = model.train_step

    def train_step_with_batch_axis(data):
        logs = train_step(data)
        return {k: tf.reshape(v, [1]) if len(v.shape) == 0 else v for k, v in logs.items()}

    model._maybe_symbolic_build = symbolic_build
    model.train_step = train_step_with_batch_axis


_LOST = (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError,
         tf.errors.FailedPreconditionError, tf.errors.AbortedError, tf.errors.InternalError)


@contextlib.contextmanager
def cluster_failures(replicas: Replicas, resume_hint: str = "") -> Iterator[None]:
    """Turns a lost worker during training into one :class:`ClusterError` line.

    Args:
        replicas: The strategy (on one machine errors pass through unchanged).
        resume_hint: What a rerun resumes from, for the message.
    """
    if replicas.num_workers < 2:
        yield
        return
    try:
        yield
    except _LOST as error:
        text = str(error)
        cluster = replicas.cluster
        named = {int(i) for i in re.findall(r"task:(\d+)", text)}
        named |= {i for i, w in enumerate(cluster.workers) if w.rpartition(":")[2] in text and w in text}
        lost = sorted(i for i in named if i != cluster.index and i < len(cluster.workers))
        who = ("worker " + ", ".join(f"{i} ({cluster.workers[i]})" for i in lost)) if lost else "another worker"
        raise ClusterError(
            f"{replicas.cluster.describe()} stops: {who} of the cluster was lost "
            f"({_first_line(text)}); run every worker's command again to resume{resume_hint}") from error


def _first_line(text: str) -> str:
    if "heartbeat" in text or "unhealthy" in text:
        return "it stopped sending heartbeats"
    lowered = text.lower()
    if any(k in lowered for k in ("failed to connect", "connection refused", "connection reset", "socket closed",
                                  "collective ops is aborted")):
        return "it no longer answers"
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Graph execution error", "Detected at node", "File ")):
            return line[:160]
    return "no details"
