"""Data wiring for training: a data set name and root to a batched ``tf.data`` pipeline."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import tensorflow as tf

from mlfn_keras.training.recipes import TrainConfig

__all__ = ["TrainingData", "training_data"]


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


def training_data(config: TrainConfig, image_shape, seed: int) -> TrainingData:
    """The training pipeline of a resolved config.

    Args:
        config: A resolved :class:`TrainConfig`.
        image_shape: ``(height, width, channels)`` of the preset.
        seed: Seed of the data order (a resumed run passes a new one).
    """
    if config.dataset == "cifar100":
        return _cifar_data(config, seed)
    return _reid_data(config, image_shape, seed)


def _reid_data(config: TrainConfig, image_shape, seed: int) -> TrainingData:
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
    return TrainingData(data.dataset, data.num_classes, dataset.fingerprint(), len(data.skipped), dataset.summary())


def _cifar_data(config: TrainConfig, seed: int) -> TrainingData:
    from mlfn_keras.data.cifar100 import load_cifar100
    from mlfn_keras.data.pipeline import make_cifar_dataset

    if config.data_root is None:
        raise ValueError("--dataset cifar100 needs --data-root (cifar-100-python.tar.gz or its folder)")
    data = load_cifar100(config.data_root)
    digest = hashlib.sha256(data.x_train.tobytes()[:1 << 20] + data.y_train.tobytes()).hexdigest()
    return TrainingData(make_cifar_dataset(data.x_train, data.y_train, config.batch_size, seed=seed), 100, digest, 0,
                        f"cifar100: {len(data.x_train)} train / {len(data.x_test)} test images")
