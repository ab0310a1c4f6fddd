"""Data wiring for training: a data set name and root to a batched ``tf.data`` pipeline.

Two steps, because a multi-worker run must agree on *which* data before it
builds the pipeline (whose order depends on the step it resumes from):
:func:`training_source` reads the data set and its fingerprint;
:meth:`TrainingSource.pipeline` builds the batches.

Batches are **global** batches (``--batch-size`` images); a strategy splits
each one evenly over the replicas in order, and each worker keeps its share
(``AutoShardPolicy.DATA`` in :mod:`mlfn_keras.data.pipeline`). Every worker
builds the same global sequence from the same seed, so over one step the
workers see different images that together make the global batch; P×K
batches are laid out identity by identity, so each replica's share is whole
identities (checked by :meth:`~mlfn_keras.training.distribute.Replicas.per_replica_batch`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Callable

import tensorflow as tf

from mlfn_keras.training.recipes import TrainConfig

__all__ = ["TrainingData", "TrainingSource", "training_data", "training_source"]


@dataclasses.dataclass
class TrainingData:
    """A training pipeline and what the run records about it.

    Attributes:
        dataset: Batches of ``(images, labels)``.
        num_classes: Training identities (classes).
        fingerprint: Digest of the data the run trained on.
        skipped_images: Training images left out because they failed to decode.
        summary: One line describing the data set.
    """

    dataset: tf.data.Dataset
    num_classes: int
    fingerprint: str
    skipped_images: int
    summary: str


@dataclasses.dataclass
class TrainingSource:
    """A data set read and fingerprinted, not yet a pipeline.

    Attributes:
        fingerprint: Digest of the data (what a run records and workers compare).
        summary: One line (or a small table) describing the data set.
        build: ``build(seed) -> TrainingData``.
    """

    fingerprint: str
    summary: str
    build: Callable[[int], TrainingData]

    def pipeline(self, seed: int) -> TrainingData:
        """The batches, in the order of ``seed`` (a resumed run passes a new one)."""
        return self.build(seed)


def training_source(config: TrainConfig, image_shape) -> TrainingSource:
    """Reads the data set of a resolved config.

    The batches keep the seeded element order through parallel decoding: the
    same seed gives the same batches on every run and every worker (several
    workers must build the same global batches to split them).

    Args:
        config: A resolved :class:`TrainConfig`.
        image_shape: ``(height, width, channels)`` of the preset.
    """
    if config.dataset == "cifar100":
        return _cifar_source(config)
    return _reid_source(config, image_shape)


def training_data(config: TrainConfig, image_shape, seed: int) -> TrainingData:
    """The training pipeline of a resolved config (:func:`training_source` then its pipeline).

    Args:
        config: A resolved :class:`TrainConfig`.
        image_shape: ``(height, width, channels)`` of the preset.
        seed: Seed of the data order (a resumed run passes a new one).
    """
    return training_source(config, image_shape).pipeline(seed)


def _reid_source(config: TrainConfig, image_shape) -> TrainingSource:
    from mlfn_keras.data import load_dataset
    from mlfn_keras.data.pipeline import make_train_dataset

    if config.dataset == "synthetic":
        options: dict[str, Any] = {"height": image_shape[0], "width": image_shape[1], **config.synthetic}
        if config.data_root and (Path(config.data_root) / "meta.json").exists() and not config.synthetic:
            # A folder made by `mlfn-synthetic` is used as generated, whatever
            # its crop size (the pipeline resizes to the preset's input).
            options = {}
        dataset = load_dataset("synthetic", config.data_root, progress=config.verbose != 0, **options)
    else:
        dataset = load_dataset(config.dataset, config.data_root)
    paths, labels, _ = dataset.train_labels()
    fingerprint, summary = dataset.fingerprint(), dataset.summary()

    def build(seed: int) -> TrainingData:
        data = make_train_dataset(
            paths, labels, image_shape, config.batch_size,
            num_instances=config.num_instances if config.triplet_weight > 0 else None,
            flip=config.flip, random_erasing_prob=config.random_erasing, seed=seed,
            deterministic=True, progress=config.verbose != 0,
        )
        return TrainingData(data.dataset, data.num_classes, fingerprint, len(data.skipped), summary)

    return TrainingSource(fingerprint, summary, build)


def _cifar_source(config: TrainConfig) -> TrainingSource:
    from mlfn_keras.data.cifar100 import load_cifar100
    from mlfn_keras.data.pipeline import make_cifar_dataset

    if config.data_root is None:
        raise ValueError("--dataset cifar100 needs --data-root (cifar-100-python.tar.gz or its folder)")
    data = load_cifar100(config.data_root)
    digest = hashlib.sha256(data.x_train.tobytes()[:1 << 20] + data.y_train.tobytes()).hexdigest()
    summary = f"cifar100: {len(data.x_train)} train / {len(data.x_test)} test images"

    def build(seed: int) -> TrainingData:
        batches = make_cifar_dataset(data.x_train, data.y_train, config.batch_size, seed=seed)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return TrainingData(batches.with_options(options), 100, digest, 0, summary)

    return TrainingSource(digest, summary, build)
