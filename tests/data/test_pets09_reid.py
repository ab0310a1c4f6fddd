"""The PETS09 re-id benchmark library on tiny generated crops (no video): protocols, scores, Market layout.

The layout written from crop arrays is read back by the Market-1501 reader and
then trained on (two steps of ``mlfn_tiny``) and evaluated by ``mlfn-eval``,
as the real PETS09 folder is.
"""

import json

import numpy as np
import pytest

from mlfn_keras.data import pets09
from mlfn_keras.data.market1501 import read_market_layout
from mlfn_keras.data.pets09_reid import (
    ADAPT_FRAMES,
    HELDOUT_FRAMES,
    PROTOCOLS,
    layout_splits,
    protocol_crops,
    write_market_layout,
)
from mlfn_keras.evaluation.pets09 import score_embedder, score_embeddings, score_table
from mlfn_keras.errors import OutputExistsError
from scene_helpers import pets09_like_crops

def test_protocols_split_each_person_in_time():
    crops = pets09_like_crops()
    query, gallery = protocol_crops(crops, PROTOCOLS["heldout"])
    assert all(c.frame >= 400 for c in query + gallery)
    for pid in range(1, 6):
        q = [c.frame for c in query if c.pid == pid]
        g = [c.frame for c in gallery if c.pid == pid]
        assert q and g and max(q) < min(g)
    whole_q, whole_g = protocol_crops(crops, PROTOCOLS["whole"])
    assert len(whole_q) + len(whole_g) == len(crops)


def test_scores_tell_good_from_bad_embeddings():
    crops = pets09_like_crops()
    query, gallery = protocol_crops(crops, PROTOCOLS["whole"])
    colour = lambda rgb: np.stack([c.reshape(-1, 3).mean(0) for c in rgb]) / 255.0  # noqa: E731
    good = score_embedder(colour, query, gallery)
    assert good.r1 == 100.0 and good.mAP == pytest.approx(100.0)
    rng = np.random.default_rng(1)
    bad = score_embeddings(rng.normal(size=(len(query), 8)), rng.normal(size=(len(gallery), 8)),
                           [c.pid for c in query], [c.pid for c in gallery])
    assert bad.mAP < 60.0 and bad.r1 <= bad.r5
    table = score_table({"colour": {"whole": good, "heldout": bad}})
    assert "| colour | 100.0 |" in table


def test_market_layout_is_read_trained_and_evaluated(tmp_path):
    crops = pets09_like_crops()
    train, query, gallery = layout_splits(crops)
    assert {c.frame < 400 for c, _ in train} == {True}
    assert {cam for _, cam in query} == {1} and {cam for _, cam in gallery} == {2}
    root = write_market_layout(crops, tmp_path / "market")
    data = read_market_layout(root)
    assert len(data.train) == len(train) and len(data.query) == len(query) and len(data.gallery) == len(gallery)
    assert {r.pid for r in data.train} == set(range(1, 6)) and {r.camid for r in data.query} == {0}
    assert sorted(r.pid for r in data.query) == sorted(c.pid for c, _ in query)

    with pytest.raises(OutputExistsError):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "notes.txt").write_text("mine")
        write_market_layout(crops, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"

    from mlfn_keras.evaluation import cli
    from mlfn_keras.train import TrainConfig
    from mlfn_keras.train import train as fit

    result = fit(TrainConfig(dataset="market1501", data_root=str(root), preset="mlfn_tiny", steps=2, batch_size=4,
                             output=str(tmp_path / "run"), checkpoint_every=1, verbose=0))
    assert result.steps == 2 and result.num_classes == 5
    out = tmp_path / "eval"
    rc = cli.main(["--model", result.model_path, "--dataset", "market1501", "--data-root", str(root),
                   "--output", str(out), "--quiet", "--num-ranked", "2"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]["single_query"]
    assert 0.0 < metrics["mAP"] <= 100.0


def test_lr_halves_are_the_adaptation_and_heldout_frames():
    """mlfn-adapt adapts on lr_first and the demo is scored on lr_second: the frames of the re-id protocols."""
    lr = pets09.split_cameras("lr")
    for split, frames in (("lr_first", ADAPT_FRAMES), ("lr_second", HELDOUT_FRAMES)):
        cams = pets09.split_cameras(split)
        assert [(c.name, c.x0, c.x1) for c in cams] == [(c.name, c.x0, c.x1) for c in lr]
        assert all((c.start, c.stop) == frames for c in cams)
    gt = pets09.load_ground_truth()
    second = pets09.camera_ground_truth(gt, pets09.split_cameras("lr_second")[0])
    assert second[:, 0].min() == 0 and second[:, 0].max() <= pets09.NUM_FRAMES - 1 - pets09.HALF
