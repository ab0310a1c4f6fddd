"""Scoring one multi-camera run the way the real-video benchmark reports it.

Builds on :mod:`~mlfn_keras.tracking.eval.metrics` (TrackEval's HOTA, CLEAR and
Identity) and adds what real ground truth needs:

* **Ignored ground-truth boxes** (MOT15's ``consider = 0``, or a PETS09 box
  less than 60 % visible in a pseudo-camera). In each frame predictions are
  matched one-to-one to *all* ground-truth boxes (Hungarian on IoU, pairs with
  IoU ≥ 0.5); a prediction matched to an ignored box is removed together with
  it, so it counts neither as a hit nor as a false positive, and the ignored
  box never counts as a miss. This is TrackEval's MOTChallenge preprocessing
  for distractor boxes, applied to ignored ones.
* **Detection recall / precision** at IoU 0.5 with the same one-to-one
  matching.
* **Two reference relabellings of the same run**, scored with the same
  cross-camera IDF1 as the pipeline's global ids:

  - *no re-id*: every per-camera track keeps its own id, made unique per
    camera, so no identity is ever carried from one camera to another;
  - *oracle re-id*: every per-camera track gets the ground-truth id it is
    matched to in most frames (IoU ≥ 0.5, one-to-one per frame); tracks
    never matched get fresh ids. This is the ceiling of cross-camera
    association for this detector and per-camera tracker.

Cross-camera IDF1 is computed as :func:`~mlfn_keras.tracking.eval.metrics.cross_camera_idf1`
defines it — the cameras concatenated as one sequence with disjoint time steps
(camera 0's frames, then camera 1's, ...), ground-truth ids are people and
predicted ids are shared across cameras, so there is ONE id mapping for the
whole run — by :func:`identity_scores`, which also counts an id holding two
boxes in one frame correctly (see there). Per-camera IDF1 uses it too; HOTA
and MOTA are TrackEval's.

Arrays are MOT rows ``frame, id, x, y, w, h`` (1-based frames), as
:func:`~mlfn_keras.data.mot.read_mot` returns them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlfn_keras.data.mot import iou_xywh, read_mot
from mlfn_keras.tracking.eval.metrics import evaluate_sequence

#: IoU at which a prediction matches a ground-truth box.
IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class GroundTruth:
    """One camera's ground truth: MOT rows and which of them are ignored."""

    rows: np.ndarray  # (N, 6) frame, id, x, y, w, h
    ignored: np.ndarray  # (N,) bool

    def kept(self) -> np.ndarray:
        return self.rows[~self.ignored]


def read_ground_truth(path: str | os.PathLike) -> GroundTruth:
    """Reads a MOT ground-truth file; column 7 (``consider``) of 0 marks an ignored box.

    Files with only 6 columns have no ignored boxes.

    Raises:
        FileNotFoundError: naming the missing file.
        ValueError: for a malformed row (from :func:`read_mot`).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ground truth {path!r} does not exist; expected a MOT file frame,id,x,y,w,h,consider,...")
    rows = read_mot(path)
    consider = []
    with open(path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) >= 6:
                consider.append(float(parts[6]) if len(parts) > 6 else 1.0)
    return GroundTruth(rows, np.asarray(consider, np.float64).reshape(-1) == 0)


def _match(gt_boxes: np.ndarray, pred_boxes: np.ndarray, iou_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matches (Hungarian, highest total IoU) with IoU ≥ threshold: ``(gt_idx, pred_idx)``."""
    from scipy.optimize import linear_sum_assignment

    if len(gt_boxes) == 0 or len(pred_boxes) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    iou = iou_xywh(gt_boxes, pred_boxes)
    # Below-threshold pairs get no weight, so they never displace a valid pair.
    score = np.where(iou >= iou_threshold - 1e-9, iou, 0.0)
    rows, cols = linear_sum_assignment(score, maximize=True)
    ok = score[rows, cols] > 0
    return rows[ok], cols[ok]


def _by_frame(rows: np.ndarray) -> dict[int, np.ndarray]:
    out: dict[int, list[int]] = {}
    for i, f in enumerate(rows[:, 0].astype(int)):
        out.setdefault(f, []).append(i)
    return {f: np.asarray(ix, int) for f, ix in out.items()}


def remove_ignored(gt: GroundTruth, pred: np.ndarray, iou_threshold: float = IOU_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Drops ignored ground-truth boxes and the predictions matched to them.

    Returns:
        ``(gt_rows, pred_rows)`` to score.
    """
    pred = np.asarray(pred, np.float64).reshape(-1, 6)
    if not gt.ignored.any() or len(pred) == 0:
        return gt.kept(), pred
    drop = np.zeros(len(pred), bool)
    gt_frames, pred_frames = _by_frame(gt.rows), _by_frame(pred)
    for f, pi in pred_frames.items():
        gi = gt_frames.get(f)
        if gi is None or not gt.ignored[gi].any():
            continue
        g, p = _match(gt.rows[gi, 2:6], pred[pi, 2:6], iou_threshold)
        drop[pi[p[gt.ignored[gi][g]]]] = True
    return gt.kept(), pred[~drop]


def identity_scores(
    gt_parts: Sequence[np.ndarray], pred_parts: Sequence[np.ndarray], iou_threshold: float = IOU_THRESHOLD
) -> dict[str, float]:
    """IDF1 (Ristani et al. 2016) over one or more parts concatenated in time, ids shared across parts.

    The same measure as TrackEval's ``Identity`` (and equal to it whenever
    every id appears at most once per frame, which the tests check), but also
    correct when one predicted id holds two boxes in one frame — which global
    ids that merge two people, and the oracle relabelling, can do. TrackEval
    assumes unique ids per frame (its MOTChallenge loader rejects anything
    else) and counts such a frame once, so it would under-count the false
    positives of exactly the merges this benchmark is about.

    IDTP is the best one-to-one mapping of person ids to predicted ids, each
    pair credited with the frames where the person's box overlaps (IoU ≥
    ``iou_threshold``) a box of that predicted id; IDFP / IDFN are the
    predicted / ground-truth boxes left over.

    Returns:
        ``{"IDF1", "IDP", "IDR", "IDTP", "IDFP", "IDFN"}``.
    """
    from scipy.optimize import linear_sum_assignment

    from mlfn_keras.tracking.eval.metrics import build_sequence

    data = build_sequence(list(gt_parts), list(pred_parts))
    matches = np.zeros((data["num_gt_ids"], data["num_tracker_ids"]))
    for g, t, sim in zip(data["gt_ids"], data["tracker_ids"], data["similarity_scores"]):
        if len(g) and len(t):
            gi, ti = np.nonzero(sim >= iou_threshold - 1e-9)
            if len(gi):
                pairs = np.unique(np.stack([g[gi], t[ti]], 1), axis=0)  # a person counts once per frame
                matches[pairs[:, 0], pairs[:, 1]] += 1
    idtp = float(matches[linear_sum_assignment(matches, maximize=True)].sum()) if matches.size else 0.0
    n_gt, n_pred = float(data["num_gt_dets"]), float(data["num_tracker_dets"])
    idfn, idfp = n_gt - idtp, n_pred - idtp
    return {
        "IDF1": 2 * idtp / (2 * idtp + idfp + idfn) if idtp else 0.0,
        "IDP": idtp / n_pred if n_pred else 0.0,
        "IDR": idtp / n_gt if n_gt else 0.0,
        "IDTP": idtp,
        "IDFP": idfp,
        "IDFN": idfn,
    }


def duplicate_ids(pred: np.ndarray) -> int:
    """Boxes that repeat an id already present in their frame (a tracker should give none)."""
    pred = np.asarray(pred).reshape(-1, 6)
    return int(len(pred) - len(np.unique(pred[:, :2], axis=0)))


@dataclass(frozen=True)
class DetectionScores:
    """Box-level hits and misses at one IoU threshold (identities not looked at)."""

    tp: int
    fp: int
    fn: int

    @property
    def recall(self) -> float:
        """NaN when there is nothing to find (no ground truth)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def precision(self) -> float:
        """NaN when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")


def detection_scores(gt: GroundTruth, pred: np.ndarray, iou_threshold: float = IOU_THRESHOLD) -> DetectionScores:
    """Recall and precision of predicted boxes against the ground truth, ignored boxes removed first."""
    gt_rows, pred = remove_ignored(gt, pred, iou_threshold)
    gt_frames, pred_frames = _by_frame(gt_rows), _by_frame(pred)
    tp = 0
    for f, pi in pred_frames.items():
        gi = gt_frames.get(f)
        if gi is not None:
            tp += len(_match(gt_rows[gi, 2:6], pred[pi, 2:6], iou_threshold)[0])
    return DetectionScores(tp=tp, fp=len(pred) - tp, fn=len(gt_rows) - tp)


def unique_ids_per_camera(preds: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The *no re-id* relabelling: ``(camera, track id)`` pairs become distinct ids 1, 2, ..."""
    out, mapping = [], {}
    for cam, pred in enumerate(preds):
        pred = np.asarray(pred, np.float64).reshape(-1, 6).copy()
        pred[:, 1] = [mapping.setdefault((cam, int(i)), len(mapping) + 1) for i in pred[:, 1]]
        out.append(pred)
    return out


def oracle_ids(gts: Sequence[GroundTruth], preds: Sequence[np.ndarray], iou_threshold: float = IOU_THRESHOLD) -> list[np.ndarray]:
    """The *oracle re-id* relabelling: each per-camera track takes its most-overlapped ground-truth id.

    A track's votes are the frames where it is matched one-to-one (IoU ≥
    ``iou_threshold``) to a ground-truth box, ignored boxes included (they
    still say who the person is); it takes the id with the most votes (ties:
    the smaller id). Tracks with no vote get fresh ids that no person has.
    """
    gt_max = max((int(g.rows[:, 1].max()) for g in gts if len(g.rows)), default=0)
    fresh = gt_max + 1
    out = []
    for gt, pred in zip(gts, preds):
        pred = np.asarray(pred, np.float64).reshape(-1, 6).copy()
        votes: dict[int, dict[int, int]] = {}
        gt_frames = _by_frame(gt.rows)
        for f, pi in _by_frame(pred).items():
            gi = gt_frames.get(f)
            if gi is None:
                continue
            g, p = _match(gt.rows[gi, 2:6], pred[pi, 2:6], iou_threshold)
            for gg, pp in zip(gi[g], pi[p]):
                track = votes.setdefault(int(pred[pp, 1]), {})
                person = int(gt.rows[gg, 1])
                track[person] = track.get(person, 0) + 1
        label = {}
        for track in np.unique(pred[:, 1]).astype(int):
            v = votes.get(int(track))
            if v:
                label[int(track)] = min(v, key=lambda person: (-v[person], person))
            else:
                label[int(track)] = fresh
                fresh += 1
        pred[:, 1] = [label[int(i)] for i in pred[:, 1]]
        out.append(pred)
    return out


@dataclass
class CameraScores:
    """One camera of one run (fractions in [0, 1]; MOTA can be negative).

    ``recall`` / ``precision`` are the tracker's output boxes (what a user
    sees); ``detector_recall`` / ``detector_precision`` the raw detections
    above the score that can start a track, where they were recorded.
    """

    name: str
    hota: float
    mota: float
    idf1: float
    recall: float
    precision: float
    detector_recall: float | None = None
    detector_precision: float | None = None


@dataclass
class RunScores:
    """One run scored: per camera, and cross-camera IDF1 for the run's global ids and its two references.

    Attributes:
        cameras: per-camera HOTA/MOTA/IDF1 on the global ids, and box
            recall/precision of the tracker's output (``mot_local``).
        cross_camera: cross-camera IDF1 of the global ids (``mot``).
        no_reid: the same run's per-camera tracks, ids kept apart per camera.
        oracle: the same run's per-camera tracks, each given its true id.
        global_ids: distinct global ids the run gave out.
        people: distinct people in the (scored) ground truth.
        details: TrackEval's full dicts, per camera and cross-camera.
    """

    cameras: list[CameraScores]
    cross_camera: float
    no_reid: float
    oracle: float
    global_ids: int
    people: int
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def score_run(
    gts: Sequence[GroundTruth],
    global_preds: Sequence[np.ndarray],
    local_preds: Sequence[np.ndarray],
    names: Sequence[str] | None = None,
    iou_threshold: float = IOU_THRESHOLD,
) -> RunScores:
    """Scores one run from arrays (see the module docstring for each figure).

    Args:
        gts: per camera, the ground truth (ids are global person ids).
        global_preds: per camera, rows with the pipeline's global ids.
        local_preds: per camera, rows with per-camera track ids.
        names: camera names (default ``cam0``, ``cam1``, ...).
    """
    if not len(gts) == len(global_preds) == len(local_preds):
        raise ValueError(
            f"got {len(gts)} ground truths, {len(global_preds)} global and {len(local_preds)} local predictions; "
            "expected one of each per camera"
        )
    names = list(names) if names is not None else [f"cam{i}" for i in range(len(gts))]
    cams, kept_gts, kept_global, details = [], [], [], {"per_camera": {}}
    for name, gt, gp, lp in zip(names, gts, global_preds, local_preds):
        g, p = remove_ignored(gt, gp, iou_threshold)
        s = evaluate_sequence(g, p)
        s["IDF1_trackeval"] = s["IDF1"]
        s["IDF1"] = identity_scores([g], [p], iou_threshold)["IDF1"]
        det = detection_scores(gt, lp, iou_threshold)
        details["per_camera"][name] = {**s, "TP": det.tp, "DetFP": det.fp, "DetFN": det.fn, "duplicate_ids": duplicate_ids(gp)}
        cams.append(CameraScores(name, s["HOTA"], s["MOTA"], s["IDF1"], det.recall, det.precision))
        kept_gts.append(g)
        kept_global.append(p)

    def cross(preds: Sequence[np.ndarray]) -> dict:
        kept = [remove_ignored(gt, p, iou_threshold)[1] for gt, p in zip(gts, preds)]
        return identity_scores(kept_gts, kept, iou_threshold)

    details["cross_camera"] = identity_scores(kept_gts, kept_global, iou_threshold)
    details["no_reid"] = cross(unique_ids_per_camera(local_preds))
    details["oracle"] = cross(oracle_ids(gts, local_preds, iou_threshold))
    global_ids = {int(i) for p in global_preds for i in np.asarray(p).reshape(-1, 6)[:, 1]}
    people = {int(i) for g in kept_gts for i in g[:, 1]}
    return RunScores(
        cameras=cams,
        cross_camera=details["cross_camera"]["IDF1"],
        no_reid=details["no_reid"]["IDF1"],
        oracle=details["oracle"]["IDF1"],
        global_ids=len(global_ids),
        people=len(people),
        details=details,
    )


def limit_frames(rows: np.ndarray, last: int | None) -> np.ndarray:
    """Rows of frames ``1..last`` (all rows for ``None``)."""
    return rows if last is None else rows[rows[:, 0] <= last]



@dataclass
class RunFolder:
    """A demo output folder read for scoring: per camera, ground truth and predictions over the processed frames."""

    gts: list[GroundTruth]
    global_preds: list[np.ndarray]
    local_preds: list[np.ndarray]
    frames: list[int | None]


def shown_ids(local: np.ndarray, tracklets: Sequence[dict[str, Any]]) -> np.ndarray:
    """One camera's boxes (``mot_local`` rows) with the global id shown live at each frame.

    Args:
        local: MOT rows with per-camera track ids (frames 1-based).
        tracklets: that camera's ``ids.json`` tracklets (frames 0-based), each
            with ``live_ids``: ``{"id", "from_frame", "to_frame"}``.

    Returns:
        The rows that showed a global id, with that id in the id column; a box
        shown without one (a track not yet given an id) is left out.
    """
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for t in tracklets:
        for live in t["live_ids"]:
            spans.setdefault(int(t["track"]), []).append((int(live["from_frame"]) + 1, int(live["to_frame"]) + 1, int(live["id"])))
    out = []
    for row in local:
        frame, track = int(row[0]), int(row[1])
        gid = next((g for a, b, g in spans.get(track, ()) if a <= frame <= b), None)
        if gid is not None:
            out.append(np.concatenate([row[:1], [gid], row[2:]]))
    return np.asarray(out, dtype=float) if out else np.zeros((0, local.shape[1]), float)


def read_run_folder(run_dir: str | os.PathLike, gt_paths: Sequence[str], ids: str = "final") -> RunFolder:
    """Reads ``mot/``, ``mot_local/`` and the ground truth, cut to the frames each camera processed (``summary.json``).

    Args:
        run_dir: the demo's ``--output`` folder.
        gt_paths: ground truth, one MOT file per camera.
        ids: ``"final"``: the global ids of ``mot/`` (every output's id);
            ``"shown"``: the ids the live view showed at each frame
            (``mot_local/`` with ``ids.json``'s live ids, :func:`shown_ids`).

    Raises:
        FileNotFoundError: naming the missing run file.
    """
    if ids not in ("final", "shown"):
        raise ValueError(f"ids got {ids!r}; expected 'final' or 'shown'")
    run_dir = Path(run_dir)
    frames: list[int | None] = [None] * len(gt_paths)
    files: list[str] = []
    summary = run_dir / "summary.json"
    if summary.is_file():
        cams = json.loads(summary.read_text()).get("cameras", [])
        frames = [int(c["frames"]) for c in cams] + frames[len(cams) :]
        files = [str(c.get("name", f"cam{i}")) for i, c in enumerate(cams)]  # MOT files are named by camera
    out = RunFolder([], [], [], frames)
    for i, path in enumerate(gt_paths):
        gt = read_ground_truth(path)
        keep = gt.rows[:, 0] <= frames[i] if frames[i] is not None else np.ones(len(gt.rows), bool)
        out.gts.append(GroundTruth(gt.rows[keep], gt.ignored[keep]))
        name = files[i] if i < len(files) else f"cam{i}"
        for kind, preds in (("mot", out.global_preds), ("mot_local", out.local_preds)):
            p = run_dir / kind / f"{name}.txt"
            if not p.is_file():
                raise FileNotFoundError(f"run folder {str(run_dir)!r} has no {kind}/{name}.txt; expected the demo's --output layout")
            preds.append(limit_frames(read_mot(str(p)), frames[i]))
    if ids == "shown":
        path = run_dir / "ids.json"
        if not path.is_file():
            raise FileNotFoundError(f"run folder {str(run_dir)!r} has no ids.json; expected the demo's --output layout")
        tracklets = json.loads(path.read_text())["tracklets"]
        out.global_preds = [shown_ids(local, [t for t in tracklets if t["camera"] == (files[i] if i < len(files) else f"cam{i}")])
                            for i, local in enumerate(out.local_preds)]
    return out


def score_run_folder(run_dir: str | os.PathLike, gt_paths: Sequence[str], names: Sequence[str] | None = None) -> RunScores:
    """Scores a demo output folder (:func:`read_run_folder`) with :func:`score_run`.

    Only the frames each camera processed are scored, so a ``--max-frames``
    run is scored fairly.
    """
    run = read_run_folder(run_dir, gt_paths)
    return score_run(run.gts, run.global_preds, run.local_preds, names)
