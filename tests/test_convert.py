"""Weight interop with torchreid (parity against its own model code) and ResNeXt-50."""

import keras
import numpy as np
import pytest
from torchreid_ref import load_torchreid_file

from mlfn_keras import MLFN, MLFNClassifier, convert
from mlfn_keras.preprocessing import IMAGENET_MEAN, IMAGENET_STD

torch = pytest.importorskip("torch", reason="torch is installed by .ci/run; parity needs it")


@pytest.fixture(scope="module")
def torchreid_model():
    """torchreid's MLFN with random weights and non-trivial BatchNorm statistics."""
    module = load_torchreid_file("reid/models/mlfn.py", "torchreid_mlfn")
    torch.manual_seed(0)
    model = module.mlfn(num_classes=751, loss="softmax", pretrained=False)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def _torch_forward(model, images):
    x = (images - np.asarray(IMAGENET_MEAN, "float32")) / np.asarray(IMAGENET_STD, "float32")
    with torch.no_grad():
        return model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 255, (2, 256, 128, 3)).astype("float32")


@pytest.mark.slow
def test_torchreid_parity(torchreid_model, images):
    state = {k: v.numpy() for k, v in torchreid_model.state_dict().items()}
    backbone, classifier, report = convert.convert_torchreid(state)
    assert report.left_at_init == [] and report.unused == []
    expected = _torch_forward(torchreid_model, images)
    ours = backbone.predict(images, verbose=0)["embedding"]
    assert np.abs(ours - expected).max() <= 1e-4
    # The classifier is kept: torchreid's logits in training mode come from the
    # same v, so compare our logits with its Linear applied to its embedding.
    with torch.no_grad():
        logits = torchreid_model.classifier(torch.from_numpy(expected)).numpy()
    np.testing.assert_allclose(classifier.predict(images, verbose=0)["logits"], logits, atol=1e-3)


@pytest.mark.slow
def test_cli_on_torchreid_checkpoint(torchreid_model, images, tmp_path, capsys):
    """A torchreid-style checkpoint file: state_dict key and DataParallel prefixes."""
    ckpt = tmp_path / "model.pth.tar"
    state = {f"module.{k}": v for k, v in torchreid_model.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 60, "rank1": 0.9}, ckpt)
    out = tmp_path / "mlfn.keras"
    assert convert.main(["torchreid", str(ckpt), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "classifier kept" in printed and "left 0 at initialisation" in printed
    restored = keras.models.load_model(str(out))
    assert isinstance(restored, MLFN)
    expected = _torch_forward(torchreid_model, images)
    assert np.abs(restored.predict(images, verbose=0)["embedding"] - expected).max() <= 1e-4
    clf = keras.models.load_model(str(tmp_path / "mlfn.classifier.keras"))
    assert isinstance(clf, MLFNClassifier) and clf.num_classes == 751


def _torchvision_style_state(model: MLFN) -> dict[str, np.ndarray]:
    """A ResNeXt-50 state dict in torchvision naming, shaped from torch's layout."""
    rng = np.random.default_rng(0)
    state = {"conv1.weight": rng.normal(size=(64, 3, 7, 7)).astype("float32")}
    state.update({f"bn1.{p}": rng.uniform(0.5, 1, 64).astype("float32") for p in convert._BN_PARTS})
    n = 0
    for s, blocks in enumerate(model.stage_blocks):
        for b in range(blocks):
            n += 1
            for j in (1, 2, 3):
                kernel = model.get_layer(f"block{n}_fm_conv{j}").kernel
                kh, kw, cin, cout = kernel.shape
                state[f"layer{s + 1}.{b}.conv{j}.weight"] = rng.normal(size=(cout, cin, kh, kw)).astype("float32")
                for p in convert._BN_PARTS:
                    state[f"layer{s + 1}.{b}.bn{j}.{p}"] = rng.uniform(0.5, 1, cout).astype("float32")
            if b == 0:
                kernel = model.get_layer(f"block{n}_downsample_conv").kernel
                cin, cout = kernel.shape[2:]
                state[f"layer{s + 1}.{b}.downsample.0.weight"] = rng.normal(size=(cout, cin, 1, 1)).astype("float32")
                for p in convert._BN_PARTS:
                    state[f"layer{s + 1}.{b}.downsample.1.{p}"] = rng.uniform(0.5, 1, cout).astype("float32")
    state["fc.weight"] = rng.normal(size=(1000, 2048)).astype("float32")
    state["fc.bias"] = np.zeros(1000, "float32")
    return state


@pytest.mark.slow
def test_resnext50_initialisation_from_safetensors(tmp_path, capsys):
    from safetensors.numpy import save_file

    reference = MLFN.from_preset("mlfn")
    state = _torchvision_style_state(reference)
    path = tmp_path / "resnext50_32x4d.safetensors"
    save_file(state, str(path))
    out = tmp_path / "init.keras"
    assert convert.main(["resnext50", str(path), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    model = keras.models.load_model(str(out))
    # Grouped 3x3 conv of block 5 (stage 2, block 2) and the stem, transposed.
    np.testing.assert_array_equal(
        model.get_layer("block5_fm_conv2").kernel.numpy(),
        state["layer2.1.conv2.weight"].transpose(2, 3, 1, 0),
    )
    np.testing.assert_array_equal(model.get_layer("bn1").moving_variance.numpy(), state["bn1.running_var"])
    # Everything but the ImageNet fc is used; FSMs and projections stay at init.
    _, report = convert.convert_resnext50(state)
    assert report.unused == ["fc.weight", "fc.bias"]
    assert all("fsm" in p or p.startswith(("fc_", "conv1/bias")) for p in report.left_at_init)
    assert "block16_fsm_fc3/kernel" in report.left_at_init
    assert "left at initialisation" in printed


def test_load_state_dict_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Expected a .pth, .pth.tar or .safetensors"):
        convert.load_state_dict(str(tmp_path / "missing.pth"))
    with pytest.raises(ValueError, match="does not look like a torchreid MLFN"):
        convert.convert_torchreid({"layer1.0.conv1.weight": np.zeros((1,))})
    with pytest.raises(ValueError, match="does not look like a torchvision/timm ResNeXt-50"):
        convert.convert_resnext50({"feature.0.fm_conv1.weight": np.zeros((1,))})


def test_load_state_dict_strips_prefix_and_unwraps(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save({"state_dict": {"module.conv1.weight": torch.ones(2, 3)}, "epoch": 3}, path)
    state = convert.load_state_dict(str(path))
    assert list(state) == ["conv1.weight"] and state["conv1.weight"].shape == (2, 3)


def test_cli_rejects_non_keras_output(tmp_path, capsys):
    assert convert.main(["torchreid", "x.pth", "--output", str(tmp_path / "m.h5")]) == 2
    assert "--output must end with .keras" in capsys.readouterr().err
