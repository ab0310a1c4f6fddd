"""Benchmark every MLFN runtime (and torchreid's, when installed) on this machine.

For each backend and batch size: latency p50/p95 per call, images/s, peak
memory of the measuring process, file size — one run, written as a markdown
table and JSON. Every file is exported through its parity gate first. Each
runtime runs in its own process with the same threads and the same crops;
ONNX/TFLite processes do not import TensorFlow. Peers: torchreid's MLFN in
PyTorch eager and its ONNX export in onnxruntime.

Examples:
    # The issue's figures: full mlfn preset at 256x128, 2 threads (~15 min on 2 cores):
    python export/benchmark.py --preset mlfn --threads 2 --output runs/export_benchmark
    # A trained model, only the CPU runtimes you deploy:
    python export/benchmark.py runs/market/model.keras --backends onnx tflite_fp32 tflite_int8
    # Quick smoke run:
    python export/benchmark.py --preset mlfn_tiny --min-seconds 0.5 --output /tmp/bench --keep-files
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry
from mlfn_keras.export.benchmark import (
    DEFAULT_BATCH_SIZES,
    OUR_BACKENDS,
    PEER_BACKENDS,
    run_benchmark,
)


def build_parser() -> argparse.ArgumentParser:
    parser = cli_args.make_parser(
        "python export/benchmark.py", description="Benchmark MLFN runtimes side by side with torchreid.",
        epilog=__doc__[__doc__.index("Examples:") :],
    )
    parser.add_argument("model", nargs="?", help="a .keras model (default: --preset)")
    parser.add_argument("--preset", default="mlfn", help="preset when no model is given (default mlfn)")
    parser.add_argument(
        "--backends", nargs="+", default=list(OUR_BACKENDS + PEER_BACKENDS),
        choices=OUR_BACKENDS + PEER_BACKENDS, help="what to measure (default: all)",
    )
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(DEFAULT_BATCH_SIZES))
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for every runtime")
    parser.add_argument("--min-seconds", type=float, default=3.0, help="timed seconds per batch size")
    parser.add_argument("--min-iterations", type=int, default=5, help="timed calls per batch size")
    cli_args.add_output(parser, dest="out_dir", default="runs/export_benchmark",
                        help="where benchmark.md and benchmark.json go (default runs/export_benchmark)")
    parser.add_argument(
        "--keep-files", action="store_true",
        help="keep the exported model files in OUT_DIR/files (default: temporary, deleted)",
    )
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from mlfn_keras.fileio import check_output_dir, legacy_listing, run_lock

    with run_lock(args.out_dir, "--output"):  # one run per folder; a foreign folder is refused before any work
        claim = check_output_dir(args.out_dir, OUTPUT_KIND, what="--output folder", writes=OUTPUT_NAMES,
                                 legacy=legacy_listing(OUTPUT_NAMES, "benchmark.json"))
        claim.write_manifest(OUTPUT_NAMES)
        return run(args)


#: What the benchmark writes into --output, and its manifest kind (see `mlfn_keras.fileio`).
OUTPUT_NAMES = ("benchmark.json", "benchmark.md", "files")
OUTPUT_KIND = "mlfn_keras.export_benchmark"


def run(args) -> int:
    """The benchmark for parsed arguments (--output already checked and locked by `main`)."""
    from mlfn_keras.fileio import write_json, write_text

    out_dir = Path(args.out_dir)
    work = out_dir / "files" if args.keep_files else Path(tempfile.mkdtemp(prefix="mlfn_bench_"))
    try:
        report = run_benchmark(
            work,
            preset=None if args.model else args.preset,
            model_path=args.model,
            backends=tuple(args.backends),
            batch_sizes=tuple(args.batch_sizes),
            threads=args.threads,
            min_seconds=args.min_seconds,
            min_iterations=args.min_iterations,
        )
    finally:
        if not args.keep_files:
            shutil.rmtree(work, ignore_errors=True)
    write_json(out_dir / "benchmark.json", report)
    write_text(out_dir / "benchmark.md", report["markdown"])
    print(report["markdown"])
    print(f"wrote {out_dir / 'benchmark.md'} and {out_dir / 'benchmark.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
