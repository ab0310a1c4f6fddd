"""Builds the int8 SSDLite person detector and gates it on PETS09 against fp32.

Quantises the cached fp32 detector graph with onnxruntime's static quantiser
(int8 weights per channel, uint8 activations, ranges calibrated on detector
tiles of PETS09 frames 0-399, or of your own footage with --calibration),
then runs the parity gate: recall and precision at IoU 0.5 on full 768x576
PETS09 frames 400-794 must be within 1 point of the fp32 detector's, at the
detector's score threshold and at the tracker's (0.4 starts a track, 0.5
is a sure detection). The
verdict is recorded beside the model; once it passed, `--detector ssdlite`
uses int8 wherever it measures faster than fp32 at start-up, and
`--detector ssdlite-int8` forces it. Prints both detectors' figures and the
speed ratio measured side by side in this run. Exit code 1: the gate failed
(the demo keeps fp32).

Examples:

    python export/detector_int8.py                         # PETS09 (cached, or fetched with apt-get)
    python export/detector_int8.py --calibration site.mp4  # calibrate on your own footage, gate on PETS09
    python export/detector_int8.py --every 1 --threads 2   # gate on every frame of 400-794
"""

from __future__ import annotations

import sys

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import UserError, cli_entry


@cli_entry
def main(argv=None) -> int:
    parser = parser_from_doc(__doc__)
    parser.add_argument("--video", default=None, help="PETS09 vtest.avi (default: the cached copy, fetched with apt-get if missing)")
    parser.add_argument("--calibration", default=None, metavar="VIDEO",
                        help="calibrate on this video instead of PETS09 frames 0-399 (the gate still uses PETS09)")
    parser.add_argument("--tiles", type=int, default=64, help="calibration tiles (default 64)")
    parser.add_argument("--every", type=int, default=2, help="gate on every N-th frame of 400-794 (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: its own)")
    args = parser.parse_args(argv)
    if args.every < 1 or args.tiles < 1:
        raise UserError(f"--every and --tiles must be >= 1; got {args.every} and {args.tiles}")

    from mlfn_keras.tracking.bench.detector import build_int8_detector
    from mlfn_keras.tracking.detection.ssdlite import AUTO_SPEEDUP, SSDLiteDetector, time_sessions

    record = build_int8_detector(args.video, args.calibration, args.tiles, args.every, args.threads,
                                 log=lambda m: print(m, file=sys.stderr))
    fp32 = SSDLiteDetector(threads=args.threads, precision="fp32")
    int8 = SSDLiteDetector(threads=args.threads, model_path=record.model)
    fp32_s, int8_s = time_sessions([fp32._session, int8._session], repeats=15)
    p = record.parity
    f, q = p["fp32"], p["int8"]
    print(f"| detector | recall | precision | CPU ms / frame (gate run) |\n|---|---:|---:|---:|\n"
          f"| SSDLite fp32 | {100 * f['recall']:.1f} | {100 * f['precision']:.1f} | {f['cpu_ms_per_frame']:.1f} |\n"
          f"| SSDLite int8 | {100 * q['recall']:.1f} | {100 * q['precision']:.1f} | {q['cpu_ms_per_frame']:.1f} |")
    for t, pair in p.get("at_scores", {}).items():
        print(f"| at the tracker's score {t}: fp32 | {100 * pair['fp32']['recall']:.1f} | {100 * pair['fp32']['precision']:.1f} | |\n"
              f"| at the tracker's score {t}: int8 | {100 * pair['int8']['recall']:.1f} | {100 * pair['int8']['precision']:.1f} | |")
    print(f"\nparity gate (PETS09 full frames {p['frames_range']}, {p['frames']} frames, within "
          f"{100 * p['tolerance']:.0f} point): {'PASSED' if p['passed'] else 'FAILED'}")
    print(f"2-tile batch, measured side by side: int8 {1000 * int8_s:.1f} ms, fp32 {1000 * fp32_s:.1f} ms "
          f"(int8/fp32 = {int8_s / fp32_s:.2f}; --detector ssdlite picks int8 at or below {AUTO_SPEEDUP:.2f})")
    print(f"model: {record.model}")
    return 0 if p["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
