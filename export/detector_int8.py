"""Builds the int8 SSDLite person detector and gates it on PETS09 against fp32.

Quantises the cached fp32 detector graph with onnxruntime's static quantiser
(int8 weights per channel, uint8 activations, ranges calibrated on detector
tiles of PETS09 frames 0-399, or of your own footage with --calibration),
then runs the parity gate: recall and precision at IoU 0.5 on full 768x576
PETS09 frames 400-794 must be within 1 point of the fp32 detector's. The
verdict is recorded beside the model; from then on `--detector ssdlite`
uses int8 wherever it measures faster than fp32 at start-up, and
`--detector ssdlite-int8` forces it. Prints both detectors' figures and the
speed ratio measured side by side in this run.

Examples:

    python export/detector_int8.py                         # PETS09 (cached, or fetched with apt-get)
    python export/detector_int8.py --calibration site.mp4  # calibrate on your own footage, gate on PETS09
    python export/detector_int8.py --every 1 --threads 2   # gate on every frame of 400-794
"""

from __future__ import annotations

import sys

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import UserError, cli_entry


def _video_frames(path, start: int, stop: int, every: int):
    """``(index, frame)`` for every ``every``-th frame of ``[start, stop)`` of a video."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise UserError(f"cannot open {str(path)!r}; expected a video file OpenCV can read")
    try:
        index = 0
        while index < stop:
            ok, frame = cap.read()
            if not ok:
                return
            if index >= start and (index - start) % every == 0:
                yield index, frame
            index += 1
    finally:
        cap.release()


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

    from tqdm import tqdm

    from mlfn_keras.data import pets09
    from mlfn_keras.tracking.bench.detector import int8_parity
    from mlfn_keras.tracking.detection.quantize import (
        AUTO_SPEEDUP,
        calibration_tiles,
        quantize_ssdlite,
        read_record,
        time_sessions,
        write_record,
    )
    from mlfn_keras.tracking.detection.ssdlite import SSDLiteDetector

    video = pets09.locate_video(args.video)
    fp32 = SSDLiteDetector(threads=args.threads, precision="fp32")
    if args.calibration:
        source, total = args.calibration, 10**9
        import cv2

        cap = cv2.VideoCapture(source)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or 1000
        cap.release()
        step = max(1, total // args.tiles)
        frames = (f for _, f in _video_frames(source, 0, total, step))
    else:
        source = f"PETS09 frames 0-{pets09.HALF - 1}"
        frames = (f for _, f in _video_frames(video, 0, pets09.HALF, max(1, 2 * pets09.HALF // args.tiles)))
    tiles = calibration_tiles(fp32, frames, args.tiles)
    record = quantize_ssdlite(fp32.onnx_path, tiles, source, log=lambda m: print(m, file=sys.stderr))
    int8 = SSDLiteDetector(threads=args.threads, model_path=record.model)  # the candidate, before its gate

    cameras = pets09.split_cameras("full")
    camera_gt = [pets09.camera_ground_truth(pets09.load_ground_truth(), c) for c in cameras]
    n = (pets09.NUM_FRAMES - pets09.HALF + args.every - 1) // args.every
    gate_frames = tqdm(_video_frames(video, pets09.HALF, pets09.NUM_FRAMES, args.every), total=n, desc="parity gate", file=sys.stderr)
    parity = int8_parity(fp32, int8, gate_frames, cameras, camera_gt, "full")
    parity["frames_range"] = f"{pets09.HALF}-{pets09.NUM_FRAMES - 1} every {args.every}"
    record.parity = parity
    write_record(record, fp32.onnx_path)
    fp32_s, int8_s = time_sessions([fp32._session, int8._session], repeats=15)

    f, q = parity["fp32"], parity["int8"]
    print(f"| detector | recall | precision | CPU ms / frame (gate run) |\n|---|---:|---:|---:|\n"
          f"| SSDLite fp32 | {100 * f['recall']:.1f} | {100 * f['precision']:.1f} | {f['cpu_ms_per_frame']:.1f} |\n"
          f"| SSDLite int8 | {100 * q['recall']:.1f} | {100 * q['precision']:.1f} | {q['cpu_ms_per_frame']:.1f} |")
    print(f"\nparity gate (PETS09 full frames {parity['frames_range']}, {parity['frames']} frames, within "
          f"{100 * parity['tolerance']:.0f} point): {'PASSED' if parity['passed'] else 'FAILED'}")
    print(f"2-tile batch, measured side by side: int8 {1000 * int8_s:.1f} ms, fp32 {1000 * fp32_s:.1f} ms "
          f"(int8/fp32 = {int8_s / fp32_s:.2f}; --detector ssdlite picks int8 below {AUTO_SPEEDUP:.2f})")
    print(f"model: {record.model}\nrecord: {read_record(fp32.onnx_path) and record.model[:-5] + '.json'}")
    return 0 if parity["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
