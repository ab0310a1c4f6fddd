"""Loads torchreid 0.2.5 modules by file path, for parity tests.

torchreid's package ``__init__`` imports torchvision and other heavy
dependencies; its model file and rank metrics need only torch / numpy, so
tests import those files directly.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys

import pytest


def load_torchreid_file(relative_path: str, module_name: str):
    """Imports ``torchreid/<relative_path>`` or skips the test if absent."""
    for base in site.getsitepackages() + [site.getusersitepackages()]:
        path = os.path.join(base, "torchreid", relative_path)
        if os.path.exists(path):
            break
    else:
        pytest.skip("torchreid is not installed (pip install --no-deps torchreid==0.2.5)")
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[module_name] = module
    return module
