"""mlfn-adapt's checkpoint knows its run: other footage is refused, a damaged checkpoint asks for --fresh."""

import json

import pytest

from mlfn_keras.adapt import AdaptConfig, AdaptRequest, run_adaptation
from mlfn_keras.adapt.pipeline import output_paths
from mlfn_keras.errors import DamagedFileError, RunMismatchError

from scene_helpers import TINY_LOOP, gt_detector


def _request(scene, init, out, sources=None, **kw):
    kw.setdefault("config", AdaptConfig(max_rounds=2, **TINY_LOOP))
    return AdaptRequest(sources=sources or scene["videos"], out=out, init=init, detector=gt_detector(scene["gt"]),
                        export="none", progress=False, min_crops=3, max_crops=8, min_height=24.0, **kw)


def _interrupt_at(round_number):
    def on_round(record, model):
        if record.round == round_number:
            raise KeyboardInterrupt  # Ctrl-C once the previous round is in the checkpoint
        return {}

    return on_round


@pytest.fixture(scope="module")
def interrupted_once(scene, init_model, tmp_path_factory):
    """An mlfn-adapt run stopped after round 1 (its checkpoint folder)."""
    out = tmp_path_factory.mktemp("interrupted") / "site.keras"
    with pytest.raises(KeyboardInterrupt):
        run_adaptation(_request(scene, init_model, out), on_round=_interrupt_at(2), log=lambda m: None)
    checkpoint = output_paths(out, "none")[3]
    assert {"run.json", "cameras.json", "tracklets.npz", "state.json", "model.keras"} <= {
        p.name for p in checkpoint.iterdir()}
    return checkpoint


@pytest.fixture
def interrupted(interrupted_once, tmp_path):
    """A copy of that run in this test's folder: ``(out, checkpoint folder)``."""
    import shutil

    out = tmp_path / "site.keras"
    checkpoint = output_paths(out, "none")[3]
    shutil.copytree(interrupted_once, checkpoint)
    return out, checkpoint


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_rerun_on_other_footage_is_refused_and_the_checkpoint_kept(interrupted, scene, init_model, capsys):
    out, checkpoint = interrupted
    before = _snapshot(checkpoint)
    with pytest.raises(RunMismatchError, match=r"holds a run of .*cam.*; this run is of .*new --output or --fresh"):
        run_adaptation(_request(scene, init_model, out, sources=scene["videos"][:1]), log=lambda m: None)
    assert _snapshot(checkpoint) == before and not out.exists()

    from mlfn_keras.adapt import cli

    rc = cli.main(["--cams", scene["videos"][1], "--output", str(out), "--init-weights", str(init_model), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "holds a run of" in err and "--fresh" in err and "Traceback" not in err
    assert _snapshot(checkpoint) == before

    # The same footage and settings resume after round 1, and the record names the footage it used.
    lines = []
    summary = run_adaptation(_request(scene, init_model, out), log=lines.append)
    assert summary.result.resumed_from == 1 and any("mined by the interrupted run" in line for line in lines)
    record = json.loads(output_paths(out, "none")[2].read_text())
    assert record["sources"] == list(scene["videos"]) and not checkpoint.exists()


@pytest.mark.parametrize("damage", ["tracklets.npz", "cameras.json", "state.json", "model.keras", "run.json"])
def test_a_damaged_checkpoint_is_one_line_suggesting_fresh(interrupted, scene, init_model, damage):
    out, checkpoint = interrupted
    path = checkpoint / damage
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])
    with pytest.raises(DamagedFileError, match=rf"damaged \({damage}.*--fresh") as info:
        run_adaptation(_request(scene, init_model, out), log=lambda m: None)
    assert "\n" not in str(info.value) and path.exists()  # not deleted without --fresh
    if damage != "tracklets.npz":
        return
    # --fresh discards it and runs.
    summary = run_adaptation(_request(scene, init_model, out, resume=False, config=AdaptConfig(max_rounds=0, **TINY_LOOP)),
                             log=lambda m: None)
    assert summary.result.resumed_from == 0 and out.is_file() and not checkpoint.exists()


def test_cli_on_a_damaged_checkpoint_is_one_line(scene, init_model, tmp_path, capsys):
    out = tmp_path / "site.keras"
    checkpoint = output_paths(out, "onnx")[3]
    checkpoint.mkdir()
    (checkpoint / "run.json").write_text('{"fingerp')
    (checkpoint / "tracklets.npz").write_bytes(b"PK\x03\x04")
    rc = cli_main(["--cams", *scene["videos"], "--output", str(out), "--init-weights", str(init_model), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "damaged" in err and "--fresh" in err and "Traceback" not in err
    assert (checkpoint / "run.json").read_text() == '{"fingerp'  # not deleted without --fresh


def cli_main(argv):
    from mlfn_keras.adapt import cli

    return cli.main(argv)
