"""Arguments shared by the ``export/to_*.py`` command lines.

Every exporter takes the same source (a ``.keras`` file, or a preset with
optional weights) and the same parity/calibration crops (a dataset folder, or
generated identities), so the options and their loading live here once.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import Iterator

DEFAULT_PARITY_IMAGES = 64


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``MODEL`` / ``--preset`` / ``--weights`` / ``--images`` options."""
    parser.add_argument(
        "model", nargs="?", help="a .keras model saved from mlfn_keras.MLFN (or MLFNClassifier)"
    )
    parser.add_argument("--preset", help="build this preset instead of loading a .keras file")
    parser.add_argument(
        "--weights",
        help="with --preset: Keras .weights.h5, or a torchreid MLFN .pth/.pth.tar/.safetensors",
    )
    parser.add_argument(
        "--factor-signature",
        action="store_true",
        help="also output the factor signature Ŝ (as 'factor_signature')",
    )
    parser.add_argument(
        "--images",
        help="folder of person crops (e.g. a Market-1501 root) for the parity check and "
        "calibration; default: generated identities",
    )
    parser.add_argument(
        "--num-images",
        type=int,
        default=DEFAULT_PARITY_IMAGES,
        help=f"crops used for the parity check (default {DEFAULT_PARITY_IMAGES})",
    )


def load_source_and_images(args: argparse.Namespace, parser: argparse.ArgumentParser):
    """Returns ``(ExportSource, LabelledImages)`` from parsed arguments.

    Calls ``parser.error`` (exit 2) when neither or both of MODEL and
    ``--preset`` are given.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if (args.model is None) == (args.preset is None):
        parser.error("give exactly one of MODEL (.keras file) or --preset NAME")
    if args.weights and not args.preset:
        parser.error("--weights needs --preset (a .keras file already holds its weights)")
    if args.num_images < 1:
        parser.error(f"--num-images got {args.num_images}; expected 1 or more crops for the parity check")
    from mlfn_keras.cli_args import user_errors
    from mlfn_keras.export.calibration import calibration_images
    from mlfn_keras.export.serving import load_export_source

    with user_errors():  # a wrong source or image folder is the user's input: one line, no traceback
        source = load_export_source(
            model_path=args.model,
            preset=args.preset,
            weights=args.weights,
            include_factor_signature=args.factor_signature,
        )
        images = calibration_images(
            source.metadata.image_shape, folder=args.images, max_images=args.num_images
        )
    output = getattr(args, "output", None)
    if output:
        from mlfn_keras.fileio import ensure_free_space

        # fp32 weights plus a margin; checked before the conversion, not when the write fails.
        needed = int(4.4 * source.model.count_params()) + (1 << 20)
        ensure_free_space(os.path.dirname(os.path.abspath(output)), needed, f"the export {output!r}")
    return source, images


@contextlib.contextmanager
def exporting_to(output: str, what: str = "--output", folder: bool = False) -> Iterator[None]:
    """Holds the output's run lock for the whole export (one export per output at a time).

    Also refuses, before any work, a file output that names a folder.

    Raises:
        OutputLockedError: another run is writing ``output``.
        OutputExistsError: ``output`` is a folder where a file is written.
    """
    from mlfn_keras.errors import OutputExistsError
    from mlfn_keras.fileio import run_lock

    if not folder and os.path.isdir(output):
        raise OutputExistsError(f"{what} {output!r} is a folder; expected a file path to write the export to")
    with run_lock(output, what):
        yield
