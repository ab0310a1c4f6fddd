"""Small models shared by tests."""

from __future__ import annotations

import numpy as np

import mlfn_keras


def tiny_with_batchnorm_statistics(seed: int) -> "mlfn_keras.MLFN":
    """mlfn_tiny with non-trivial BatchNorm statistics (as after training).

    Freshly initialised BatchNorm is the identity at inference, which would
    hide a conversion that drops or misorders its statistics.
    """
    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if hasattr(layer, "moving_variance"):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, var.shape),
            ])
    return model
