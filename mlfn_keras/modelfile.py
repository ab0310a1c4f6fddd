"""Reading a ``.keras`` model file a user names, with messages that say what is wrong.

Keras reports an empty, truncated or random ``.keras`` file as "File not
found", and loads any Keras model without complaint, so a wrong file would be
scored or tracked with as if it were an MLFN. :func:`load_mlfn_keras` tells
these cases apart and refuses anything that is not an MLFN (or an
``MLFNClassifier``, whose backbone is the model).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from mlfn_keras.errors import InputPathError, UserError

__all__ = ["NotMLFNError", "load_mlfn_keras"]

_EXPECTED = "a .keras file saved by mlfn-train, mlfn-convert or MLFN.save"


class NotMLFNError(UserError, ValueError):
    """A readable Keras model that is not an MLFN (a ``ValueError`` too)."""


def check_keras_file(path: str | os.PathLike, what: str = "model") -> Path:
    """Refuses a path that cannot be a ``.keras`` file: missing, a folder, empty, or not a zip archive.

    Raises:
        FileNotFoundError: nothing at ``path``.
        InputPathError: a folder, an empty file or one that is not a complete ``.keras`` archive.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist; expected {_EXPECTED}.")
    if path.is_dir():
        raise InputPathError(f"{what} {str(path)!r} is a folder; expected {_EXPECTED}.")
    if path.stat().st_size == 0:
        raise InputPathError(f"{what} {str(path)!r} is empty (0 bytes); expected {_EXPECTED}.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputPathError(
            f"{what} {str(path)!r} is not a .keras archive (truncated, damaged or another kind of file: {exc}); "
            f"expected {_EXPECTED}."
        ) from None
    if "config.json" not in names:
        raise InputPathError(
            f"{what} {str(path)!r} is a zip archive without config.json, so not a .keras model; expected {_EXPECTED}."
        )
    return path


def load_mlfn_keras(path: str | os.PathLike, what: str = "model") -> Any:
    """Loads an MLFN (or ``MLFNClassifier``) from a ``.keras`` file, refusing anything else.

    Args:
        path: the ``.keras`` file.
        what: how messages name it (e.g. ``"--reid"``).

    Returns:
        The loaded ``MLFN`` or ``MLFNClassifier``.

    Raises:
        FileNotFoundError: nothing at ``path``.
        InputPathError: the file is empty, damaged or not a ``.keras`` archive.
        NotMLFNError: a Keras model, but not an MLFN.
    """
    import keras

    import mlfn_keras

    path = check_keras_file(path, what)
    mlfn_keras.register_keras_objects()
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises ValueError/TypeError/KeyError for bad contents
        raise InputPathError(
            f"{what} {str(path)!r} could not be loaded as a Keras model ({str(exc)[:300]}); expected {_EXPECTED}."
        ) from exc
    if not isinstance(model, (mlfn_keras.MLFN, mlfn_keras.MLFNClassifier)):
        raise NotMLFNError(
            f"{what} {str(path)!r} holds a Keras {type(model).__name__} ({model.name!r}), not an MLFN; "
            f"expected {_EXPECTED} (an MLFN or MLFNClassifier)."
        )
    return model
