"""The real-video benchmark's library: scoring a run folder, one tiny end-to-end run, the table, the CLI's errors."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from mlfn_keras.tracking.app.sources import SourceSpec
from mlfn_keras.tracking.bench.realvideo import (
    HIST,
    BenchmarkConfig,
    RunResult,
    Setting,
    format_table,
    run_benchmark,
    run_setting,
    score_run_dir,
)

from repo import REPO as ROOT  # noqa: E402
from repo import load_script


def _write(path, rows, extra=",1,-1,-1,-1"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{int(r[0])},{int(r[1])},{r[2]},{r[3]},{r[4]},{r[5]}{extra}\n" for r in rows))


def _walk(pid, frames, x0=0.0):
    return np.array([[f, pid, x0 + 2 * f, 10, 20, 50] for f in frames], np.float64)


def test_score_run_dir_reads_the_demo_layout_and_scores_only_processed_frames(tmp_path):
    # Ground truth: person 1 in both cameras for frames 1-20; the run processed
    # only 10 frames per camera (summary.json), and tracked perfectly, but camera
    # 1 gave person 1 the global id 2 (a missed hand-over).
    gt0, gt1 = _walk(1, range(1, 21)), _walk(1, range(1, 21), x0=50)
    _write(tmp_path / "gt" / "a.txt", gt0, ",1,1,1")
    _write(tmp_path / "gt" / "b.txt", gt1, ",1,1,1")
    run = tmp_path / "run"
    pred0, pred1 = gt0[:10].copy(), gt1[:10].copy()
    pred1[:, 1] = 2
    _write(run / "mot" / "cam0.txt", pred0)
    _write(run / "mot" / "cam1.txt", pred1)
    local1 = pred1.copy()
    local1[:, 1] = 1  # per-camera track ids: 1 in both cameras
    _write(run / "mot_local" / "cam0.txt", pred0)
    _write(run / "mot_local" / "cam1.txt", local1)
    (run / "summary.json").write_text(json.dumps({"cameras": [{"frames": 10}, {"frames": 10}]}))
    s = score_run_dir(run, [str(tmp_path / "gt" / "a.txt"), str(tmp_path / "gt" / "b.txt")], ["a", "b"])
    # 20 scored GT boxes (frames 11-20 not processed); ids 1 and 2 hold 10 each:
    # IDTP = 10, IDFP = IDFN = 10 -> IDF1 = 20 / 40 = 0.5. No re-id: the same
    # split, 0.5. The oracle joins them: 1.0. Each camera alone: perfect.
    assert s.cross_camera == pytest.approx(0.5)
    assert s.no_reid == pytest.approx(0.5)
    assert s.oracle == pytest.approx(1.0)
    assert [c.name for c in s.cameras] == ["a", "b"]
    assert all(c.recall == pytest.approx(1.0) and c.idf1 == pytest.approx(1.0) for c in s.cameras)
    (run / "mot_local" / "cam1.txt").unlink()
    with pytest.raises(FileNotFoundError, match="mot_local/cam1.txt"):
        score_run_dir(run, [str(tmp_path / "gt" / "a.txt"), str(tmp_path / "gt" / "b.txt")])


def _tiny_setting(tmp_path) -> Setting:
    """Two 200x160 cameras, 24 frames: a red person walks through camera 0 then camera 1, a blue one stays in camera 1."""
    import cv2

    specs, gts = [], []
    for cam in range(2):
        video = tmp_path / f"cam{cam}.avi"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (200, 160))
        rows = []
        for f in range(24):
            img = np.full((160, 200, 3), 90, np.uint8)
            people = [(1, (0, 0, 220), 20 + 4 * f)] if cam == 0 else [(1, (0, 0, 220), 110 - 3 * f), (2, (220, 60, 0), 150)]
            for pid, colour, x in people:
                cv2.rectangle(img, (int(x), 40), (int(x) + 22, 110), colour, -1)
                rows.append([f + 1, pid, x, 40, 23, 71])
            writer.write(img)
        writer.release()
        gt = tmp_path / "gt" / f"cam{cam}.txt"
        _write(gt, np.array(rows), ",1,1,1")
        specs.append(SourceSpec("file", str(video), f"c{cam}", fps=10.0, start_time=0.0))
        gts.append(str(gt))
    return Setting("tiny", "generated", tuple(specs), tuple(gts))


def test_one_tiny_run_end_to_end_with_ground_truth_boxes_and_the_histogram(tmp_path):
    from mlfn_keras.runtime import load_embedder

    setting = _tiny_setting(tmp_path)
    result = run_setting(setting, HIST, load_embedder(HIST), str(tmp_path / "run"), detector="gt", progress=False)
    assert result.reid == "colour histogram" and result.detector == "gt"
    assert result.frames == [24, 24] and all(f > 0 for f in result.fps)
    s = result.scores
    assert s.people == 2
    # Ground-truth boxes: every tracked box is a real person; ByteTrack needs a
    # couple of frames to confirm a track, so recall is a little under 100.
    assert all(c.precision == pytest.approx(1.0) and c.recall > 0.85 for c in s.cameras)
    # Person 1 crosses cameras: without re-id it is split; the oracle joins it.
    assert s.oracle > s.no_reid
    assert s.oracle > 0.85
    assert (tmp_path / "run" / "mot_local" / "c1.txt").is_file()  # MOT files are named by camera
    # The raw detections were recorded and scored: ground-truth boxes find everyone.
    assert (tmp_path / "run" / "detections" / "cam1.txt").is_file()
    assert all(c.detector_recall == pytest.approx(1.0) and c.detector_precision == pytest.approx(1.0) for c in s.cameras)


def test_format_table_puts_settings_side_by_side(tmp_path):
    setting = _tiny_setting(tmp_path)
    from mlfn_keras.tracking.bench.realvideo import score_run_dir as srd

    run = tmp_path / "r"
    for i, g in enumerate(setting.gt_paths):
        rows = np.loadtxt(g, delimiter=",")[:, :6]
        _write(run / "mot" / f"cam{i}.txt", rows)
        _write(run / "mot_local" / f"cam{i}.txt", rows)
    scores = srd(run, setting.gt_paths)
    results = [
        RunResult("scene s0", "generated", "shipped (w.keras)", "bgsub", ["cam0", "cam1"], scores, [12.0, 12.5], [24, 24]),
        RunResult("scene s0", "generated", "colour histogram", "bgsub", ["cam0", "cam1"], scores, [20.0, 20.0], [24, 24]),
        RunResult("PETS09 lr", "real", "shipped (w.keras)", "ssdlite", ["left", "right"], scores, [3.0, 3.0], [24, 24]),
    ]
    table = format_table(results)
    lines = table.splitlines()
    assert lines[0] == "| | scene s0 (generated) | PETS09 lr (real) |"
    row = next(line for line in lines if line.startswith("| **cross-camera IDF1, re-id colour histogram**"))
    assert row.endswith("| 100.0 |  |")  # no histogram run on PETS09 here: an empty cell
    assert "| cross-camera IDF1, oracle re-id (same run) | 100.0 | 100.0 |" in lines
    assert "| FPS per stream, shipped (w.keras) | 12.0 / 12.5 | 3.0 / 3.0 |" in lines
    from mlfn_keras.tracking.bench.realvideo import write_results

    write_results(results, tmp_path)
    assert (tmp_path / "cross_camera_idf1.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["setting"] for r in saved["runs"]] == ["scene s0", "scene s0", "PETS09 lr"]
    assert saved["runs"][0]["scores"]["oracle"] == pytest.approx(1.0)
    assert "| PETS09 lr | offline | shipped (w.keras) | cam0 |" in (tmp_path / "table.md").read_text()
    # Both modes: one table each, titled, the same columns.
    online = [dataclasses.replace(r, mode="online") for r in results]
    both = format_table(results + online).splitlines()
    titles = [line for line in both if line.startswith("**")]
    assert titles[0].startswith("**Offline") and titles[1].startswith("**Online")
    assert both.count("| | scene s0 (generated) | PETS09 lr (real) |") == 2


def test_staggered_cameras_are_run_with_and_without_their_start_times(tmp_path):
    from mlfn_keras.tracking.bench.realvideo import START_TIMES

    setting = _tiny_setting(tmp_path)
    assert not setting.staggered
    late = dataclasses.replace(setting, specs=(setting.specs[0], dataclasses.replace(setting.specs[1], start_time=57.1)))
    assert late.staggered
    plain = late.without_start_times()
    assert plain.name == "tiny, no start times" and not plain.staggered
    assert [s.start_time for s in plain.specs] == [None, None] and plain.gt_paths == late.gt_paths
    assert not any(s.synced for s in plain.specs) and all(s.synced for s in late.specs)
    assert START_TIMES == ("given", "none", "both")


def test_run_benchmark_rejects_a_missing_reid_before_any_work(tmp_path):
    from mlfn_keras.errors import InputPathError

    with pytest.raises(InputPathError, match="nope.keras"):
        run_benchmark(BenchmarkConfig(splits=(), scene_seeds=(0,), reids=(str(tmp_path / "nope.keras"),), output_dir=str(tmp_path / "o")))
    assert not (tmp_path / "o").exists()


def _cli():
    return load_script("benchmarks/real_video.py", "real_video_cli")


def test_cli_help_and_bad_split_exit_code(capsys):
    from mlfn_keras.errors import cli_entry

    cli = _cli()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "Examples:" in out and "--max-frames" in out
    assert cli_entry(cli.main)(["--splits", "diagonal", "--scene-seeds", "--reid", "hist"]) == 2
    err = capsys.readouterr().err
    assert "unknown PETS09 split 'diagonal'" in err and "Traceback" not in err


def test_the_shipped_weights_the_benchmark_defaults_to_exist():
    from mlfn_keras.tracking.bench.realvideo import SHIPPED_REID

    assert Path(SHIPPED_REID).is_file(), SHIPPED_REID
    assert Path(SHIPPED_REID).parent == ROOT / "mlfn_keras" / "weights"  # package data: ships in the wheel
    assert (ROOT / "demo" / "weights" / Path(SHIPPED_REID).name).resolve() == Path(SHIPPED_REID)  # the old path links
