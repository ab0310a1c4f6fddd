"""Writing outputs without losing anything: atomic files and folders, and a guard for foreign folders.

The rule every writer follows: never delete or replace what this project did
not write; write to a temporary name beside the target and move it into place
only when it is complete (and, for exports, after the parity gate passed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from mlfn_keras.errors import OutputExistsError


def _temp_sibling(target: Path, is_dir: bool) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-"
    if is_dir:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix="".join(target.suffixes), dir=target.parent)
    os.close(fd)
    os.unlink(name)  # writers such as Keras or h5py want to create the file themselves
    return Path(name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike, is_dir: bool = False) -> Iterator[Path]:
    """Yields a temporary path beside ``target``; moves it onto ``target`` on success.

    If the ``with`` body raises (a failed parity gate, Ctrl-C, a crash), the
    temporary is removed and ``target`` is untouched. A process killed outright
    leaves only a hidden ``.NAME.tmp-*`` sibling, never a half-written target.

    Args:
        target: the final file or folder.
        is_dir: the output is a folder (a SavedModel, a data set) rather than a file.
    """
    target = Path(target)
    tmp = _temp_sibling(target, is_dir)
    try:
        yield tmp
        if is_dir and target.is_dir() and not target.is_symlink():
            # os.replace cannot replace a non-empty folder: swap through a backup
            # so a crash between the two renames still leaves one complete copy.
            backup = _temp_sibling(target.with_name(target.name + ".old"), is_dir=True)
            backup.rmdir()
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


def check_output_dir(
    path: str | os.PathLike,
    ours: Iterable[str] = (),
    force: bool = False,
    what: str = "output folder",
) -> Path:
    """Refuses a non-empty folder that holds files this project would not write.

    Args:
        path: the folder to write into (created if missing).
        ours: names (files or folders, top level) this writer produces; a
            folder holding only these, or a marker among them, is ours to reuse.
        force: write anyway.
        what: how the message names the folder.

    Returns:
        The folder as a ``Path``.

    Raises:
        OutputExistsError: the folder holds something else and ``force`` is off.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"{what} {str(folder)!r} is a file; expected a folder (or a new path)")
    if folder.is_dir():
        foreign = sorted(p.name for p in folder.iterdir() if p.name not in set(ours) and not p.name.startswith("."))
        if foreign and not force:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise OutputExistsError(
                f"{what} {str(folder)!r} already holds files this command did not write ({shown}); "
                "expected an empty or new folder; pass --force to write there anyway"
            )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
