"""Scoring a multi-camera run: ignored boxes, box P/R, no-re-id and oracle relabelling, hand-computed cases."""

import numpy as np
import pytest

from mlfn_keras.tracking.eval.scoring import (
    GroundTruth,
    detection_scores,
    oracle_ids,
    read_ground_truth,
    remove_ignored,
    score_run,
    unique_ids_per_camera,
)


def _walk(pid, frames, x0=0.0):
    """MOT rows of one person walking right 2 px per frame, box 20x50."""
    return np.array([[f, pid, x0 + 2 * f, 10, 20, 50] for f in frames], np.float64)


def _gt(*parts):
    rows = np.vstack(parts)
    return GroundTruth(rows, np.zeros(len(rows), bool))


# Two cameras; person 1 and person 2 are in camera 0 for frames 1-10 (far
# apart); camera 1 sees person 1 (frames 1-10) and person 2 (frames 1-10).
CAM0 = _gt(_walk(1, range(1, 11)), _walk(2, range(1, 11), x0=300))
CAM1 = _gt(_walk(1, range(1, 11)), _walk(2, range(1, 11), x0=300))


def test_perfect_run_scores_100_everywhere():
    s = score_run([CAM0, CAM1], [CAM0.rows, CAM1.rows], [CAM0.rows, CAM1.rows])
    assert s.cross_camera == pytest.approx(1.0)
    assert s.oracle == pytest.approx(1.0)
    for c in s.cameras:
        assert (c.hota, c.mota, c.idf1, c.recall, c.precision) == pytest.approx((1, 1, 1, 1, 1))
    assert s.global_ids == 2 and s.people == 2
    # Without re-id each person is two ids: IDTP = 20 of 40 boxes (the best
    # mapping gives each person one camera's 10 boxes), IDFP = IDFN = 20, so
    # IDF1 = 2*20 / (2*20 + 20 + 20) = 0.5.
    assert s.no_reid == pytest.approx(0.5)


def test_merging_two_people_scores_the_hand_computed_idf1():
    # Camera 1 gives person 2 the global id of person 1 (a wrong re-id merge).
    merged = CAM1.rows.copy()
    merged[:, 1] = 1
    s = score_run([CAM0, CAM1], [CAM0.rows, merged], [CAM0.rows, CAM1.rows])
    # Hand computation: 40 GT boxes, 40 predicted. Global id 1 holds person 1
    # in both cameras (20 boxes) and person 2 in camera 1 (10); id 2 holds
    # person 2 in camera 0 (10). Best one-to-one mapping: 1->1 (20 boxes),
    # 2->2 (10) -> IDTP = 30, IDFP = 40 - 30 = 10, IDFN = 40 - 30 = 10,
    # IDF1 = 2*30 / (2*30 + 10 + 10) = 60 / 80 = 0.75.
    assert s.cross_camera == pytest.approx(0.75)
    assert s.details["cross_camera"]["IDTP"] == 30
    # Camera 1 alone cannot tell: one id for two people there is an identity
    # error inside the camera too: IDTP 10 of 20 -> IDF1 = 20 / (20 + 10 + 10) = 0.5.
    assert s.cameras[1].idf1 == pytest.approx(0.5)
    assert s.cameras[0].idf1 == pytest.approx(1.0)
    assert s.global_ids == 2


def test_splitting_one_person_scores_the_hand_computed_idf1():
    # Camera 1 gives person 1 a new global id 7 (a missed hand-over); person 2 is right.
    split = CAM1.rows.copy()
    split[split[:, 1] == 1, 1] = 7
    s = score_run([CAM0, CAM1], [CAM0.rows, split], [CAM0.rows, CAM1.rows])
    # Hand computation: person 1 has 20 boxes split over ids 1 (10) and 7 (10);
    # mapping 1->1, 2->2: IDTP = 10 + 20 = 30, IDFP = 10 (id 7), IDFN = 10,
    # IDF1 = 60 / 80 = 0.75. Each camera on its own is still perfect.
    assert s.cross_camera == pytest.approx(0.75)
    assert [c.idf1 for c in s.cameras] == pytest.approx([1.0, 1.0])
    assert s.global_ids == 3


def test_no_reid_keeps_track_ids_apart_per_camera():
    a = np.array([[1, 1, 0, 0, 10, 20], [1, 2, 50, 0, 10, 20]], float)
    b = np.array([[1, 1, 0, 0, 10, 20], [2, 1, 0, 0, 10, 20], [2, 5, 50, 0, 10, 20]], float)
    out = unique_ids_per_camera([a, b])
    # (cam0, 1) -> 1, (cam0, 2) -> 2, (cam1, 1) -> 3, (cam1, 5) -> 4; boxes untouched.
    assert out[0][:, 1].tolist() == [1, 2]
    assert out[1][:, 1].tolist() == [3, 3, 4]
    assert np.array_equal(out[1][:, 2:], b[:, 2:]) and b[0, 1] == 1  # input not modified


def test_oracle_gives_each_track_its_majority_ground_truth_id():
    gt = _gt(_walk(1, range(1, 11)), _walk(2, range(1, 11), x0=300))
    # Local track 5 follows person 1 for frames 1-6, then jumps to person 2 for
    # frames 7-10 (6 votes for 1, 4 for 2 -> id 1). Track 8 follows person 2 for
    # frames 1-6 (-> id 2). Track 9 is a false positive far from anyone (no vote ->
    # a fresh id, 3 = the largest person id + 1).
    p1, p2 = _walk(1, range(1, 11)), _walk(2, range(1, 11), x0=300)
    track5 = np.vstack([p1[:6], p2[6:]])
    track5[:, 1] = 5
    track8 = p2[:6].copy()
    track8[:, 1] = 8
    track9 = np.array([[3, 9, 600, 300, 20, 50]], float)
    (out,) = oracle_ids([gt], [np.vstack([track5, track8, track9])])
    assert out[:10, 1].tolist() == [1] * 10
    assert out[10:16, 1].tolist() == [2] * 6
    assert out[16, 1] == 3


def test_oracle_votes_across_cameras_share_person_ids():
    # The same person in two cameras: both local tracks (ids 1 and 1, different
    # cameras) become person 4, so the oracle links them and scores 100.
    c0, c1 = _gt(_walk(4, range(1, 6))), _gt(_walk(4, range(1, 6), x0=100))
    local = [c0.rows.copy(), c1.rows.copy()]
    local[0][:, 1] = 1
    local[1][:, 1] = 1
    s = score_run([c0, c1], local, local)
    assert s.oracle == pytest.approx(1.0)
    assert s.no_reid == pytest.approx(0.5)  # 5 of 10 boxes: 2*5 / (10 + 5 + 5)


def test_detection_precision_recall_with_an_ignored_box():
    # Frame 1: person 1 (counted) at x=0 and person 2 (ignored) at x=100.
    # Frame 2: person 1 only (counted).
    rows = np.array([[1, 1, 0, 0, 20, 50], [1, 2, 100, 0, 20, 50], [2, 1, 0, 0, 20, 50]], float)
    gt = GroundTruth(rows, np.array([False, True, False]))
    pred = np.array(
        [
            [1, 1, 1, 0, 20, 50],  # on person 1 (IoU 19*50 / 21*50 = 0.90): TP
            [1, 2, 101, 0, 20, 50],  # on the ignored person: removed, counts neither way
            [1, 3, 300, 0, 20, 50],  # on nobody: FP
            [2, 1, 15, 0, 20, 50],  # shifted 15 px: IoU 5*50 / 35*50 = 0.14 < 0.5: FP, and person 1 missed: FN
        ],
        float,
    )
    d = detection_scores(gt, pred)
    # TP 1, FP 2, FN 1 -> recall 1/2, precision 1/3.
    assert (d.tp, d.fp, d.fn) == (1, 2, 1)
    assert d.recall == pytest.approx(0.5) and d.precision == pytest.approx(1 / 3)
    kept_gt, kept_pred = remove_ignored(gt, pred)
    assert kept_gt[:, 1].tolist() == [1, 1] and kept_pred[:, 1].tolist() == [1, 3, 1]


def test_a_box_barely_touching_an_ignored_person_is_still_a_false_positive():
    gt = GroundTruth(np.array([[1, 2, 100, 0, 20, 50]], float), np.array([True]))
    pred = np.array([[1, 1, 112, 0, 20, 50]], float)  # IoU 8/32 = 0.25 with the ignored box
    assert detection_scores(gt, pred) == detection_scores(GroundTruth(np.zeros((0, 6)), np.zeros(0, bool)), pred)
    assert detection_scores(gt, pred).fp == 1


def test_ignored_boxes_do_not_count_in_tracking_scores():
    # Person 2 is ignored in camera 0; a tracker that follows it is not punished,
    # a tracker that misses it is not punished either.
    rows = np.vstack([_walk(1, range(1, 6)), _walk(2, range(1, 6), x0=300)])
    gt = GroundTruth(rows, rows[:, 1] == 2)
    both = score_run([gt], [rows], [rows])
    only1 = score_run([gt], [rows[rows[:, 1] == 1]], [rows[rows[:, 1] == 1]])
    for s in (both, only1):
        c = s.cameras[0]
        assert (c.hota, c.mota, c.idf1, c.recall, c.precision) == pytest.approx((1, 1, 1, 1, 1))
        assert s.cross_camera == pytest.approx(1.0) and s.people == 1


def test_read_ground_truth_consider_column(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,3,10,20,30,40,1,1,1\n1,4,50,20,30,40,0,1,1\n2,3,11,20,30,40,1,1,1\n")
    gt = read_ground_truth(p)
    assert gt.rows.shape == (3, 6) and gt.ignored.tolist() == [False, True, False]
    p.write_text("1,3,10,20,30,40\n")
    assert read_ground_truth(p).ignored.tolist() == [False]
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_ground_truth(tmp_path / "nope.txt")


def test_score_run_needs_one_of_each_per_camera():
    with pytest.raises(ValueError, match="one of each per camera"):
        score_run([CAM0, CAM1], [CAM0.rows], [CAM0.rows, CAM1.rows])


def test_identity_scores_equal_trackeval_when_ids_are_unique_per_frame():
    from mlfn_keras.tracking.eval.metrics import cross_camera_idf1
    from mlfn_keras.tracking.eval.scoring import identity_scores

    rng = np.random.default_rng(0)
    gts, preds = [], []
    for _ in range(2):
        g = np.vstack([_walk(p, range(1, 31), x0=100 * p) for p in range(1, 5)])
        pr = g.copy()
        pr[:, 2] += rng.normal(0, 4, len(pr))  # some boxes fall below IoU 0.5
        pr[:, 1] = np.where(rng.random(len(pr)) < 0.2, pr[:, 1] + 10, pr[:, 1])  # id errors
        pr = pr[rng.random(len(pr)) < 0.9]  # misses
        # keep ids unique per frame (TrackEval's precondition)
        _, first = np.unique(pr[:, :2], axis=0, return_index=True)
        gts.append(g)
        preds.append(pr[np.sort(first)])
    ours, theirs = identity_scores(gts, preds), cross_camera_idf1(gts, preds)
    assert 0.3 < theirs["IDF1"] < 0.95
    for k in ("IDF1", "IDTP", "IDFP", "IDFN"):
        assert ours[k] == pytest.approx(theirs[k])


def test_an_id_with_two_boxes_in_one_frame_counts_every_box():
    from mlfn_keras.tracking.eval.scoring import duplicate_ids, identity_scores

    # One camera, two people side by side for 10 frames, both predicted as id 1.
    gt = np.vstack([_walk(1, range(1, 11)), _walk(2, range(1, 11), x0=300)])
    pred = gt.copy()
    pred[:, 1] = 1
    # Hand computation: id 1 maps to one person: IDTP = 10, IDFP = 20 - 10 = 10,
    # IDFN = 10, IDF1 = 20 / 40 = 0.5 (TrackEval, counting id 1 once per frame,
    # would see only 10 predicted boxes: IDFP = 0, IDF1 = 20 / 30).
    s = identity_scores([gt], [pred])
    assert (s["IDTP"], s["IDFP"], s["IDFN"]) == (10, 10, 10) and s["IDF1"] == pytest.approx(0.5)
    assert duplicate_ids(pred) == 10 and duplicate_ids(gt) == 0


def test_recall_and_precision_are_undefined_without_ground_truth_or_predictions():
    empty = GroundTruth(np.zeros((0, 6)), np.zeros(0, bool))
    d = detection_scores(empty, np.zeros((0, 6)))
    assert (d.tp, d.fp, d.fn) == (0, 0, 0) and np.isnan(d.recall) and np.isnan(d.precision)


def test_shown_ids_are_the_live_ids_frame_by_frame():
    from mlfn_keras.tracking.eval.scoring import shown_ids

    local = np.array([[f, 1, 10, 20, 30, 60, 0.9, -1, -1, -1] for f in (1, 2, 3, 4)]
                     + [[2, 2, 50, 20, 30, 60, 0.9, -1, -1, -1]], float)
    tracklets = [{"camera": "cam0", "track": 1, "live_ids": [{"id": 7, "from_frame": 1, "to_frame": 1},
                                                             {"id": 3, "from_frame": 2, "to_frame": 3}]}]
    out = shown_ids(local, tracklets)
    # frame 1 (0-based 0) showed no id yet; track 2 never got one
    assert out[:, :2].tolist() == [[2, 7], [3, 3], [4, 3]]
    assert out[:, 2:].tolist() == local[1:4, 2:].tolist()
    assert shown_ids(local, []).shape == (0, 10)
