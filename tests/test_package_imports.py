"""The package's imports point one way: no cycles, no library module importing a CLI or another
package's private name, runtime without TensorFlow."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repo import REPO  # noqa: E402
PACKAGE = REPO / "mlfn_keras"
#: Compatibility entry points besides the ``__main__`` modules, allowed to import a CLI module.
ENTRY_POINTS = {"mlfn_keras.train"}


def _modules(root: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """``module -> mlfn_keras modules it imports``, at module level and inside functions.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a
    module, else ``pkg``.
    """
    modules = _modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        deps: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(resolve(a.name) for a in node.names if a.name.split(".")[0] == "mlfn_keras")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "mlfn_keras":
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in modules else resolve(target))
        deps.discard(None)
        deps.discard(name)
        graph[name] = deps  # type: ignore[assignment]
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_the_package():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    pkg = tmp_path / "mlfn_keras"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from mlfn_keras.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n")
    (pkg / "c.py").write_text("import mlfn_keras.a\n")
    (pkg / "d.py").write_text("from mlfn_keras import c\n")
    graph = import_graph(pkg)
    assert graph["mlfn_keras.sub.b"] == {"mlfn_keras.c"}
    assert cycles(graph) == [["mlfn_keras.a", "mlfn_keras.c", "mlfn_keras.sub.b"]]


def cli_modules(root: Path = PACKAGE) -> set[str]:
    """Every command-line module: a package's command line is its ``cli.py``."""
    return {m for m in _modules(root) if m.rsplit(".", 1)[-1] == "cli"}


def test_no_library_module_imports_a_command_line():
    graph = import_graph()
    clis = cli_modules()
    assert {"mlfn_keras.training.cli", "mlfn_keras.evaluation.cli", "mlfn_keras.data.synthetic.cli",
            "mlfn_keras.adapt.cli", "mlfn_keras.export.cli", "mlfn_keras.tracking.app.cli",
            "mlfn_keras.tracking.site.cli", "mlfn_keras.cli"} <= clis
    allowed = ENTRY_POINTS | {m for m in graph if m.endswith("__main__")}
    offenders = {m: sorted(d & clis) for m, d in graph.items() if d & clis and m not in allowed}
    assert not offenders


def private_imports(root: Path = PACKAGE) -> list[str]:
    """``importer -> owner._name`` for every private name imported from outside its own package.

    A name (or module) starting with one underscore is private to the package
    that holds it: modules of that package (and its subpackages) may import
    it, nothing else.
    """
    modules = _modules(root)
    found = []
    for name, (path, is_package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not (node.module or "").startswith("mlfn_keras"):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                parts = full.split(".")
                private = [i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__")]
                if not private:
                    continue
                owner = ".".join(parts[: private[0]])
                owner = owner if owner in modules and modules[owner][1] else owner.rpartition(".")[0]
                if not (name == owner or name.startswith(owner + ".")):
                    found.append(f"{name} -> {full}")
    return found


def test_no_module_imports_another_packages_private_name():
    found = private_imports()
    assert not found, "private names imported across packages:\n" + "\n".join(found)


def test_the_private_import_finder_finds_one(tmp_path):
    pkg = tmp_path / "mlfn_keras"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    for f in ("__init__.py", "_lazy.py", "a/__init__.py", "a/x.py", "b/__init__.py"):
        (pkg / f).write_text("")
    (pkg / "a" / "y.py").write_text("from mlfn_keras.a.x import _helper\nfrom mlfn_keras._lazy import f\n")
    (pkg / "b" / "z.py").write_text("from mlfn_keras.a.x import _helper, public\n")
    assert private_imports(pkg) == ["mlfn_keras.b.z -> mlfn_keras.a.x._helper"]


_PROBE = """
import json, sys
import mlfn_keras.runtime, mlfn_keras.runtime.formats, mlfn_keras.data.registry, mlfn_keras.evaluation.splits
import numpy as np
from mlfn_keras.runtime import load_embedder
assert load_embedder("hist")([np.zeros((64, 32, 3), np.uint8)]).shape == (1, 768)  # a spec that needs no model
print(json.dumps(sorted(m for m in ("tensorflow", "keras", "torch") if m in sys.modules)))
"""


def test_runtime_imports_without_tensorflow():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("module", ["mlfn_keras.training", "mlfn_keras.evaluation.cli", "mlfn_keras.export.onnx"])
def test_heavy_modules_still_import(module):
    __import__(module)


#: ``mlfn_keras.tracking``'s floors, lowest first: a floor imports only its own and lower floors.
TRACKING_FLOORS = ("core", "detection", "view", "eval", "app", "site", "bench")


def _tracking_floor(module: str) -> int | None:
    parts = module.split(".")
    if parts[:2] != ["mlfn_keras", "tracking"] or len(parts) < 3 or parts[2] not in TRACKING_FLOORS:
        return None
    return TRACKING_FLOORS.index(parts[2])


def test_tracking_floors_import_downwards_only():
    graph = import_graph()
    assert {m.split(".")[2] for m in graph if m.startswith("mlfn_keras.tracking.") and m.count(".") >= 2} <= set(
        TRACKING_FLOORS
    ), "a module of mlfn_keras.tracking lives outside the floors"
    offenders = {}
    for module, deps in graph.items():
        floor = _tracking_floor(module)
        if floor is None:
            continue
        up = sorted(d for d in deps if (_tracking_floor(d) or 0) > floor)
        if up:
            offenders[module] = up
    assert not offenders, f"tracking floors import upwards ({' < '.join(TRACKING_FLOORS)}): {offenders}"
