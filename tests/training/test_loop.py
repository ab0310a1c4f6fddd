"""Tests for mlfn_keras.training.loop (train()) on generated identities and the tiny preset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from mlfn_keras.training import TrainConfig, load_init_weights, train

from repo import REPO  # noqa: E402
SYNTH = dict(num_identities=8, num_cameras=2, images_per_identity_camera=2)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("synthetic"))


def _config(data_root, output, **kwargs):
    base = dict(dataset="synthetic", data_root=data_root, preset="mlfn_tiny", output=str(output), steps=2,
                batch_size=4, checkpoint_every=1, synthetic=SYNTH, verbose=0)
    return TrainConfig(**{**base, **kwargs})


def test_two_step_fit_saves_model_and_config(data_root, tmp_path):
    result = train(_config(data_root, tmp_path / "run"))
    assert result.steps == 2 and result.initial_step == 0 and not result.stopped_by_time
    assert result.num_classes == 4 and np.isfinite(result.history["loss"]).all()
    record = json.loads(Path(result.config_path).read_text())
    assert record["config"]["learning_rate"] == 3.5e-4 and record["config"]["preset"] == "mlfn_tiny"
    assert len(record["dataset_fingerprint"]) == 64 and record["num_replicas"] == 1
    assert (tmp_path / "run" / "logs" / "train.csv").read_text().count("\n") == 3  # header + 2 epochs
    assert not (tmp_path / "run" / "checkpoints").exists()  # finished runs drop their checkpoints

    import mlfn_keras  # noqa: F401  (registers the custom objects)

    model = keras.models.load_model(result.model_path)
    out = model.predict(np.zeros((2, 64, 32, 3), "float32"), verbose=0)
    assert out["embedding"].shape == (2, 32)

    # The same file initialises a new classifier: every backbone layer matches.
    clf = mlfn_keras.MLFNClassifier(mlfn_keras.MLFN.from_preset("mlfn_tiny"), num_classes=9)
    report = load_init_weights(clf, result.model_path)
    assert report["loaded"] and not report["shape_mismatch"]
    assert report["not_in_source"] == ["classifier"]
    np.testing.assert_allclose(clf.backbone.predict(np.zeros((1, 64, 32, 3), "float32"), verbose=0)["embedding"],
                               model.predict(np.zeros((1, 64, 32, 3), "float32"), verbose=0)["embedding"],
                               atol=1e-5)


def test_bag_of_tricks_fit(data_root, tmp_path):
    result = train(_config(
        data_root, tmp_path / "tricks", batch_size=4, num_instances=2, triplet_weight=1.0, bnneck=True,
        label_smoothing=0.1, warmup_steps=1, schedule="cosine", random_erasing=0.5, save_classifier=True,
        init_weights=None,
    ))
    assert result.steps == 2
    assert "embedding_loss" in result.history and np.isfinite(result.history["embedding_loss"]).all()
    assert Path(result.classifier_path).exists()


def test_time_budget_stops_and_keeps_checkpoint(data_root, tmp_path):
    result = train(_config(data_root, tmp_path / "budget", steps=50, minutes=1e-4))
    assert result.stopped_by_time and result.steps < 50
    assert (tmp_path / "budget" / "checkpoints").exists()


_KILL_SCRIPT = """
import os, signal, sys, keras
from mlfn_keras.training import TrainConfig, train

class Kill(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == 5:
            os.kill(os.getpid(), signal.SIGKILL)

config = TrainConfig(dataset="synthetic", data_root=sys.argv[1], preset="mlfn_tiny", output=sys.argv[2],
                     steps=6, batch_size=4, checkpoint_every=2, verbose=0,
                     synthetic=dict(num_identities=8, num_cameras=2, images_per_identity_camera=2))
train(config, callbacks=[Kill()])
"""


@pytest.mark.slow
def test_resume_after_kill(data_root, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, data_root, str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "run" / "checkpoints" / "training_metadata.json").read_text())
    assert meta["epoch"] == 2  # steps 1-4 were checkpointed before the kill at step 5
    result = train(_config(data_root, tmp_path / "run", steps=6, checkpoint_every=2))
    assert result.initial_step == 4
    assert result.steps == 6  # the optimizer's step counter was restored, then 2 more steps


_MIRRORED_SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from mlfn_keras.errors import UserError
from mlfn_keras.training import TrainConfig, train
config = TrainConfig(dataset="synthetic", data_root=sys.argv[1], preset="mlfn_tiny", output=sys.argv[2],
                     steps=2, batch_size=4, checkpoint_every=1, strategy="mirrored", verbose=0,
                     synthetic=dict(num_identities=8, num_cameras=2, images_per_identity_camera=2))
result = train(config)
refused = {}
for name, change in [("xla", {"xla": True}), ("mixed_precision", {"mixed_precision": True})]:
    try:
        train(TrainConfig(**{**config.__dict__, "output": sys.argv[2] + "-" + name, **change}))
        refused[name] = ""
    except UserError as error:
        refused[name] = str(error)
print(json.dumps({"replicas": result.num_replicas, "steps": result.steps, "loss": result.history["loss"],
                  "refused": refused}))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(data_root, tmp_path):
    """Two CPU replicas train; XLA over several replicas and mixed precision over CPU replicas are refused."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_MIRRORED_SCRIPT), data_root,
                           str(tmp_path / "mirrored")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["steps"] == 2
    assert all(np.isfinite(out["loss"]))
    assert "--xla works on one device; this run has 2 replicas" in out["refused"]["xla"]
    assert "--mixed-precision over 2 CPU devices" in out["refused"]["mixed_precision"]
    for name in ("xla", "mixed_precision"):
        assert not (tmp_path / f"mirrored-{name}").exists()  # refused before anything was written


def test_mixed_precision_on_one_device_takes_exactly_the_steps_asked(data_root, tmp_path):
    """Steps skipped while the loss scale settles (overflowing fp16 gradients) do not cut the run short."""
    result = train(_config(data_root, tmp_path / "mp", steps=3, mixed_precision=True))
    assert result.steps == 3 and all(np.isfinite(result.history["loss"]))


@pytest.mark.slow
def test_one_step_of_full_mlfn_at_256x128():
    """The paper's model trains on CPU: one Adam step on a batch of 2 at 256×128."""
    import mlfn_keras
    from mlfn_keras.losses import IdentityCrossEntropy

    keras.utils.set_random_seed(0)
    backbone = mlfn_keras.MLFN.from_preset("mlfn")
    model = mlfn_keras.MLFNClassifier(backbone, num_classes=751)
    model.compile(optimizer=keras.optimizers.Adam(3.5e-4), loss={"logits": IdentityCrossEntropy()})
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 256, 128, 3)).astype("float32")
    y = {"logits": np.array([3, 700]), "embedding": np.zeros(2, "int32")}
    before = [w.numpy().copy() for w in model.trainable_weights[:3]]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights[:3]))
    assert int(model.optimizer.iterations.numpy()) == 1


def test_mixed_precision_is_the_models_policy_not_a_global_switch(data_root, tmp_path):
    result = train(_config(data_root, tmp_path / "mixed", steps=1, mixed_precision=True))
    assert keras.config.dtype_policy().name == "float32"
    model = keras.models.load_model(result.model_path)
    assert model.dtype_policy.name == "mixed_float16"
    assert model.get_layer("block1_fm_conv1").compute_dtype == "float16"
    assert np.isfinite(result.history["loss"]).all()
