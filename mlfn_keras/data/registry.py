"""The one registry of re-id data sets: name, title, loader, aliases, registered once.

Training (``mlfn-train --dataset``), evaluation (``mlfn-eval --dataset``,
`mlfn_keras.evaluation.splits.load_eval_split`), the analyses and the
reports all look data sets up here, the way keras-hub registers presets and
tf-models registers builders: a new data set is one :func:`register_dataset`
call.

``load_dataset("market1501", "/data/Market-1501-v15.09.15")`` returns a
:class:`~mlfn_keras.data.dataset.ReidDataset`; ``"synthetic"`` generates the
project's identities into a cache folder on first use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from mlfn_keras.cache import cache_root
from mlfn_keras.data.cuhk03 import load_cuhk03
from mlfn_keras.data.dataset import ReidDataset
from mlfn_keras.data.dukemtmc import load_dukemtmc_reid
from mlfn_keras.data.market1501 import load_market1501, read_market_layout
from mlfn_keras.data.msmt17 import load_msmt17
from mlfn_keras.errors import UserError

__all__ = [
    "DATASETS",
    "DatasetRootError",
    "DatasetSpec",
    "UnknownDatasetError",
    "cache_dir",
    "dataset_names",
    "dataset_title",
    "get_dataset",
    "load_dataset",
    "register_dataset",
    "synthetic_dataset",
]

#: Default size of ``load_dataset("synthetic")``: enough identities to learn
#: view invariance on a CPU in minutes.
SYNTHETIC_DEFAULTS: dict[str, Any] = dict(
    num_identities=300, num_cameras=4, images_per_identity_camera=4, num_train_identities=None,
    seed=0, height=256, width=128,
)


def cache_dir() -> Path:
    """``$MLFN_KERAS_CACHE`` or ``~/.cache/mlfn_keras``."""
    return cache_root()


def synthetic_dataset(root: str | Path | None = None, progress: bool = True, **generate_kwargs: Any) -> ReidDataset:
    """Generated identities, written once then reused.

    Args:
        root: Folder to generate into (or read from). Defaults to
            ``cache_dir()/synthetic/<hash of the settings>``.
        progress: Progress bar while generating.
        **generate_kwargs: Overrides of :data:`SYNTHETIC_DEFAULTS`, passed to
            :func:`mlfn_keras.data.synthetic.generate_market_layout`.

    Returns:
        The data set, named ``"synthetic"``.
    """
    from mlfn_keras.data.synthetic import generate_market_layout

    settings = {**SYNTHETIC_DEFAULTS, **generate_kwargs}
    if root is None:
        key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
        root = cache_dir() / "synthetic" / key
    root = Path(root)
    if (root / "meta.json").exists() and not generate_kwargs:
        pass  # an existing generated folder given explicitly: read as is
    else:
        generate_market_layout(root, progress=progress, **settings)
    return read_market_layout(root, "synthetic")


def _load_cuhk03_labeled(root: str | Path, **kwargs: Any) -> ReidDataset:
    return load_cuhk03(root, labeled=True, **kwargs)


class UnknownDatasetError(UserError, ValueError):
    """A data set name that is not registered."""


class DatasetRootError(UserError, ValueError):
    """A real data set was asked for without the folder it lives in."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One registered data set.

    Attributes:
        name: Canonical name (what ``train_config.json`` and reports record).
        title: How tables and plots name it (the paper's spelling).
        loader: ``loader(root, **options) -> ReidDataset``.
        aliases: Other accepted spellings (e.g. ``cuhk03_detected``).
        generated: The project generates it (``root`` is optional; a missing
            folder is generated rather than an error).
    """

    name: str
    title: str
    loader: Callable[..., ReidDataset]
    aliases: tuple[str, ...] = ()
    generated: bool = False


#: Canonical name -> :class:`DatasetSpec`, in registration order.
DATASETS: dict[str, DatasetSpec] = {}
_ALIASES: dict[str, str] = {}


def _key(name: str) -> str:
    # "Market-1501", "market1501", "DukeMTMC-reID", "dukemtmc_reid": one key each.
    return str(name).lower().replace("-", "").replace("_", "")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Adds a data set to the registry.

    Raises:
        ValueError: If the name or an alias is already taken.
    """
    keys = [_key(spec.name), *(_key(a) for a in spec.aliases)]
    taken = [k for k in keys if k in _ALIASES]
    if taken:
        raise ValueError(f"dataset name(s) {taken} already registered")
    DATASETS[spec.name] = spec
    for k in keys:
        _ALIASES[k] = spec.name
    return spec


def get_dataset(name: str) -> DatasetSpec:
    """The registered data set called ``name`` (case, ``-`` and aliases tolerated).

    Raises:
        UnknownDatasetError: If no data set has that name.
    """
    canonical = _ALIASES.get(_key(name))
    if canonical is None:
        raise UnknownDatasetError(f"unknown dataset {name!r}; expected one of {', '.join(dataset_names())}")
    return DATASETS[canonical]


def dataset_names(aliases: bool = True) -> tuple[str, ...]:
    """Names a command line accepts (canonical names, then aliases)."""
    names = list(DATASETS)
    if aliases:
        names += [a for spec in DATASETS.values() for a in spec.aliases]
    return tuple(names)


def dataset_title(name: str) -> str:
    """Display title of a data set (the name itself when it is not registered)."""
    try:
        spec = get_dataset(name)
    except UnknownDatasetError:
        return str(name)
    return spec.title


for _spec in (
    DatasetSpec("market1501", "Market-1501", load_market1501),
    DatasetSpec("dukemtmcreid", "DukeMTMC-reID", load_dukemtmc_reid),
    DatasetSpec("cuhk03", "CUHK03 Detected", load_cuhk03, aliases=("cuhk03_detected",)),
    DatasetSpec("cuhk03_labeled", "CUHK03 Labelled", _load_cuhk03_labeled),
    DatasetSpec("msmt17", "MSMT17", load_msmt17),
    DatasetSpec("synthetic", "Synthetic", synthetic_dataset, generated=True),
):
    register_dataset(_spec)


def load_dataset(name: str, root: str | Path | None = None, **kwargs: Any) -> ReidDataset:
    """Loads a re-id data set by name.

    Args:
        name: A registered name or alias (``market1501``, ``dukemtmcreid``,
            ``cuhk03`` / ``cuhk03_detected``, ``cuhk03_labeled``, ``msmt17``,
            ``synthetic``).
        root: Where the data is; optional only for generated data sets.
        **kwargs: Reader options.

    Returns:
        The data set.

    Raises:
        UnknownDatasetError: Unknown name (a ``ValueError``).
        DatasetRootError: No root for a real data set (a ``ValueError``).
        DatasetNotFoundError: Missing or malformed data.
    """
    spec = get_dataset(name)
    if root is None and not spec.generated:
        raise DatasetRootError(f"dataset {name!r} needs a root folder (where its files are); none was given")
    return spec.loader(root, **kwargs)
