"""Dataset layout: generated identities written as a Market-1501 folder, safely.

:func:`generate_market_layout` writes ``bounding_box_train/``,
``bounding_box_test/``, ``query/`` (and optionally ``gt_bbox/``) plus
``attributes.json`` (ground truth for the paper's attribute analysis,
Sec. 4.4.2) and ``meta.json``.

Nothing the project did not write is ever deleted or replaced:

* the data set is built in a hidden temporary sibling folder and moved into
  place only when complete, ``meta.json`` last; ``meta.json`` is what marks a
  folder as a finished generated data set, so a crash or a concurrent build
  can never leave a half-written folder that claims to be complete;
* two builds of the same data set at once (e.g. two ``mlfn-train`` runs on an
  empty cache) each build their own copy; the first to finish moves it into
  place and the other uses it;
* a non-empty folder without ``meta.json`` (dot-files count) is someone
  else's: it is refused unless ``force``, and even then only names the
  generator writes that are not already there are added; a generated folder
  that also holds other entries is replaced (``overwrite``) only with
  ``force``, and those entries are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mlfn_keras.data.synthetic.backgrounds import BackgroundBank
from mlfn_keras.data.synthetic.cameras import CameraStyle, apply_camera, sample_camera
from mlfn_keras.data.synthetic.identities import IdentityAttributes, sample_identity
from mlfn_keras.data.synthetic.rendering import VIEWS, render_person
from mlfn_keras.errors import OutputExistsError
from mlfn_keras.fileio import folder_entries

__all__ = ["GENERATOR_VERSION", "SyntheticFolderError", "generate_market_layout", "render_crop"]

#: Bumped whenever the same configuration would render different images.
GENERATOR_VERSION = 2

_SPLIT_DIRS = ("bounding_box_train", "bounding_box_test", "query", "gt_bbox")
#: Every top-level name the generator writes (meta.json last: it marks completion).
_OURS = _SPLIT_DIRS + ("attributes.json", "meta.json")


class SyntheticFolderError(OutputExistsError, ValueError):
    """The output folder holds something this generator must not replace."""


def render_crop(identity: IdentityAttributes, camera: CameraStyle, rng: np.random.Generator,
                height: int = 256, width: int = 128, view: str | None = None,
                backgrounds: BackgroundBank | None = None) -> tuple[np.ndarray, str]:
    """Renders one detection-like crop of ``identity`` seen by ``camera``.

    With probability ``camera.crowd_prob`` a random stranger walks beside
    the person, partly behind or in front of them.

    Args:
        identity: Who.
        camera: Which camera.
        rng: Randomness for the shot.
        height: Crop height.
        width: Crop width.
        view: Force a view; by default drawn from ``camera.view_probs``.
        backgrounds: Photographs for backgrounds (procedural without).

    Returns:
        ``(crop, view)``: uint8 RGB crop and the view used.
    """
    if view is None:
        view = str(rng.choice(VIEWS, p=camera.view_probs))
    # The detector box has the camera's aspect; it is stretched to the crop at the end.
    box_w = max(4, min(width, int(round(height / float(rng.uniform(*camera.aspect_range))))))
    rgb, mask = render_person(identity, view, rng, height, box_w, walk_phase=float(rng.random()))
    bystanders = []
    if rng.random() < camera.crowd_prob:
        stranger = sample_identity(0, rng)
        bystanders.append(render_person(stranger, str(rng.choice(VIEWS)), rng, height, box_w,
                                        walk_phase=float(rng.random())))
    crop = apply_camera(rgb, mask, camera, rng, backgrounds=backgrounds, bystanders=tuple(bystanders),
                        output_shape=(height, width))
    return crop, view


def _write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"could not write image {path}")


def _read_config(root: Path) -> tuple[bool, dict | None]:
    """(has meta.json, its config or None)."""
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        return False, None
    try:
        return True, json.loads(meta_path.read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return True, None


def _is_complete(root: Path, config: dict) -> bool:
    has_meta, existing = _read_config(root)
    return has_meta and existing == config and all((root / d).is_dir() for d in _SPLIT_DIRS[:3])


def _check_target(root: Path, config: dict, overwrite: bool, force: bool) -> str:
    """Decides what to do with ``root``: ``"reuse"``, ``"create"``, ``"replace"`` or ``"add"``."""
    if root.exists() and not root.is_dir():
        raise SyntheticFolderError(f"--output {str(root)!r} is a file; expected a folder (new, empty or generated)")
    if _is_complete(root, config):
        return "reuse"
    has_meta, existing = _read_config(root)
    if has_meta:
        if not overwrite:
            raise SyntheticFolderError(
                f"{root} already holds a generated data set with a different configuration "
                f"({existing}); expected {config}; pass overwrite=True (--overwrite) or choose another folder"
            )
        foreign = [name for name in folder_entries(root) if name not in _OURS]
        if foreign and not force:
            raise SyntheticFolderError(
                f"{str(root)!r} holds a generated data set and {', '.join(foreign[:8])}, which mlfn-synthetic did "
                "not write; nothing was changed; pass --force (force=True) to replace the data set and keep them"
            )
        return "replace"
    entries = folder_entries(root)  # dot-files included: a folder holding only .git/ is not empty
    if not entries:
        return "create"
    clashes = [name for name in entries if name in _OURS]
    if clashes:
        raise SyntheticFolderError(
            f"{str(root)!r} holds {', '.join(clashes)} but no meta.json: it was not written by mlfn-synthetic "
            "(a real data set?) and is left untouched; expected a new or empty folder, or one written by "
            "mlfn-synthetic; choose another folder"
        )
    if not force:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise SyntheticFolderError(
            f"{str(root)!r} is not empty ({shown}) and was not written by mlfn-synthetic; expected a new or "
            "empty folder; pass --force (force=True) to add the data set beside those files"
        )
    return "add"


def _move_into_place(tmp: Path, root: Path, config: dict, action: str) -> None:
    """Moves a finished build from ``tmp`` to ``root`` (``meta.json`` last)."""
    if action == "create":
        try:
            if root.is_dir():
                root.rmdir()  # empty (checked): a rename onto it is then atomic
            os.rename(tmp, root)
            return
        except OSError:
            # Another build finished first (or something appeared): use theirs if it is the same.
            if _is_complete(root, config):
                shutil.rmtree(tmp, ignore_errors=True)
                return
            action = _check_target(root, config, overwrite=False, force=False)
    trash = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent)) if action == "replace" else None
    if trash is not None:
        # meta.json first: from here on the folder no longer claims to be complete.
        for name in ("meta.json",) + _OURS[:-1]:
            if (root / name).exists():
                os.replace(root / name, trash / name)
    for name in _OURS:
        if (tmp / name).exists():
            os.replace(tmp / name, root / name)
    shutil.rmtree(tmp, ignore_errors=True)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def generate_market_layout(
    root: str | Path,
    num_identities: int = 100,
    num_cameras: int = 4,
    images_per_identity_camera: int = 4,
    num_train_identities: int | None = None,
    seed: int = 0,
    height: int = 256,
    width: int = 128,
    num_distractors: int = 0,
    num_junk: int = 0,
    multi_query_images: int = 0,
    min_cameras: int = 2,
    jpeg_quality: int = 92,
    overwrite: bool = False,
    progress: bool = True,
    backgrounds: str | Path | BackgroundBank | None = None,
    force: bool = False,
) -> Path:
    """Writes generated identities as a Market-1501-layout folder.

    Identities ``1..num_train_identities`` go to ``bounding_box_train``; the
    others are test identities: per camera, the first image is a query and the
    rest go to ``bounding_box_test`` (when an identity has one image per camera,
    only its first camera gives a query so that the gallery always holds it
    from another camera). Every identity is seen by at least ``min_cameras``
    (≥ 2) cameras. File names follow Market-1501:
    ``{pid:04d}_c{cam}s1_{frame:06d}_{k:02d}.jpg``; distractors use pid
    ``0000`` and junk ``-1``, both in ``bounding_box_test``.

    If ``root/meta.json`` already records the same configuration, the folder
    is reused as is (cheap caching for training and tests). The folder is
    built beside ``root`` and moved into place when complete (see the module
    docstring for what is never touched).

    Args:
        root: Output folder.
        num_identities: Total identities (train + test).
        num_cameras: Number of cameras (≥ 2).
        images_per_identity_camera: Images written per identity per camera.
        num_train_identities: Training identities; defaults to half.
        seed: Everything is deterministic from this.
        height: Crop height.
        width: Crop width.
        num_distractors: Gallery images of unrelated people (pid 0).
        num_junk: Junk gallery images (pid −1), e.g. background-only crops.
        multi_query_images: Extra same-camera images per query written to
            ``gt_bbox/`` (Market-1501's multi-query setting); 0 writes none.
        min_cameras: Minimum cameras per identity.
        jpeg_quality: JPEG quality of written images.
        overwrite: Replace a folder generated (by this project) with a
            different configuration.
        progress: Show a tqdm progress bar.
        backgrounds: A folder of photographs (or a loaded
            :class:`BackgroundBank`) to cut backgrounds from; procedural
            backgrounds when ``None``.
        force: Write into a non-empty folder that was not generated here
            (only adding names it does not already hold).

    Returns:
        ``root`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: On inconsistent arguments.
        SyntheticFolderError: (a ``ValueError`` and ``OutputExistsError``) if
            ``root`` holds a different generated data set and ``overwrite`` is
            False, or files this project did not write (see ``force``).
    """
    from mlfn_keras.progress import tqdm

    root = Path(root)
    bank = BackgroundBank.from_dir(backgrounds) if isinstance(backgrounds, (str, os.PathLike)) else backgrounds
    config = _layout_config(num_identities, num_cameras, images_per_identity_camera, num_train_identities, seed,
                            height, width, num_distractors, num_junk, multi_query_images, min_cameras, jpeg_quality,
                            bank)
    action = _check_target(root, config, overwrite, force)
    if action == "reuse":
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        _build(tmp, config, bank, identities_progress=progress, tqdm=tqdm)
        _move_into_place(tmp, root, config, action)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def _layout_config(num_identities: int, num_cameras: int, images_per_identity_camera: int,
                   num_train_identities: int | None, seed: int, height: int, width: int, num_distractors: int,
                   num_junk: int, multi_query_images: int, min_cameras: int, jpeg_quality: int,
                   bank: BackgroundBank | None) -> dict:
    """The data set's configuration (what ``meta.json`` records), arguments checked and defaults filled."""
    if num_cameras < 2:
        raise ValueError(f"num_cameras must be >= 2 (test identities need two views), received {num_cameras}")
    if num_train_identities is None:
        num_train_identities = num_identities // 2
    if not 0 < num_train_identities < num_identities:
        raise ValueError(
            f"num_train_identities must be in [1, num_identities - 1] = [1, {num_identities - 1}], "
            f"received {num_train_identities}"
        )
    if images_per_identity_camera < 1:
        raise ValueError(f"images_per_identity_camera must be >= 1, received {images_per_identity_camera}")
    min_cameras = max(2, min(min_cameras, num_cameras))
    return dict(
        generator_version=GENERATOR_VERSION, num_identities=num_identities, num_cameras=num_cameras,
        images_per_identity_camera=images_per_identity_camera, num_train_identities=num_train_identities,
        seed=seed, height=height, width=width, num_distractors=num_distractors, num_junk=num_junk,
        multi_query_images=multi_query_images, min_cameras=min_cameras, jpeg_quality=jpeg_quality,
        backgrounds=bank.fingerprint if bank is not None else None,
    )


def _camera_sets(identities, config: dict) -> dict[int, list[int]]:
    """The cameras that see each identity (at least ``min_cameras``), drawn from the seed."""
    num_cameras, out = config["num_cameras"], {}
    for person in identities:
        rng_cams = np.random.default_rng([config["seed"], 3, person.pid])
        n_cams = int(rng_cams.integers(config["min_cameras"], num_cameras + 1))
        out[person.pid] = sorted(int(k) for k in rng_cams.choice(np.arange(1, num_cameras + 1), n_cams, replace=False))
    return out


def _build(out: Path, config: dict, bank: BackgroundBank | None, identities_progress: bool, tqdm) -> None:
    """Renders the whole data set into ``out`` (meta.json last)."""
    c = config
    seed, height, width = c["seed"], c["height"], c["width"]
    num_cameras, per_cam = c["num_cameras"], c["images_per_identity_camera"]
    num_train, multi_query = c["num_train_identities"], c["multi_query_images"]
    for d in _SPLIT_DIRS[:3]:
        (out / d).mkdir(parents=True, exist_ok=True)
    if multi_query > 0:
        (out / "gt_bbox").mkdir(parents=True, exist_ok=True)

    cameras = [sample_camera(k, np.random.default_rng([seed, 2, k])) for k in range(1, num_cameras + 1)]
    identities = [sample_identity(pid, np.random.default_rng([seed, 1, pid])) for pid in range(1, c["num_identities"] + 1)]
    counts = {d: 0 for d in _SPLIT_DIRS}
    frame = np.zeros(num_cameras + 1, np.int64)
    camera_sets = _camera_sets(identities, c)
    num_queries = sum(len(cams) if per_cam > 1 else 1 for pid, cams in camera_sets.items() if pid > num_train)
    total = (sum(len(k) for k in camera_sets.values()) * per_cam + num_queries * multi_query
             + c["num_distractors"] + c["num_junk"])
    bar = tqdm(total=total, desc="generating identities", unit="img", disable=not identities_progress)

    def emit(split: str, pid: int, cam: int, crop: np.ndarray, k: int = 1) -> None:
        frame[cam] += int(1 + (pid * 7 + k) % 13)  # increasing, Market-like gaps
        name = f"{pid:04d}_c{cam}s1_{int(frame[cam]):06d}_{k:02d}.jpg" if pid >= 0 else \
            f"-1_c{cam}s1_{int(frame[cam]):06d}_{k:02d}.jpg"
        _write_jpeg(out / split / name, crop, c["jpeg_quality"])
        counts[split] += 1
        bar.update(1)

    for person in identities:
        pid = person.pid
        cams = camera_sets[pid]
        is_train = pid <= num_train
        for ci, cam in enumerate(cams):
            rng = np.random.default_rng([seed, 4, pid, cam])
            for k in range(per_cam):
                crop, _ = render_crop(person, cameras[cam - 1], rng, height, width, backgrounds=bank)
                if is_train:
                    split = "bounding_box_train"
                elif k == 0 and (per_cam > 1 or ci == 0):
                    split = "query"
                else:
                    split = "bounding_box_test"
                emit(split, pid, cam, crop)
                if split == "query":
                    for m in range(multi_query):
                        extra, _ = render_crop(person, cameras[cam - 1], rng, height, width, backgrounds=bank)
                        emit("gt_bbox", pid, cam, extra, k=m + 1)
    rng = np.random.default_rng([seed, 5])
    for i in range(c["num_distractors"]):
        person = sample_identity(0, np.random.default_rng([seed, 6, i]))
        cam = int(rng.integers(1, num_cameras + 1))
        crop, _ = render_crop(person, cameras[cam - 1], rng, height, width, backgrounds=bank)
        emit("bounding_box_test", 0, cam, crop)
    for i in range(c["num_junk"]):
        cam = int(rng.integers(1, num_cameras + 1))
        empty = np.zeros((height, width, 3), np.uint8)
        crop = apply_camera(empty, np.zeros((height, width), np.uint8), cameras[cam - 1], rng, backgrounds=bank)
        emit("bounding_box_test", -1, cam, crop)
    bar.close()

    (out / "attributes.json").write_text(
        json.dumps({str(p.pid): p.to_dict() for p in identities}, indent=1, sort_keys=True)
    )
    meta = dict(
        config=config,
        dataset="synthetic",
        generator="mlfn_keras.data.synthetic",
        train_pids=list(range(1, num_train + 1)),
        test_pids=list(range(num_train + 1, c["num_identities"] + 1)),
        counts=counts,
        cameras=[k.to_json() for k in cameras],
        identities={str(p.pid): p.to_json() for p in identities},
    )
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
