"""The README and docs: every command marked runnable runs, the site builds strictly, the docs are for users.

A fenced ``bash`` block right after a ``<!-- runnable -->`` line is run line by
line (``\\`` continues a line; ``#`` starts a comment), with tiny arguments
written into the block itself, in a scratch folder that links the checkout's
``demo/``, ``export/``, ``benchmarks/`` and ``scripts/``. ``mlfn ...``,
``mlfn-X ...`` and ``python ...`` run with this interpreter, so the test
checks the checkout whether or not its scripts are on the PATH.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
MARKER = "<!-- runnable -->"
#: Words of development history that do not belong in user docs.
HISTORY = re.compile(r"\bissue \d+|\bthis release\b|\bprevious release\b|\bas filed\b|\b\d{1,2}:\d{2}(–\d{1,2}:\d{2})? UTC\b"
                     r"|(^|[.;:] )I (knew|think|tried|chose|measured|found)\b", re.IGNORECASE | re.MULTILINE)


def runnable_blocks(path: Path) -> list[tuple[int, list[str]]]:
    """``(line number, commands)`` of each fenced block marked runnable in ``path``."""
    lines = path.read_text().splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        start = i + 1
        assert lines[start].startswith("```"), f"{path.name}:{start + 1}: {MARKER} must be followed by a fence"
        commands, pending = [], ""
        for body in lines[start + 1:]:
            if body.startswith("```"):
                break
            body = body.split(" #", 1)[0].rstrip() if not body.lstrip().startswith("#") else ""
            if pending:
                body = body.strip()
            if body.endswith("\\"):
                pending += body[:-1].rstrip() + " "
                continue
            if (pending + body).strip():
                commands.append((pending + body).strip())
            pending = ""
        blocks.append((start + 1, commands))
    return blocks


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    head = words[0].removeprefix(".venv/bin/")
    if head == "mlfn":
        return [sys.executable, "-m", "mlfn_keras", *words[1:]]
    if head.startswith("mlfn-"):
        script = Path(sys.executable).parent / head
        if script.exists():
            return [str(script), *words[1:]]
        code = f"import sys; sys.argv[0] = {head!r}; from mlfn_keras.cli import alias; sys.exit(alias())"
        return [sys.executable, "-c", code, *words[1:]]
    if head in ("python", "python3"):
        return [sys.executable, *words[1:]]
    return words


BLOCKS = [(path, line, commands) for path in DOCS for line, commands in runnable_blocks(path)]


def test_docs_mark_commands_runnable():
    assert len(BLOCKS) >= 4, "the docs should mark their cheap commands runnable"


@pytest.mark.parametrize("path, line, commands", BLOCKS, ids=[f"{p.relative_to(REPO)}:{n}" for p, n, _ in BLOCKS])
def test_documented_command_runs(path, line, commands, tmp_path):
    for name in ("demo", "export", "benchmarks", "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "MLFN_KERAS_PROGRESS": "off"}
    for command in commands:
        done = subprocess.run(_argv(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (
            f"{path.relative_to(REPO)}:{line}: `{command}` exited {done.returncode}\n{done.stdout[-2000:]}\n"
            f"{done.stderr[-3000:]}")


def test_runnable_blocks_are_parsed_as_written(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"text\n{MARKER}\n```bash\n# a comment\nmlfn demo --cams a \\\n    b  # two\n\nmlfn --help\n```\n")
    assert runnable_blocks(page) == [(3, ["mlfn demo --cams a b", "mlfn --help"])]
    assert _argv("mlfn demo --cams a")[1:3] == ["-m", "mlfn_keras"]


def test_readme_is_short_opens_with_two_commands_and_ci_runs_its_test_command():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    fence = re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1)
    commands = [line for line in fence.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2, commands
    assert commands[0].startswith("bash scripts/setup.sh && ")
    test_command = commands[1].split(" #")[0].strip()
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1] == test_command, f".ci/run ends with {ci[-1]!r}; the README's test command is {test_command!r}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_docs_hold_no_development_history(path):
    found = [m.group(0) for m in HISTORY.finditer(path.read_text())]
    assert not found, f"{path.name} reads as a development log: {found}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_docs_images_exist(path):
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", path.read_text()):
        assert (path.parent / target).exists(), f"{path.name} shows {target}, which does not exist"


def test_api_reference_objects_have_docstrings():
    griffe = pytest.importorskip("griffe", reason="the docs extra (mkdocstrings) is not installed")
    modules = sorted({m for page in (REPO / "docs" / "api").glob("*.md")
                      for m in re.findall(r"^::: (\S+)", page.read_text(), re.MULTILINE)})
    assert modules
    package = griffe.load("mlfn_keras", search_paths=[str(REPO)])  # once: every module, parsed statically
    missing = []
    for name in modules:
        module = package if name == "mlfn_keras" else package[name.removeprefix("mlfn_keras.")]
        if not module.docstring:
            missing.append(name)
        for member in module.members.values():
            if member.is_alias or member.name.startswith("_") or not (member.is_class or member.is_function):
                continue
            if not member.docstring:
                missing.append(f"{name}.{member.name}")
    assert not missing, f"public objects in the API reference without a docstring: {missing}"


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (bash scripts/setup.sh installs it)")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").exists()
