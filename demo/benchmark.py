"""Benchmarks the multi-camera demo end to end and shows where the time goes.

Plays the built-in two-camera scene (two 768x576 streams, decoded from .mp4 by
the camera threads) through the full pipeline, headless and without writing
files, once per detector, and prints a table: frames per second per camera,
and milliseconds per tick for each stage (decode is per frame on the reader
threads, in parallel with the rest; detect/track/embed/associate are on the
main thread, one tick = one frame from each camera). For cameras per box on
real footage, with tracking quality beside each figure, see
benchmarks/throughput.py.

Examples:

    # default: background subtraction (the built-in scene's detector) and SSDLite
    python demo/benchmark.py

    # one detector, more frames, JSON too
    python demo/benchmark.py --detectors ssdlite --frames 600 --json bench.json

    # detect every 3rd frame with motion gating, as demo/multicam.py --detect-every 3 --motion-gating
    python demo/benchmark.py --detectors ssdlite --detect-every 3 --motion-gating

    # an exported re-id model
    python demo/benchmark.py --reid model.onnx
"""

from __future__ import annotations

from collections.abc import Sequence

from mlfn_keras import cli_args


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli_args.parser_from_doc(__doc__, prog="demo/benchmark.py")
    parser.add_argument("--detectors", default="bgsub,ssdlite", help="comma-separated (default: bgsub,ssdlite)")
    parser.add_argument("--reid", default=None, help="re-id model (default: the shipped mlfn_small)")
    parser.add_argument("--frames", type=int, default=300, help="frames per camera (default: 300)")
    parser.add_argument("--size", default="768x576", help="WIDTHxHEIGHT (default: 768x576)")
    parser.add_argument("--detect-every", type=int, default=1, metavar="K", help="detect every K-th frame (default 1)")
    parser.add_argument("--motion-gating", action="store_true", help="skip detector tiles without motion")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.detect_every < 1:
        parser.error(f"--detect-every got {args.detect_every}; expected a whole number of 1 or more.")

    from mlfn_keras.tracking.app.demo import scene_specs
    from mlfn_keras.tracking.app.scene import SceneConfig
    from mlfn_keras.tracking.bench.realvideo import SHIPPED_REID as DEFAULT_REID
    from mlfn_keras.tracking.bench.speed import benchmark_pipeline, format_table
    from mlfn_keras.tracking.detection.schedule import ScheduleConfig

    schedule = ScheduleConfig(every=args.detect_every, motion=args.motion_gating)

    width, height = (int(v) for v in args.size.lower().split("x"))
    scene = SceneConfig(num_frames=max(args.frames, 60), width=width, height=height)
    specs, _ = scene_specs(scene)
    results = []
    for name in [d.strip() for d in args.detectors.split(",") if d.strip()]:
        results.append(benchmark_pipeline(specs, name, args.reid or DEFAULT_REID, args.frames, schedule, progress=not args.quiet))
    return cli_args.report(format_table(results), results, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
