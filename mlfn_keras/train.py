"""Train MLFN with the paper's recipe (or the "bag of tricks") using plain ``model.fit``.

Paper recipe (Sec. 4.1), the default: fine-tune from ImageNet weights, Adam,
batch 64, learning rate 3.5e-4 for 100k iterations (5e-4 and 75k for CUHK03
Setting 2), cross-entropy over training identities, 256×128 inputs with
left-right flips. CIFAR-100: SGD with Nesterov momentum 0.9, batch 256,
lr 0.1 decayed ×0.1 every 100 epochs, 307 epochs.

Opt-in, beyond the paper: label smoothing, batch-hard triplet loss with a
BN-neck and P×K batches, linear warm-up, cosine decay, random erasing.

Long runs lose nothing: a checkpoint (weights + optimizer) every
``checkpoint_every`` steps, resumed automatically when the same command is run
again after the process was killed; CSV and TensorBoard logs; the final
embedding model ``model.keras`` and ``train_config.json`` with the exact
configuration and the data set fingerprint.

Examples:

    # No data needed: generated identities, 5 minutes on a CPU.
    mlfn-train --dataset synthetic --preset mlfn_small --minutes 5 --output runs/synthetic

    # The paper's Market-1501 setting, from converted ImageNet weights.
    python -m mlfn_keras.convert resnext50 resnext50_32x4d.pth --out init.keras
    mlfn-train --dataset market1501 --data-root ~/data/Market-1501-v15.09.15 \\
        --preset mlfn --init-weights init.keras --output runs/market

    # CUHK03 767/700 (lr 5e-4, 75k steps are picked automatically).
    mlfn-train --dataset cuhk03 --data-root ~/data/cuhk03 --init-weights init.keras

    # Bag of tricks on 2 GPUs with mixed precision and XLA.
    mlfn-train --dataset market1501 --data-root ~/data/market --label-smoothing 0.1 \\
        --triplet-weight 1 --bnneck --warmup-steps 2000 --schedule cosine \\
        --random-erasing 0.5 --mixed-precision --xla --strategy mirrored

This module is kept for compatibility (``mlfn_keras.train:main`` and
``from mlfn_keras.train import train``); the code lives in
:mod:`mlfn_keras.training`.

From Python:

    from mlfn_keras.training import TrainConfig, train
    result = train(TrainConfig(dataset="synthetic", preset="mlfn_tiny", steps=20, output="runs/tiny"))
    print(result.model_path)
"""

from mlfn_keras.training import (
    PAPER_RECIPES,
    LinearWarmup,
    TimeBudget,
    TrainConfig,
    TrainResult,
    build_optimizer,
    load_init_weights,
    train,
)
from mlfn_keras.training.cli import config_from_args, main

__all__ = ["PAPER_RECIPES", "LinearWarmup", "TimeBudget", "TrainConfig", "TrainResult", "build_optimizer",
           "config_from_args", "load_init_weights", "main", "train"]

if __name__ == "__main__":
    raise SystemExit(main())
