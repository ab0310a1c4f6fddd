"""Tests for mlfn_keras.cli_args and the command lines built on it (scripts included)."""

from __future__ import annotations

import ast

import pytest

from mlfn_keras import cli_args
from mlfn_keras.data.registry import dataset_names
from mlfn_keras.errors import UserError

from repo import REPO  # noqa: E402
SCRIPTS = sorted([*(REPO / "export").glob("*.py"), *(REPO / "benchmarks").glob("*.py")])


def test_shared_arguments_parse_the_same_everywhere():
    parser = cli_args.make_parser("prog", "what it does", "examples:\n  %(prog)s --dataset synthetic")
    cli_args.add_model_argument(parser)
    cli_args.add_dataset_arguments(parser)
    cli_args.add_batch_size(parser)
    cli_args.add_output(parser)
    cli_args.add_seed(parser)
    args = parser.parse_args(["--model", "m.keras", "--dataset", "cuhk03_detected", "--data-root", "/data"])
    assert (args.model, args.dataset, args.data_root, args.batch_size, args.output, args.seed, args.quiet) == (
        "m.keras", "cuhk03_detected", "/data", 64, None, 0, False)
    help_text = parser.format_help()
    assert "examples:\n  prog --dataset synthetic" in help_text  # kept as written, %(prog)s filled in
    assert "common options" in help_text and "--quiet" in help_text and "--debug" in help_text
    with pytest.raises(SystemExit):
        parser.parse_args(["--model", "m", "--dataset", "imagenet", "--data-root", "/data"])
    assert set(dataset_names()) >= {"market1501", "cuhk03_detected", "synthetic"}


def test_old_spellings_still_work_with_a_note(capsys):
    parser = cli_args.make_parser("prog")
    cli_args.add_dataset_arguments(parser)
    cli_args.add_output(parser)
    cli_args.add_cams(parser)
    group = parser.add_argument_group("system")
    cli_args.add_init_weights(group)  # registered through an argument group too
    args = parser.parse_args(["--dataset", "synthetic", "--root", "/d", "--out=o", "--videos", "a.mp4", "b.mp4",
                              "--init", "w.keras", "--no-progress"])
    assert (args.data_root, args.output, args.cams, args.init_weights, args.quiet) == (
        "/d", "o", ["a.mp4", "b.mp4"], "w.keras", True)
    notes = capsys.readouterr().err.strip().splitlines()
    assert len(notes) == 5 and all(n.startswith("prog: note: --") for n in notes)
    assert "--root is now --data-root" in notes[0]
    _, rest = parser.parse_known_args(["--dataset", "synthetic", "--data-root", "/d", "--", "--out"])
    assert "--out" in rest and capsys.readouterr().err == ""  # after "--" a token is a value, never translated


def test_invoked_as_names_the_parser():
    with cli_args.invoked_as("mlfn demo"):
        assert cli_args.make_parser("demo/multicam.py", epilog="e.g. %(prog)s --cams 0").format_help().startswith(
            "usage: mlfn demo")
    assert cli_args.make_parser("demo/multicam.py").prog == "demo/multicam.py"


def test_user_errors_turns_bad_values_into_user_errors():
    with pytest.raises(UserError, match="bad value"):
        with cli_args.user_errors():
            raise ValueError("bad value")
    with pytest.raises(KeyError):  # anything else keeps its type (and traceback)
        with cli_args.user_errors():
            raise KeyError("bug")


@pytest.mark.parametrize("module", ["attributes", "factor_grid", "fs_matching"])
def test_analysis_cli_bad_input_is_two_lines_and_exit_2(module, tmp_path, capsys):
    import importlib

    main = importlib.import_module(f"mlfn_keras.analysis.{module}").main
    argv = ["--model", str(tmp_path / "missing.keras"), "--dataset", "synthetic", "--data-root", str(tmp_path)]
    if module == "factor_grid":
        argv += ["--output", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "error:" in err[0] and "meta.json" in err[0] and "--debug" in err[1]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_do_not_edit_sys_path_and_wrap_main(script):
    tree = ast.parse(script.read_text())
    edits = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "path"
             and isinstance(n.value, ast.Name) and n.value.id == "sys"]
    assert not edits, f"{script.name} touches sys.path (lines {edits}); the package is installed by setup.sh"
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    assert [ast.unparse(d) for d in main.decorator_list] == ["cli_entry"]


def test_parser_from_doc_keeps_the_examples():
    from mlfn_keras.cli_args import parser_from_doc

    parser = parser_from_doc("Does a thing.\n\nMore words.\n\nExamples:\n\n    run --fast\n", prog="x")
    text = parser.format_help()
    assert "Does a thing." in text and "More words." not in text and "    run --fast" in text
