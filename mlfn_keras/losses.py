"""Training losses: identity cross-entropy (the paper's) and batch-hard triplet (opt-in).

The paper trains MLFN with softmax cross-entropy over training identities on
a classifier above R (Sec. 3, Eq. 6). Label smoothing (Szegedy et al., 2016)
and the batch-hard triplet loss (Hermans et al., 2017) are the optional
"bag of tricks" (Luo et al., 2019) additions; both compute in float32 so they
stay exact under mixed precision.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["BatchHardTripletLoss", "IdentityCrossEntropy"]


@keras.saving.register_keras_serializable(package="mlfn_keras")
class IdentityCrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy on integer identity labels, with optional label smoothing.

    With smoothing ε the target is ``(1 − ε)·onehot + ε / C``.

    Args:
        label_smoothing: ε in [0, 1); 0 is the paper's plain cross-entropy.
        from_logits: Whether predictions are logits (the classifier's output).
        name: Loss name.
        **kwargs: `keras.losses.Loss` arguments (``reduction``...).
    """

    def __init__(self, label_smoothing: float = 0.0, from_logits: bool = True,
                 name: str = "identity_cross_entropy", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), received {label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        num_classes = ops.shape(y_pred)[-1]
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        target = ops.one_hot(labels, num_classes, dtype="float32")
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + self.label_smoothing / ops.cast(num_classes, "float32")
        log_probs = ops.log_softmax(y_pred, axis=-1) if self.from_logits else ops.log(ops.clip(y_pred, 1e-7, 1.0))
        return -ops.sum(target * log_probs, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="mlfn_keras")
class BatchHardTripletLoss(keras.losses.Loss):
    """Batch-hard triplet loss on embeddings (Hermans, Beyer & Leibe, 2017).

    For each anchor: the farthest same-identity embedding and the closest
    other-identity embedding in the batch, ``max(0, d(a, p) − d(a, n) + margin)``,
    with Euclidean distance (the paper's matching metric). Needs P×K batches
    (:class:`mlfn_keras.data.pipeline.PKSampler`); anchors without a positive
    or negative in the batch contribute 0.

    Args:
        margin: Triplet margin.
        name: Loss name.
        **kwargs: `keras.losses.Loss` arguments.
    """

    def __init__(self, margin: float = 0.3, name: str = "batch_hard_triplet", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        x = ops.cast(y_pred, "float32")
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        sq = ops.sum(x * x, axis=1)
        d2 = sq[:, None] - 2.0 * ops.matmul(x, ops.transpose(x)) + sq[None, :]
        # The epsilon keeps sqrt's gradient finite on the zero diagonal.
        dist = ops.sqrt(ops.maximum(d2, 1e-12))
        same = ops.equal(labels[:, None], labels[None, :])
        eye = ops.cast(ops.eye(ops.shape(labels)[0]), "bool")
        positives = ops.logical_and(same, ops.logical_not(eye))
        negatives = ops.logical_not(same)
        hardest_pos = ops.max(ops.where(positives, dist, ops.zeros_like(dist)), axis=1)
        big = ops.max(dist) + 1.0
        hardest_neg = ops.min(ops.where(negatives, dist, big), axis=1)
        valid = ops.logical_and(ops.any(positives, axis=1), ops.any(negatives, axis=1))
        loss = ops.relu(hardest_pos - hardest_neg + self.margin)
        return ops.where(valid, loss, ops.zeros_like(loss))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "margin": self.margin}
