"""The ``mlfn`` command: subcommand table, aliases, help without TensorFlow, quiet start, progress lines."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlfn_keras import cli, console, progress

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
ENV.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a user's shell has


def _help_commands() -> list[list[str]]:
    groups = sorted({name.split(" ")[0] for name in cli.COMMANDS if " " in name})
    return [[], *[[g] for g in groups], *[name.split(" ") for name in cli.COMMANDS]]


_PROBE = """
import json, sys
from mlfn_keras.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("@@" + json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}))
"""


@pytest.mark.parametrize("words", _help_commands(), ids=lambda w: " ".join(["mlfn", *w]) or "mlfn")
def test_every_help_answers_without_tensorflow_and_shows_examples(words):
    done = subprocess.run([sys.executable, "-c", _PROBE, *words, "--help"], capture_output=True, text=True,
                          env=ENV, cwd=REPO, timeout=120)
    out = done.stdout
    info = json.loads(out.splitlines()[-1][2:])
    assert info == {"code": 0, "tensorflow": False, "keras": False}, (words, info, done.stderr[-2000:])
    assert "example" in out.lower(), f"mlfn {' '.join(words)} --help shows no examples"
    if len(words) == 1 and words[0] in cli.COMMANDS or len(words) == 2:
        for flag in ("--quiet", "--debug"):  # the common options, in every command's help
            assert flag in out, f"mlfn {' '.join(words)} --help does not list {flag}"
        assert f"usage: mlfn {' '.join(words)}" in out  # named as it was run
    assert done.stderr == "", done.stderr


def test_table_targets_exist_and_are_cli_entry_wrapped():
    for name, command in cli.COMMANDS.items():
        function = command.load()
        assert callable(function), name
        assert hasattr(function, "__wrapped__"), f"{command.target} is not wrapped by errors.cli_entry"


def test_unknown_command_is_two_lines_with_a_suggestion(capsys):
    assert cli.main(["trian"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "did you mean 'train'" in err[0]
    assert cli.main(["export", "onx"]) == 2
    assert "did you mean 'onnx'" in capsys.readouterr().err


def test_version_and_bare_mlfn(capsys):
    from mlfn_keras import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mlfn-keras {__version__}"
    assert cli.main([]) == 2  # no command: the overview, as a usage error
    assert "commands:" in capsys.readouterr().out
    assert cli.main(["export"]) == 2
    assert "saved-model" in capsys.readouterr().out


def test_mlfn_x_scripts_run_the_subcommand(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/venv/bin/mlfn-convert", "--help"])
    with pytest.raises(SystemExit) as exit:
        cli.alias()
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith("usage: mlfn-convert")


def test_pyproject_scripts_are_the_table():
    text = (REPO / "pyproject.toml").read_text()
    scripts = text[text.index("[project.scripts]"):].split("\n[", 1)[0]
    names = [line.split("=")[0].strip() for line in scripts.splitlines()[1:] if "=" in line]
    assert "mlfn" in names
    for name in names:
        if name != "mlfn":
            assert name.removeprefix("mlfn-") in cli.COMMANDS, f"{name} is not a subcommand of mlfn"


@pytest.mark.parametrize("script, words", [("export/to_onnx.py", ["export", "onnx"]),
                                           ("demo/multicam.py", ["demo"])])
def test_documented_scripts_are_aliases(script, words):
    done = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, env=ENV, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python {script}")
    assert f"python {script} " in done.stdout.split("xamples:", 1)[1]  # examples name the alias itself


def test_deprecated_flag_in_a_real_command(tmp_path, capsys):
    from mlfn_keras.convert import main

    assert main(["torchreid", str(tmp_path / "missing.pth"), "--out", str(tmp_path / "m.keras")]) == 2
    err = capsys.readouterr().err
    assert "note: --out is now --output" in err and "missing.pth" in err


def test_filtered_stderr_drops_start_up_noise_and_keeps_errors(capfd):
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796235971.615087    7113 cudart_stub.cc:31] Could not find cuda drivers on your machine.",
        "E0000 00:00:1796235989.907679    7113 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
        "appropriate compiler flags.",
    ]
    real = "E0000 00:00:1796235989.907679    7113 some_op.cc:12] a real error: could not open model.pb"
    with console.filtered_stderr():
        for line in [*noise, real]:
            os.write(2, (line + "\n").encode())
    err = capfd.readouterr().err
    assert err == real + "\n"


def test_a_command_starts_quietly_and_debug_shows_everything(tmp_path):
    code = ("import sys; from mlfn_keras.console import quiet_start; quiet_start(sys.argv[1:]); "
            "import keras; print('ok')")
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=300)
    assert quiet.returncode == 0 and quiet.stdout.strip() == "ok"
    assert quiet.stderr == "", f"TensorFlow printed on a quiet start:\n{quiet.stderr}"
    probe = ("import os, sys; from mlfn_keras.console import quiet_start; quiet_start(sys.argv[1:]); "
             "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), any('Quiet' in type(f).__name__ for f in sys.meta_path))")
    loud = subprocess.run([sys.executable, "-c", probe, "--debug"], capture_output=True, text=True, env=ENV,
                          timeout=60)
    assert loud.stdout.split() == ["None", "False"]  # --debug: TensorFlow's own lines are left alone
    normal = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, timeout=60)
    assert normal.stdout.split() == ["2", "True"]


def test_progress_is_plain_lines_off_a_terminal(monkeypatch):
    monkeypatch.setenv("MLFN_KERAS_PROGRESS_INTERVAL", "0")
    monkeypatch.delenv("MLFN_KERAS_PROGRESS", raising=False)
    stream = io.StringIO()  # not a terminal
    bar = progress.tqdm(total=4, desc="tracking", unit="tick", file=stream)
    assert isinstance(bar, progress.LineProgress)
    for _ in range(4):
        bar.update(1)
    bar.close()
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0].startswith("tracking: 0/4 tick (0%)") and lines[-1].startswith("tracking: 4/4 tick (100%)")
    assert len(lines) >= 3


def test_progress_quiet_and_forced_modes(monkeypatch):
    stream = io.StringIO()
    with progress.tqdm(total=3, desc="x", file=stream, disable=True) as bar:
        bar.update(3)
    assert stream.getvalue() == ""
    monkeypatch.setenv("MLFN_KERAS_PROGRESS", "off")
    with progress.tqdm(total=3, desc="x", file=stream) as bar:
        bar.update(3)
    assert stream.getvalue() == ""
    monkeypatch.setenv("MLFN_KERAS_PROGRESS", "bar")
    assert progress.progress_mode(stream) == "bar"
