"""Real-video benchmark: the multi-camera demo on PETS09 S2.L1 and the built-in scene, one table.

Runs the demo pipeline once per setting, re-id model and mode — PETS09 `lr`
(left / right 416 px of each frame as two cameras) and `time` (frames 0-399 /
400-794, with its start times and without them), and the built-in generated
scene with seeds 0, 1, 2; offline (recorded files: final ids from the whole
run) and online (live cameras: the ids as shown at each frame) — and prints,
per setting: per-camera HOTA / MOTA / IDF1 (TrackEval) and box recall / precision
at IoU 0.5, cross-camera IDF1 of the global ids, FPS per stream, and, from the
same run, the no-re-id and oracle-re-id reference rows.

The PETS09 video is vtest.avi from Debian's opencv-doc: --video PATH, else the
cached copy under $MLFN_KERAS_CACHE/pets09, else fetched with
`apt-get download opencv-doc`.

Examples:

    # everything (shipped re-id weights and the colour histogram), keep the runs
    python benchmarks/real_video.py --output runs/realvideo

    # quick look: PETS09 lr only, first 100 frames per camera, recorded-file mode
    python benchmarks/real_video.py --splits lr --scene-seeds --max-frames 100 --modes offline

    # live mode only, PETS09 time without start times (is association fooled by the clock?)
    python benchmarks/real_video.py --splits time --scene-seeds --modes online --start-times none

    # isolate re-id from detection: ground-truth boxes as detections
    python benchmarks/real_video.py --detector gt --output runs/realvideo_gt

    # your own re-id model against the colour histogram, JSON on stdout
    python benchmarks/real_video.py --reid reid.onnx hist --video vtest.avi --json
"""

from __future__ import annotations

import argparse
import sys

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import cli_entry


def build_parser() -> argparse.ArgumentParser:
    parser = parser_from_doc(__doc__, prog="benchmarks/real_video.py")
    parser.add_argument("--video", default=None, metavar="PATH", help="PETS09 vtest.avi (default: cached, else apt-get download opencv-doc)")
    parser.add_argument("--splits", nargs="*", default=["lr", "time"], metavar="SPLIT", help="PETS09 splits: lr, time, full; lr_first, time_first: the development settings (frames 0-399) (default: lr time)")
    parser.add_argument("--scene-seeds", nargs="*", type=int, default=[0, 1, 2], metavar="SEED", help="built-in scene seeds (default: 0 1 2)")
    parser.add_argument("--reid", nargs="+", default=None, metavar="SPEC",
                        help="re-id embedders, each a spec of docs/models.md (a model file, 'hist', 'untrained[:PRESET]', "
                             "A+B); the first one's runs give the "
                             "no-re-id and oracle rows (default: the shipped weights, then hist)")
    parser.add_argument("--detector", default="auto", help="auto (bgsub for the scene, ssdlite for PETS09) | ssdlite | bgsub | gt | onnx:PATH")
    parser.add_argument("--modes", nargs="+", default=["offline", "online"], choices=["offline", "online"],
                        help="offline: recorded files (final ids from the whole run); online: live cameras (ids as shown "
                             "at each frame) (default: both)")
    parser.add_argument("--start-times", default="both", choices=["given", "none", "both"],
                        help="splits whose cameras started at different times (time): run with their start times, "
                             "without them (every camera at 0), or both (default: both)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="frames per camera (default: all; not comparable with full runs)")
    parser.add_argument("--output", default=None, metavar="DIR", help="keep each run's outputs, results.json and table.md here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    return parser


@cli_entry
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from mlfn_keras.tracking.bench.realvideo import (
        HIST,
        SHIPPED_REID,
        BenchmarkConfig,
        format_details,
        format_table,
        results_json,
        run_benchmark,
    )

    if not args.splits and not args.scene_seeds:
        raise SystemExit("benchmarks/real_video.py: error: nothing to run: --splits and --scene-seeds are both empty")
    if args.max_frames is not None and args.max_frames < 1:
        raise SystemExit(f"benchmarks/real_video.py: error: --max-frames got {args.max_frames}; expected a positive number")
    config = BenchmarkConfig(
        splits=tuple(args.splits),
        scene_seeds=tuple(args.scene_seeds),
        video=args.video,
        reids=tuple(args.reid) if args.reid else (SHIPPED_REID, HIST),
        detector=args.detector,
        max_frames=args.max_frames,
        output_dir=args.output,
        progress=not args.quiet,
        modes=tuple(args.modes),
        start_times=args.start_times,
    )
    results = run_benchmark(config)
    if args.json:
        print(results_json(results))
    else:
        print(format_table(results))
        print()
        print(format_details(results))
        if args.max_frames is not None:
            print(f"\n(first {args.max_frames} frames per camera only)")
    if args.output:
        print(f"\nresults.json, table.md and every run's outputs are in {args.output}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
