"""Scoring tracking runs against ground truth: per-camera HOTA/MOTA/IDF1, cross-camera IDF1.

Per-camera scores use TrackEval's own metric classes (``HOTA``, ``CLEAR``,
``Identity``) on boxes read from MOT-format files, with box IoU as the
similarity (as TrackEval's MOTChallenge 2D box evaluation does; our generated
ground truth has only pedestrians and no distractor classes, so the
MOTChallenge preprocessing has nothing to remove).

**Cross-camera IDF1** (Ristani et al., ECCV 2016 workshop, the MTMC measure of
DukeMTMC) treats all cameras as one long sequence: every (camera, frame) pair
is a time step, ground-truth ids are people and predicted ids are the
tracker's *global* ids. IDF1 = 2·IDTP / (2·IDTP + IDFP + IDFN) under the single
best one-to-one mapping between people and global ids over all cameras
together. So a person tracked perfectly in each camera but given a different
global id in each only gets credit for one camera's boxes, and two people
merged under one global id only for one of them: the score measures exactly
whether the same person keeps the same id across cameras (and on re-entry).

MOT rows are ``frame, id, x, y, w, h, conf, ...`` with 1-based frames.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

from mlfn_keras.data.mot import iou_xywh, read_mot


def _trackeval_metrics():
    # TrackEval prints an import warning for an optional dataset (BURST) on stdout.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import trackeval.metrics as tm
    return tm


def build_sequence(gt_parts: Sequence[np.ndarray], pred_parts: Sequence[np.ndarray]) -> dict:
    """Builds TrackEval's per-sequence data dict from one or more camera parts.

    Parts are concatenated in time (camera after camera), with ids shared
    across parts: that is what makes the cross-camera measure global.

    Args:
        gt_parts: per part, ``(N, 6)`` ground-truth rows.
        pred_parts: per part, ``(M, 6)`` predicted rows.
    """
    if len(gt_parts) != len(pred_parts):
        raise ValueError(f"Got {len(gt_parts)} ground-truth parts but {len(pred_parts)} prediction parts.")
    gt_id_map: dict[int, int] = {}
    tr_id_map: dict[int, int] = {}
    gt_ids, tr_ids, sims = [], [], []
    for gt, pred in zip(gt_parts, pred_parts):
        gt, pred = np.asarray(gt).reshape(-1, 6), np.asarray(pred).reshape(-1, 6)
        last = int(max(gt[:, 0].max(initial=0), pred[:, 0].max(initial=0)))
        for frame in range(1, last + 1):
            g = gt[gt[:, 0] == frame]
            p = pred[pred[:, 0] == frame]
            gt_ids.append(np.array([gt_id_map.setdefault(int(i), len(gt_id_map)) for i in g[:, 1]], int))
            tr_ids.append(np.array([tr_id_map.setdefault(int(i), len(tr_id_map)) for i in p[:, 1]], int))
            sims.append(iou_xywh(g[:, 2:6], p[:, 2:6]))
    return {
        "num_timesteps": len(gt_ids),
        "num_gt_ids": len(gt_id_map),
        "num_tracker_ids": len(tr_id_map),
        "num_gt_dets": int(sum(len(x) for x in gt_ids)),
        "num_tracker_dets": int(sum(len(x) for x in tr_ids)),
        "gt_ids": gt_ids,
        "tracker_ids": tr_ids,
        "similarity_scores": sims,
    }


def evaluate_sequence(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """HOTA, DetA, AssA, MOTA, IDF1, IDSW and friends for one camera.

    Args:
        gt: ``(N, 6)`` ground-truth MOT rows.
        pred: ``(M, 6)`` predicted MOT rows.

    Returns:
        Scores in [0, 1] (``MOTA`` can be negative); counts as floats.
    """
    tm = _trackeval_metrics()
    data = build_sequence([gt], [pred])
    hota = tm.HOTA().eval_sequence(data)
    clear = tm.CLEAR({"PRINT_CONFIG": False}).eval_sequence(data)
    ident = tm.Identity({"PRINT_CONFIG": False}).eval_sequence(data)
    return {
        "HOTA": float(np.mean(hota["HOTA"])),
        "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])),
        "MOTA": float(clear["MOTA"]),
        "IDF1": float(ident["IDF1"]),
        "IDSW": float(clear["IDSW"]),
        "FP": float(clear["CLR_FP"]),
        "FN": float(clear["CLR_FN"]),
        "GT_IDs": float(data["num_gt_ids"]),
        "Pred_IDs": float(data["num_tracker_ids"]),
    }


def cross_camera_idf1(gts: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> dict[str, float]:
    """IDF1 on global ids over all cameras together (see the module docstring).

    Args:
        gts: per camera, ground-truth rows whose ids are global person ids.
        preds: per camera, predicted rows whose ids are the tracker's global ids.

    Returns:
        ``{"IDF1", "IDP", "IDR", "IDTP", "IDFP", "IDFN"}``.
    """
    tm = _trackeval_metrics()
    data = build_sequence(list(gts), list(preds))
    res = tm.Identity({"PRINT_CONFIG": False}).eval_sequence(data)
    return {k: float(res[k]) for k in ("IDF1", "IDP", "IDR", "IDTP", "IDFP", "IDFN")}


def _frames_processed(run_dir: str) -> dict[str, int] | None:
    """Frames each camera of the run processed, by camera name, from ``summary.json``.

    ``None`` when the folder has no readable summary (MOT files from elsewhere).
    """
    import json
    import os

    path = os.path.join(run_dir, "summary.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            cameras = json.load(f).get("cameras", [])
        return {str(c.get("name", f"cam{i}")): int(c["frames"]) for i, c in enumerate(cameras)}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{path!r} could not be read ({exc}); expected the summary.json demo/multicam.py writes, "
            "with a 'cameras' list of {'name', 'frames'}."
        ) from None


def evaluate_run(run_dir: str, gt_dir: str | None = None, max_frames: int | None = None) -> dict:
    """Scores a demo run directory against MOT ground truth.

    Only the cameras the run's ``summary.json`` lists are scored, so files an
    earlier run left in the same folder never count; without a summary, every
    ``cam*.txt`` in the ground truth is scored.

    Args:
        run_dir: a ``--output`` folder with ``mot/cam{i}.txt`` (global ids) and
            ``mot_local/cam{i}.txt`` (per-camera track ids).
        gt_dir: folder with ``cam{i}.txt`` ground truth (default ``run_dir/gt``).
        max_frames: score only the first frames (default: the frames each
            camera processed, from ``summary.json``), so a shortened run is
            scored fairly.

    Returns:
        ``{"per_camera": {name: scores on global ids}, "per_camera_local":
        {name: scores on per-camera track ids}, "cross_camera": IDF1 dict}``.

    Raises:
        FileNotFoundError: naming the missing folder or file.
    """
    import glob
    import os

    gt_dir = gt_dir or os.path.join(run_dir, "gt")
    limits = _frames_processed(run_dir)
    if limits is not None:
        names = list(limits)
        missing = [n for n in names if not os.path.isfile(os.path.join(gt_dir, f"{n}.txt"))]
        if missing:
            raise FileNotFoundError(
                f"The run in {run_dir!r} has cameras {', '.join(missing)} but {gt_dir!r} has no ground truth "
                f"for them; expected MOT files like {os.path.join(gt_dir, missing[0] + '.txt')}."
            )
    else:
        gt_files = sorted(glob.glob(os.path.join(gt_dir, "cam*.txt")))
        names = [os.path.splitext(os.path.basename(p))[0] for p in gt_files]
    if not names:
        raise FileNotFoundError(f"No ground truth cam*.txt in {gt_dir!r}; expected MOT files like {gt_dir}/cam0.txt.")
    gts, preds, out = [], [], {"per_camera": {}, "per_camera_local": {}}
    for name in names:
        gt_path = os.path.join(gt_dir, f"{name}.txt")
        pred_path = os.path.join(run_dir, "mot", f"{name}.txt")
        local_path = os.path.join(run_dir, "mot_local", f"{name}.txt")
        if not os.path.isfile(pred_path):
            raise FileNotFoundError(f"Ground truth has {name} but the run has no {pred_path!r}.")
        gt = read_mot(gt_path)
        pred = read_mot(pred_path)
        limit = max_frames if max_frames is not None else (limits or {}).get(name)
        if limit is not None:
            gt, pred = gt[gt[:, 0] <= limit], pred[pred[:, 0] <= limit]
        out["per_camera"][name] = evaluate_sequence(gt, pred)
        if os.path.isfile(local_path):
            local = read_mot(local_path)
            if limit is not None:
                local = local[local[:, 0] <= limit]
            out["per_camera_local"][name] = evaluate_sequence(gt, local)
        gts.append(gt)
        preds.append(pred)
    out["cross_camera"] = cross_camera_idf1(gts, preds)
    return out


def format_scores(scores: dict) -> str:
    """A plain-text table of :func:`evaluate_run`'s result."""
    lines = [f"{'camera':<10}{'ids':<8}{'HOTA':>7}{'DetA':>7}{'AssA':>7}{'MOTA':>7}{'IDF1':>7}{'IDSW':>6}"]
    for kind, label in (("per_camera", "global"), ("per_camera_local", "local")):
        for name, s in scores.get(kind, {}).items():
            lines.append(
                f"{name:<10}{label:<8}{s['HOTA'] * 100:7.1f}{s['DetA'] * 100:7.1f}{s['AssA'] * 100:7.1f}"
                f"{s['MOTA'] * 100:7.1f}{s['IDF1'] * 100:7.1f}{int(s['IDSW']):6d}"
            )
    c = scores["cross_camera"]
    lines.append(
        f"cross-camera IDF1 (global ids, all cameras together): {c['IDF1'] * 100:.1f} "
        f"(IDP {c['IDP'] * 100:.1f}, IDR {c['IDR'] * 100:.1f})"
    )
    return "\n".join(lines)
