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

    # an edge box without a screen: watch from a browser on the LAN, with a token
    %(prog)s --cams rtsp://10.0.0.7/stream 0 --serve 0.0.0.0:8080 --serve-token s3cret
    #   then open http://BOX:8080/?token=s3cret

    # follow people across two recorded cameras: live page, then report.html in runs/lr/
    %(prog)s --cams left.avi right.avi --no-show --output runs/lr --serve 8080

    # a video file, an RTSP camera and a folder of frames, saving results
    %(prog)s --cams hall.mp4 rtsp://10.0.0.7/stream frames/ --output runs/site

    # more cameras per box: detect every 2nd frame (costs some tracking quality; docs/speed.md)
    %(prog)s --cams a.mp4 b.mp4 c.mp4 d.mp4 --detect-every 2 --no-show

    # your own YOLO-style ONNX detector and an exported re-id model
    %(prog)s --cams a.mp4 b.mp4 --detector onnx:yolov8n.onnx --reid reid.onnx

    # the colour-histogram baseline, or an adapted model fused with it
    %(prog)s --reid hist
    %(prog)s --cams a.mp4 b.mp4 --reid site.onnx+hist

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

Outputs with --output DIR: report.html (open it in a browser: every person with
their pictures per camera, path and times; report_files/ beside it),
cam{i}.mp4 (annotated), events.jsonl, mot/cam{i}.txt (global ids),
mot_local/cam{i}.txt (per-camera ids), ids.json (each id shown live -> its
final id), summary.json, manifest.json (the list of files the run wrote), and
gt/ for the built-in scene. Every output names the same final id for a box.
--serve PORT shows the live page (cameras, people, their timelines, camera
transitions, events); for recorded files it stays up after the run, showing
the final identities, until Ctrl-C. Reusing DIR
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
import threading
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
        help="ssdlite | ssdlite-fp32 | ssdlite-int8 | bgsub | gt | onnx:PATH (default: bgsub for the built-in scene, "
             "ssdlite for --cams: int8 where it passed its parity gate and is faster, else fp32; docs/speed.md)",
    )
    parser.add_argument("--reid", default=DEFAULT_REID, metavar="SPEC",
                        help="re-id embedder: a .keras, SavedModel, .onnx or .tflite file, 'hist' (colour histogram), "
                             "'untrained[:PRESET]' or a fusion such as site.onnx+hist (default: the shipped mlfn_small; "
                             "see docs/models.md)")
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
                        help="files: when each --cams file started, in seconds on one clock (all 0: recorded "
                             "together); a later file joins the run when the clock reaches its start, and "
                             "cross-camera timing (--max-gap, overlapping views) reads it. Without it the "
                             "files' clocks are not trusted to agree: people are linked across them only where their "
                             "views are found to overlap")
    parser.add_argument("--max-gap", type=_gap, default=None, metavar="SECONDS",
                        help="offline: longest time between one person's tracklets in two cameras "
                             "(default: 15; 'none': no limit, for people who come back much later)")
    parser.add_argument("--detect-every", type=int, default=None, metavar="K",
                        help="detect people every K-th frame per camera, the tracker predicting boxes in between "
                             "and detecting anyway when a track is uncertain (default: 1, every frame; see docs/speed.md)")
    gating = parser.add_mutually_exclusive_group()
    gating.add_argument("--motion-gating", dest="motion_gating", action="store_true", default=None,
                        help="re-detect only the detector tiles where something moved since their last detection "
                             "(default: on for the SSDLite detector, off for the others)")
    gating.add_argument("--no-motion-gating", dest="motion_gating", action="store_false", help="detect every tile")
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
    parser.add_argument("--serve-token", default=os.environ.get("MLFN_SERVE_TOKEN"), metavar="TOKEN",
                        help="every web client must give this token (open /?token=TOKEN once; default: $MLFN_SERVE_TOKEN)")
    parser.add_argument("--no-thumbnails", action="store_true",
                        help="keep no pictures of people: none in report.html or the web API (the live tiles stay)")
    parser.add_argument("--evaluate", action="store_true",
                        help="score the run against ground truth (the built-in scene's, or --gt; needs --output)")
    parser.add_argument("--gt", nargs="+", default=[], metavar="FILE",
                        help="with --cams: ground truth, one MOT file per camera (frame,id,x,y,w,h; ids are people "
                             "across cameras), for --evaluate and --detector gt")
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


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str] | None = None) -> None:
    """Refuses values that cannot work, before any model is loaded or frame read."""
    if args.evaluate and not args.output:
        parser.error("--evaluate needs --output DIR (it scores the MOT files the run writes there).")
    if args.serve_token is not None:
        from mlfn_keras.tracking.view.web import check_token

        if args.serve is None and "--serve-token" in (sys.argv if argv is None else argv):
            parser.error("--serve-token needs --serve [HOST:]PORT.")
        try:
            check_token(args.serve_token)
        except ValueError as exc:
            parser.error(str(exc))
    positive = {"--max-frames": args.max_frames, "--frames": args.frames, "--people": args.people,
                "--embed-every": args.embed_every, "--detect-every": args.detect_every}
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
    _check_args(parser, args, argv)
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
    cli_args.check_serve(parser, args.serve)
    if args.cams:
        try:
            parse_cams(args.cams)  # fail on a bad value before loading any model
        except CamsError as exc:
            parser.error(str(exc))
        if args.detector == "gt" and not args.gt:
            parser.error("--detector gt needs ground truth, which only the built-in scene (no --cams) has; with --cams give --gt FILE per camera.")
        if args.gt and len(args.gt) != len(args.cams):
            parser.error(f"--gt got {len(args.gt)} files for {len(args.cams)} --cams; expected one per camera.")
        if args.evaluate and not args.gt:
            parser.error("--evaluate with --cams needs --gt FILE per camera (only the built-in scene has its own ground truth).")
    elif args.gt:
        parser.error("--gt needs --cams (the built-in scene has its own ground truth).")
    from mlfn_keras.runtime import EmbedderNotFoundError, check_spec

    try:
        check_spec(args.reid, what="--reid")  # before rendering a scene or opening a camera
    except EmbedderNotFoundError as exc:
        if args.reid != DEFAULT_REID:
            parser.error(str(exc))
        parser.error(
            f"The default re-id weights {DEFAULT_REID} are missing; re-create them with the "
            "command in mlfn_keras/weights/README.md or pass --reid SPEC."
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
            detect_every=args.detect_every,
            motion_gating=args.motion_gating,
            output_dir=args.output,
            show=show,
            max_frames=args.max_frames,
            write_video=not args.no_video,
            progress=not args.quiet,
            evaluate=args.evaluate,
            gt=args.gt,
            serve=args.serve,
            offline=args.offline,
            start_times=args.start_times,
            thumbnails=not args.no_thumbnails,
            serve_token=args.serve_token or None,
            serve_until=threading.Event() if args.serve else None,
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
        print(f"{summary.ticks} ticks in {summary.wall_seconds:.1f} s ({cams}); {summary.identities} identities; "
              f"{summary.tracker_stats.get('handoffs', 0)} hand-offs, {summary.tracker_stats.get('reentries', 0)} re-entries")
        if args.output:
            print(f"outputs in {args.output}/: report.html (open it in a browser), videos, ids.json, events.jsonl, mot/, summary.json")
        if scores is not None:
            print(format_scores(scores))
            if args.output:
                from mlfn_keras.fileio import write_json

                write_json(os.path.join(args.output, "scores.json"), scores, indent=1)  # listed in manifest.json
        return 130 if summary.interrupted else 0


if __name__ == "__main__":
    raise SystemExit(main())
