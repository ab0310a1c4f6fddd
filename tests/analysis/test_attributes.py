"""Attribute prediction with linear SVMs (Sec. 4.4.2) and attribute files."""

import json

import numpy as np
import pytest
import scipy.io

from mlfn_keras.analysis.attributes import attribute_accuracy, load_attributes


def _data(seed=0, n_train=40, n_test=20, per_id=3):
    rs = np.random.RandomState(seed)
    table = {}
    for pid in range(1, n_train + n_test + 1):
        table[pid] = {"bag": int(rs.rand() < 0.5), "colour": ["red", "blue", "green"][rs.randint(3)],
                      "noise": int(rs.rand() < 0.5)}
    colour_vec = {"red": [1, 0, 0], "blue": [0, 1, 0], "green": [0, 0, 1]}

    def feats(pids):
        rows = []
        for p in pids:
            a = table[p]
            rows.append([a["bag"] * 2 - 1, *colour_vec[a["colour"]], *rs.randn(4)])
        return np.array(rows) + 0.3 * rs.randn(len(pids), 8)

    tr = np.repeat(np.arange(1, n_train + 1), per_id)
    te = np.repeat(np.arange(n_train + 1, n_train + n_test + 1), per_id)
    return table, feats(tr), tr, feats(te), te


def test_predicts_encoded_attributes_not_noise():
    table, xtr, ptr, xte, pte = _data()
    acc = attribute_accuracy(xtr, ptr, xte, pte, table)
    assert list(acc) == ["bag", "colour", "noise"]
    assert acc["bag"] > 0.9 and acc["colour"] > 0.9
    assert acc["noise"] < 0.8  # identity-level coin flips the features do not encode


def test_unlabelled_identities_are_skipped_and_errors():
    table, xtr, ptr, xte, pte = _data()
    pte = pte.copy()
    pte[:3] = 0  # distractors: no attributes
    acc = attribute_accuracy(xtr, ptr, xte, pte, table, attributes=["bag"])
    assert set(acc) == {"bag"}
    with pytest.raises(ValueError, match="0 training"):
        attribute_accuracy(xtr, ptr + 1000, xte, pte, table)


def test_single_valued_attribute_predicts_constant():
    table, xtr, ptr, xte, pte = _data()
    for v in table.values():
        v["hat"] = 0
    assert attribute_accuracy(xtr, ptr, xte, pte, table, attributes=["hat"])["hat"] == 1.0


def test_load_json_and_market_attribute_mat(tmp_path):
    (tmp_path / "attributes.json").write_text(json.dumps({"1": {"bag": 1}, "7": {"bag": 0}}))
    assert load_attributes(tmp_path / "attributes.json") == {1: {"bag": 1}, 7: {"bag": 0}}
    # Layout of the public Market-1501_Attribute release: struct with train/test,
    # one array per attribute and image_index holding the pids as strings.
    train = {"age": np.array([1, 3]), "gender": np.array([1, 2]), "image_index": np.array(["0002", "0007"])}
    test = {"age": np.array([2]), "gender": np.array([2]), "image_index": np.array(["0001"])}
    scipy.io.savemat(tmp_path / "market_attribute.mat", {"market_attribute": {"train": train, "test": test}})
    table = load_attributes(tmp_path / "market_attribute.mat")
    assert table == {2: {"age": 1, "gender": 1}, 7: {"age": 3, "gender": 2}, 1: {"age": 2, "gender": 2}}
    with pytest.raises(FileNotFoundError, match="market_attribute.mat"):
        load_attributes(tmp_path / "missing.json")


def test_majority_baseline():
    table, xtr, ptr, xte, pte = _data()
    base = attribute_accuracy(xtr, ptr, xte, pte, table, attributes=["colour"], constant=True)
    commonest = max(["red", "blue", "green"], key=lambda c: sum(table[p]["colour"] == c for p in ptr))
    assert base["colour"] == pytest.approx(np.mean([table[p]["colour"] == commonest for p in pte]))


def test_cli_on_generated_identities(tmp_path, capsys):
    import mlfn_keras
    from mlfn_keras.analysis import attributes
    from mlfn_keras.data.synthetic import generate_market_layout

    root = generate_market_layout(tmp_path / "s", num_identities=16, num_cameras=2,
                                  images_per_identity_camera=2, height=64, width=32, progress=False)
    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(tmp_path / "m.keras")
    rc = attributes.main(["--model", str(tmp_path / "m.keras"), "--dataset", "synthetic",
                          "--data-root", str(root), "--quiet", "--output", str(tmp_path / "o")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| Attribute" in out and "| mean" in out and "majority" in out
    record = json.loads((tmp_path / "o" / "attributes.json").read_text())
    assert set(record["accuracy"]) == {"Ŝ", "R", "majority"}
    assert "upper_color" in record["accuracy"]["Ŝ"]
