"""Data: re-id data set readers, generated identities and the tf.data pipeline.

* :mod:`mlfn_keras.data.synthetic` draws identities and writes Market-1501-layout folders;
* :func:`load_dataset` reads Market-1501, DukeMTMC-reID, CUHK03 (767/700),
  MSMT17 or generated identities into a :class:`ReidDataset`;
* :func:`load_cifar100` reads CIFAR-100;
* :mod:`mlfn_keras.data.pipeline` (TensorFlow) turns records into batches.
"""

from mlfn_keras.data.cifar100 import Cifar100, load_cifar100
from mlfn_keras.data.cuhk03 import load_cuhk03
from mlfn_keras.data.dataset import DatasetNotFoundError, ImageRecord, ReidDataset
from mlfn_keras.data.dukemtmc import load_dukemtmc_reid
from mlfn_keras.data.market1501 import load_market1501, read_market_layout
from mlfn_keras.data.msmt17 import load_msmt17
from mlfn_keras.data.registry import (
    DATASETS,
    DatasetSpec,
    dataset_names,
    dataset_title,
    get_dataset,
    load_dataset,
    register_dataset,
    synthetic_dataset,
)

__all__ = [
    "DATASETS",
    "Cifar100",
    "DatasetSpec",
    "DatasetNotFoundError",
    "ImageRecord",
    "ReidDataset",
    "dataset_names",
    "dataset_title",
    "get_dataset",
    "load_cifar100",
    "load_cuhk03",
    "load_dataset",
    "load_dukemtmc_reid",
    "load_market1501",
    "load_msmt17",
    "read_market_layout",
    "register_dataset",
    "synthetic_dataset",
]
