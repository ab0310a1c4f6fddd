"""Scores a multi-camera tracking run against ground truth.

Per camera: HOTA (with DetA/AssA), MOTA and IDF1 from TrackEval's own metric
classes, on the run's global ids (mot/cam{i}.txt, what the demo shows) and on
its per-camera track ids (mot_local/cam{i}.txt, the tracker alone).

Across cameras: IDF1 on global ids over all cameras together. Every
(camera, frame) is one time step of a single sequence and the best one-to-one
mapping between people and global ids is found over all of it, so a person
keeps credit only for the boxes where they carry the same global id in every
camera they visit (the DukeMTMC multi-camera IDF1 of Ristani et al. 2016).

Without RUN_DIR, runs the built-in generated scene headless first (same
options as mlfn demo) and scores that.

Examples:

    # run the built-in scene and score it
    python demo/evaluate.py

    # score an earlier run (ground truth in RUN_DIR/gt, written for the built-in scene)
    mlfn demo --no-show --output runs/scene
    python demo/evaluate.py runs/scene

    # your own cameras with your own MOT ground truth (gt/cam0.txt, gt/cam1.txt, ...)
    python demo/evaluate.py runs/site --gt labels/ --json runs/site/scores.json

    # re-id quality alone: ground-truth boxes instead of detections
    python demo/evaluate.py --detector gt
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

from mlfn_keras import cli_args
from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import cli_entry


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    parser = parser_from_doc(__doc__, prog="python demo/evaluate.py")
    parser.add_argument("run_dir", nargs="?", help="an mlfn demo --output folder (default: run the built-in scene now); "
                        "only the cameras its summary.json lists are scored")
    parser.add_argument("--gt", default=None, help="ground-truth folder with cam{i}.txt (default: RUN_DIR/gt)")
    parser.add_argument("--json", default=None, help="also write the scores here")
    parser.add_argument("--max-frames", type=int, default=None, help="score only the first N frames")
    parser.add_argument("--detector", default="auto", help="when running the built-in scene: detector (default: bgsub)")
    parser.add_argument("--reid", default=None, help="when running the built-in scene: re-id model (default: the shipped one)")
    parser.add_argument("--people", type=int, default=10, help="built-in scene: people (default: 10)")
    parser.add_argument("--frames", type=int, default=600, help="built-in scene: frames per camera (default: 600)")
    parser.add_argument("--seed", type=int, default=0, help="built-in scene seed (default: 0)")
    args = parser.parse_args(argv)
    for flag, value in (("--max-frames", args.max_frames), ("--people", args.people), ("--frames", args.frames)):
        if value is not None and value < 1:
            parser.error(f"{flag} got {value}; expected a whole number of 1 or more.")

    from mlfn_keras.tracking.eval.metrics import evaluate_run, format_scores

    run_dir = args.run_dir
    if run_dir is None:
        from mlfn_keras.tracking.app.cli import DEFAULT_REID, main as multicam_main

        run_dir = tempfile.mkdtemp(prefix="mlfn_multicam_eval_")
        cmd = [
            "--no-show", "--no-video", "--output", run_dir, "--detector", args.detector,
            "--reid", args.reid or DEFAULT_REID, "--people", str(args.people), "--frames", str(args.frames),
            "--seed", str(args.seed),
        ]
        if args.max_frames:
            cmd += ["--max-frames", str(args.max_frames)]
        if args.quiet:
            cmd.append("--quiet")
        rc = multicam_main(cmd)
        if rc != 0:
            return rc
    elif not os.path.isdir(run_dir):
        parser.error(f"RUN_DIR {run_dir!r} is not a folder; expected an mlfn demo --output folder.")
    try:
        scores = evaluate_run(run_dir, args.gt, args.max_frames)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    return cli_args.report(format_scores(scores), scores, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
