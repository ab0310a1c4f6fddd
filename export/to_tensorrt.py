"""Build a TensorRT engine (fp32/fp16/int8) from an MLFN ONNX export, parity-gated.

Needs an NVIDIA GPU, the ``tensorrt`` Python package and torch with CUDA;
without them it says what is missing and exits with status 3. The engine is
specific to the GPU and TensorRT version that built it: build it on the
target. Metadata goes to ``<engine>.json``.

Examples:
    # From an ONNX file written by export/to_onnx.py, with the Keras model for the check:
    python export/to_tensorrt.py runs/market/model.keras --onnx mlfn.onnx --precision fp16 --output mlfn_fp16.engine
    # int8 calibrated on a dataset folder:
    python export/to_tensorrt.py runs/market/model.keras --onnx mlfn.onnx --precision int8 \\
        --images data/Market-1501-v15.09.15 --output mlfn_int8.engine
    # Everything from a preset (writes the ONNX first):
    python export/to_tensorrt.py --preset mlfn_tiny --output /tmp/tiny_fp16.engine
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry
from mlfn_keras.export.cli import add_source_arguments, exporting_to, load_source_and_images


def build_parser() -> argparse.ArgumentParser:
    parser = cli_args.make_parser(
        description="Build a TensorRT engine from an MLFN ONNX export (parity-gated).",
        epilog=__doc__[__doc__.index("Examples:") :],
    )
    add_source_arguments(parser)
    parser.add_argument("--output", "-o", required=True, help="the .engine/.plan file to write")
    parser.add_argument("--onnx", help="ONNX file to build from (default: export one next to --output)")
    parser.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "int8"))
    parser.add_argument("--max-batch", type=int, default=32, help="largest batch of the engine")
    parser.add_argument("--calibration-images", type=int, default=128, help="crops for int8 calibration")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.precision == "int8" and args.calibration_images < 1:
        parser.error(f"--calibration-images got {args.calibration_images}; int8 needs 1 or more crops (default 128)")
    with exporting_to(args.output):
        from mlfn_keras.export.tensorrt import TensorRTUnavailableError, require_tensorrt

        try:
            require_tensorrt()
        except TensorRTUnavailableError as error:
            print(f"error: {error}", file=sys.stderr)
            return 3
        source, crops = load_source_and_images(args, parser)
        from mlfn_keras.export.calibration import calibration_images
        from mlfn_keras.export.onnx import export_onnx
        from mlfn_keras.export.tensorrt import export_tensorrt

        onnx_path = args.onnx
        if onnx_path is None:
            onnx_path = str(Path(args.output).with_suffix(".onnx"))
            print(export_onnx(source.model, source.metadata, onnx_path, crops.images, crops.labels).summary())
        calibration = None
        if args.precision == "int8":
            with cli_args.user_errors():
                calibration = calibration_images(
                    source.metadata.image_shape, folder=args.images, max_images=args.calibration_images, seed=1
                ).images
        result = export_tensorrt(
            source.model,
            onnx_path,
            args.output,
            crops.images,
            crops.labels,
            precision=args.precision,
            max_batch=args.max_batch,
            calibration_images=calibration,
        )
        print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
