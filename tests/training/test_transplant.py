"""Tests for mlfn_keras.training.transplant."""

from __future__ import annotations

import pytest

from mlfn_keras.training.transplant import load_init_weights


def test_missing_init_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_init_weights(None, tmp_path / "nope.keras")


def test_damaged_init_weights_is_a_one_line_error(tmp_path):
    from mlfn_keras.errors import InputPathError

    damaged = tmp_path / "init.keras"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputPathError, match="--init-weights"):
        load_init_weights(None, damaged)
