"""User-facing errors and the one top-level handler every command line uses.

Library code raises :class:`UserError` (or one of its subclasses) with a
message that names what was received and what was expected. Command lines wrap
their ``main`` in :func:`cli_entry`, which turns those errors (and the usual
I/O errors a wrong path produces) into one or two lines on stderr and exit
code 2; ``--debug`` anywhere on the command line shows the traceback instead.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar

#: Exit code for bad input, as argparse uses for bad arguments.
EXIT_USAGE = 2
#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Bad input a user can fix: the message says what was received and what was expected."""


class InputPathError(UserError):
    """A path the user gave is missing, empty or of the wrong kind."""


class OutputExistsError(UserError):
    """An output path holds files this project did not write (use ``--force`` to overwrite)."""


class OutputLockedError(UserError):
    """Another run is writing the same output (one run per output at a time)."""


class RunMismatchError(UserError):
    """An output folder holds a resumable run with another definition (use a new output or ``--fresh``)."""


class DamagedFileError(InputPathError):
    """A file (a model, a checkpoint) exists but cannot be read: the message names it and what it should be."""


#: ``errno`` values that mean "no room to write": a full disk, a quota, a file-size limit.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: Write failures a user fixes outside the program (space, a read-only or failing disk).
WRITE_ERRNOS = DISK_FULL_ERRNOS | {errno.EROFS, errno.EIO}


class DiskFullError(UserError):
    """No room to write an output (full disk, quota or file-size limit); the previous file is intact."""

    @staticmethod
    def find_cause(error: BaseException, codes: frozenset = DISK_FULL_ERRNOS) -> OSError | None:
        """The ``OSError`` with one of ``codes`` in ``error``'s cause/context chain, if any."""
        seen = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if isinstance(error, OSError) and error.errno in codes:
                return error
            text = str(error)
            if isinstance(error, Exception) and not isinstance(error, OSError) and (
                    "No space left on device" in text or "File too large" in text or "Disk quota exceeded" in text):
                # h5py and some C++ writers only keep the C library's message
                return OSError(errno.ENOSPC if "space" in text else
                               errno.EFBIG if "large" in text else errno.EDQUOT, text.splitlines()[0][:200])
            error = error.__cause__ or error.__context__
        return None

    @classmethod
    def for_target(cls, error: OSError, target, written: int = 0, free: int | None = None,
                   previous_intact: bool = True) -> "DiskFullError":
        """The one-line message for a write of ``target`` that failed with ``error``."""
        reason = {errno.EFBIG: "File too large (a file-size limit)", errno.EDQUOT: "Disk quota exceeded"}.get(
            error.errno, "No space left on the device")
        need = f"at least {max(written, 1) / 1e6:.1f} MB needed" + (f", {free / 1e6:.1f} MB free" if free is not None else "")
        after = (f"the previous {os.path.basename(str(target))} is intact" if previous_intact
                 else "nothing was written there")
        return cls(f"{reason} while writing {str(target)!r} ({need}); {after}; free some space or choose another "
                   "output and run again")


#: Errors whose message is the useful part; anything else is a bug and keeps
#: its traceback so it can be reported.
HANDLED = (UserError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def write_failure(error: BaseException) -> str | None:
    """The one-line message for an error caused by a full, read-only or failing disk (``None`` otherwise)."""
    cause = DiskFullError.find_cause(error, WRITE_ERRNOS)
    if cause is None:
        return None
    reason = {errno.EFBIG: "File too large (a file-size limit)", errno.ENOSPC: "No space left on the device",
              errno.EDQUOT: "Disk quota exceeded"}.get(cause.errno, cause.strerror or os.strerror(cause.errno))
    what = repr(cause.filename) if getattr(cause, "filename", None) else "an output"
    return (f"{reason} while writing {what}; files finished before this are intact; "
            "free some space (or choose another output) and run again")

F = TypeVar("F", bound=Callable[..., int])


def _wants_debug(argv: Sequence[str] | None) -> bool:
    from mlfn_keras.console import wants_debug  # the one rule for --debug / MLFN_KERAS_DEBUG

    return wants_debug(argv)


def strip_debug(argv: Sequence[str] | None) -> list[str] | None:
    """``argv`` without ``--debug`` (so parsers need not declare it); ``None`` stays ``None``."""
    if argv is None:
        return None if "--debug" not in sys.argv[1:] else [a for a in sys.argv[1:] if a != "--debug"]
    return [a for a in argv if a != "--debug"]


def report(error: BaseException, prog: str | None = None) -> None:
    """Prints ``prog: error: message`` (the way argparse does) to stderr."""
    from mlfn_keras.console import program_name

    prog = prog or program_name()
    message = str(error) or error.__class__.__name__
    if isinstance(error, OSError) and not isinstance(error, UserError) and error.filename is not None:
        message = f"{error.strerror or error.__class__.__name__}: {error.filename}"
    print(f"{prog}: error: {message}", file=sys.stderr)
    print(f"{prog}: (run again with --debug for the traceback)", file=sys.stderr)


def cli_entry(main: F) -> F:
    """Wraps a command line's ``main(argv) -> int`` with the project's error handling.

    * :data:`HANDLED` errors: a short message, exit code 2, traceback only
      with ``--debug`` (or ``MLFN_KERAS_DEBUG=1``).
    * a full, read-only or failing disk (``ENOSPC``, ``EDQUOT``, ``EFBIG``,
      ``EROFS``, ``EIO`` anywhere in the error's chain): one line naming the
      file, exit code 2.
    * Ctrl-C: exit code 130 without a traceback.
    * ``--debug`` is removed from ``argv`` before ``main`` sees it.
    * TensorFlow's start-up lines are silenced (:func:`mlfn_keras.console.quiet_start`).
    """

    @functools.wraps(main)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        debug = _wants_debug(argv)
        from mlfn_keras.console import quiet_start

        quiet_start(argv)  # before the command imports TensorFlow (does nothing with --debug)
        try:
            return main(strip_debug(argv))
        except HANDLED as error:
            if debug:
                traceback.print_exc()
            report(error)
            return EXIT_USAGE
        except Exception as error:
            message = write_failure(error)
            if message is None:
                raise
            if debug:
                traceback.print_exc()
            report(UserError(message))
            return EXIT_USAGE
        except KeyboardInterrupt:
            if debug:
                traceback.print_exc()
            print("Interrupted.", file=sys.stderr)
            return EXIT_INTERRUPTED

    return wrapper  # type: ignore[return-value]
