"""The one way command lines are spelled: shared flags, deprecated spellings, examples in ``--help``.

Every command line builds its parser with :func:`make_parser`, so the flags
that mean the same thing are spelled, defaulted and documented the same way
everywhere:

* ``--output`` (what the command writes), ``--data-root`` (a data set
  folder), ``--model`` (a re-id model file), ``--cams`` (camera sources),
  ``--init-weights`` (weights to start training from);
* ``--quiet`` (no progress bars or progress lines) and ``--debug``
  (tracebacks and TensorFlow's own log lines), listed in every ``--help``
  under "common options";
* old spellings (``--out``, ``--out-dir``, ``--root``, ``--videos``,
  ``--init``, ``--no-progress``) keep working with a one-line deprecation
  note (:meth:`ArgumentParser.deprecate`);
* examples in the epilog are kept as written; ``%(prog)s`` in them becomes
  the name the command was run by (``mlfn train``, ``mlfn-train``,
  ``python export/to_onnx.py``), which :mod:`mlfn_keras.cli` sets.

The data set choices come from the one registry (`mlfn_keras.data.registry`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence

from mlfn_keras.console import invoked_as, program_name
from mlfn_keras.errors import UserError

__all__ = [
    "ArgumentParser",
    "add_batch_size",
    "add_cams",
    "add_dataset_arguments",
    "add_init_weights",
    "add_model_argument",
    "add_output",
    "add_seed",
    "invoked_as",
    "make_parser",
    "parser_from_doc",
    "user_errors",
]

#: argparse registry of deprecated flag spellings (old -> new).
_DEPRECATED = "mlfn_keras_deprecated_flag"


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` that accepts deprecated spellings of its flags, with a note."""

    def deprecate(self, old: str, new: str) -> None:
        """``old`` (e.g. ``--out``) keeps working as ``new`` (``--output``), printing a one-line note."""
        _deprecate(self, old, new)

    def _translate(self, args: Sequence[str]) -> list[str]:
        out: list[str] = []
        noted: set[str] = set()
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                out.append(token)
                out.extend(tokens)
                break
            name, eq, value = token.partition("=")
            new = self._registry_get(_DEPRECATED, name) if name.startswith("--") else None
            if new is None:
                out.append(token)
                continue
            if name not in noted:
                noted.add(name)
                print(f"{self.prog}: note: {name} is now {new} (the old spelling still works)", file=sys.stderr)
            out.append(new + eq + value)
        return out

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(self._translate(args), namespace)


def make_parser(prog: str | None = None, description: str = "", epilog: str | None = None, *,
                quiet_help: str = "no progress bars or progress lines") -> ArgumentParser:
    """A parser with the common options (``--quiet``, ``--debug``); ``--help`` keeps ``epilog``'s examples as written.

    Args:
        prog: the command's name when run on its own (replaced by the name it
            was invoked by inside :func:`invoked_as`).
        description: first paragraph of ``--help``.
        epilog: examples; ``%(prog)s`` is replaced by the command's name (write ``%%`` for ``%``).
        quiet_help: what ``--quiet`` hides for this command.
    """
    parser = ArgumentParser(
        prog=program_name(prog), description=description, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = parser.add_argument_group("common options")
    common.add_argument("--quiet", "-q", action="store_true", help=quiet_help)
    common.add_argument("--debug", action="store_true",
                        help="on error, show the traceback; show TensorFlow's own log lines (MLFN_KERAS_DEBUG=1)")
    parser.deprecate("--no-progress", "--quiet")
    return parser


def parser_from_doc(doc: str | None, prog: str | None = None) -> ArgumentParser:
    """A parser described by a script's docstring: its first paragraph, and its ``Examples:`` as the epilog."""
    doc = doc or ""
    epilog = doc[doc.index("Examples:"):] if "Examples:" in doc else None
    return make_parser(prog=prog, description=doc.split("\n\n")[0], epilog=epilog)


def add_model_argument(parser: argparse.ArgumentParser, required: bool = True,
                       help: str = ".keras MLFN model") -> None:
    """``--model PATH``."""
    parser.add_argument("--model", required=required, help=help)


def add_dataset_arguments(parser: argparse.ArgumentParser, root_help: str = "data set folder") -> None:
    """``--dataset NAME`` (choices: the data set registry) and ``--data-root DIR`` (was ``--root``)."""
    from mlfn_keras.data.registry import dataset_names

    parser.add_argument("--dataset", required=True, choices=dataset_names(), help="data set name")
    parser.add_argument("--data-root", required=True, metavar="DIR", help=root_help)
    _deprecate(parser, "--root", "--data-root")


def add_batch_size(parser: argparse.ArgumentParser, default: int | None = 64) -> None:
    """``--batch-size N`` (images per model call)."""
    shown = f" (default {default})" if default is not None else ""
    parser.add_argument("--batch-size", type=int, default=default, help=f"images per model call{shown}")


def add_output(parser: argparse.ArgumentParser, required: bool = False, help: str = "output folder",
               metavar: str = "DIR", **kwargs) -> None:
    """``--output DIR`` (was ``--out`` / ``--out-dir`` in some commands; those spellings still work)."""
    parser.add_argument("--output", "-o", required=required, help=help, metavar=metavar, **kwargs)
    for old in ("--out", "--out-dir"):
        _deprecate(parser, old, "--output")


def add_cams(parser: argparse.ArgumentParser, required: bool = False, help: str = "camera sources",
             **kwargs) -> None:
    """``--cams SRC ...`` (webcam index, video file, stream URL or image folder; was ``--videos``)."""
    parser.add_argument("--cams", nargs="+", required=required, metavar="SRC", help=help, **kwargs)
    _deprecate(parser, "--videos", "--cams")


def add_init_weights(parser: argparse.ArgumentParser, help: str = ".keras weights to start from", **kwargs) -> None:
    """``--init-weights FILE`` (was ``--init`` in some commands)."""
    parser.add_argument("--init-weights", metavar="FILE", help=help, **kwargs)
    _deprecate(parser, "--init", "--init-weights")


def _deprecate(container: argparse._ActionsContainer, old: str, new: str) -> None:
    # argparse's registries are shared by a parser and its argument groups, so a group can register too.
    container.register(_DEPRECATED, old, new)


def check_serve(parser: argparse.ArgumentParser, serve: str | None) -> None:
    """Refuses a malformed ``--serve [HOST:]PORT`` before anything starts (``None``: no web view)."""
    if serve is None:
        return
    from mlfn_keras.tracking.view.web import ServeError, parse_serve

    try:
        parse_serve(serve)
    except ServeError as exc:
        parser.error(str(exc))


def add_seed(parser: argparse.ArgumentParser) -> None:
    """``--seed N`` (default 0)."""
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


@contextlib.contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Reports ``kinds`` (default ``ValueError``) raised by library code on bad input as a `UserError`.

    Library functions validate their arguments with ``ValueError``; inside a
    command line those are the user's input, so `mlfn_keras.errors.cli_entry`
    should print them in two lines rather than as a traceback.
    """
    try:
        yield
    except UserError:
        raise
    except (kinds or (ValueError,)) as error:
        raise UserError(str(error)) from error



def report(text: str, data, json_path: str | None = None) -> int:
    """Prints a command's table and, with ``--json PATH``, writes its figures there (atomically); returns exit code 0."""
    print(text)
    if json_path:
        from mlfn_keras.fileio import write_json

        write_json(json_path, data, indent=1)
    return 0
