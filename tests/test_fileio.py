import json

import pytest

from mlfn_keras.errors import DamagedFileError, OutputExistsError, RunMismatchError
from mlfn_keras.fileio import (
    MANIFEST,
    atomic_output,
    check_output_dir,
    check_run_definition,
    legacy_listing,
    read_manifest,
    staged_folder,
    write_json,
    write_manifest,
    write_run_definition,
)

KIND = "mlfn_keras.test"


def test_atomic_file_replaces_only_on_success(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_text("good")
    with pytest.raises(ValueError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise ValueError("parity gate failed")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_atomic_dir_swaps_a_whole_folder(tmp_path):
    target = tmp_path / "saved"
    target.mkdir()
    (target / "old.pb").write_text("old")
    with atomic_output(target, is_dir=True) as tmp:
        (tmp / "saved_model.pb").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["saved_model.pb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]


def test_check_output_dir_refuses_foreign_entries_dot_files_included(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / ".env").write_text("SECRET=1")
    with pytest.raises(OutputExistsError, match=r"2 entries .*\(\.env, \.git/\).*nothing was changed.*--force"):
        check_output_dir(tmp_path, KIND)
    claim = check_output_dir(tmp_path, KIND, force=True)  # --force writes beside them ...
    assert claim.foreign == (".env", ".git/") and claim.previous == ()
    assert claim.remove_previous() == [] and (tmp_path / ".env").read_text() == "SECRET=1"  # ... and keeps them
    with pytest.raises(OutputExistsError, match="is a file"):
        (tmp_path / "f").write_text("x")
        check_output_dir(tmp_path / "f", KIND)


def test_a_folder_is_ours_only_when_its_manifest_lists_every_entry(tmp_path):
    (tmp_path / "mot").mkdir()
    (tmp_path / "mot" / "cam0.txt").write_text("1")
    (tmp_path / "summary.json").write_text("{}")
    write_manifest(tmp_path, KIND, ["mot/cam0.txt", "summary.json"])
    claim = check_output_dir(tmp_path, KIND)
    assert set(claim.previous) == {"mot/cam0.txt", "summary.json", MANIFEST} and claim.foreign == ()
    # Temporaries a killed run left beside its listed files are its own too.
    (tmp_path / ".summary.json.tmp-abc.json").write_text("{")
    (tmp_path / "mot" / "cam0.txt.tmp").write_text("1")
    (tmp_path / ".summary.json.lock").write_text("{}")
    assert check_output_dir(tmp_path, KIND).foreign == ()
    # Anything else, at any depth, is not; another command's manifest is not trusted.
    (tmp_path / "mot" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="mot/notes.txt"):
        check_output_dir(tmp_path, KIND)
    with pytest.raises(OutputExistsError):
        check_output_dir(tmp_path, "mlfn_keras.other")
    claim = check_output_dir(tmp_path, KIND, force=True)
    assert claim.foreign == ("mot/notes.txt",)
    claim.remove_previous()
    assert sorted(p.name for p in (tmp_path / "mot").iterdir()) == ["notes.txt"]
    assert not (tmp_path / "summary.json").exists()


def test_force_never_replaces_a_foreign_file(tmp_path):
    (tmp_path / "summary.json").write_text("the user's")
    with pytest.raises(OutputExistsError, match="would have to replace"):
        check_output_dir(tmp_path, KIND, force=True, writes=["summary.json"])
    assert (tmp_path / "summary.json").read_text() == "the user's"


def test_legacy_folders_without_manifest(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    (tmp_path / "ranked_single_query.png").write_text("png")
    legacy = legacy_listing(("metrics.json", "ranked_*.png"), "metrics.json")
    assert check_output_dir(tmp_path, KIND, legacy=legacy).foreign == ()
    (tmp_path / ".hidden").write_text("x")
    with pytest.raises(OutputExistsError, match=r"\.hidden"):
        check_output_dir(tmp_path, KIND, legacy=legacy)


def test_staged_folder_replaces_whole_or_beside_foreign_entries(tmp_path):
    out = tmp_path / "out"
    with staged_folder(out, KIND) as tmp:
        (tmp / "a").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == ["a", MANIFEST] and read_manifest(out, KIND) == ["a", MANIFEST]
    with staged_folder(out, KIND) as tmp:  # ours: replaced whole, no --force needed
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b", MANIFEST]
    with pytest.raises(RuntimeError):  # a failed body changes nothing
        with staged_folder(out, KIND) as tmp:
            (tmp / "c").write_text("3")
            raise RuntimeError("parity gate failed")
    assert sorted(p.name for p in out.iterdir()) == ["b", MANIFEST]
    (out / ".git").mkdir()
    with pytest.raises(OutputExistsError, match=r"\.git/"):
        with staged_folder(out, KIND) as tmp:
            raise AssertionError("the body must not run for a refused folder")
    with staged_folder(out, KIND, force=True) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == [".git", "c", MANIFEST]
    assert read_manifest(out, KIND) == ["c", MANIFEST]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_folder_checks_again_before_replacing(tmp_path):
    out = tmp_path / "out"
    with staged_folder(out, KIND) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(OutputExistsError, match="thesis.tex"):
        with staged_folder(out, KIND) as tmp:
            (tmp / "a").write_text("2")
            (out / "thesis.tex").write_text("written while the export ran")
    assert (out / "thesis.tex").exists() and (out / "a").read_text() == "1"


def test_run_definition_resumes_only_the_same_run(tmp_path):
    record = tmp_path / "ckpt" / "run.json"
    assert check_run_definition(record, {"sources": ["a.mp4"]}, "a.mp4") is False
    write_run_definition(record, {"sources": ["a.mp4"]}, "a.mp4")
    assert check_run_definition(record, {"sources": ["a.mp4"]}, "a.mp4") is True
    with pytest.raises(RunMismatchError, match=r"holds a run of a\.mp4; this run is of b\.mp4.*new --output or --fresh"):
        check_run_definition(record, {"sources": ["b.mp4"]}, "b.mp4", output_flag="--output")
    record.write_text("{not json")
    with pytest.raises(DamagedFileError, match="damaged.*--fresh"):
        check_run_definition(record, {"sources": ["a.mp4"]}, "a.mp4")


def test_write_json_is_atomic_and_readable(tmp_path):
    path = write_json(tmp_path / "x.json", {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1} and [p.name for p in tmp_path.iterdir()] == ["x.json"]
