"""The adaptation loop end to end on a tiny generated scene (mlfn_tiny, a few steps).

Pseudo-labels respect cannot-link, a killed run resumes from its checkpoint,
outputs are written atomically, the export is parity-gated, and nothing is
overwritten without --force.
"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from mlfn_keras.adapt import AdaptConfig, AdaptRequest, adapt, run_adaptation
from mlfn_keras.adapt.pipeline import output_paths
from mlfn_keras.adapt.tracklets import mine_tracklets
from mlfn_keras.tracking.core.association import cannot_link
from mlfn_keras.adapt.trainer import Checkpoint, embed_crops
from mlfn_keras.errors import OutputExistsError
from mlfn_keras.tracking.app.sources import parse_cam
from scene_helpers import MINING, TINY_LOOP, gt_detector


@pytest.fixture(scope="module")
def tracklets(scene):
    specs = [parse_cam(v, i) for i, v in enumerate(scene["videos"])]
    return mine_tracklets(specs, gt_detector(scene["gt"]), log=lambda m: None, **MINING).tracklets


def test_rounds_respect_cannot_link_and_resume_from_checkpoint(tracklets, init_model, tmp_path):
    model = keras.models.load_model(init_model, compile=False)
    before = embed_crops(model, tracklets[0].crops)
    checkpoint = Checkpoint(tmp_path / "ckpt")
    result = adapt(model, tracklets, AdaptConfig(max_rounds=1, **TINY_LOOP), checkpoint=checkpoint, progress=False,
                   log=lambda m: None)
    assert [r.round for r in result.rounds] == [0, 1] and result.rounds[1].steps == 2
    assert all(r.violations == 0 for r in result.rounds) and np.isfinite(result.rounds[1].loss)
    assert 1 <= result.pseudo_identities <= len(tracklets) and result.cannot_link_pairs == int(
        np.triu(cannot_link(tracklets), 1).sum())
    assert not np.allclose(before, embed_crops(model, tracklets[0].crops))  # it learned something
    state = json.loads(checkpoint.state_path.read_text())
    assert [r["round"] for r in state["rounds"]] == [0, 1]

    # A new process (fresh model) with a larger budget continues after round 1, from the saved weights.
    fresh = keras.models.load_model(init_model, compile=False)
    seen = []
    resumed = adapt(fresh, tracklets, AdaptConfig(max_rounds=2, **TINY_LOOP), checkpoint=checkpoint, progress=False,
                    on_round=lambda rec, m: seen.append(rec.round) or {"probe": 1.0}, log=lambda m: None)
    assert resumed.resumed_from == 1 and [r.round for r in resumed.rounds] == [0, 1, 2] and seen == [2]
    assert resumed.rounds[2].steps == 4 and resumed.rounds[2].extra == {"probe": 1.0}

    # Other settings do not resume a foreign checkpoint.
    other = adapt(keras.models.load_model(init_model, compile=False), tracklets,
                  AdaptConfig(max_rounds=1, **{**TINY_LOOP, "num_ids": 2}), checkpoint=checkpoint, progress=False,
                  log=lambda m: None)
    assert other.resumed_from == 0


def test_pipeline_writes_gated_export_and_refuses_overwrite(scene, init_model, tmp_path, capsys):
    out = tmp_path / "site.keras"
    request = AdaptRequest(sources=scene["videos"], out=out, init=init_model, detector=gt_detector(scene["gt"]),
                           export="onnx", config=AdaptConfig(max_rounds=1, **TINY_LOOP), progress=False,
                           min_crops=3, max_crops=8, min_height=24.0)
    summary = run_adaptation(request, log=lambda m: None)
    model_path, onnx_path, summary_path, ckpt = output_paths(out, "onnx")
    assert model_path.is_file() and onnx_path.is_file() and summary_path.is_file() and not ckpt.exists()
    assert "PASS" in summary.export_parity.upper() or "pass" in summary.export_parity
    record = json.loads(summary_path.read_text())
    assert record["tracklets"] >= 4 and len(record["rounds"]) == 2 and record["cameras"][0]["frames"] == 90
    text = "\n".join(summary.lines())
    assert "Pseudo-identities" in text and "threshold" in text and "Tracklets used" in text
    assert not list(tmp_path.glob(".*tmp*"))

    from mlfn_keras.runtime import load_embedder

    onnx = load_embedder(onnx_path)
    assert onnx(np.zeros((2, 64, 32, 3), np.uint8)).shape == (2, 32)

    stamp = model_path.stat().st_mtime_ns
    with pytest.raises(OutputExistsError, match="--force"):
        run_adaptation(request, log=lambda m: None)
    assert model_path.stat().st_mtime_ns == stamp

    from mlfn_keras.adapt import cli

    rc = cli.main(["--cams", *scene["videos"], "--output", str(out), "--init-weights", str(init_model), "--quiet"])
    assert rc == 2 and "--force" in capsys.readouterr().err and model_path.stat().st_mtime_ns == stamp


def test_failed_export_gate_leaves_no_export(scene, init_model, tmp_path, monkeypatch):
    from mlfn_keras.export import onnx as onnx_export
    from mlfn_keras.export.parity import ParityError

    def failing(model, metadata, path, images, labels=None, **kw):
        Path(path).write_bytes(b"half")
        raise ParityError("embeddings differ")

    monkeypatch.setattr(onnx_export, "export_onnx", failing)
    out = tmp_path / "site.keras"
    request = AdaptRequest(sources=scene["videos"], out=out, init=init_model, detector=gt_detector(scene["gt"]),
                           export="onnx", config=AdaptConfig(max_rounds=0, **TINY_LOOP), progress=False,
                           min_crops=3, max_crops=8, min_height=24.0)
    with pytest.raises(ParityError):
        run_adaptation(request, log=lambda m: None)
    assert not out.with_suffix(".onnx").exists() and not list(tmp_path.glob(".site*tmp*"))
    assert not out.with_name("site.adapt.json").exists()


def test_cli_explains_footage_without_people(tmp_path, init_model, capsys):
    import cv2

    from mlfn_keras.adapt import cli

    folder = tmp_path / "empty"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i}.jpg"), np.full((120, 160, 3), 80, np.uint8))
    rc = cli.main(["--cams", str(folder), "--output", str(tmp_path / "s.keras"), "--init-weights", str(init_model),
                   "--detector", "bgsub", "--quiet"])
    assert rc == 2
    assert "no usable tracklet" in capsys.readouterr().err and not (tmp_path / "s.keras").exists()
    rc = cli.main(["--cams", str(tmp_path / "missing.mp4"), "--output", str(tmp_path / "s.keras"), "--quiet"])
    assert rc == 2 and "--cams" in capsys.readouterr().err


def test_colour_prior_for_pseudo_labels_is_an_option(tracklets, init_model):
    model = keras.models.load_model(init_model, compile=False)
    result = adapt(model, tracklets, AdaptConfig(max_rounds=1, cluster_features="model+hist", **TINY_LOOP),
                   progress=False, log=lambda m: None)
    assert len(result.rounds) == 2 and all(r.violations == 0 for r in result.rounds)
    with pytest.raises(ValueError, match="cluster_features"):
        adapt(model, tracklets, AdaptConfig(max_rounds=0, cluster_features="hist", **TINY_LOOP), progress=False)


def test_feature_anchor_keeps_the_model_near_its_start(tracklets, init_model, tmp_path):
    """Same seed and steps: with the anchor the features move less from the starting model's, and a resumed
    run anchors to the starting model (computed before the checkpoint's weights are loaded), not the checkpoint."""
    loop = {**TINY_LOOP, "learning_rate": 3e-3, "steps_per_round": 4}
    start = keras.models.load_model(init_model, compile=False)
    before = [embed_crops(start, t.crops) for t in tracklets]

    def drift(model):
        return float(np.mean([1.0 - np.sum(embed_crops(model, t.crops) * b, axis=1).mean()
                              for t, b in zip(tracklets, before)]))

    moved = {}
    for weight in (0.0, 20.0):
        model = keras.models.load_model(init_model, compile=False)
        result = adapt(model, tracklets, AdaptConfig(max_rounds=2, anchor_weight=weight, **loop), progress=False,
                       log=lambda m: None)
        assert all(np.isfinite(r.loss) for r in result.rounds[1:])
        moved[weight] = drift(model)
    assert 0.0 < moved[20.0] < moved[0.0]


def test_cli_passes_the_anchor_weight():
    from mlfn_keras.adapt import cli

    args = cli.build_parser().parse_args(["--cams", "a.mp4", "--output", "s.keras", "--anchor-weight", "2.5"])
    assert args.anchor_weight == 2.5
    assert cli.build_parser().parse_args(["--cams", "a.mp4", "--output", "s.keras"]).anchor_weight == \
        AdaptConfig().anchor_weight


def test_cosine_decay_takes_the_learning_rate_to_zero_over_the_budget(tracklets, init_model):
    from mlfn_keras.adapt.trainer import round_learning_rate

    cosine = AdaptConfig(minutes=10.0, learning_rate=1e-3, lr_decay="cosine")
    rates = [round_learning_rate(cosine, m) for m in (0.0, 2.5, 5.0, 10.0, 12.0)]
    assert rates[0] == pytest.approx(1e-3) and rates[2] == pytest.approx(5e-4) and rates[3] == pytest.approx(0.0)
    assert rates[0] > rates[1] > rates[2] > rates[3] and rates[4] == pytest.approx(0.0)
    assert round_learning_rate(AdaptConfig(minutes=10.0, learning_rate=1e-3, lr_decay="constant"), 9.0) == 1e-3
    with pytest.raises(ValueError, match="lr_decay"):
        adapt(keras.models.load_model(init_model, compile=False), tracklets,
              AdaptConfig(max_rounds=0, lr_decay="step", **TINY_LOOP), progress=False)
