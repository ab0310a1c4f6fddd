"""``mlfn edge`` and ``mlfn central`` (also ``mlfn-edge``, ``mlfn-central``): a site of edge boxes and one central identity service.

Both are thin: they parse arguments and call
:func:`~mlfn_keras.tracking.site.edge.run_edge` /
:func:`~mlfn_keras.tracking.site.central.run_central`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

from mlfn_keras import cli_args
from mlfn_keras.cli_args import make_parser
from mlfn_keras.errors import cli_entry
from mlfn_keras.weights import SHIPPED_REID as _SHIPPED_REID

#: The re-id weights shipped in the package.
SHIPPED_REID = str(_SHIPPED_REID)
DEFAULT_BROKER = "redis://127.0.0.1:6379"

EDGE_EXAMPLES = """Examples:

    # one edge box with two webcams, named for the site
    %(prog)s --broker redis://central.lan:6379 --cams 0 1 --names hall-a hall-b

    # PETS09 as two boxes on one machine (see docs/multibox.md)
    %(prog)s --broker redis://127.0.0.1:6379 --edge box-left --cams left.avi --names left
    %(prog)s --broker redis://127.0.0.1:6379 --edge box-right --cams right.avi --names right

    # a password-protected broker over TLS
    %(prog)s --broker rediss://edge:s3cret@central.lan:6380 --cams rtsp://10.0.0.7/stream

Camera names default to <host>-cam<i> and must be unique on the site; the
edge name defaults to the host name. Recorded files are published tick by
tick (the answer matches one box); live cameras never wait for the network:
ticks that carry only boxes are dropped first when the broker is away, and
counted. A restarted edge continues its stream in a new epoch.
"""

CENTRAL_EXAMPLES = """Examples:

    # the central of a two-edge run on recorded files; finishes when both edges end
    %(prog)s --broker redis://127.0.0.1:6379 --edges 2 --output runs/site

    # a live site with a web view for the LAN, until Ctrl-C
    %(prog)s --broker redis://127.0.0.1:6379 --output runs/live --serve 0.0.0.0:8080

    # a standby: waits for the active central's lease, then takes over from its checkpoint
    %(prog)s --broker redis://127.0.0.1:6379 --output runs/live --standby

    # score a recorded run against MOT ground truth named like the cameras
    %(prog)s --edges 2 --output runs/site --evaluate --gt gt/

Outputs with --output DIR: mot/NAME.txt (global ids, one file per camera name),
mot_local/NAME.txt (per-camera track ids), events.jsonl, summary.json (with a
"site" part: duplicates, late and refused messages, clock skew per edge),
manifest.json. The central checkpoints to the broker and acknowledges
messages only after that; starting it again after a crash resumes the run.
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", default=DEFAULT_BROKER, metavar="URL",
                        help=f"redis://[USER:PASSWORD@]HOST[:PORT] or rediss:// for TLS (default: {DEFAULT_BROKER})")
    parser.add_argument("--namespace", default="mlfn", help="the site's key prefix on the broker (default: mlfn)")


def build_edge_parser() -> argparse.ArgumentParser:
    parser = make_parser("mlfn-edge", "An edge box of a site: detect, track and embed its cameras; publish to the broker.",
                         EDGE_EXAMPLES)
    _common(parser)
    cli_args.add_cams(parser, required=True, help="this box's cameras (as mlfn demo --cams)")
    parser.add_argument("--names", nargs="+", default=None, metavar="NAME", help="camera names, unique on the site (default: <host>-cam<i>)")
    parser.add_argument("--edge", default=None, metavar="NAME", help="this edge's name, unique on the site (default: the host name)")
    parser.add_argument("--detector", default="ssdlite", help="ssdlite | bgsub | onnx:PATH (default: ssdlite)")
    parser.add_argument("--reid", default=SHIPPED_REID, help="re-id embedder spec: a .keras, SavedModel, .onnx or .tflite file, 'hist', 'untrained[:PRESET]' "
                             "or a fusion such as site.onnx+hist (default: the shipped mlfn_small; docs/models.md)")
    parser.add_argument("--embed-every", type=int, default=None, help="frames between re-embeddings of a track (default: 5)")
    parser.add_argument("--start-times", nargs="+", type=float, default=None, metavar="S", help="files: when each started, seconds on the site's clock")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames per camera")
    parser.add_argument("--realtime", action="store_true", help="files: play at their frame rate, as a camera would")
    parser.add_argument("--fp16", action="store_true", help="send embeddings as float16 (half the bytes; no longer bit-exact)")
    parser.add_argument("--tick-hz", type=float, default=30.0, help="live cameras: ticks per second on the site clock (default: 30)")
    parser.add_argument("--summary", default=None, metavar="PATH", help="write this edge's summary (JSON) here")
    return parser


def build_central_parser() -> argparse.ArgumentParser:
    parser = make_parser("mlfn-central", "The central identity service of a site: global ids for every edge's cameras.",
                         CENTRAL_EXAMPLES)
    _common(parser)
    cli_args.add_output(parser, help="write MOT files, events and a summary here")
    parser.add_argument("--force", action="store_true", help="write into an --output folder holding files this tool did not write")
    parser.add_argument("--edges", type=int, default=None, metavar="N", help="wait for N edges; finish when all ended (recorded files)")
    parser.add_argument("--allow-edges", nargs="+", default=None, metavar="NAME", help="refuse any other edge name")
    parser.add_argument("--serve", default=None, metavar="[HOST:]PORT", help="serve the live web view (default host 127.0.0.1)")
    parser.add_argument("--evaluate", action="store_true", help="score the run against --gt (needs --output)")
    parser.add_argument("--gt", default=None, metavar="DIR", help="ground truth: NAME.txt per camera (MOT format)")
    parser.add_argument("--threshold", type=float, default=None, help="cosine similarity to link tracks (default: calibrated)")
    parser.add_argument("--max-gap", type=float, default=None, metavar="SECONDS", help="offline: longest gap between a person's cameras (default: 15)")
    parser.add_argument("--expiry", type=float, default=None, help="seconds before an unseen identity is forgotten (default: 300)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", dest="offline", action="store_true", default=None, help="re-cluster the whole run at the end")
    mode.add_argument("--online", dest="offline", action="store_false", help="live ids only")
    parser.add_argument("--standby", action="store_true", help="wait as long as it takes for the lease (a hot standby)")
    parser.add_argument("--stale", type=float, default=10.0, metavar="SECONDS", help="an edge silent this long leaves (default: 10)")
    parser.add_argument("--max-lag", type=float, default=1.0, metavar="SECONDS", help="live: wait at most this long for a slow edge (default: 1)")
    parser.add_argument("--checkpoint-every", type=float, default=2.0, metavar="SECONDS", help="seconds between checkpoints (default: 2)")
    parser.add_argument("--slow", nargs=2, type=float, default=None, metavar=("DELAY", "FOR"),
                        help="testing: sleep DELAY s per tick for the first FOR s")
    return parser


def _pipeline(args):
    from mlfn_keras.tracking.core.pipeline import PipelineConfig

    p = PipelineConfig()
    for field, value in (("threshold", getattr(args, "threshold", None)), ("embed_every", getattr(args, "embed_every", None)),
                         ("expiry_seconds", getattr(args, "expiry", None)), ("max_gap_seconds", getattr(args, "max_gap", None))):
        if value is not None:
            setattr(p, field, value)
    return p


def _broker_errors(fn):
    """A broker that cannot be reached at the start is a one-line error, not a traceback."""
    from mlfn_keras.tracking.site.broker import BrokerError, BrokerUnavailable

    try:
        return fn()
    except BrokerUnavailable as exc:
        raise BrokerError(f"{exc}; expected a running redis-server (>= 7.0) at --broker") from None


@cli_entry
def edge_main(argv: Sequence[str] | None = None) -> int:
    parser = build_edge_parser()
    args = parser.parse_args(argv)
    from mlfn_keras.tracking.app.sources import CamsError, parse_cams
    from mlfn_keras.tracking.site.broker import check_url
    from mlfn_keras.tracking.site.edge import (
        EdgeConfig,
        default_edge_name,
        edge_summary_line,
        run_edge,
    )

    check_url(args.broker)
    try:
        specs = parse_cams(args.cams)
    except CamsError as exc:
        parser.error(str(exc))
    host = default_edge_name()
    names = args.names or [f"{host}-cam{i}" for i in range(len(specs))]
    if len(names) != len(specs):
        parser.error(f"--names got {len(names)} names for {len(specs)} --cams; expected one per camera")
    starts = args.start_times or [0.0] * len(specs)
    if len(starts) != len(specs):
        parser.error(f"--start-times got {len(starts)} values for {len(specs)} --cams; expected one per camera")
    specs = [dataclasses.replace(s, name=n, start_time=t) for s, n, t in zip(specs, names, starts)]
    from mlfn_keras.runtime import EmbedderNotFoundError, check_spec, load_embedder

    try:
        check_spec(args.reid, what="--reid")
    except EmbedderNotFoundError as exc:
        parser.error(str(exc))
    from mlfn_keras.tracking.detection.detectors import build_detector
    from mlfn_keras.tracking.detection.schedule import (
        DetectionScheduler,
        default_schedule,
    )

    try:
        detector = build_detector(args.detector)
    except ValueError as exc:
        parser.error(str(exc))
    detector = DetectionScheduler(detector, default_schedule(detector))  # as the demo: every frame, motion gating
    embedder = load_embedder(args.reid, what="--reid")
    config = EdgeConfig(broker=args.broker, specs=specs, edge=args.edge, namespace=args.namespace, pipeline=_pipeline(args),
                        max_frames=args.max_frames, fp16=args.fp16, tick_hz=args.tick_hz, realtime=args.realtime,
                        progress=not args.quiet)
    summary = _broker_errors(lambda: run_edge(config, detector, embedder))
    print(edge_summary_line(summary))
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary.to_dict(), indent=1))
    return 130 if summary.interrupted else 0


@cli_entry
def central_main(argv: Sequence[str] | None = None) -> int:
    parser = build_central_parser()
    args = parser.parse_args(argv)
    from mlfn_keras.tracking.site.broker import check_url
    from mlfn_keras.tracking.site.central import CentralConfig, run_central

    check_url(args.broker)
    if args.evaluate and not (args.output and args.gt):
        parser.error("--evaluate needs --output DIR and --gt DIR (ground truth NAME.txt per camera)")
    if args.edges is not None and args.edges < 1:
        parser.error(f"--edges got {args.edges}; expected 1 or more")
    cli_args.check_serve(parser, args.serve)
    if args.output:
        from mlfn_keras.tracking.app.recorder import prepare_output_dir

        if not _resuming(args):
            prepare_output_dir(args.output, force=args.force)
    slow = args.slow or (0.0, 0.0)
    config = CentralConfig(broker=args.broker, output_dir=args.output, edges=args.edges, allowed_edges=args.allow_edges,
                           namespace=args.namespace, pipeline=_pipeline(args), offline=args.offline, serve=args.serve,
                           stale_seconds=args.stale, max_lag_seconds=args.max_lag, checkpoint_seconds=args.checkpoint_every,
                           wait_lease=None if args.standby else 12.0, tick_delay=slow[0], tick_delay_for=slow[1],
                           on_serve=lambda url: print(f"live view: {url}", flush=True))
    summary = _broker_errors(lambda: run_central(config))
    if args.evaluate and not summary.interrupted:
        from mlfn_keras.tracking.eval.metrics import evaluate_run, format_scores

        scores = evaluate_run(args.output, args.gt)
        print(format_scores(scores))
        with open(os.path.join(args.output, "scores.json"), "w") as f:
            json.dump(scores, f, indent=1)
    return 130 if summary.interrupted else 0


def _resuming(args) -> bool:
    """Whether the broker holds a checkpoint of this site (then the output folder is continued, not cleared)."""
    from mlfn_keras.tracking.site.broker import RedisBroker
    from mlfn_keras.tracking.site.messages import Keys

    def check():
        b = RedisBroker(args.broker)
        try:
            return b.get(Keys(args.namespace).checkpoint) is not None
        finally:
            b.close()

    return bool(_broker_errors(check))
