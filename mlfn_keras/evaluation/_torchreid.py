"""Loads torchreid's reference evaluator without importing the whole package.

torchreid 0.2.5's package ``__init__`` imports torchvision and other heavy
dependencies, while ``reid/metrics/rank.py`` needs only NumPy. Tests and
benchmarks compare against it, so it is loaded straight from its file.
"""

from __future__ import annotations

import importlib.util
import types
import warnings


def load_torchreid_rank() -> types.ModuleType:
    """Returns torchreid's ``reid/metrics/rank.py`` as a module.

    Raises:
        ImportError: If torchreid is not installed.
    """
    spec = importlib.util.find_spec("torchreid")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "torchreid is not installed; expected `pip install torchreid==0.2.5 "
            "--no-deps` for the reference evaluator."
        )
    import os

    path = os.path.join(
        list(spec.submodule_search_locations)[0], "reid", "metrics", "rank.py"
    )
    module_spec = importlib.util.spec_from_file_location("_torchreid_rank", path)
    module = importlib.util.module_from_spec(module_spec)
    with warnings.catch_warnings():
        # It warns that its Cython evaluator is unavailable: expected here.
        warnings.simplefilter("ignore")
        module_spec.loader.exec_module(module)
    return module
