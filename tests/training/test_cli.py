"""Tests for mlfn_keras.training.cli (``mlfn-train``) and the ``mlfn_keras.train`` compatibility module."""

from __future__ import annotations

import os
import subprocess
import sys

from mlfn_keras.training.cli import config_from_args

from repo import REPO  # noqa: E402


def test_cli_parsing():
    config = config_from_args(["--dataset", "synthetic", "--preset", "mlfn_small", "--minutes", "5",
                               "--triplet-weight", "1", "--bnneck", "--synthetic-identities", "50"])
    assert config.minutes == 5 and config.bnneck and config.triplet_weight == 1
    assert config.synthetic == {"num_identities": 50}


def test_compatibility_module_reexports_training():
    import mlfn_keras.train as compat
    import mlfn_keras.training as training
    from mlfn_keras.training import cli

    assert compat.train is training.train and compat.TrainConfig is training.TrainConfig
    assert compat.main is cli.main and compat.config_from_args is config_from_args


def test_help_of_both_module_paths():
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for module in ("mlfn_keras.train", "mlfn_keras.training"):
        proc = subprocess.run([sys.executable, "-m", module, "--help"], env=env, capture_output=True, text=True,
                              timeout=120, cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "mlfn-train" in proc.stdout and "examples:" in proc.stdout
