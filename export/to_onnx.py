"""Export an MLFN embedder to ONNX, checked in onnxruntime against Keras.

The file takes ``images``: uint8 RGB [batch, H, W, 3] (normalisation inside)
and returns ``embedding`` (float32, not L2-normalised); opset 17, dynamic
batch, simplified with onnxslim, metadata in ``metadata_props``. It is only
reported as written after onnxruntime loaded it and matched Keras (cosine ≥
0.9999 on every crop).

Examples:
    # A trained model:
    python export/to_onnx.py runs/market/model.keras --output mlfn.onnx
    # The paper's preset from a torchreid checkpoint:
    python export/to_onnx.py --preset mlfn --weights mlfn_market.pth.tar --output mlfn.onnx
    # Randomly initialised tiny preset (smoke test), with Ŝ as a second output:
    python export/to_onnx.py --preset mlfn_tiny --factor-signature --output /tmp/tiny.onnx
"""

from __future__ import annotations

import argparse
import sys

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry
from mlfn_keras.export.cli import add_source_arguments, exporting_to, load_source_and_images


def build_parser() -> argparse.ArgumentParser:
    parser = cli_args.make_parser(
        description="Export an MLFN embedder to ONNX (parity-gated in onnxruntime).",
        epilog=__doc__[__doc__.index("Examples:") :],
    )
    add_source_arguments(parser)
    parser.add_argument("--output", "-o", required=True, help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset, >= 17 (default 17)")
    parser.add_argument("--no-simplify", action="store_true", help="skip onnxslim")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with exporting_to(args.output):
        source, crops = load_source_and_images(args, parser)
        from mlfn_keras.export.onnx import export_onnx

        result = export_onnx(
            source.model,
            source.metadata,
            args.output,
            crops.images,
            crops.labels,
            opset=args.opset,
            simplify=not args.no_simplify,
        )
        print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
