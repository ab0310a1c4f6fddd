"""Export an MLFN embedder to TFLite (fp32/fp16/int8), checked in ai-edge-litert.

The file's ``serving_default`` signature takes ``images``: uint8 RGB
[batch, H, W, 3] (normalisation inside) and returns ``embedding`` (float32);
metadata is embedded in the flatbuffer. Each precision is written only if
ai-edge-litert (XNNPACK) reproduces Keras: cosine ≥ 0.9999 (fp32), ≥ 0.999
(fp16), ≥ 0.98 (dynamic_int8, int8) on every crop; int8 also reports rank-1
agreement of retrieval. Full int8 is calibrated on person crops: --images
DIR, or generated identities (different ones from the parity crops).

Examples:
    python export/to_tflite.py runs/market/model.keras --output mlfn.tflite
    python export/to_tflite.py runs/market/model.keras --precision int8 \\
        --images data/Market-1501-v15.09.15 --output mlfn_int8.tflite
    # All four precisions, named <output stem>_<precision>.tflite:
    python export/to_tflite.py --preset mlfn_tiny --precision all --output /tmp/tiny.tflite
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry
from mlfn_keras.export.cli import add_source_arguments, exporting_to, load_source_and_images

PRECISIONS = ("fp32", "fp16", "dynamic_int8", "int8")


def build_parser() -> argparse.ArgumentParser:
    parser = cli_args.make_parser(
        description="Export an MLFN embedder to TFLite (parity-gated in ai-edge-litert).",
        epilog=__doc__[__doc__.index("Examples:") :],
    )
    add_source_arguments(parser)
    parser.add_argument("--output", "-o", required=True, help="the .tflite file to write")
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=PRECISIONS + ("all",),
        help="weights/activations precision (default fp32); 'all' writes every one",
    )
    parser.add_argument(
        "--calibration-images",
        type=int,
        default=128,
        help="crops for full-int8 calibration (default 128)",
    )
    parser.add_argument("--num-threads", type=int, default=None, help="XNNPACK threads for the check")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.precision in ("int8", "all") and args.calibration_images < 1:
        parser.error(f"--calibration-images got {args.calibration_images}; full int8 needs 1 or more crops "
                     "(default 128)")
    with exporting_to(args.output):
        source, crops = load_source_and_images(args, parser)
        from mlfn_keras.export.calibration import calibration_images
        from mlfn_keras.export.tflite import export_tflite

        precisions = PRECISIONS if args.precision == "all" else (args.precision,)
        calibration = None
        if "int8" in precisions:
            # Generated calibration crops use another seed: other identities than the check's.
            with cli_args.user_errors():  # e.g. an --images folder without crops
                calibration = calibration_images(
                    source.metadata.image_shape,
                    folder=args.images,
                    max_images=args.calibration_images,
                    seed=1,
                ).images
        output = Path(args.output)
        for precision in precisions:
            path = output if len(precisions) == 1 else output.with_name(f"{output.stem}_{precision}.tflite")
            result = export_tflite(
                source.model,
                source.metadata,
                path,
                crops.images,
                crops.labels,
                precision=precision,
                calibration_images=calibration,
                num_threads=args.num_threads,
            )
            print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
