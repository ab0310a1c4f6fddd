"""Ablation runner (Table 6): derived variants and a tiny end-to-end run."""

import json

import numpy as np
import pytest

import mlfn_keras
from mlfn_keras.analysis import ablation


def test_derived_variants_match_the_paper_relations():
    names = ablation.derived_variants("mlfn_tiny")
    assert list(names) == ["ResNet", "ResNeXt", "MLFN-Fusion", "MLFN"]
    # The paper's presets relate to `mlfn` exactly as ours to the base.
    for label, paper in ablation.PAPER_VARIANTS.items():
        ours = mlfn_keras.get_preset(names[label])
        ref, ref_base = mlfn_keras.get_preset(paper), mlfn_keras.get_preset("mlfn")
        for key in ("block_type", "num_factors", "fusion"):
            if ref[key] != ref_base[key]:
                assert ours[key] == ref[key], (label, key)
    x = np.zeros((1, 64, 32, 3), np.float32)
    out = {label: mlfn_keras.MLFN.from_preset(p).predict(x, verbose=0) for label, p in names.items()}
    assert "factor_signature" not in out["ResNet"] and "factor_signature" not in out["ResNeXt"]
    assert "selection_1" in out["MLFN-Fusion"] and "factor_signature" in out["MLFN"]
    with pytest.raises(ValueError, match="has no ablation presets"):
        ablation.derived_variants("resnet50")


def test_cli_prints_table6_layout(tmp_path, capsys, monkeypatch):
    calls = {}

    def fake_run(variants, dataset, root, output, **kw):
        calls.update(variants=variants, dataset=dataset, kw=kw)
        return {label: {"SQ": {"R1": 10.0 * i, "mAP": 5.0 * i}, "MQ": {"R1": 11.0 * i, "mAP": 6.0 * i},
                        "_run": {"preset": p, "steps": 3}}
                for i, (label, p) in enumerate(variants.items(), start=1)}

    monkeypatch.setattr(ablation, "run_ablation", fake_run)
    rc = ablation.main(["--base", "mlfn_tiny", "--dataset", "synthetic", "--data-root", str(tmp_path),
                        "--steps", "3", "--output", str(tmp_path / "abl")])
    assert rc == 0 and calls["kw"]["steps"] == 3
    lines = capsys.readouterr().out.splitlines()
    assert "Synthetic SQ" in lines[0] and "Synthetic MQ" in lines[0]
    assert lines[3].startswith("| ResNet (mlfn_tiny_resnet)") and "10.0" in lines[3] and "11.0" in lines[3]
    assert lines[6].startswith("| MLFN (mlfn_tiny)") and "40.0" in lines[6]
    record = json.loads((tmp_path / "abl" / "ablation.json").read_text())
    assert record["runs"]["MLFN"]["preset"] == "mlfn_tiny"


@pytest.mark.slow
def test_tiny_ablation_trains_and_evaluates(tmp_path):
    from mlfn_keras.data.synthetic import generate_market_layout

    root = generate_market_layout(
        tmp_path / "synth", num_identities=12, num_cameras=2, images_per_identity_camera=2,
        height=64, width=32, multi_query_images=1, progress=False,
    )
    names = ablation.derived_variants("mlfn_tiny")
    # One variant keeps this test short; the table layout is tested above.
    variants = {"MLFN-Fusion": names["MLFN-Fusion"]}
    rows = ablation.run_ablation(variants, "synthetic", str(root), str(tmp_path / "abl"),
                                 steps=3, batch_size=8, progress=False)
    assert list(rows) == ["MLFN-Fusion"]
    for label, row in rows.items():
        assert row["_run"]["steps"] >= 3 and row["_run"]["preset"] == variants[label]
        assert 0.0 <= row["SQ"]["R1"] <= 100.0 and 0.0 < row["MQ"]["mAP"] <= 100.0
