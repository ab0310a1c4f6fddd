"""Tests for mlfn_keras.training.distribute: clusters, the batch rule, one-machine strategies.

The multi-worker runs themselves (two processes on 127.0.0.1) are in
``tests/test_training_multiworker.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from repo import REPO  # noqa: E402

from mlfn_keras.errors import UserError
from mlfn_keras.training.distribute import (
    Cluster,
    Replicas,
    _field_codes,
    resolve_cluster,
)


def test_cluster_from_flags_and_tf_config_agree():
    flags = Cluster.from_flags("127.0.0.1:2222, 127.0.0.1:2223", 1)
    assert flags.workers == ("127.0.0.1:2222", "127.0.0.1:2223") and flags.index == 1 and not flags.is_chief
    again = Cluster.from_tf_config(flags.tf_config())
    assert again == flags
    chief_job = Cluster.from_tf_config(json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]},
                                                   "task": {"type": "worker", "index": 1}}))
    assert chief_job.workers == ("a:1", "b:2", "c:3") and chief_job.index == 2
    assert "worker 1 of 2" in flags.describe() and "chief 127.0.0.1:2222" in flags.describe()


@pytest.mark.parametrize("workers, index, expected", [
    ("", 0, "host:port"),
    ("127.0.0.1", 0, "host:port"),
    ("127.0.0.1:0", 0, "port from 1 to 65535"),
    ("a:1,a:1", 0, "twice"),
    ("a:1,b:2", None, "--worker-index"),
    ("a:1,b:2", 2, "expected 0 to 1"),
])
def test_bad_worker_lists_are_refused_with_what_was_expected(workers, index, expected):
    with pytest.raises(UserError, match=expected):
        Cluster.from_flags(workers, index)


def test_resolve_cluster_refuses_two_sources(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", Cluster(("a:1", "b:2"), 0).tf_config())
    with pytest.raises(UserError, match="both --workers and TF_CONFIG"):
        resolve_cluster("a:1,b:2", 0)
    assert resolve_cluster(None, None) == Cluster(("a:1", "b:2"), 0)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UserError, match="TF_CONFIG"):
        resolve_cluster(None, None)
    monkeypatch.delenv("TF_CONFIG")
    assert resolve_cluster(None, None) is None
    with pytest.raises(UserError, match="--worker-index needs --workers"):
        resolve_cluster(None, 1)


def test_batch_is_global_and_pxk_stays_whole_per_replica():
    two = Replicas(strategy=None, num_replicas=2)
    assert two.per_replica_batch(64) == 32
    assert two.per_replica_batch(16, num_instances=4) == 8  # 2 identities x 4 images per replica
    with pytest.raises(UserError, match="multiple of 2"):
        two.per_replica_batch(7)
    with pytest.raises(UserError, match="at least 2 identities per replica.*--batch-size 16"):
        two.per_replica_batch(8, num_instances=4)  # 1 identity per replica: no triplet negatives
    with pytest.raises(UserError, match="multiple of --num-instances 4"):
        two.per_replica_batch(20, num_instances=4)  # 10 per replica


def test_field_codes_tell_equal_and_different_definitions_apart():
    """The agreement collective only sums; these codes must make the sums exact (see agree_on_run)."""
    a = np.asarray(_field_codes({"preset": "mlfn_tiny", "steps": 6}), np.float64)
    b = np.asarray(_field_codes({"preset": "mlfn_tiny", "steps": 7}), np.float64)
    assert a[0] == b[0] and a[1] != b[1] and (a < 2 ** 20).all()
    for mine, other in ((a, a), (a, b), (b, a)):
        sums = np.stack([mine + other, mine ** 2 + other ** 2])
        spread = sums[1] - 2 * mine * sums[0] + 2 * mine ** 2
        assert list(spread != 0) == list(mine != other)


def test_cli_workers_flags_parse():
    from mlfn_keras.training.cli import config_from_args

    config = config_from_args(["--workers", "127.0.0.1:1,127.0.0.1:2", "--worker-index", "1",
                               "--cluster-timeout", "30", "--fresh"])
    assert config.workers == "127.0.0.1:1,127.0.0.1:2" and config.worker_index == 1
    assert config.cluster_timeout == 30 and config.fresh


_MIRRORED_PXK = """
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import mlfn_keras
from mlfn_keras.training import TrainConfig
from mlfn_keras.training.data import training_source
from mlfn_keras.training.distribute import make_strategy
replicas = make_strategy("mirrored")
config = TrainConfig(dataset="synthetic", data_root=sys.argv[1], preset="mlfn_tiny", batch_size=8, triplet_weight=1.0,
                     num_instances=2, verbose=0,
                     synthetic=dict(num_identities=12, num_cameras=2, images_per_identity_camera=2)).resolved()
source = training_source(config, mlfn_keras.get_preset("mlfn_tiny")["image_shape"])
dataset = source.pipeline(0).dataset
global_batch = next(iter(dataset))[1].numpy().tolist()
shares = replicas.strategy.experimental_local_results(next(iter(replicas.strategy.experimental_distribute_dataset(dataset)))[1])
print(json.dumps({"replicas": replicas.num_replicas, "global": global_batch, "shares": [s.numpy().tolist() for s in shares]}))
"""


@pytest.mark.slow
def test_mirrored_pxk_shares_are_whole_identities(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_MIRRORED_PXK), str(tmp_path / "data")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    a, b = out["shares"]
    assert a + b == out["global"] and len(a) == len(b) == 4
    for share in (a, b):  # two identities x two images, each identity's images together
        assert len(set(share)) == 2 and all(share.count(y) == 2 for y in share)
    assert not set(a) & set(b)


def test_settings_that_cannot_train_under_a_strategy_are_refused():
    from types import SimpleNamespace

    from mlfn_keras.training import TrainConfig
    from mlfn_keras.training.loop import _check_precision

    def on(*devices):
        return SimpleNamespace(extended=SimpleNamespace(worker_devices=devices))

    two_workers = Replicas(strategy=on("/job:worker/CPU:0"), num_replicas=2, cluster=Cluster(("a:1", "b:2"), 0))
    two_cpus = Replicas(strategy=on("/device:CPU:0", "/device:CPU:1"), num_replicas=2)
    two_gpus = Replicas(strategy=on("/device:GPU:0", "/device:GPU:1"), num_replicas=2)
    with pytest.raises(UserError, match="--mixed-precision with several workers"):
        _check_precision(TrainConfig(mixed_precision=True), two_workers)
    with pytest.raises(UserError, match="--mixed-precision over 2 CPU devices"):  # trained in test_loop.py
        _check_precision(TrainConfig(mixed_precision=True), two_cpus)
    _check_precision(TrainConfig(mixed_precision=True), two_gpus)
    with pytest.raises(UserError, match="--xla works on one device; this run has 2 replicas"):
        _check_precision(TrainConfig(xla=True), two_gpus)
    _check_precision(TrainConfig(xla=True), Replicas(strategy=None, num_replicas=1))
