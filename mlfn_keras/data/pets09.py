"""PETS 2009 S2.L1 View_001: the one real pedestrian video reachable offline.

The video is ``vtest.avi`` from Debian's ``opencv-doc`` package (768×576,
795 frames, 19 people); its MOT15 ground truth ships with this package
(``assets/pets09_s2l1_gt.txt``, provenance in ``assets/PETS09_README.md``).
This module finds or fetches the video, reads the ground truth, cuts it into
the pseudo-camera splits the real-video benchmark scores, and cuts the re-id
crops the real-person re-id benchmark and ``mlfn-adapt`` use.

Splits (:data:`SPLITS`):

* ``lr``: left and right 416 px of every frame (64 px overlap, same clock);
  people walk from one camera into the other. A ground-truth box less than
  60 % visible in a camera is ignored there.
* ``time``: frames 0–399 and 400–794 of the full frame as two cameras.
* ``full``: the whole video as one camera (detector figures on full frames).
* ``lr_first`` / ``lr_second``: the ``lr`` cameras on frames 0–399 / 400–794
  only (:data:`HALF`): ``mlfn-adapt`` adapts on the first and the demo is
  scored on the second.
* ``time_first``: frames 0–199 and 200–399 as two cameras, the ``time``
  split shrunk to the first half: with ``lr_first``, the development settings
  on which association rules are chosen before ``lr`` and ``time`` are scored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlfn_keras.cache import cache_root
from mlfn_keras.data.mot import read_mot, write_mot
from mlfn_keras.errors import InputPathError, UserError

DEBIAN_PACKAGE = "opencv-doc"
VIDEO_MEMBER = "usr/share/doc/opencv-doc/examples/data/vtest.avi"
NUM_FRAMES = 795
FRAME_WIDTH, FRAME_HEIGHT = 768, 576
NUM_IDENTITIES = 19
#: PETS 2009 was recorded at 7 fps (vtest.avi's header says 10, which is wrong).
FPS = 7.0
GT_PATH = Path(__file__).with_name("assets") / "pets09_s2l1_gt.txt"
#: Fraction of a box that must lie inside a pseudo-camera for it to count there.
MIN_VISIBLE = 0.6

FETCH_HELP = (
    "get it by hand with: apt-get download opencv-doc && dpkg -x opencv-doc_*.deb pkg "
    f"&& cp pkg/{VIDEO_MEMBER} . ; then pass --video vtest.avi"
)


def cache_dir() -> Path:
    """``$MLFN_KERAS_CACHE/pets09`` (default ``~/.cache/mlfn_keras/pets09``)."""
    return cache_root() / "pets09"


def _check_video(path: Path) -> Path:
    import cv2

    if not path.is_file():
        raise InputPathError(f"PETS09 video {str(path)!r} does not exist; expected vtest.avi from Debian's opencv-doc ({FETCH_HELP})")
    cap = cv2.VideoCapture(str(path))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    cap.release()
    if (width, frames) != (FRAME_WIDTH, NUM_FRAMES):
        raise InputPathError(
            f"{str(path)!r} is not PETS09 S2.L1 View_001: it has {frames} frames of width {width}; "
            f"expected {NUM_FRAMES} frames of {FRAME_WIDTH}x{FRAME_HEIGHT} (vtest.avi from opencv-doc)"
        )
    return path


def fetch_video(dest: Path | None = None, log=print) -> Path:
    """Downloads Debian's ``opencv-doc`` with ``apt-get download`` and extracts ``vtest.avi``.

    Raises:
        UserError: ``apt-get``/``dpkg-deb`` are missing or the download fails
            (the message gives the manual commands).
    """
    dest = dest or cache_dir() / "vtest.avi"
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise UserError(f"cannot fetch the PETS09 video: {tool!r} is not available on this machine; {FETCH_HELP}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opencv-doc-") as tmp:
        log(f"Fetching Debian package {DEBIAN_PACKAGE} (about 96 MB) for vtest.avi ...")
        run = subprocess.run(["apt-get", "download", DEBIAN_PACKAGE], cwd=tmp, capture_output=True, text=True)
        debs = sorted(Path(tmp).glob(f"{DEBIAN_PACKAGE}_*.deb"))
        if run.returncode != 0 or not debs:
            raise UserError(f"apt-get download {DEBIAN_PACKAGE} failed: {(run.stderr or run.stdout).strip()[-300:]}; {FETCH_HELP}")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True)
        member = Path(tmp) / "x" / VIDEO_MEMBER
        if not member.is_file():
            raise UserError(f"{debs[0].name} has no {VIDEO_MEMBER}; {FETCH_HELP}")
        part = dest.with_name(dest.name + ".part")
        shutil.copyfile(member, part)
        os.replace(part, dest)
    return dest


def locate_video(video: str | os.PathLike | None = None, fetch: bool = True, log=print) -> Path:
    """The PETS09 video: ``video`` if given, else the cached copy, else fetched (``fetch``)."""
    if video is not None:
        return _check_video(Path(video).expanduser())
    cached = cache_dir() / "vtest.avi"
    if cached.is_file():
        return _check_video(cached)
    if not fetch:
        raise InputPathError(f"no PETS09 video at {str(cached)!r}; {FETCH_HELP}")
    return _check_video(fetch_video(cached, log=log))


def load_ground_truth(path: str | os.PathLike | None = None) -> np.ndarray:
    """The ground truth as a float array of rows ``frame, id, x, y, w, h, consider``.

    ``frame`` is 0-based here (the file is 1-based MOT); ``consider`` is MOT15's
    flag (0: far-away or edge boxes that scorers ignore).
    """
    out = read_mot(path or GT_PATH, columns=7)
    out[:, 0] -= 1
    return out


@dataclass(frozen=True)
class PseudoCamera:
    """A camera cut out of the PETS09 video: a frame range and a column range."""

    name: str
    start: int
    stop: int
    x0: int = 0
    x1: int = FRAME_WIDTH

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def num_frames(self) -> int:
        return self.stop - self.start


#: First frame of the second half (``time``, ``lr_second``): frames before it are the adaptation frames.
HALF = 400

SPLITS: dict[str, tuple[PseudoCamera, ...]] = {
    "lr": (PseudoCamera("left", 0, NUM_FRAMES, 0, 416), PseudoCamera("right", 0, NUM_FRAMES, 352, FRAME_WIDTH)),
    "time": (PseudoCamera("first", 0, HALF), PseudoCamera("second", HALF, NUM_FRAMES)),
    "full": (PseudoCamera("full", 0, NUM_FRAMES),),
    "lr_first": (PseudoCamera("left", 0, HALF, 0, 416), PseudoCamera("right", 0, HALF, 352, FRAME_WIDTH)),
    "lr_second": (PseudoCamera("left", HALF, NUM_FRAMES, 0, 416), PseudoCamera("right", HALF, NUM_FRAMES, 352, FRAME_WIDTH)),
    "time_first": (PseudoCamera("first", 0, HALF // 2), PseudoCamera("second", HALF // 2, HALF)),
}


def split_cameras(split: str) -> tuple[PseudoCamera, ...]:
    """The pseudo-cameras of a split name."""
    if split not in SPLITS:
        raise UserError(f"unknown PETS09 split {split!r}; expected one of {', '.join(SPLITS)}")
    return SPLITS[split]


def camera_ground_truth(gt: np.ndarray, camera: PseudoCamera, min_visible: float = MIN_VISIBLE) -> np.ndarray:
    """Ground truth seen by one pseudo-camera, in its own frames and pixels.

    Returns rows ``frame, id, x, y, w, h, consider`` with ``frame`` counted from
    the camera's first frame (0-based), boxes clipped to the camera, and
    ``consider = 0`` where the original flag is 0 or less than ``min_visible``
    of the box is inside the camera. Boxes entirely outside are dropped.
    """
    rows = gt[(gt[:, 0] >= camera.start) & (gt[:, 0] < camera.stop)]
    x0 = np.clip(rows[:, 2], camera.x0, camera.x1)
    x1 = np.clip(rows[:, 2] + rows[:, 4], camera.x0, camera.x1)
    visible = (x1 - x0) / np.maximum(rows[:, 4], 1e-6)
    keep = visible > 0
    out = rows[keep].copy()
    out[:, 0] -= camera.start
    out[:, 2] = x0[keep] - camera.x0
    out[:, 4] = x1[keep] - x0[keep]
    out[:, 6] = np.where(visible[keep] >= min_visible, out[:, 6], 0)
    return out


def iter_frames(video: str | os.PathLike) -> Iterator[np.ndarray]:
    """Decodes the video's frames (BGR) in order."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


@dataclass(frozen=True)
class SplitFiles:
    """One pseudo-camera written to disk: a video the demo reads and its MOT ground truth."""

    camera: PseudoCamera
    video: Path
    gt: Path


def prepare_split(split: str, video: str | os.PathLike | None = None, out_dir: str | os.PathLike | None = None,
                  log=print) -> list[SplitFiles]:
    """Writes each pseudo-camera of ``split`` as an MJPEG ``.avi`` plus a MOT ground-truth file.

    Cached: a split already written under ``out_dir`` (default
    ``cache_dir()/split``) is reused. Written into a temporary folder and
    renamed when complete, so an interrupted run never leaves a half split.
    """
    import cv2

    from mlfn_keras.fileio import atomic_output

    cameras = split_cameras(split)
    out = Path(out_dir) if out_dir else cache_dir() / split
    files = [SplitFiles(c, out / f"{c.name}.avi", out / "gt" / f"{c.name}.txt") for c in cameras]
    if all(f.video.is_file() and f.gt.is_file() for f in files):
        return files
    source = locate_video(video, log=log)
    gt = load_ground_truth()
    log(f"Writing PETS09 split {split!r} to {out} ...")
    with atomic_output(out, is_dir=True) as tmp:
        (tmp / "gt").mkdir()
        writers = []
        for c in cameras:
            w = cv2.VideoWriter(str(tmp / f"{c.name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (c.width, FRAME_HEIGHT))
            w.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
            writers.append(w)
            write_mot(tmp / "gt" / f"{c.name}.txt", camera_ground_truth(gt, c))
        for index, frame in enumerate(iter_frames(source)):
            for c, w in zip(cameras, writers):
                if c.start <= index < c.stop:
                    w.write(np.ascontiguousarray(frame[:, c.x0 : c.x1]))
        for w in writers:
            w.release()
    return files


@dataclass(frozen=True)
class Crop:
    """A ground-truth person crop for re-id."""

    pid: int
    frame: int
    box: tuple[float, float, float, float]  # x, y, w, h in full-frame pixels
    image: np.ndarray  # BGR


def reid_crops(video: str | os.PathLike | None = None, every: int = 5, frames: tuple[int, int] = (0, NUM_FRAMES),
               gt: np.ndarray | None = None) -> list[Crop]:
    """Cuts a crop from every considered ground-truth box on every ``every``-th frame in ``frames``.

    Frames ``0, every, 2·every, ...`` (0-based) are used; boxes with MOT15's
    consider flag 0 are left out (895 crops of 19 people over the whole video).
    """
    gt = load_ground_truth() if gt is None else gt
    start, stop = frames
    rows = gt[(gt[:, 0] % every == 0) & (gt[:, 6] > 0) & (gt[:, 0] >= start) & (gt[:, 0] < stop)]
    by_frame: dict[int, list[np.ndarray]] = {}
    for r in rows:
        by_frame.setdefault(int(r[0]), []).append(r)
    crops: list[Crop] = []
    for index, frame in enumerate(iter_frames(locate_video(video))):
        for r in by_frame.get(index, ()):
            x, y, w, h = r[2:6]
            xa, ya = max(int(round(x)), 0), max(int(round(y)), 0)
            xb, yb = min(int(round(x + w)), FRAME_WIDTH), min(int(round(y + h)), FRAME_HEIGHT)
            if xb - xa >= 2 and yb - ya >= 2:
                crops.append(Crop(int(r[1]), index, (float(x), float(y), float(w), float(h)), frame[ya:yb, xa:xb].copy()))
        if index >= stop:
            break
    return crops


def time_split(crops: Sequence[Crop]) -> tuple[list[Crop], list[Crop]]:
    """Each person's crops in time order: the first half (rounded down) is the query, the rest the gallery.

    A person with one crop lands in the gallery only (a distractor). On frames
    400–794 this gives 12 people, 220 queries and 229 gallery crops; on the
    whole video 19 people, 442 and 453.
    """
    query: list[Crop] = []
    gallery: list[Crop] = []
    for pid in sorted({c.pid for c in crops}):
        mine = sorted((c for c in crops if c.pid == pid), key=lambda c: c.frame)
        half = len(mine) // 2
        query += mine[:half]
        gallery += mine[half:]
    return query, gallery
