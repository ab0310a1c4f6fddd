"""Learn a site's people from its own unlabelled footage.

Runs the project's person detector and per-camera tracker over the footage,
keeps good tracklets, and fine-tunes a re-id model on them without labels
(one tracklet is one person; tracklets of one camera seen together are
different people; across cameras and breaks, pseudo-identities from
constrained clustering, refined every round). Writes the adapted .keras model
and its parity-gated ONNX (or TFLite) export for mlfn demo --reid.

Examples:

    %(prog)s --cams cam0.mp4 cam1.mp4 --output site.keras --minutes 30
    %(prog)s --cams frames_cam0/ frames_cam1/ --output site.keras --export tflite
    %(prog)s --cams 0 rtsp://10.0.0.5/stream --live-minutes 10 --minutes 20 --output site.keras
    %(prog)s --cams hall.avi --detector bgsub --init-weights runs/mine/model.keras --output site.keras --force
    mlfn demo --cams cam0.mp4 cam1.mp4 --reid site.onnx

An interrupted run (Ctrl-C, killed) resumes from its checkpoint
(SITE.adapt-checkpoint/) when the same command is run again. A checkpoint of
other footage or settings is refused, never resumed or deleted: use a new --out,
or --fresh to discard it. Two runs cannot write one --output at once.
"""

from __future__ import annotations

import argparse
import sys

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry


def build_parser() -> argparse.ArgumentParser:
    from mlfn_keras.adapt.config import AdaptConfig
    from mlfn_keras.tracking.detection import DETECTOR_CHOICES_HELP

    d = AdaptConfig()
    parser = cli_args.make_parser(
        "mlfn-adapt", description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1],
        epilog="examples:" + __doc__.split("Examples:")[1])
    cli_args.add_cams(parser, required=True, dest="videos",
                      help="one source per camera: video file, image folder, webcam index or stream URL")
    cli_args.add_output(parser, required=True, dest="out", metavar="FILE",
                        help="the adapted model, .keras (export written beside it)")
    cli_args.add_init_weights(parser, dest="init", help="starting .keras model (default: the shipped demo weights)")
    parser.add_argument("--detector", default="ssdlite", help=f"person detector: {DETECTOR_CHOICES_HELP}")
    parser.add_argument("--minutes", type=float, default=d.minutes, help="training time budget (default %(default)s)")
    parser.add_argument("--live-minutes", type=float, default=5.0,
                        help="how long live sources (webcams, URLs) are recorded (default %(default)s)")
    parser.add_argument("--export", default="onnx", choices=("onnx", "tflite", "none"),
                        help="deployable file written beside --output after a parity gate (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--fresh", action="store_true", help="discard the checkpoint of an interrupted run and start over")
    parser.add_argument("--min-crops", type=int, default=4, help="shortest tracklet kept, in good boxes")
    parser.add_argument("--max-crops", type=int, default=32, help="crops kept per tracklet")
    parser.add_argument("--min-height", type=float, default=48.0, help="smallest person box used, pixels")
    parser.add_argument("--steps-per-round", type=int, default=d.steps_per_round,
                        help="training steps between re-clusterings (default %(default)s)")
    parser.add_argument("--max-rounds", type=int, help="stop after this many rounds")
    parser.add_argument("--lr", type=float, default=d.learning_rate, help="Adam learning rate (default %(default)s)")
    parser.add_argument("--cluster-features", default=d.cluster_features, choices=("model", "model+hist"),
                        help="pseudo-labels from the model's features, or model + colour histogram "
                             "(a hand-made prior for weak starting models; default %(default)s)")
    parser.add_argument("--lr-decay", default=d.lr_decay, choices=("constant", "cosine"),
                        help="learning rate per round: constant, or a half cosine to 0 over --minutes (default %(default)s)")
    parser.add_argument("--anchor-weight", type=float, default=d.anchor_weight,
                        help="pull towards the starting model's features (keeps ranking on people the footage does "
                             "not show; 0 = off; default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


@cli_entry
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from mlfn_keras.adapt.pipeline import AdaptRequest, run_adaptation
    from mlfn_keras.adapt.trainer import AdaptConfig

    config = AdaptConfig(minutes=args.minutes, max_rounds=args.max_rounds, steps_per_round=args.steps_per_round,
                         learning_rate=args.lr, seed=args.seed, anchor_weight=args.anchor_weight,
                         lr_decay=args.lr_decay,
                         cluster_features=args.cluster_features)
    request = AdaptRequest(
        sources=args.videos, out=args.out, init=args.init, detector=args.detector, export=args.export,
        force=args.force, resume=not args.fresh, live_minutes=args.live_minutes, min_crops=args.min_crops,
        max_crops=args.max_crops, min_height=args.min_height, config=config, progress=not args.quiet)
    summary = run_adaptation(request)
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
