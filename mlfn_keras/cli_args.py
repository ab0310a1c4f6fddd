"""Argument groups shared by the command lines (evaluation, analyses, exporters).

Each command line builds its parser from these helpers, so a model, a data
set, a batch size or a progress switch is spelled, defaulted and documented
the same way everywhere, and the data set choices come from the one registry
(`mlfn_keras.data.registry`).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from mlfn_keras.errors import UserError

__all__ = [
    "add_batch_size",
    "add_dataset_arguments",
    "add_model_argument",
    "add_output",
    "add_progress",
    "add_seed",
    "make_parser",
    "parser_from_doc",
    "user_errors",
]


def make_parser(prog: str | None = None, description: str = "", epilog: str | None = None) -> argparse.ArgumentParser:
    """A parser whose ``--help`` keeps the examples of ``epilog`` as written."""
    return argparse.ArgumentParser(
        prog=prog, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def parser_from_doc(doc: str | None, prog: str | None = None) -> argparse.ArgumentParser:
    """A parser described by a script's docstring: its first paragraph, and its ``Examples:`` as the epilog."""
    doc = doc or ""
    epilog = doc[doc.index("Examples:"):] if "Examples:" in doc else None
    return make_parser(prog=prog, description=doc.split("\n\n")[0], epilog=epilog)


def add_model_argument(parser: argparse.ArgumentParser, required: bool = True,
                       help: str = ".keras MLFN model") -> None:
    """``--model PATH``."""
    parser.add_argument("--model", required=required, help=help)


def add_dataset_arguments(parser: argparse.ArgumentParser, root_help: str = "data set folder") -> None:
    """``--dataset NAME`` (choices: the data set registry) and ``--root DIR``."""
    from mlfn_keras.data.registry import dataset_names

    parser.add_argument("--dataset", required=True, choices=dataset_names(), help="data set name")
    parser.add_argument("--root", required=True, help=root_help)


def add_batch_size(parser: argparse.ArgumentParser, default: int | None = 64) -> None:
    """``--batch-size N`` (images per model call)."""
    shown = f" (default {default})" if default is not None else ""
    parser.add_argument("--batch-size", type=int, default=default, help=f"images per model call{shown}")


def add_output(parser: argparse.ArgumentParser, required: bool = False, help: str = "output folder") -> None:
    """``--output DIR``."""
    parser.add_argument("--output", required=required, help=help)


def add_seed(parser: argparse.ArgumentParser) -> None:
    """``--seed N`` (default 0)."""
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--no-progress`` (hide progress bars)."""
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


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
