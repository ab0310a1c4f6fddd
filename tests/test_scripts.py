"""Every script in ``benchmarks/``, ``export/`` and ``demo/`` answers ``--help`` with its examples.

The scripts build their parsers on :mod:`mlfn_keras.cli_args`, whose common
options (``--quiet``, ``--debug``) a script must not declare again.
"""

from __future__ import annotations

import pytest

from repo import REPO, load_script

SCRIPTS = sorted(str(p.relative_to(REPO)) for folder in ("benchmarks", "export", "demo") for p in (REPO / folder).glob("*.py"))


def test_scripts_are_found():
    assert {"benchmarks/real_video.py", "export/to_onnx.py", "demo/multicam.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help(script, capsys):
    module = load_script(script, "help_" + script.replace("/", "_").removesuffix(".py"))
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--quiet" in out, f"{script} --help does not list the common options"
    assert "xample" in out, f"{script} --help shows no examples"
