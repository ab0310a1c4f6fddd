"""Cameras per box: edge-pipeline throughput against tracking quality, one setting at a time.

Runs the demo pipeline on 1, 2, 4 and 8 PETS09 full-frame (768x576) cameras
(one video, each camera starting at another frame; cut once and cached) for
each setting: full rate fp32, then a detection interval, then motion gating,
then the int8 detector. Beside every row: frames per second per camera, CPU
milliseconds per camera frame (all threads), the cameras that CPU time would
allow at 10 FPS, and per-camera IDF1/HOTA against PETS09's ground truth;
each setting also runs PETS09's lr cameras for cross-camera IDF1. Then where
the time goes per stage. Writes throughput.md, throughput.json and
throughput.png into --output.

Settings are '+'-joined parts: full (every frame, fp32), every:K (detect every
K-th frame, predict in between), motion (skip tiles without motion), fp32 /
int8 / auto (detector precision; int8 needs python export/detector_int8.py
first and is measured even if it failed its parity gate, which the table
says).

Examples:

    # the whole story (about 25 minutes on a quiet 2-core machine)
    python benchmarks/throughput.py --output runs/throughput --plot docs/images/throughput.png

    # which interval keeps quality: a sweep on 4 cameras
    python benchmarks/throughput.py --cameras 4 --settings full,every:2,every:3,every:4 --output runs/interval

    # a quick look
    python benchmarks/throughput.py --cameras 1 2 --frames 60 --no-lr --output /tmp/tp
"""

from __future__ import annotations

import os
import sys

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import UserError, cli_entry


@cli_entry
def main(argv=None) -> int:
    from mlfn_keras.tracking.bench.realvideo import SHIPPED_REID
    from mlfn_keras.tracking.bench.speed import DEFAULT_FRAMES, DEFAULT_SETTINGS

    parser = parser_from_doc(__doc__)
    parser.add_argument("--cameras", nargs="+", type=int, default=[1, 2, 4, 8], help="numbers of cameras (default: 1 2 4 8)")
    parser.add_argument("--settings", default=",".join(DEFAULT_SETTINGS),
                        help=f"comma-separated settings (default: {','.join(DEFAULT_SETTINGS)})")
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help=f"frames per camera (default {DEFAULT_FRAMES})")
    parser.add_argument("--no-lr", action="store_true", help="skip the PETS09 lr runs (cross-camera IDF1)")
    parser.add_argument("--lr-frames", type=int, default=None, help="frames of the lr runs (default: all 795)")
    parser.add_argument("--reid", default=SHIPPED_REID, help="re-id model (default: the shipped weights)")
    parser.add_argument("--video", default=None, help="PETS09 vtest.avi (default: cached, or fetched with apt-get)")
    parser.add_argument("--threads", type=int, default=None, help="detector onnxruntime threads (default: its own)")
    parser.add_argument("--output", required=True, metavar="DIR", help="where runs/, throughput.md/.json/.png go")
    parser.add_argument("--plot", default=None, help="also write the plot here (e.g. docs/images/throughput.png)")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.cameras):
        raise UserError(f"--cameras takes numbers >= 1; got {args.cameras}")

    from mlfn_keras.tracking.bench.speed import ThroughputConfig, format_throughput, run_throughput, write_throughput

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    config = ThroughputConfig(
        cameras=tuple(args.cameras), settings=tuple(s for s in args.settings.split(",") if s.strip()),
        frames=args.frames, lr=not args.no_lr, lr_frames=args.lr_frames, reid=args.reid, video=args.video,
        output_dir=args.output, threads=args.threads, progress=not args.quiet,
    )
    rows = run_throughput(config)
    if args.plot:
        write_throughput(rows, args.output, config, plot=args.plot)
    print(format_throughput(rows, load))
    print(f"\nwrote {args.output}/throughput.md, throughput.json, throughput.png" + (f" and {args.plot}" if args.plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
