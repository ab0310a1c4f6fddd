"""mlfn-convert on bad input: true messages, exit code 2, no traceback, no half-written output."""

import pickle

import numpy as np
import pytest

from mlfn_keras import convert
from mlfn_keras.errors import UserError

torch = pytest.importorskip("torch", reason="torch is installed by .ci/run")


def _good(path):
    torch.save({"conv1.weight": torch.ones(2, 3)}, path)
    return path


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(_good(p).read_bytes()[:300]), "truncated"),
        (lambda p: p.write_bytes(np.random.default_rng(0).bytes(3000)), "not a PyTorch checkpoint"),
    ],
    ids=["empty", "truncated", "random"],
)
def test_damaged_pth_does_not_suggest_trust_pickle(tmp_path, make, expected):
    path = tmp_path / "weights.pth"
    make(path)
    with pytest.raises(UserError) as info:
        convert.load_state_dict(str(path))
    message = str(info.value)
    assert expected in message and "weights.pth" in message
    assert "trust" not in message.lower()


class _Thing:  # an object a weights-only load refuses
    pass


def test_pickle_with_objects_is_still_refused_without_trust_pickle(tmp_path):
    path = tmp_path / "objects.pth"
    torch.save({"conv1.weight": torch.ones(2, 3), "meta": _Thing()}, path)
    with pytest.raises(UserError, match="--trust-pickle"):
        convert.load_state_dict(str(path))
    legacy = tmp_path / "legacy.pth"
    with open(legacy, "wb") as f:
        pickle.dump({"meta": _Thing()}, f)
    with pytest.raises(UserError, match="--trust-pickle"):
        convert.load_state_dict(str(legacy))


def test_damaged_safetensors_names_the_file(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(UserError, match="w.safetensors"):
        convert.load_state_dict(str(path))


def test_cli_bad_input_is_two_lines_and_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    out = tmp_path / "m.keras"
    assert convert.main(["torchreid", str(empty), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "empty.pth" in err and "Traceback" not in err and len(err.strip().splitlines()) == 2
    assert not out.exists()
    assert convert.main(["torchreid", str(tmp_path / "missing.pth"), "--output", str(out)]) == 2
    assert "missing.pth" in capsys.readouterr().err


def test_cli_wrong_kind_of_checkpoint_is_a_clear_error(tmp_path, capsys):
    path = _good(tmp_path / "other.pth")  # tensors, but not an MLFN
    assert convert.main(["torchreid", str(path), "--output", str(tmp_path / "m.keras")]) == 2
    err = capsys.readouterr().err
    assert "torchreid MLFN" in err and "Traceback" not in err


def test_cli_unknown_preset_is_a_clear_error(tmp_path, capsys):
    path = _good(tmp_path / "w.pth")
    assert convert.main(["torchreid", str(path), "--output", str(tmp_path / "m.keras"), "--preset", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
