"""mlfn-eval end to end on a tiny generated data set, plus its pictures/table."""

import json

import numpy as np
import pytest

import mlfn_keras
from mlfn_keras.data.synthetic import generate_market_layout
from mlfn_keras.evaluation import cli
from mlfn_keras.evaluation.plots import plot_cmc, plot_ranked_lists
from mlfn_keras.evaluation.report import format_table


@pytest.fixture(scope="module")
def tiny_market(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return generate_market_layout(
        root, num_identities=16, num_cameras=3, images_per_identity_camera=2,
        height=64, width=32, num_distractors=3, num_junk=2, multi_query_images=1,
        progress=False,
    )


def test_cli_writes_table_json_and_pictures(tiny_market, tmp_path, capsys):
    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    model_path = tmp_path / "tiny.keras"
    model.save(model_path)
    out = tmp_path / "eval"
    rc = cli.main([
        "--model", str(model_path), "--dataset", "synthetic", "--data-root", str(tiny_market),
        "--protocol", "single_query", "multi_query", "--flip", "--output", str(out),
        "--quiet", "--num-ranked", "3",
    ])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Synthetic SQ" in printed and "Synthetic MQ" in printed and "tiny" in printed
    record = json.loads((out / "metrics.json").read_text())
    assert record["preset"] == "mlfn_tiny" and record["dataset"] == "synthetic"
    assert record["protocols"] == ["single_query", "multi_query"] and record["flip"] is True
    assert record["num_multi_query"] > 0
    for p in ("single_query", "multi_query"):
        m = record["metrics"][p]
        assert 0.0 <= m["R1"] <= m["R5"] <= m["R10"] <= 100.0 and 0.0 < m["mAP"] <= 100.0
        assert (out / f"ranked_{p}.png").stat().st_size > 1000
    assert (out / "cmc.png").stat().st_size > 1000


def test_cli_errors_are_reported(tmp_path, capsys):
    rc = cli.main(["--model", str(tmp_path / "missing.keras"), "--dataset", "synthetic",
                   "--data-root", str(tmp_path)])
    assert rc == 2
    assert "not a generated data set" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "examples:" in capsys.readouterr().out


def test_ranked_list_borders(tiny_market, tmp_path):
    import cv2

    from mlfn_keras.evaluation.splits import load_eval_split

    split = load_eval_split("synthetic", tiny_market)
    g_pids = np.array([r[1] for r in split.gallery])
    # A distance that puts the query's identity first: first tile is green.
    dist = np.array([[0.0 if p == q[1] else 1.0 for p in g_pids] for q in split.query])
    path = plot_ranked_lists(dist, split.query, split.gallery, tmp_path / "r.png",
                             query_indices=[0], top_k=3, tile_size=(64, 32))
    img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    # Border pixel of the first match tile (after query tile + 2 gaps).
    first = img[16 + 1, 32 + 20 + 1]
    last = img[16 + 1, 32 + 20 + 2 * (32 + 10) + 1]
    assert tuple(first) == (40, 170, 60)  # green: same identity
    assert tuple(last) == (210, 40, 40)  # red


def test_cmc_png_and_table(tmp_path):
    path = plot_cmc({"a": np.linspace(0.5, 1.0, 20)}, tmp_path / "c.png")
    assert path.stat().st_size > 1000
    text = format_table(
        {"ResNet": {"Market-1501 SQ": {"R1": 84.3, "mAP": 66.0}},
         "MLFN": {"Market-1501 SQ": {"R1": 90.0, "mAP": 74.3}, "Duke": {"R1": 81.0}}},
        title="Table 6.",
    )
    lines = text.splitlines()
    assert "Market-1501 SQ" in lines[0] and "Duke" in lines[0]
    assert lines[3].split("|")[1].strip() == "ResNet" and "84.3" in lines[3] and lines[3].count("-") >= 2
    assert "90.0" in lines[4] and "81.0" in lines[4] and text.endswith("Table 6.")


def test_report_merges_records(tmp_path, capsys):
    from mlfn_keras.evaluation import report

    a = {"name": "MLFN", "dataset": "market1501",
         "metrics": {"single_query": {"R1": 90.0, "mAP": 74.3}, "multi_query": {"R1": 92.3, "mAP": 82.4}}}
    b = {"name": "MLFN", "dataset": "dukemtmcreid", "metrics": {"single_query": {"R1": 81.0, "mAP": 62.8}}}
    c = {"name": "ResNet", "dataset": "market1501", "metrics": {"single_query": {"R1": 84.3, "mAP": 66.0}}}
    paths = []
    for i, rec in enumerate((a, b, c)):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(rec))
    assert report.main([str(p) for p in paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Market-1501 SQ" in lines[0] and "Market-1501 MQ" in lines[0] and "DukeMTMC-reID SQ" in lines[0]
    assert "74.3" in lines[3] and "82.4" in lines[3] and "62.8" in lines[3]
    assert lines[4].startswith("| ResNet") and lines[4].count(" - ") >= 4
    assert report.main([str(tmp_path / "missing.json")]) == 2


def test_num_ranked_zero_skips_the_ranked_picture(tiny_market, tmp_path, capsys):
    model_path = tmp_path / "tiny.keras"
    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(model_path)
    out = tmp_path / "eval"
    args = ["--model", str(model_path), "--dataset", "synthetic", "--data-root", str(tiny_market),
            "--protocol", "single_query", "--output", str(out), "--quiet"]
    assert cli.main(args + ["--num-ranked", "0"]) == 0
    assert (out / "metrics.json").is_file() and not (out / "ranked_single_query.png").exists()
    with pytest.raises(SystemExit) as info:
        cli.main(args + ["--num-ranked", "-1"])
    assert info.value.code == 2 and "--num-ranked must be 0 or more" in capsys.readouterr().err
