"""Tests for mlfn_keras.training.transplant."""

from __future__ import annotations

import pytest

from mlfn_keras.training.transplant import load_init_weights


def test_missing_init_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_init_weights(None, tmp_path / "nope.keras")
