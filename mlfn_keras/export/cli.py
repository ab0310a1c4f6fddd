"""``mlfn export {onnx,tflite,saved-model,tensorrt}``: the exporters' command lines.

Every exporter takes the same source (a ``.keras`` file, or a preset with
optional weights) and the same parity/calibration crops (a dataset folder, or
generated identities), so those options and their loading live here once;
each format's command is one ``*_main`` function below. The scripts
``export/to_onnx.py``, ``to_tflite.py``, ``to_saved_model.py`` and
``to_tensorrt.py`` are aliases of these.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry

__all__ = ["add_source_arguments", "exporting_to", "load_source_and_images", "onnx_main", "saved_model_main",
           "tensorrt_main", "tflite_main"]

DEFAULT_PARITY_IMAGES = 64
TFLITE_PRECISIONS = ("fp32", "fp16", "dynamic_int8", "int8")


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
    if (args.model is None) == (args.preset is None):
        parser.error("give exactly one of MODEL (.keras file) or --preset NAME")
    if args.weights and not args.preset:
        parser.error("--weights needs --preset (a .keras file already holds its weights)")
    if args.num_images < 1:
        parser.error(f"--num-images got {args.num_images}; expected 1 or more crops for the parity check")
    from mlfn_keras.cli_args import user_errors
    from mlfn_keras.export.calibration import calibration_images
    from mlfn_keras.export.source import load_export_source

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


_ONNX_DOC = """Export an MLFN embedder to ONNX, checked in onnxruntime against Keras.

The file takes ``images``: uint8 RGB [batch, H, W, 3] (normalisation inside)
and returns ``embedding`` (float32, not L2-normalised); opset 17, dynamic
batch, simplified with onnxslim, metadata in ``metadata_props``. It is only
reported as written after onnxruntime loaded it and matched Keras (cosine >=
0.9999 on every crop).

Examples:
    # A trained model:
    %(prog)s runs/market/model.keras --output mlfn.onnx
    # The paper's preset from a torchreid checkpoint:
    %(prog)s --preset mlfn --weights mlfn_market.pth.tar --output mlfn.onnx
    # Randomly initialised tiny preset (smoke test), with the factor signature as a second output:
    %(prog)s --preset mlfn_tiny --factor-signature --output /tmp/tiny.onnx
"""


def _parser(doc: str, prog: str, what: str) -> argparse.ArgumentParser:
    parser = cli_args.make_parser(prog, description=doc.split("\n\n")[0], epilog=doc[doc.index("Examples:"):])
    add_source_arguments(parser)
    cli_args.add_output(parser, required=True, help=what, metavar="PATH")
    return parser


def onnx_parser() -> argparse.ArgumentParser:
    """Argument parser of ``mlfn export onnx``."""
    parser = _parser(_ONNX_DOC, "mlfn export onnx", "the .onnx file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset, >= 17 (default 17)")
    parser.add_argument("--no-simplify", action="store_true", help="skip onnxslim")
    return parser


@cli_entry
def onnx_main(argv: Sequence[str] | None = None) -> int:
    """``mlfn export onnx`` (alias: ``python export/to_onnx.py``)."""
    parser = onnx_parser()
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


_TFLITE_DOC = """Export an MLFN embedder to TFLite (fp32/fp16/int8), checked in ai-edge-litert.

The file's ``serving_default`` signature takes ``images``: uint8 RGB
[batch, H, W, 3] (normalisation inside) and returns ``embedding`` (float32);
metadata is embedded in the flatbuffer. Each precision is written only if
ai-edge-litert (XNNPACK) reproduces Keras: cosine >= 0.9999 (fp32), >= 0.999
(fp16), >= 0.98 (dynamic_int8, int8) on every crop; int8 also reports rank-1
agreement of retrieval. Full int8 is calibrated on person crops: --images
DIR, or generated identities (different ones from the parity crops).

Examples:
    %(prog)s runs/market/model.keras --output mlfn.tflite
    %(prog)s runs/market/model.keras --precision int8 \\
        --images data/Market-1501-v15.09.15 --output mlfn_int8.tflite
    # All four precisions, named <output stem>_<precision>.tflite:
    %(prog)s --preset mlfn_tiny --precision all --output /tmp/tiny.tflite
"""


def tflite_parser() -> argparse.ArgumentParser:
    """Argument parser of ``mlfn export tflite``."""
    parser = _parser(_TFLITE_DOC, "mlfn export tflite", "the .tflite file to write")
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=TFLITE_PRECISIONS + ("all",),
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
def tflite_main(argv: Sequence[str] | None = None) -> int:
    """``mlfn export tflite`` (alias: ``python export/to_tflite.py``)."""
    parser = tflite_parser()
    args = parser.parse_args(argv)
    if args.precision in ("int8", "all") and args.calibration_images < 1:
        parser.error(f"--calibration-images got {args.calibration_images}; full int8 needs 1 or more crops "
                     "(default 128)")
    with exporting_to(args.output):
        source, crops = load_source_and_images(args, parser)
        from mlfn_keras.export.calibration import calibration_images
        from mlfn_keras.export.tflite import export_tflite

        precisions = TFLITE_PRECISIONS if args.precision == "all" else (args.precision,)
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


_SAVED_MODEL_DOC = """Export an MLFN embedder to a TensorFlow SavedModel, checked against Keras.

The directory's ``serving_default`` signature takes ``images``: uint8 RGB
[batch, H, W, 3] (normalisation inside) and returns ``embedding`` (float32,
not L2-normalised); the metadata is ``assets/mlfn_keras_metadata.json``.

Examples:
    %(prog)s runs/market/model.keras --output exported/mlfn_savedmodel
    %(prog)s --preset mlfn --weights mlfn_market.pth.tar --output exported/mlfn_savedmodel
    %(prog)s --preset mlfn_tiny --output /tmp/tiny_savedmodel
"""


def saved_model_parser() -> argparse.ArgumentParser:
    """Argument parser of ``mlfn export saved-model``."""
    parser = _parser(_SAVED_MODEL_DOC, "mlfn export saved-model", "the SavedModel directory to write")
    parser.add_argument("--force", action="store_true",
                        help="write into a folder holding other files (they are kept; only the SavedModel's entries are replaced)")
    return parser


@cli_entry
def saved_model_main(argv: Sequence[str] | None = None) -> int:
    """``mlfn export saved-model`` (alias: ``python export/to_saved_model.py``)."""
    parser = saved_model_parser()
    args = parser.parse_args(argv)
    with exporting_to(args.output, folder=True):
        from mlfn_keras.export.saved_model import check_saved_model_output, export_saved_model

        check_saved_model_output(args.output, force=args.force)  # refused before any work
        source, crops = load_source_and_images(args, parser)

        result = export_saved_model(source.model, source.metadata, args.output, crops.images, crops.labels,
                                    force=args.force)
        print(result.summary())
    return 0


_TENSORRT_DOC = """Build a TensorRT engine (fp32/fp16/int8) from an MLFN ONNX export, parity-gated.

Needs an NVIDIA GPU, the ``tensorrt`` Python package and torch with CUDA;
without them it says what is missing and exits with status 3. The engine is
specific to the GPU and TensorRT version that built it: build it on the
target. Metadata goes to ``<engine>.json``.

Examples:
    # From an ONNX file written by "mlfn export onnx", with the Keras model for the check:
    %(prog)s runs/market/model.keras --onnx mlfn.onnx --precision fp16 --output mlfn_fp16.engine
    # int8 calibrated on a dataset folder:
    %(prog)s runs/market/model.keras --onnx mlfn.onnx --precision int8 \\
        --images data/Market-1501-v15.09.15 --output mlfn_int8.engine
    # Everything from a preset (writes the ONNX first):
    %(prog)s --preset mlfn_tiny --output /tmp/tiny_fp16.engine
"""


def tensorrt_parser() -> argparse.ArgumentParser:
    """Argument parser of ``mlfn export tensorrt``."""
    parser = _parser(_TENSORRT_DOC, "mlfn export tensorrt", "the .engine/.plan file to write")
    parser.add_argument("--onnx", help="ONNX file to build from (default: export one next to --output)")
    parser.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "int8"))
    parser.add_argument("--max-batch", type=int, default=32, help="largest batch of the engine")
    parser.add_argument("--calibration-images", type=int, default=128, help="crops for int8 calibration")
    return parser


@cli_entry
def tensorrt_main(argv: Sequence[str] | None = None) -> int:
    """``mlfn export tensorrt`` (alias: ``python export/to_tensorrt.py``)."""
    parser = tensorrt_parser()
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
