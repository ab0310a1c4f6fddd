"""Tests for mlfn_keras.training.recipes."""

from __future__ import annotations

from mlfn_keras.training.recipes import TrainConfig


def test_resolved_uses_paper_recipe():
    market = TrainConfig(dataset="market1501").resolved()
    assert (market.optimizer, market.learning_rate, market.batch_size, market.steps) == ("adam", 3.5e-4, 64, 100_000)
    assert market.preset == "mlfn" and market.schedule == "constant"
    cuhk = TrainConfig(dataset="cuhk03").resolved()
    assert (cuhk.learning_rate, cuhk.steps) == (5e-4, 75_000)
    cifar = TrainConfig(dataset="cifar100").resolved()
    assert (cifar.optimizer, cifar.learning_rate, cifar.batch_size, cifar.preset) == ("sgd", 0.1, 256, "mlfn_cifar")
    assert cifar.decay_every == 100 * (50_000 // 256)
