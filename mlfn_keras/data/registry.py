"""Data sets by name: one entry point for the CLIs.

``load_dataset("market1501", "/data/Market-1501-v15.09.15")`` returns a
:class:`~mlfn_keras.data.dataset.ReidDataset`; ``"synthetic"`` generates the
project's identities into a cache folder on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from mlfn_keras.data.cuhk03 import load_cuhk03
from mlfn_keras.data.dataset import ReidDataset
from mlfn_keras.data.dukemtmc import load_dukemtmc_reid
from mlfn_keras.data.market1501 import load_market1501, read_market_layout
from mlfn_keras.data.msmt17 import load_msmt17

__all__ = ["DATASETS", "cache_dir", "load_dataset", "synthetic_dataset"]

#: Default size of ``load_dataset("synthetic")``: enough identities to learn
#: view invariance on a CPU in minutes.
SYNTHETIC_DEFAULTS: dict[str, Any] = dict(
    num_identities=300, num_cameras=4, images_per_identity_camera=4, num_train_identities=None,
    seed=0, height=256, width=128,
)


def cache_dir() -> Path:
    """``$MLFN_KERAS_CACHE`` or ``~/.cache/mlfn_keras``."""
    return Path(os.environ.get("MLFN_KERAS_CACHE", Path.home() / ".cache" / "mlfn_keras")).expanduser()


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


DATASETS: dict[str, Callable[..., ReidDataset]] = {
    "market1501": load_market1501,
    "dukemtmcreid": load_dukemtmc_reid,
    "cuhk03": load_cuhk03,
    "cuhk03_labeled": _load_cuhk03_labeled,
    "msmt17": load_msmt17,
    "synthetic": synthetic_dataset,
}


def load_dataset(name: str, root: str | Path | None = None, **kwargs: Any) -> ReidDataset:
    """Loads a re-id data set by name.

    Args:
        name: One of :data:`DATASETS` (``market1501``, ``dukemtmcreid``,
            ``cuhk03``, ``cuhk03_labeled``, ``msmt17``, ``synthetic``).
        root: Where the data is; optional only for ``synthetic``.
        **kwargs: Reader options.

    Returns:
        The data set.

    Raises:
        ValueError: Unknown name, or no root for a real data set.
        DatasetNotFoundError: Missing or malformed data.
    """
    key = name.lower().replace("-", "").replace("_reid", "reid")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    if key == "synthetic":
        return synthetic_dataset(root, **kwargs)
    if root is None:
        raise ValueError(f"dataset {name!r} needs a root folder (where its files are); none was given")
    return DATASETS[key](root, **kwargs)
