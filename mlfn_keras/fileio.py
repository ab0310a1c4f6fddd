"""Writing outputs without losing anything: the rules every command that writes follows.

Every command line that writes (the demo, the exporters, ``mlfn-adapt``,
``mlfn-eval``, ``mlfn-synthetic``, the benchmarks) keeps these rules, and
they live here once:

* **Output folders** (:func:`check_output_dir`, :func:`staged_folder`): a
  folder is a command's own only if the ``manifest.json`` an earlier run of it
  wrote lists every entry, dot-files included (temporaries of listed files
  count as listed). Anything else is refused *before* anything is deleted or
  moved, with the list of foreign entries; ``--force`` writes beside them and
  never deletes or replaces them. Commands check their output before any
  long work.
* **One run per output at a time** (:func:`run_lock`): an advisory
  ``flock`` on a hidden ``.NAME.lock`` beside the output, held for the run;
  a second run is refused with the other process's id and command line.
* **Final files are atomic** (:func:`atomic_output`, :func:`write_text`,
  :func:`write_json`): written to a temporary name in the same folder,
  fsynced, then renamed over the target (folders are exchanged in one
  ``renameat2`` call where Linux offers it), so a kill at any moment leaves
  the previous file or the new one, never a fragment.
* **Disk full is one line** (:class:`~mlfn_keras.errors.DiskFullError`):
  a write that fails for lack of space (or a quota, or a file-size limit)
  names the target and leaves the previous file intact;
  :func:`ensure_free_space` refuses a large write that cannot fit before it
  starts.
* **Runs know who they are** (:func:`check_run_definition`): a resumable
  run records what defines it; a rerun with another definition refuses
  instead of resuming or deleting it, and a damaged record suggests
  ``--fresh``.

The locks are written with :mod:`fcntl` directly: ``filelock``'s flock lock
cannot say which process holds it, and naming the other run is the point of
the message.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import errno
import fnmatch
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlfn_keras.errors import (
    DISK_FULL_ERRNOS,
    DamagedFileError,
    DiskFullError,
    OutputExistsError,
    OutputLockedError,
    RunMismatchError,
)

__all__ = [
    "MANIFEST",
    "OutputFolder",
    "atomic_output",
    "check_output_dir",
    "check_run_definition",
    "ensure_free_space",
    "folder_entries",
    "legacy_listing",
    "path_identity",
    "read_manifest",
    "run_fingerprint",
    "run_lock",
    "staged_folder",
    "write_json",
    "write_manifest",
    "write_run_definition",
    "write_text",
]

#: The file that lists what a command wrote into its output folder.
MANIFEST = "manifest.json"
_SHOWN = 8  # foreign entries a message names before "and N more"


# ---------------------------------------------------------------------------- atomic files
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


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF):  # folders on some file systems
            raise
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    """fsyncs a file, or every file and folder under a folder (data first, then names)."""
    if path.is_symlink() or not path.exists():
        return
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            for name in files:
                if not os.path.islink(os.path.join(root, name)):
                    _fsync_path(Path(root, name))
            _fsync_path(Path(root))
    else:
        _fsync_path(path)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.stat().st_size if path.is_file() else 0


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _replace(tmp: Path, target: Path) -> None:
    """Moves ``tmp`` onto ``target``: a file or folder, replacing what is there in one step."""
    if tmp.is_dir() and target.is_dir() and not target.is_symlink():
        # os.replace cannot replace a non-empty folder: exchange the two, then drop the old one.
        if _exchange(tmp, target):
            shutil.rmtree(tmp, ignore_errors=True)
            return
        # No renameat2: swap through a backup (a kill between the renames leaves the
        # previous folder complete under the backup name).
        backup = _temp_sibling(target.with_name(target.name + ".old"), is_dir=True)
        backup.rmdir()
        os.replace(target, backup)
        os.replace(tmp, target)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(tmp, target)


def _disk_full(error: OSError, target: Path, tmp: Path, existed: bool) -> DiskFullError:
    try:
        written = _size(tmp)
    except OSError:
        written = 0
    try:
        free = shutil.disk_usage(target.parent).free
    except OSError:
        free = None
    return DiskFullError.for_target(error, target, written=written, free=free, previous_intact=existed)


@contextlib.contextmanager
def _disk_errors(target: Path, tmp: Path, existed: bool) -> Iterator[None]:
    """Turns a full disk (or quota, or file-size limit) while writing ``tmp`` into a `DiskFullError`."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as error:
        if error.errno in DISK_FULL_ERRNOS:
            raise _disk_full(error, target, tmp, existed) from error
        raise
    except Exception as error:  # writers (Keras, h5py, onnx) may wrap the OSError
        cause = DiskFullError.find_cause(error)
        if cause is not None:
            raise _disk_full(cause, target, tmp, existed) from error
        raise


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike, is_dir: bool = False) -> Iterator[Path]:
    """Yields a temporary path beside ``target``; moves it onto ``target`` on success.

    The temporary is ``.NAME.tmp-*`` in the target's folder (same file
    system, so the final rename is atomic). On success it is fsynced, renamed
    over ``target`` and the folder's entry fsynced: a kill at any moment
    leaves the previous ``target`` or the new one, never a fragment. If the
    ``with`` body raises (a failed parity gate, Ctrl-C, a full disk), the
    temporary is removed and ``target`` is untouched; a full disk (or quota,
    or file-size limit) becomes a one-line :class:`DiskFullError`.

    Args:
        target: the final file or folder.
        is_dir: the output is a folder (a SavedModel, a data set) rather than a file.
    """
    target = Path(target)
    existed = target.exists()
    tmp = _temp_sibling(target, is_dir)
    try:
        with _disk_errors(target, tmp, existed):
            yield tmp
            _fsync_tree(tmp)
            _replace(tmp, target)
            with contextlib.suppress(OSError):
                _fsync_path(target.parent)
    except BaseException:
        _remove(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes ``text`` to ``path`` atomically (see :func:`atomic_output`)."""
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return path


def write_json(path: str | os.PathLike, data: Any, **dumps: Any) -> Path:
    """Writes ``data`` as JSON to ``path`` atomically (``dumps`` go to :func:`json.dumps`, default indent 2)."""
    dumps.setdefault("indent", 2)
    return write_text(path, json.dumps(data, **dumps))


def ensure_free_space(folder: str | os.PathLike, needed: int, what: str) -> None:
    """Refuses a write of about ``needed`` bytes into ``folder`` that cannot fit, before it starts.

    Raises:
        DiskFullError: the file system holding ``folder`` has less free space.
    """
    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if free < needed:
        raise DiskFullError(
            f"No space left on the device holding {str(folder)!r} for {what} ({needed / 1e6:.1f} MB needed, "
            f"{free / 1e6:.1f} MB free); nothing was written, and what was there is intact; free some space or "
            "choose another output"
        )


# ---------------------------------------------------------------------------- output folders
def folder_entries(folder: str | os.PathLike) -> list[str]:
    """Every top-level entry of ``folder``, dot-files included, sorted (``[]`` if it is missing)."""
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def read_manifest(folder: str | os.PathLike, kind: str) -> list[str] | None:
    """The relative paths the manifest of ``kind`` in ``folder`` lists (``None``: no such manifest)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") != kind or not isinstance(data.get("files"), list):
        return None  # someone else's manifest.json is not trusted
    return [str(f) for f in data["files"]]


def write_manifest(folder: str | os.PathLike, kind: str, files: Iterable[str], **extra: Any) -> Path:
    """Writes ``folder/manifest.json`` (atomically) listing ``files`` (relative paths; itself included)."""
    listed = sorted(set(files) | {MANIFEST})
    return write_json(Path(folder) / MANIFEST, {"kind": kind, "files": listed, **extra}, indent=1)


def legacy_listing(names: Sequence[str], marker: str) -> Callable[[Path], list[str] | None]:
    """A ``legacy`` rule for :func:`check_output_dir`: folders written before manifests existed.

    Such a folder counts as the command's own when it holds ``marker`` and
    nothing but entries matching ``names`` (glob patterns); dot-files never match.
    """

    def listing(folder: Path) -> list[str] | None:
        entries = folder_entries(folder)
        if not (folder / marker).exists():
            return None
        if all(not e.startswith(".") and any(fnmatch.fnmatchcase(e, n) for n in names) for e in entries):
            return entries
        return None

    return listing


def _is_temporary_of(name: str, listed_names: set[str]) -> bool:
    # ``.NAME.tmp-*`` (atomic_output), ``NAME.tmp`` and ``.NAME.lock`` (run_lock) beside a
    # listed NAME: left by a killed run.
    if name.startswith(".") and name.endswith(".lock") and name[1:-5] in listed_names:
        return True
    if name.startswith(".") and ".tmp-" in name:
        base = name[1 : name.index(".tmp-")]
        if base.endswith(".old"):
            base = base[:-4]
        return base in listed_names
    return name.endswith(".tmp") and name[:-4] in listed_names


def _foreign(folder: Path, listed: Sequence[str]) -> list[str]:
    """Entries under ``folder`` that ``listed`` does not cover (folders shown with a trailing ``/``)."""
    listed_set = {os.path.normpath(p) for p in listed}
    ancestors = {os.path.dirname(p) for p in listed_set}
    for p in list(ancestors):
        while p:
            p = os.path.dirname(p)
            ancestors.add(p)
    foreign: list[str] = []

    def visit(rel: str) -> None:
        here = folder / rel if rel else folder
        names = sorted(os.listdir(here))
        siblings = {os.path.basename(p) for p in listed_set if os.path.dirname(p) == rel}
        for name in names:
            path = os.path.join(rel, name) if rel else name
            full = here / name
            if path in listed_set or _is_temporary_of(name, siblings):
                continue
            if full.is_dir() and not full.is_symlink():
                if path in ancestors:
                    visit(path)
                else:
                    foreign.append(path + "/")
            else:
                foreign.append(path)

    visit("")
    return foreign


@dataclass(frozen=True)
class OutputFolder:
    """The answer of :func:`check_output_dir`: a folder a command may write into.

    Attributes:
        path: the folder (created).
        kind: the manifest kind of the command.
        previous: relative paths an earlier run of this command listed (its
            files, which this run replaces or removes).
        foreign: entries this command did not write, kept (only with ``force``).
    """

    path: Path
    kind: str
    previous: tuple[str, ...] = ()
    foreign: tuple[str, ...] = ()

    def remove_previous(self, keep: Iterable[str] = ()) -> list[str]:
        """Deletes the files the earlier run listed (never a foreign one); returns their paths."""
        root = self.path.resolve()
        keep = set(keep)
        removed = []
        for rel in self.previous:
            if rel in keep or rel == MANIFEST:
                continue
            path = self.path / rel
            if root not in path.resolve().parents:
                continue  # never follow a listed path out of the folder
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
            removed.append(rel)
        # Temporaries a killed run left beside its listed files go too, then the folders emptied.
        by_folder: dict[str, set[str]] = {}
        for rel in self.previous:
            by_folder.setdefault(os.path.dirname(rel), set()).add(os.path.basename(rel))
        for rel, names in by_folder.items():
            here = self.path / rel
            inside = here.is_dir() and (here.resolve() == root or root in here.resolve().parents)
            for name in os.listdir(here) if inside else []:
                if _is_temporary_of(name, names):
                    _remove(here / name)
        for rel in sorted({os.path.dirname(r) for r in self.previous if os.path.dirname(r)}, key=len, reverse=True):
            with contextlib.suppress(OSError):
                (self.path / rel).rmdir()
        return removed

    def write_manifest(self, files: Iterable[str], **extra: Any) -> Path:
        """Lists ``files`` (relative paths) as this run's in the folder's manifest."""
        return write_manifest(self.path, self.kind, files, **extra)


def _shown(entries: Sequence[str]) -> str:
    text = ", ".join(entries[:_SHOWN])
    return text + (f" and {len(entries) - _SHOWN} more" if len(entries) > _SHOWN else "")


def check_output_dir(
    path: str | os.PathLike,
    kind: str,
    force: bool = False,
    what: str = "--output folder",
    writes: Iterable[str] = (),
    legacy: Callable[[Path], list[str] | None] | None = None,
    create: bool = True,
) -> OutputFolder:
    """Checks that a command may write into ``path``, before anything is deleted, moved or computed.

    The folder is the command's own when it is missing or empty, or when its
    manifest of ``kind`` (or, for folders written before manifests, the
    ``legacy`` rule) lists every entry, dot-files included. Anything else is
    refused with the list of foreign entries, unless ``force``: then the
    command writes beside them and keeps them, and still refuses if one of
    them has a name it would write (``writes``), since that would replace it.

    Args:
        path: the folder to write into.
        kind: the manifest kind of the command (e.g. ``"mlfn_keras.multicam_run"``).
        force: write beside foreign entries (never deleting or replacing them).
        what: how messages name the folder (e.g. ``"--output folder"``).
        writes: relative paths the command writes (checked against foreign entries).
        legacy: returns the entries of a folder written before manifests, or ``None``.
        create: create the folder when it is missing.

    Returns:
        An :class:`OutputFolder` (what the earlier run listed, what is kept).

    Raises:
        OutputExistsError: ``path`` is a file, or holds foreign entries (and
            ``force`` is off, or one of them would be replaced).
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"{what} {str(folder)!r} is a file; expected a folder (or a new path)")
    previous: list[str] = []
    foreign: list[str] = []
    if folder.is_dir() and folder_entries(folder):
        listed = read_manifest(folder, kind)
        if listed is None and legacy is not None:
            listed = legacy(folder)
        previous = listed or []
        foreign = _foreign(folder, previous)
    if foreign:
        clashes = sorted({os.path.normpath(w) for w in writes} & {f.rstrip("/") for f in foreign})
        if not force:
            raise OutputExistsError(
                f"{what} {str(folder)!r} holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} this command "
                f"did not write ({_shown(foreign)}); nothing was changed; expected a new or empty folder, or one this "
                f"command wrote (its {MANIFEST} lists every entry); choose another folder, or pass --force to write "
                "beside them (they are kept)"
            )
        if clashes:
            raise OutputExistsError(
                f"{what} {str(folder)!r} holds {_shown(clashes)}, which this command did not write and would have to "
                "replace; nothing was changed; --force never replaces files it did not write: move them away or "
                "choose another folder"
            )
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return OutputFolder(folder, kind, tuple(previous), tuple(foreign))


@contextlib.contextmanager
def staged_folder(
    path: str | os.PathLike,
    kind: str,
    force: bool = False,
    what: str = "--output folder",
    writes: Iterable[str] = (),
    legacy: Callable[[Path], list[str] | None] | None = None,
) -> Iterator[Path]:
    """A folder output built whole beside ``path`` and moved into place on success.

    Checks ``path`` with :func:`check_output_dir` first, then yields an empty
    staging folder (a hidden sibling). When the ``with`` body succeeds, a
    manifest listing the staged entries is added and the result replaces the
    folder in one step; with ``force`` and foreign entries present, only the
    entries of this command are replaced, one by one, and the foreign ones
    stay. If the body raises, nothing at ``path`` changes.
    """
    folder = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)  # write where a link points
    claim = check_output_dir(folder, kind, force=force, what=what, writes=writes, legacy=legacy, create=False)
    existed = folder.exists()
    tmp = _temp_sibling(folder, is_dir=True)
    try:
        with _disk_errors(folder, tmp, existed):
            yield tmp
            entries = folder_entries(tmp)
            write_manifest(tmp, kind, entries)
            _fsync_tree(tmp)
            # Something may have appeared while the body ran: check again before replacing.
            late = [f for f in (_foreign(folder, claim.previous) if folder.is_dir() else []) if f not in claim.foreign]
            clashes = sorted(set(entries) & {f.rstrip("/") for f in claim.foreign})
            if late or clashes:
                raise OutputExistsError(
                    f"{what} {str(folder)!r} holds {_shown(late or clashes)}, which this command did not write and "
                    "would have to replace; nothing was changed; move them away or choose another folder"
                )
            if claim.foreign:
                _publish_beside(tmp, claim)
                _remove(tmp)
            else:
                _replace(tmp, folder)
            with contextlib.suppress(OSError):
                _fsync_path(folder.parent)
    except BaseException:
        _remove(tmp)
        raise


def _publish_beside(staged: Path, claim: OutputFolder) -> None:
    """Moves the staged entries into ``claim.path`` beside its foreign entries (``--force``)."""
    folder = claim.path
    new = set(folder_entries(staged))
    kept = {f.rstrip("/").split("/")[0] for f in claim.foreign}
    trash = _temp_sibling(folder.with_name(folder.name + ".old"), is_dir=True)
    try:
        for top in sorted({rel.split("/")[0] for rel in claim.previous} - new - kept):
            if (folder / top).exists() or (folder / top).is_symlink():
                os.replace(folder / top, trash / top)
        for name in sorted(new - {MANIFEST}) + [MANIFEST]:
            target = folder / name
            if target.is_dir() and (staged / name).is_dir() and _exchange(staged / name, target):
                continue
            if target.exists() or target.is_symlink():
                os.replace(target, trash / name)
            os.replace(staged / name, target)
    finally:
        shutil.rmtree(trash, ignore_errors=True)


# ---------------------------------------------------------------------------- one run per output
_HELD: dict[str, int] = {}  # lock files this process holds, with their nesting depth


def lock_path(target: str | os.PathLike) -> Path:
    """The hidden lock file of an output: ``.NAME.lock`` beside it."""
    target = Path(os.path.abspath(target))
    if not target.name:  # the root folder
        return target / ".mlfn_keras.lock"
    return target.with_name(f".{target.name}.lock")


def _holder(fd: int, attempts: int = 20) -> str:
    # The holder writes who it is just after taking the lock: a refusal in between waits for it briefly.
    for attempt in range(attempts):
        try:
            info = json.loads(os.pread(fd, 65536, 0).decode("utf-8", "replace"))
            command = " ".join(info.get("argv", []))
            if len(command) > 160:
                command = command[:157] + "..."
            return (f"process {info.get('pid')} on {info.get('host')}, started {info.get('started')}"
                    + (f": {command}" if command else ""))
        except (OSError, ValueError, AttributeError):
            if attempt + 1 < attempts:
                time.sleep(0.025)
    return "another process"


@contextlib.contextmanager
def run_lock(target: str | os.PathLike, what: str = "--output") -> Iterator[Path]:
    """Holds the advisory lock of an output for one run; a second run is refused at once.

    The lock is an ``flock`` on ``.NAME.lock`` beside ``target`` (see
    :func:`lock_path`), which holds the holder's process id, host, start time
    and command line so the refusal can name it. The kernel releases the lock
    when the process ends, however it ends; the file is removed on a clean
    release. Locks are re-entrant within one process (a command may lock an
    output that a library call it makes locks again).

    Args:
        target: the output file or folder.
        what: how the message names it (e.g. ``"--output"``).

    Raises:
        OutputLockedError: another process holds the lock.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): runs are not serialised there
        yield lock_path(target)
        return
    path = lock_path(target)
    key = str(path)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield path
        finally:
            _HELD[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _holder(fd)
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputLockedError(
                    f"{what} {str(target)!r} is being written by another run ({holder}); one run per output at a "
                    f"time: wait for it to finish or choose another {what}"
                ) from None
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file as we opened it: lock the new one
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "argv": [os.path.basename(sys.argv[0])] + sys.argv[1:],
                "started": datetime.datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _HELD[key] = 1
        yield path
    finally:
        _HELD.pop(key, None)
        with contextlib.suppress(OSError):
            os.unlink(path)  # still locked: no other process can hold this inode now
        os.close(fd)


# ---------------------------------------------------------------------------- runs know who they are
def path_identity(value: str | os.PathLike) -> dict[str, Any] | str:
    """What identifies an input in a run definition: a file's path, size and time, a folder's listing, or the string.

    A live source (webcam index, stream URL) is identified by its string.
    """
    path = Path(value)
    try:
        if path.is_file():
            st = path.stat()
            return {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            h = hashlib.sha256()
            for p in files:
                st = p.stat()
                h.update(f"{p.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
            return {"path": str(path.resolve()), "files": len(files), "listing": h.hexdigest()[:16]}
    except OSError:
        pass
    return str(value)


def run_fingerprint(definition: Mapping[str, Any]) -> str:
    """The fingerprint of a run definition (what :func:`write_run_definition` records and checkpoints carry)."""
    return hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()[:16]


_fingerprint = run_fingerprint


def write_run_definition(path: str | os.PathLike, definition: Mapping[str, Any], summary: str) -> Path:
    """Records what defines a resumable run (atomically): its fingerprint, the definition and a summary line."""
    return write_json(path, {"fingerprint": _fingerprint(definition), "summary": summary,
                             "definition": dict(definition)}, default=str)


def check_run_definition(
    path: str | os.PathLike,
    definition: Mapping[str, Any],
    summary: str,
    output_flag: str = "--output",
    what: str = "checkpoint",
) -> bool:
    """Checks that a saved run is the run being asked for, before resuming it.

    Args:
        path: the run-definition file :func:`write_run_definition` wrote.
        definition: what defines the run being asked for.
        summary: a short description of it (e.g. its sources), for the message.
        output_flag: the option that names the output (for the message).
        what: how the message names the saved state.

    Returns:
        ``True`` if the saved run is this one (resume it), ``False`` if there
        is no record.

    Raises:
        RunMismatchError: the saved run is another one.
        DamagedFileError: the record cannot be read.
    """
    path = Path(path)
    if not path.exists():
        return False
    try:
        saved = json.loads(path.read_text())
        fingerprint, saved_summary = saved["fingerprint"], saved.get("summary", "?")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise damaged(path.parent, what, f"{path.name}: {error}") from None
    if fingerprint == _fingerprint(definition):
        return True
    raise RunMismatchError(
        f"{str(path.parent)!r} holds a run of {saved_summary}; this run is of {summary}; it was neither resumed nor "
        f"deleted; use a new {output_flag} or --fresh (which discards that {what})"
    )


def damaged(folder: str | os.PathLike, what: str, reason: str) -> DamagedFileError:
    """The one-line error for a saved state that cannot be read, suggesting ``--fresh``."""
    return DamagedFileError(
        f"the {what} in {str(folder)!r} is damaged ({reason[:200]}); run again with --fresh to discard it and start over"
    )
