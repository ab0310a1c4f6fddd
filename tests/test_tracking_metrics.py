"""Scoring: per-camera TrackEval metrics and cross-camera IDF1 on global ids."""

import numpy as np
import pytest

from mlfn_keras.data.mot import read_mot
from mlfn_keras.tracking.eval.metrics import cross_camera_idf1, evaluate_sequence


def _rows(pid, frames, x0=0.0):
    return np.array([[f, pid, x0 + 2 * f, 10, 20, 50] for f in frames], np.float64)


GT0 = np.vstack([_rows(1, range(1, 21)), _rows(2, range(1, 21), x0=200)])
GT1 = np.vstack([_rows(1, range(1, 11)), _rows(2, range(5, 21), x0=200)])


def test_perfect_tracking_scores_one():
    s = evaluate_sequence(GT0, GT0.copy())
    assert s["HOTA"] == pytest.approx(1.0) and s["MOTA"] == pytest.approx(1.0) and s["IDF1"] == pytest.approx(1.0)
    assert s["IDSW"] == 0


def test_id_switch_halfway_lowers_idf1_not_detection():
    pred = GT0.copy()
    pred[(pred[:, 1] == 1) & (pred[:, 0] > 10), 1] = 9  # person 1 gets a new id halfway
    s = evaluate_sequence(GT0, pred)
    assert s["DetA"] == pytest.approx(1.0)
    assert s["IDSW"] == 1
    assert s["IDF1"] == pytest.approx(0.75)  # 30 of 40 boxes keep their matched id


def test_missed_detections_lower_mota():
    pred = GT0[GT0[:, 1] == 1]
    assert evaluate_sequence(GT0, pred)["MOTA"] == pytest.approx(0.5)
    assert evaluate_sequence(GT0, np.zeros((0, 6)))["MOTA"] == pytest.approx(0.0)


def test_cross_camera_idf1_rewards_consistent_global_ids():
    assert cross_camera_idf1([GT0, GT1], [GT0, GT1])["IDF1"] == pytest.approx(1.0)
    # Per-camera perfect, but camera 1 uses its own ids (no re-id): only one
    # camera's worth of each person can be matched.
    renamed = GT1.copy()
    renamed[:, 1] += 100
    res = cross_camera_idf1([GT0, GT1], [GT0, renamed])
    assert res["IDF1"] == pytest.approx(2 * 40 / (2 * 40 + 26 + 26))
    # Swapped identities across cameras are just as wrong.
    swapped = GT1.copy()
    swapped[:, 1] = 3 - swapped[:, 1]
    assert cross_camera_idf1([GT0, GT1], [GT0, swapped])["IDF1"] < 0.7


def test_read_mot(tmp_path):
    path = tmp_path / "cam0.txt"
    path.write_text("1,3,10.5,20,30,40,1,-1,-1,-1\n\n2,3,11,20,30,40,0.9,-1,-1,-1\n")
    rows = read_mot(str(path))
    assert rows.shape == (2, 6) and rows[0, 2] == 10.5
    path.write_text("1,3,10\n")
    with pytest.raises(ValueError, match="cam0.txt:1"):
        read_mot(str(path))
