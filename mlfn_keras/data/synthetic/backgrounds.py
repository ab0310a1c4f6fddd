"""Photographic backgrounds: patches of real photographs behind generated people.

The project ships no photographs. :func:`fetch_debian_backgrounds` takes a
named Debian package of desktop backgrounds (``apt-get download`` + ``dpkg -x``
into the cache; default ``mate-backgrounds``, whose nature photographs are
GPL-2+, see its ``usr/share/doc/mate-backgrounds/copyright``), and
:class:`BackgroundBank` cuts random patches of random scale out of any folder
of images. Photographs give the clutter, textures and colours of real
scenes (grass, stone, wood, foliage) that procedural backgrounds lack, so a
model learns to ignore real backgrounds.

Example:

    mlfn-synthetic --fetch-backgrounds mate-backgrounds --output /tmp/synth
    mlfn-synthetic --backgrounds ~/Pictures --output /tmp/synth
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mlfn_keras.errors import InputPathError, UserError
from mlfn_keras.preprocessing import bgr_to_rgb

__all__ = ["DEFAULT_PACKAGE", "BackgroundBank", "fetch_debian_backgrounds"]

#: Debian package fetched by default: photographs under GPL-2+ (nature/ folder).
DEFAULT_PACKAGE = "mate-backgrounds"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


class BackgroundBank:
    """Photographs held in memory (downscaled), cut into random background patches.

    Args:
        images: RGB uint8 images.
        fingerprint: Identifies the source (recorded in a data set's meta.json).
    """

    def __init__(self, images: list[np.ndarray], fingerprint: str = ""):
        self.images = images
        self.fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def from_dir(cls, folder: str | os.PathLike, max_side: int = 640, max_images: int = 400) -> "BackgroundBank":
        """Loads every image under ``folder`` (recursively), downscaled to ``max_side``.

        Raises:
            InputPathError: If the folder is missing or holds no readable image.
        """
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise InputPathError(
                f"backgrounds folder {str(root)!r} does not exist; expected a folder of photographs "
                f"({', '.join(IMAGE_SUFFIXES)}), e.g. from --fetch-backgrounds {DEFAULT_PACKAGE}"
            )
        paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())[:max_images]
        images, digest = [], hashlib.sha1()
        for path in paths:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None or min(img.shape[:2]) < 32:
                continue
            s = max_side / max(img.shape[:2])
            if s < 1:
                img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            images.append(bgr_to_rgb(img))
            digest.update(f"{path.relative_to(root)}:{path.stat().st_size};".encode())
        if not images:
            raise InputPathError(
                f"backgrounds folder {str(root)!r} holds no readable image; expected photographs "
                f"({', '.join(IMAGE_SUFFIXES)})"
            )
        return cls(images, digest.hexdigest()[:16])

    def patch(self, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """A random patch of a random photograph, float32 ``(h, w, 3)`` RGB.

        The patch covers 1/16 to 1/4 of the photograph's short side, so it
        shows textures at the scale a pedestrian's surroundings have.
        """
        img = self.images[int(rng.integers(0, len(self.images)))]
        ih, iw = img.shape[:2]
        ph = int(min(ih, iw) * rng.uniform(1 / 16, 1 / 4))
        ph = max(8, min(ph, ih))
        pw = max(4, min(iw, int(ph * w / h)))
        y0 = int(rng.integers(0, ih - ph + 1))
        x0 = int(rng.integers(0, iw - pw + 1))
        out = cv2.resize(img[y0:y0 + ph, x0:x0 + pw], (w, h), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            out = out[:, ::-1]
        out = out.astype(np.float32)
        # Desktop photographs are more colourful than streets: pull them towards grey.
        grey = out.mean(axis=2, keepdims=True)
        out = grey + (out - grey) * np.float32(rng.uniform(0.25, 0.8))
        return out * np.float32(rng.uniform(0.7, 1.1))


def fetch_debian_backgrounds(package: str = DEFAULT_PACKAGE, dest: str | os.PathLike | None = None,
                             log=print) -> Path:
    """Downloads a Debian package of photographs and unpacks it (once) into the cache.

    Args:
        package: Debian package name (e.g. ``mate-backgrounds``,
            ``gnome-backgrounds``); read its licence in the unpacked
            ``usr/share/doc/<package>/copyright``.
        dest: Where to unpack; default ``$MLFN_KERAS_CACHE/backgrounds/<package>``.
        log: Where progress lines go.

    Returns:
        The unpacked ``usr/share/backgrounds`` folder (or the package root if
        it has none).

    Raises:
        UserError: Where ``apt-get``/``dpkg`` are missing or the download fails.
    """
    from mlfn_keras.cache import cache_root

    target = Path(dest) if dest is not None else cache_root() / "backgrounds" / package
    done = target / ".complete"
    if not done.exists():
        for tool in ("apt-get", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise UserError(
                    f"cannot fetch Debian package {package!r}: {tool} is not installed (this needs a Debian/Ubuntu "
                    "system); pass --backgrounds DIR with your own photographs, or omit it for procedural backgrounds"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{package}-", dir=target.parent) as tmp:
            log(f"fetching Debian package {package} (apt-get download) ...")
            run = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)
            debs = sorted(Path(tmp).glob(f"{package}_*.deb"))
            if run.returncode != 0 or not debs:
                raise UserError(f"apt-get download {package} failed: {(run.stderr or run.stdout).strip()[-300:]}")
            unpacked = Path(tmp) / "root"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], check=True)
            (unpacked / ".complete").write_text(debs[0].name + "\n")
            if target.is_dir() and not any(target.iterdir()):
                target.rmdir()
            if target.exists():
                raise UserError(
                    f"cannot unpack {package} into {str(target)!r}: it exists and is not a finished unpack of "
                    "this command; expected a new or empty folder"
                )
            os.replace(unpacked, target)
        log(f"unpacked {package} into {target}; licence: {target}/usr/share/doc/{package}/copyright")
    photos = target / "usr" / "share" / "backgrounds"
    nature = photos / "mate" / "nature"  # mate-backgrounds: the photographs, not the abstract art
    if nature.is_dir():
        return nature
    return photos if photos.is_dir() else target
