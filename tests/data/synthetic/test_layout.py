"""Safety of mlfn_keras.data.synthetic's folder writing: nothing lost, nothing half-written.

Each test here failed on the single-module generator (issue 10): it deleted
``bounding_box_train/``, ``bounding_box_test/`` and ``query/`` of any folder
without ``meta.json`` and wrote straight into the target, so concurrent or
interrupted builds left half-written folders that later runs took as complete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlfn_keras.data import synthetic
from mlfn_keras.data.synthetic import cli as synthetic_cli
from mlfn_keras.data.synthetic import layout
from mlfn_keras.errors import OutputExistsError, UserError
from repo import REPO

TINY = dict(num_identities=4, num_cameras=2, images_per_identity_camera=2, seed=1, height=32, width=16,
            progress=False)


def _market_folder(root: Path) -> dict[str, bytes]:
    """A user's real Market-1501 folder (no meta.json); returns its files."""
    files = {
        "bounding_box_train/0002_c1s1_000451_03.jpg": b"real train image",
        "bounding_box_test/0001_c1s1_001051_00.jpg": b"real gallery image",
        "query/0001_c2s1_000301_00.jpg": b"real query image",
        "readme.txt": b"Market-1501 v15.09.15",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _assert_complete(root: Path) -> None:
    meta = json.loads((root / "meta.json").read_text())
    for split, count in meta["counts"].items():
        if count:
            assert len(list((root / split).iterdir())) == count, split
    assert not [p for p in root.parent.iterdir() if p.name.startswith(f".{root.name}.")], "temporary left behind"


@pytest.mark.parametrize("force", [False, True])
def test_real_dataset_folder_is_never_touched(tmp_path, force):
    files = _market_folder(tmp_path / "market")
    with pytest.raises(OutputExistsError, match="no meta.json.*untouched"):
        synthetic.generate_market_layout(tmp_path / "market", force=force, **TINY)
    assert _snapshot(tmp_path / "market") == files


def test_training_path_refuses_a_real_dataset_folder(tmp_path):
    """`mlfn-train --dataset synthetic --data-root DIR` goes through the registry."""
    from mlfn_keras.data.registry import synthetic_dataset

    files = _market_folder(tmp_path / "market")
    with pytest.raises(UserError, match="not written by mlfn-synthetic"):
        synthetic_dataset(tmp_path / "market", progress=False, num_identities=4, num_cameras=2,
                          images_per_identity_camera=1, height=32, width=16)
    assert _snapshot(tmp_path / "market") == files


def test_non_empty_foreign_folder_needs_force_and_keeps_its_files(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match=r"not empty \(notes.txt\).*--force"):
        synthetic.generate_market_layout(root, **TINY)
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]
    synthetic.generate_market_layout(root, force=True, **TINY)
    assert (root / "notes.txt").read_text() == "keep me"
    _assert_complete(root)


def test_overwrite_replaces_only_what_the_generator_wrote(tmp_path):
    root = synthetic.generate_market_layout(tmp_path / "g", **TINY)
    (root / "my_results.csv").write_text("1,2,3")
    with pytest.raises(OutputExistsError, match="my_results.csv.*--force"):  # refused before anything changes
        synthetic.generate_market_layout(root, overwrite=True, **{**TINY, "seed": 5})
    assert json.loads((root / "meta.json").read_text())["config"]["seed"] == TINY.get("seed", 0)
    synthetic.generate_market_layout(root, overwrite=True, force=True, **{**TINY, "seed": 5})
    assert json.loads((root / "meta.json").read_text())["config"]["seed"] == 5
    assert (root / "my_results.csv").read_text() == "1,2,3"
    _assert_complete(root)


def test_interrupted_build_leaves_nothing_that_claims_to_be_complete(tmp_path, monkeypatch):
    real_write = layout._write_jpeg
    calls = []

    def failing_write(path, rgb, quality):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt  # Ctrl-C (or a crash) in the middle of the build
        real_write(path, rgb, quality)

    monkeypatch.setattr(layout, "_write_jpeg", failing_write)
    with pytest.raises(KeyboardInterrupt):
        synthetic.generate_market_layout(tmp_path / "g", **TINY)
    assert not (tmp_path / "g" / "meta.json").exists()
    assert not (tmp_path / "g").exists() or not any((tmp_path / "g").iterdir())
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "g"])
    monkeypatch.setattr(layout, "_write_jpeg", real_write)
    _assert_complete(synthetic.generate_market_layout(tmp_path / "g", **TINY))


def test_a_concurrent_build_that_dies_cannot_damage_another(tmp_path, monkeypatch):
    """Build A is running when build B of the same folder starts and dies after one image."""
    real_write = layout._write_jpeg
    state = {"a_writes": 0, "b_running": False}

    def write(path, rgb, quality):
        if state["b_running"]:
            real_write(path, rgb, quality)
            raise RuntimeError("build B killed")
        state["a_writes"] += 1
        if state["a_writes"] == 3:
            state["b_running"] = True
            with pytest.raises(RuntimeError, match="build B killed"):
                synthetic.generate_market_layout(tmp_path / "g", **TINY)
            state["b_running"] = False
        real_write(path, rgb, quality)

    monkeypatch.setattr(layout, "_write_jpeg", write)
    root = synthetic.generate_market_layout(tmp_path / "g", **TINY)
    _assert_complete(root)


def test_two_processes_building_the_same_folder(tmp_path):
    script = (
        "import sys; from mlfn_keras.data import synthetic\n"
        "synthetic.generate_market_layout(sys.argv[1], num_identities=12, num_cameras=2, "
        "images_per_identity_camera=3, seed=2, height=32, width=16, progress=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "g")], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    _assert_complete(tmp_path / "g")
    reference = synthetic.generate_market_layout(tmp_path / "ref", num_identities=12, num_cameras=2,
                                                 images_per_identity_camera=3, seed=2, height=32, width=16,
                                                 progress=False)
    assert _snapshot(tmp_path / "g") == _snapshot(reference)


def test_cli_errors_are_short_with_exit_code_2(tmp_path, capsys):
    _market_folder(tmp_path / "market")
    assert synthetic_cli.main(["--output", str(tmp_path / "market"), "--identities", "4", "--cameras", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert "bounding_box_test" in err and "expected" in err
    assert synthetic_cli.main(["--output", str(tmp_path / "x"), "--identities", "4", "--train-identities", "9"]) == 2
    err = capsys.readouterr().err
    assert "num_train_identities" in err and "Traceback" not in err
    assert synthetic_cli.main(["--output", str(tmp_path / "y"), "--backgrounds", str(tmp_path / "none")]) == 2
    assert "backgrounds folder" in capsys.readouterr().err


def test_photographic_backgrounds(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    import cv2

    for i in range(2):
        cv2.imwrite(str(photos / f"p{i}.png"), rng.integers(0, 255, (80, 120, 3), dtype=np.uint8))
    (photos / "broken.jpg").write_bytes(b"not an image")
    bank = synthetic.BackgroundBank.from_dir(photos)
    assert len(bank) == 2
    patch = bank.patch(32, 16, np.random.default_rng(1))
    assert patch.shape == (32, 16, 3) and patch.dtype == np.float32
    root = synthetic.generate_market_layout(tmp_path / "g", backgrounds=photos, **TINY)
    assert json.loads((root / "meta.json").read_text())["config"]["backgrounds"] == bank.fingerprint
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no readable image"):
        synthetic.BackgroundBank.from_dir(tmp_path / "empty")


def test_fetch_backgrounds_without_apt_says_what_to_do(tmp_path, monkeypatch):
    from mlfn_keras.data.synthetic import backgrounds

    monkeypatch.setattr(backgrounds.shutil, "which", lambda name: None)
    with pytest.raises(UserError, match="apt-get is not installed.*--backgrounds DIR"):
        backgrounds.fetch_debian_backgrounds("mate-backgrounds", dest=tmp_path / "bg", log=lambda *_: None)
    assert not (tmp_path / "bg").exists()
