"""Arguments shared by the ``export/to_*.py`` command lines.

Every exporter takes the same source (a ``.keras`` file, or a preset with
optional weights) and the same parity/calibration crops (a dataset folder, or
generated identities), so the options and their loading live here once.
"""

from __future__ import annotations

import argparse
import logging
import os

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
    from mlfn_keras.export.calibration import calibration_images
    from mlfn_keras.export.source import load_export_source

    source = load_export_source(
        model_path=args.model,
        preset=args.preset,
        weights=args.weights,
        include_factor_signature=args.factor_signature,
    )
    images = calibration_images(
        source.metadata.image_shape, folder=args.images, max_images=args.num_images
    )
    return source, images


def parse_and_load(parser: argparse.ArgumentParser, argv=None):
    """``(args, ExportSource, LabelledImages)``: what every exporter's ``main`` starts with."""
    args = parser.parse_args(argv)
    source, images = load_source_and_images(args, parser)
    return args, source, images
