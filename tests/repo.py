"""Paths of the checkout the tests run in, and loading a command-line script whose behaviour is under test."""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: The repository root (holds ``pyproject.toml``, ``demo/``, ``export/``, ``benchmarks/``).
REPO = Path(__file__).resolve().parents[1]
ROOT = str(REPO)


def load_script(relative: str, name: str | None = None):
    """Imports a script of the repository (e.g. ``"demo/multicam.py"``) as a module, to call its ``main``."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(name or "script_" + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
