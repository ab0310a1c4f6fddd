"""Detection recall/precision at IoU 0.5 on PETS09 S2.L1, and detector time per frame.

Scores a ``--detector`` (as the demo takes it) on the ``lr`` pseudo-cameras
(left/right 416x576 of each frame, all cameras of a frame in one call as in
the demo) and on full 768x576 frames. Ground-truth boxes with consider = 0
(MOT15's flag, or less than 60 % inside a camera) are ignore regions: a
detection matching one counts neither as a hit nor as a false positive.

Figures are given for frames 0-399 (where the default detector's settings
were chosen), frames 400-794 (not looked at while choosing) and all frames.
Timings are wall-clock on this machine; say whether it was loaded.

Examples:

    python benchmarks/detector_pets09.py                      # default detector, every frame
    python benchmarks/detector_pets09.py --every 5 --detector ssdlite:1x1
    python benchmarks/detector_pets09.py --every 8 --limit 400 --sweep 0.1,0.2,0.3   # how the threshold was chosen
    python benchmarks/detector_pets09.py --splits lr --video vtest.avi --json det.json
"""

from __future__ import annotations

import os
import sys

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import UserError, cli_entry


def _frames(video, every: int, limit: int | None):
    from mlfn_keras.data import pets09

    for index, frame in enumerate(pets09.iter_frames(video)):
        if limit is not None and index >= limit:
            return
        if index % every == 0:
            yield index, frame


@cli_entry
def main(argv=None) -> int:
    parser = parser_from_doc(__doc__)
    parser.add_argument("--detector", default="ssdlite", help="a --detector value of the demo (default: ssdlite)")
    parser.add_argument("--video", default=None, help="vtest.avi (default: the cached copy, fetched with apt-get if missing)")
    parser.add_argument("--splits", default="lr,full", help="comma-separated: lr, full, time (default: lr,full)")
    parser.add_argument("--every", type=int, default=1, help="score every N-th frame (default 1: all 795)")
    parser.add_argument("--limit", type=int, default=None, help="stop after this video frame index")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: its own)")
    parser.add_argument("--sweep", default="", help="comma-separated score thresholds to also report (e.g. 0.2,0.3,0.5)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.every < 1:
        raise UserError(f"--every must be >= 1; got {args.every}")

    from mlfn_keras.progress import tqdm

    from mlfn_keras.data import pets09
    from mlfn_keras.tracking.bench.detector import DEFAULT_RANGES, score_split
    from mlfn_keras.tracking.detection.detectors import build_detector

    video = pets09.locate_video(args.video)
    gt = pets09.load_ground_truth()
    try:
        detector = build_detector(args.detector, threads=args.threads)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(str(e)) from e
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"detector {args.detector}, every {args.every} frame(s); 1-min load average at start {load:.1f} on {os.cpu_count()} CPUs")
    results = {}
    header = f"{'split':6} {'frames':16} {'recall':>7} {'precision':>9} {'TP':>6} {'FP':>5} {'FN':>5} {'ignored':>7}"
    rows = []
    for split in [s.strip() for s in args.splits.split(",") if s.strip()]:
        cameras = pets09.split_cameras(split)
        camera_gt = [pets09.camera_ground_truth(gt, c) for c in cameras]
        n = (args.limit or pets09.NUM_FRAMES) // args.every
        frames = tqdm(_frames(video, args.every, args.limit), total=n, desc=split, file=sys.stderr, leave=False)
        try:
            thresholds = [float(t) for t in args.sweep.split(",") if t.strip()]
        except ValueError as e:
            raise UserError(f"--sweep takes comma-separated numbers; got {args.sweep!r}") from e
        score = score_split(detector, frames, cameras, camera_gt, split, DEFAULT_RANGES, thresholds=thresholds)
        for name, c in list(score.counts.items()) + [("all frames", score.total)]:
            if c.tp + c.fp + c.fn + c.ignored == 0:
                continue  # a range outside --limit
            rows.append(f"{split:6} {name:16} {100 * c.recall:7.1f} {100 * c.precision:9.1f} {c.tp:6d} {c.fp:5d} {c.fn:5d} {c.ignored:7d}")
        for t, counts in score.sweep.items():
            for name, c in counts.items():
                if c.tp + c.fp + c.fn + c.ignored == 0:
                    continue
                rows.append(f"{split:6} {name + f' @{t:g}':16} {100 * c.recall:7.1f} {100 * c.precision:9.1f} {c.tp:6d} {c.fp:5d} {c.fn:5d} {c.ignored:7d}")
        rows.append(f"{split:6} {'time':16} {score.ms_per_frame:.1f} ms per camera frame (wall), {score.ms_per_tick:.1f} ms per call "
                    f"({len(cameras)} camera(s) per call); CPU {score.cpu_ms_per_frame:.1f} ms per camera frame (all threads)")
        results[split] = {
            "ranges": {k: vars(v) | {"recall": v.recall, "precision": v.precision} for k, v in score.counts.items()},
            "all": vars(score.total) | {"recall": score.total.recall, "precision": score.total.precision},
            "ms_per_camera_frame": score.ms_per_frame,
            "ms_per_call": score.ms_per_tick,
            "cpu_ms_per_camera_frame": score.cpu_ms_per_frame,
            "sweep": {str(t): {k: vars(v) | {"recall": v.recall, "precision": v.precision} for k, v in c.items()}
                      for t, c in score.sweep.items()},
        }
    print(header)
    print("\n".join(rows))
    if args.json:
        from mlfn_keras.fileio import write_json

        write_json(args.json, {"detector": args.detector, "every": args.every, "load_average": load, "splits": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
