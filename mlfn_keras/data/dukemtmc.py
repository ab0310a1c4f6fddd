"""DukeMTMC-reID (Zheng et al., ICCV 2017).

Same layout as Market-1501 (``DukeMTMC-reID/bounding_box_train``,
``bounding_box_test``, ``query``; names like ``0001_c2_f0046182.jpg``), 8
cameras, 702 training identities. Reads the extracted folder or
``DukeMTMC-reID.zip``.
"""

from __future__ import annotations

from pathlib import Path

from mlfn_keras.data.dataset import ReidDataset
from mlfn_keras.data.market1501 import read_market_layout

__all__ = ["load_dukemtmc_reid"]


def load_dukemtmc_reid(root: str | Path, extract_dir: str | Path | None = None) -> ReidDataset:
    """Reads DukeMTMC-reID.

    Args:
        root: ``DukeMTMC-reID/``, a parent of it, or ``DukeMTMC-reID.zip``.
        extract_dir: Where to extract the zip (default: beside it).

    Returns:
        The data set (camera ids 0-based).

    Raises:
        DatasetNotFoundError: If a folder is missing.
    """
    return read_market_layout(root, "dukemtmcreid", extract_dir)
