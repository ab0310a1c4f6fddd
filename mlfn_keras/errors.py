"""User-facing errors and the one top-level handler every command line uses.

Library code raises :class:`UserError` (or one of its subclasses) with a
message that names what was received and what was expected. Command lines wrap
their ``main`` in :func:`cli_entry`, which turns those errors (and the usual
I/O errors a wrong path produces) into one or two lines on stderr and exit
code 2; ``--debug`` anywhere on the command line shows the traceback instead.
"""

from __future__ import annotations

import functools
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


#: Errors whose message is the useful part; anything else is a bug and keeps
#: its traceback so it can be reported.
HANDLED = (UserError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)

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
        except KeyboardInterrupt:
            if debug:
                traceback.print_exc()
            print("Interrupted.", file=sys.stderr)
            return EXIT_INTERRUPTED

    return wrapper  # type: ignore[return-value]
