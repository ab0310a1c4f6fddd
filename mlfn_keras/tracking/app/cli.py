"""Track people across cameras, one global id per person across cameras and re-entries (MLFN re-id).

Each camera is read on its own thread; people are detected, tracked per camera
(ByteTrack), embedded with an MLFN re-id model (one batched call per tick over
all cameras) and given global ids from a shared gallery, so the same person
keeps the same id across cameras and on re-entry.

With no --cams the demo plays a built-in generated two-camera scene (rendered
once, deterministic from --seed, cached under ~/.cache/mlfn_keras), which has
ground truth, so --evaluate can score the run. The built-in scene uses the
background-subtraction detector by default: the SSDLite pedestrian detector
(the default for real cameras) was trained on photographs and misses the
renderer's drawn people.

Examples:

    # built-in two-camera scene, headless, outputs + scores
    %(prog)s --no-show --output runs/scene --evaluate

    # two webcams, live window
    %(prog)s --cams 0 1

    # an edge box without a screen: watch from a browser on the LAN
    %(prog)s --cams rtsp://10.0.0.7/stream 0 --serve 0.0.0.0:8080

    # a video file, an RTSP camera and a folder of frames, saving results
    %(prog)s --cams hall.mp4 rtsp://10.0.0.7/stream frames/ --output runs/site

    # your own YOLO-style ONNX detector and an exported re-id model
    %(prog)s --cams a.mp4 b.mp4 --detector onnx:yolov8n.onnx --reid reid.onnx

    # recorded files are re-clustered at the end (offline); force live behaviour
    %(prog)s --cams a.mp4 b.mp4 --online --threshold 0.8

    # two recordings that did not start together: the second began 57 s after the first
    %(prog)s --cams first.avi second.avi --start-times 0 57.1 --no-show --output runs/pets

    # isolate re-id quality: ground-truth boxes instead of a detector (built-in scene only)
    %(prog)s --no-show --detector gt --output runs/gt --evaluate

--cams accepts webcam indices (0, 1, ...), video files (.mp4 .avi .mkv .mov ...),
stream URLs (rtsp:// rtmp:// http:// https:// udp:// tcp://) and image folders.
--detector onnx:PATH expects a YOLO-style model: input (1, 3, S, S) RGB in
[0, 1] (letterboxed); output (1, 4+C, N) [YOLOv8/11], (1, N, 5+C) [YOLOv5/7]
or (1, N, 6) x1,y1,x2,y2,score,class [NMS inside]; class 0 = person.

Outputs with --output DIR: cam{i}.mp4 (annotated), events.jsonl, mot/cam{i}.txt
(global ids), mot_local/cam{i}.txt (per-camera ids), summary.json, manifest.json
(the list of files the run wrote), and gt/ for the built-in scene. Reusing DIR
first removes the files the previous run listed in its manifest; a folder holding
anything else (dot-files included) is refused before anything is removed, unless
--force (which keeps those files). Two runs cannot write one DIR at once: the
second is refused with the first one's process id.

A live camera (webcam, URL) that cannot be opened or stops delivering is retried
5 times in a row, waiting 0.5, 1, 2, 4 and 8 s, then given up; a video file's
frames that fail to decode are skipped and counted. The run ends when every
camera has ended, been given up or delivered --max-frames frames. Press q in
the window or Ctrl-C to stop; files are closed cleanly either way. Bad input
exits with code 2 and a one-line message (--debug shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from mlfn_keras import cli_args
from mlfn_keras.errors import UserError, cli_entry
from mlfn_keras.weights import SHIPPED_REID

__all__ = ["DEFAULT_REID", "build_parser", "main"]

DEFAULT_REID = str(SHIPPED_REID)


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of ``mlfn demo`` (alias: ``python demo/multicam.py``)."""
    doc = __doc__ or ""
    parser = cli_args.make_parser(
        "mlfn demo", description=doc.split("\n\n")[0], epilog=doc[doc.index("Examples:") :],
        quiet_help="no progress bar or progress lines",
    )
    cli_args.add_cams(parser, default=[], help="cameras (default: the built-in two-camera scene)")
    parser.add_argument(
        "--detector",
        default="auto",
        help="ssdlite | bgsub | gt | onnx:PATH (default: bgsub for the built-in scene, ssdlite for --cams)",
    )
    parser.add_argument("--reid", default=DEFAULT_REID, help="re-id model: .keras, SavedModel, .onnx or .tflite (default: the shipped mlfn_small)")
    parser.add_argument(
        "--threshold", type=float, default=None,
        help="cosine similarity to link tracks across cameras (default: calibrated on the footage, logged)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", dest="offline", action="store_true", default=None,
                      help="re-cluster the whole run at the end and rewrite mot/ (default when every source is a file)")
    mode.add_argument("--online", dest="offline", action="store_false",
                      help="live ids only, revised as the run goes (default for webcams and streams)")
    parser.add_argument("--start-times", nargs="+", type=float, default=None, metavar="S",
                        help="files: when each --cams file started, in seconds on one clock (default: all 0, "
                             "recorded together); cross-camera timing (--max-gap, overlapping views) reads it")
    parser.add_argument("--max-gap", type=_gap, default=None, metavar="SECONDS",
                        help="offline: longest time between one person's tracklets in two cameras "
                             "(default: 15; 'none': no limit, for people who come back much later)")
    parser.add_argument("--embed-every", type=int, default=None, help="frames between re-embeddings of a track (default: 5)")
    parser.add_argument("--expiry", type=float, default=None, help="seconds before an unseen identity is forgotten (default: 300)")
    cli_args.add_output(parser, help="write videos, events, MOT files and a summary here")
    parser.add_argument("--no-video", action="store_true", help="with --output, skip the annotated videos")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames per camera")
    parser.add_argument("--force", action="store_true", help="write into an --output folder that holds files this demo did not write (they are kept)")
    show = parser.add_mutually_exclusive_group()
    show.add_argument("--show", dest="show", action="store_true", default=None, help="open the live window")
    show.add_argument("--no-show", dest="show", action="store_false", help="headless (no window)")
    parser.add_argument("--serve", default=None, metavar="[HOST:]PORT",
                        help="serve the live view as a web page (default host 127.0.0.1: this machine only; 0.0.0.0: the network)")
    parser.add_argument("--evaluate", action="store_true", help="score the run against ground truth (built-in scene; needs --output)")
    parser.add_argument("--seed", type=int, default=0, help="built-in scene seed (default: 0)")
    parser.add_argument("--people", type=int, default=10, help="built-in scene: people (default: 10)")
    parser.add_argument("--frames", type=int, default=600, help="built-in scene: frames per camera (default: 600)")
    parser.add_argument("--size", default="768x576", help="built-in scene: WIDTHxHEIGHT (default: 768x576)")
    return parser


def _gap(value: str) -> float | str:
    if value.lower() == "none":
        return "none"
    try:
        gap = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {value!r}; expected seconds (a number >= 0) or 'none'") from None
    if not gap >= 0 or gap == float("inf"):
        raise argparse.ArgumentTypeError(f"got {value!r}; expected seconds (a number >= 0) or 'none'")
    return gap


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuses values that cannot work, before any model is loaded or frame read."""
    if args.evaluate and not args.output:
        parser.error("--evaluate needs --output DIR (it scores the MOT files the run writes there).")
    positive = {"--max-frames": args.max_frames, "--frames": args.frames, "--people": args.people,
                "--embed-every": args.embed_every}
    for flag, value in positive.items():
        if value is not None and value < 1:
            parser.error(f"{flag} got {value}; expected a whole number of 1 or more.")
    if args.threshold is not None and not -1.0 <= args.threshold <= 1.0:
        parser.error(f"--threshold got {args.threshold}; expected a cosine similarity in [-1, 1].")
    if args.start_times is not None:
        if not args.cams:
            parser.error("--start-times needs --cams (one start time per camera).")
        if len(args.start_times) != len(args.cams):
            parser.error(f"--start-times got {len(args.start_times)} values for {len(args.cams)} --cams; expected one per camera.")
        if not all(t >= 0 and t != float("inf") for t in args.start_times):
            parser.error(f"--start-times got {args.start_times}; expected seconds >= 0.")
    if args.expiry is not None and args.expiry <= 0:
        parser.error(f"--expiry got {args.expiry}; expected seconds greater than 0.")


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """``mlfn demo`` (alias: ``python demo/multicam.py``); see ``--help``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    from mlfn_keras.tracking.app.demo import DemoConfig, run_demo
    from mlfn_keras.tracking.app.scene import SceneConfig
    from mlfn_keras.tracking.app.sources import CamsError, parse_cams
    from mlfn_keras.tracking.core.pipeline import PipelineConfig
    from mlfn_keras.tracking.eval.metrics import format_scores

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size got {args.size!r}; expected WIDTHxHEIGHT, e.g. 768x576.")
    pipeline = PipelineConfig()
    if args.threshold is not None:
        pipeline.threshold = args.threshold
    if args.embed_every is not None:
        pipeline.embed_every = args.embed_every
    if args.expiry is not None:
        pipeline.expiry_seconds = args.expiry
    if args.max_gap is not None:
        pipeline.max_gap_seconds = None if args.max_gap == "none" else args.max_gap
    show = args.show if args.show is not None else bool(os.environ.get("DISPLAY") or sys.platform in ("win32", "darwin"))
    if args.serve is not None:
        from mlfn_keras.tracking.view.web import ServeError, parse_serve

        try:
            parse_serve(args.serve)
        except ServeError as exc:
            parser.error(str(exc))
    if args.cams:
        try:
            parse_cams(args.cams)  # fail on a bad value before loading any model
        except CamsError as exc:
            parser.error(str(exc))
        if args.detector == "gt":
            parser.error("--detector gt needs ground truth, which only the built-in scene (no --cams) has.")
    if not os.path.exists(args.reid):
        if args.reid != DEFAULT_REID:
            parser.error(f"--reid got {args.reid!r}, which does not exist; expected a .keras, SavedModel, .onnx or .tflite file.")
        parser.error(
            f"The default re-id weights {DEFAULT_REID} are missing; re-create them with the "
            "command in mlfn_keras/weights/README.md or pass --reid PATH."
        )
    with contextlib.ExitStack() as outputs:
        if args.output:
            from mlfn_keras.fileio import run_lock
            from mlfn_keras.tracking.app.recorder import prepare_output_dir

            outputs.enter_context(run_lock(args.output, "--output"))  # one run per folder, held to the end
            prepare_output_dir(args.output, force=args.force)
        config = DemoConfig(
            cams=args.cams,
            detector=args.detector,
            reid=args.reid,
            scene=SceneConfig(num_people=args.people, num_frames=args.frames, width=width, height=height, seed=args.seed),
            pipeline=pipeline,
            output_dir=args.output,
            show=show,
            max_frames=args.max_frames,
            write_video=not args.no_video,
            progress=not args.quiet,
            evaluate=args.evaluate,
            serve=args.serve,
            offline=args.offline,
            start_times=args.start_times,
        )
        try:
            summary, scores = run_demo(config)
        except UserError:
            raise  # cli_entry prints it in two lines
        except (CamsError, ValueError, FileNotFoundError) as exc:
            parser.error(str(exc))
        cams = ", ".join(
            f"{c['name']}: {c['frames']} frames, {c['fps']:.1f} FPS"
            + (f", {c['corrupt_skipped']} corrupt skipped" if c.get("corrupt_skipped") else "")
            + (", given up" if c.get("gave_up") else "")
            for c in summary.cameras
        )
        print(f"{summary.ticks} ticks in {summary.wall_seconds:.1f} s ({cams}); {summary.global_ids} global ids; "
              f"{summary.tracker_stats.get('handoffs', 0)} hand-offs, {summary.tracker_stats.get('reentries', 0)} re-entries")
        if args.output:
            print(f"outputs in {args.output}/ (summary.json, events.jsonl, mot/, mot_local/)")
        if scores is not None:
            print(format_scores(scores))
            if args.output:
                from mlfn_keras.fileio import write_json

                write_json(os.path.join(args.output, "scores.json"), scores, indent=1)  # listed in manifest.json
        return 130 if summary.interrupted else 0


if __name__ == "__main__":
    raise SystemExit(main())
