"""Reading a model file a user names, with messages that say what is wrong.

:func:`model_file_errors` does the same for every exported format: an empty,
truncated or foreign ``.onnx``, ``.tflite``, engine or SavedModel gives one
line naming the file and what it should be, never a runtime's traceback.

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

import contextlib
from collections.abc import Iterator

from mlfn_keras.errors import DamagedFileError, InputPathError, UserError

__all__ = ["NotMLFNError", "load_keras_file", "load_mlfn_keras", "model_file_errors"]

#: What each exported format should be, for messages.
EXPECTED_EXPORT = {
    "onnx": "an ONNX model written by export/to_onnx.py (or mlfn-adapt)",
    "tflite": "a TFLite flatbuffer written by export/to_tflite.py (or mlfn-adapt --export tflite)",
    "saved_model": "a SavedModel folder written by export/to_saved_model.py",
    "tensorrt": "a TensorRT engine written by export/to_tensorrt.py, with its .json sidecar",
    "keras": "a .keras file saved by mlfn-train, mlfn-convert or MLFN.save",
}


@contextlib.contextmanager
def model_file_errors(path: str | os.PathLike, fmt: str, what: str = "model") -> Iterator[None]:
    """Turns a runtime's error on a bad model file into one line naming the file and what it should be.

    An empty file is refused before the runtime sees it (onnxruntime and the
    TFLite reader report those without a path). ``ImportError`` (a runtime
    missing) and errors that are already the user's (`UserError`) pass through.

    Args:
        path: the model file or folder.
        fmt: ``"onnx"``, ``"tflite"``, ``"saved_model"``, ``"tensorrt"`` or ``"keras"``.
        what: how the message names it (e.g. ``"--reid"``).

    Raises:
        DamagedFileError: the file is empty or the runtime cannot read it.
    """
    path = Path(path)
    expected = EXPECTED_EXPORT.get(fmt, fmt)
    if path.is_file() and path.stat().st_size == 0:
        raise DamagedFileError(f"{what} {str(path)!r} is empty (0 bytes); expected {expected}.")
    try:
        yield
    except (UserError, ImportError, FileNotFoundError):
        raise
    except Exception as error:
        if type(error).__name__ == "TensorRTUnavailableError":
            raise
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:240]
        raise DamagedFileError(
            f"{what} {str(path)!r} cannot be read as {fmt} (damaged, truncated or another kind of file: {reason}); "
            f"expected {expected}."
        ) from error

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


def load_keras_file(path: str | os.PathLike, what: str = "model") -> Any:
    """Loads any Keras model from a ``.keras`` file, with one-line errors for a bad file.

    Empty, truncated or foreign files, and files Keras refuses to load safely
    (a ``Lambda`` layer holding Python code), raise `InputPathError` naming the
    file; nothing in the file is executed.

    Raises:
        FileNotFoundError: nothing at ``path``.
        InputPathError: the file is empty, damaged, not a ``.keras`` archive, or unsafe.
    """
    import keras

    import mlfn_keras

    path = check_keras_file(path, what)
    mlfn_keras.register_keras_objects()
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises ValueError/TypeError/KeyError for bad contents
        raise InputPathError(
            f"{what} {str(path)!r} could not be loaded as a Keras model ({str(exc)[:300]}); expected {_EXPECTED}."
        ) from exc


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
    import mlfn_keras

    model = load_keras_file(path, what)
    if not isinstance(model, (mlfn_keras.MLFN, mlfn_keras.MLFNClassifier)):
        raise NotMLFNError(
            f"{what} {str(path)!r} holds a Keras {type(model).__name__} ({model.name!r}), not an MLFN; "
            f"expected {_EXPECTED} (an MLFN or MLFNClassifier)."
        )
    return model
