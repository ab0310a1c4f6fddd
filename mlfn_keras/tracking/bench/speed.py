"""Timing the multi-camera pipeline: end-to-end FPS per camera and per-stage cost."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from mlfn_keras.tracking.app.runner import STAGES, RunOptions, run_multicam
from mlfn_keras.tracking.app.sources import SourceSpec
from mlfn_keras.tracking.core.reid import load_reid
from mlfn_keras.tracking.detection.detectors import build_detector


def benchmark_pipeline(specs: Sequence[SourceSpec], detector: str, reid: str, max_frames: int) -> dict[str, Any]:
    """Runs the pipeline headless over ``specs`` and returns timings.

    The detector and re-id model are warmed up on one frame first, so one-off
    costs (ONNX conversion, graph tracing) are not counted.

    Returns:
        ``{"detector", "reid", "frames", "fps_per_camera", "ms_per_tick", "ms_decode_per_frame", ...}``.
    """
    import cv2
    import numpy as np

    det = build_detector(detector)
    emb = load_reid(reid)
    cap = cv2.VideoCapture(specs[0].target)
    ok, frame = cap.read()
    cap.release()
    if ok:
        for _ in range(2):
            det([frame] * len(specs), list(range(len(specs))), [0] * len(specs))
            emb([np.ascontiguousarray(frame[:200, :100, ::-1])] * 4)
    summary = run_multicam(specs, det, emb, options=RunOptions(max_frames=max_frames, progress=True, write_video=False))
    ticks = max(summary.ticks, 1)
    frames = [c["frames"] for c in summary.cameras]
    stages = summary.stage_seconds
    return {
        "detector": detector,
        "reid": os.path.basename(reid),
        "cameras": len(specs),
        "ticks": summary.ticks,
        "frames_per_camera": frames,
        "wall_seconds": round(summary.wall_seconds, 2),
        "fps_per_camera": [round(f / summary.wall_seconds, 2) for f in frames],
        "ms_decode_per_frame": round(1000 * stages["decode"] / max(sum(frames), 1), 2),
        "ms_per_tick": {k: round(1000 * stages[k] / ticks, 2) for k in STAGES if k != "decode"},
        "embeddings_per_tick": round(summary.tracker_stats.get("embeddings", 0) / ticks, 2),
        "cpu_count": os.cpu_count(),
    }


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table of :func:`benchmark_pipeline` results."""
    head = "| detector | FPS per camera | decode ms/frame* | detect | track | embed | associate | output | crops/tick |"
    lines = [head, "|" + "---|" * 9]
    for r in results:
        t = r["ms_per_tick"]
        fps = " / ".join(f"{f:.1f}" for f in r["fps_per_camera"])
        lines.append(
            f"| {r['detector']} | {fps} | {r['ms_decode_per_frame']:.1f} | {t['detect']:.1f} | {t['track']:.1f} | "
            f"{t['embed']:.1f} | {t['associate']:.1f} | {t['output']:.1f} | {r['embeddings_per_tick']:.2f} |"
        )
    lines.append(
        "\nStage columns are milliseconds per tick (one frame from each camera) on the main thread; "
        "*decode runs on the camera threads in parallel."
    )
    return "\n".join(lines)
