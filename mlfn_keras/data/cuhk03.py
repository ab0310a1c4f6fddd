"""CUHK03 (Li et al., CVPR 2014) with the 767/700 protocol (Zhong et al., CVPR 2017).

This is the paper's "CUHK03 Setting 2" (Table 3). Expected layout, as
distributed and as torchreid expects it::

    cuhk03/
        cuhk03_release/cuhk-03.mat                   the images (MATLAB v7.3 / HDF5)
        cuhk03_new_protocol_config_detected.mat      767/700 split, detected boxes
        cuhk03_new_protocol_config_labeled.mat       767/700 split, labelled boxes
        images_detected/  images_labeled/            optional: already extracted PNGs

When the image folders are missing, images are extracted once from
``cuhk-03.mat`` (needs ``h5py``) as ``{pair}_{pid:03d}_{view}_{index:02d}.png``,
the names the protocol files list. Camera ids are the view (0 or 1) within a
camera pair, as in torchreid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlfn_keras.data.dataset import (
    DatasetNotFoundError,
    ImageRecord,
    ReidDataset,
    find_subdir,
)

__all__ = ["extract_cuhk03_images", "load_cuhk03"]

_CONFIG = "cuhk03_new_protocol_config_{}.mat"
_RAW = Path("cuhk03_release") / "cuhk-03.mat"


def extract_cuhk03_images(raw_mat: str | Path, out_dir: str | Path, image_type: str) -> int:
    """Writes the ``detected`` or ``labeled`` images of ``cuhk-03.mat`` as PNGs.

    Args:
        raw_mat: Path of ``cuhk-03.mat``.
        out_dir: Output folder (created).
        image_type: ``"detected"`` or ``"labeled"``.

    Returns:
        Number of images written.

    Raises:
        DatasetNotFoundError: If the file is missing or not the expected HDF5 layout.
    """
    import cv2
    import h5py
    from mlfn_keras.progress import tqdm

    raw_mat, out_dir = Path(raw_mat), Path(out_dir)
    if not raw_mat.is_file():
        raise DatasetNotFoundError(f"CUHK03: expected {raw_mat} (the MATLAB v7.3 file of the release)")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    with h5py.File(raw_mat, "r") as mat:
        if image_type not in mat:
            raise DatasetNotFoundError(f"CUHK03: {raw_mat} has no '{image_type}' entry; found {sorted(mat.keys())}")
        pairs = mat[image_type][0]
        for pair_index, pair_ref in enumerate(tqdm(pairs, desc=f"extracting CUHK03 {image_type}", unit="pair")):
            cells = mat[pair_ref][:].T  # (num_pids, 10) references
            for pid_index in range(cells.shape[0]):
                for image_index, ref in enumerate(cells[pid_index]):
                    image = mat[ref][:].T
                    if image.size == 0 or image.ndim < 3:
                        continue  # persons seen in one view only have empty cells
                    view = 1 if image_index < 5 else 2
                    name = f"{pair_index + 1:01d}_{pid_index + 1:03d}_{view:01d}_{image_index + 1:02d}.png"
                    path = out_dir / name
                    if not path.exists():
                        cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(image, np.uint8), cv2.COLOR_RGB2BGR))
                    written += 1
    return written


def _records(config: dict, indices: np.ndarray, image_dir: Path) -> list[ImageRecord]:
    filelist = config["filelist"].flatten()
    labels = config["labels"].flatten()
    out = []
    for idx in indices:
        name = str(np.asarray(filelist[idx]).flatten()[0])
        out.append(ImageRecord(str(image_dir / name), int(labels[idx]), int(name.split("_")[2]) - 1))
    return out


def load_cuhk03(root: str | Path, labeled: bool = False) -> ReidDataset:
    """Reads CUHK03 under the 767/700 protocol.

    Args:
        root: The ``cuhk03/`` folder described above, or a parent of it.
        labeled: Use hand-labelled boxes instead of detected ones.

    Returns:
        The data set (767 training identities, 1,400 queries, 5,332 gallery
        images in the real data).

    Raises:
        DatasetNotFoundError: If a protocol file is missing, or the images are
            neither extracted nor extractable.
    """
    from scipy.io import loadmat

    image_type = "labeled" if labeled else "detected"
    config_name = _CONFIG.format(image_type)
    root = Path(root).expanduser()
    folder = find_subdir(root, [config_name]) if root.exists() else None
    if folder is None:
        raise DatasetNotFoundError(
            f"CUHK03: no {config_name} found in {root} (searched 3 levels deep); expected a cuhk03/ folder "
            f"holding {_RAW}, {_CONFIG.format('detected')} and {_CONFIG.format('labeled')}"
        )
    try:
        config = loadmat(str(folder / config_name))
    except Exception as err:  # scipy raises several types for malformed files
        raise DatasetNotFoundError(f"CUHK03: cannot read {folder / config_name}: {err}") from err
    missing = [k for k in ("filelist", "labels", "train_idx", "query_idx", "gallery_idx") if k not in config]
    if missing:
        raise DatasetNotFoundError(f"CUHK03: {folder / config_name} lacks {missing}; is it the 767/700 protocol file?")

    image_dir = folder / f"images_{image_type}"
    names = [str(np.asarray(n).flatten()[0]) for n in config["filelist"].flatten()]
    if not image_dir.is_dir() or not all((image_dir / n).exists() for n in names[:: max(1, len(names) // 50)]):
        if not (folder / _RAW).is_file():
            raise DatasetNotFoundError(
                f"CUHK03: neither extracted images in {image_dir} nor {folder / _RAW} to extract them from"
            )
        extract_cuhk03_images(folder / _RAW, image_dir, image_type)

    def idx(key: str) -> np.ndarray:
        return config[key].flatten().astype(np.int64) - 1  # MATLAB indices are 1-based

    return ReidDataset(
        name="cuhk03_labeled" if labeled else "cuhk03_detected",
        root=str(folder),
        train=_records(config, idx("train_idx"), image_dir),
        query=_records(config, idx("query_idx"), image_dir),
        gallery=_records(config, idx("gallery_idx"), image_dir),
    )
