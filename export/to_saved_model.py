"""Export an MLFN embedder to a TensorFlow SavedModel, checked against Keras.

The directory's ``serving_default`` signature takes ``images``: uint8 RGB
[batch, H, W, 3] (normalisation inside) and returns ``embedding`` (float32,
not L2-normalised); the metadata is ``assets/mlfn_keras_metadata.json``.

Examples:
    python export/to_saved_model.py runs/market/model.keras --output exported/mlfn_savedmodel
    python export/to_saved_model.py --preset mlfn --weights mlfn_market.pth.tar --output exported/mlfn_savedmodel
    python export/to_saved_model.py --preset mlfn_tiny --output /tmp/tiny_savedmodel
"""

from __future__ import annotations

import argparse
import sys

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry
from mlfn_keras.export.cli import add_source_arguments, exporting_to, load_source_and_images


def build_parser() -> argparse.ArgumentParser:
    parser = cli_args.make_parser(
        description="Export an MLFN embedder to a SavedModel (parity-gated).",
        epilog=__doc__[__doc__.index("Examples:") :],
    )
    add_source_arguments(parser)
    parser.add_argument("--output", "-o", required=True, help="the SavedModel directory to write")
    parser.add_argument("--force", action="store_true",
                        help="write into a folder holding other files (they are kept; only the SavedModel's entries are replaced)")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with exporting_to(args.output, folder=True):
        from mlfn_keras.export.saved_model import check_saved_model_output, export_saved_model

        check_saved_model_output(args.output, force=args.force)  # refused before any work
        source, crops = load_source_and_images(args, parser)

        result = export_saved_model(source.model, source.metadata, args.output, crops.images, crops.labels,
                                    force=args.force)
        print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
