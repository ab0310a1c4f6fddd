"""The identity-classification head used to train MLFN (Sec. 3, "MLFN for Person Re-ID")."""

from __future__ import annotations

from typing import Any

import keras

from mlfn_keras.backbone import BN_EPSILON, BN_MOMENTUM, MLFN


@keras.saving.register_keras_serializable(package="mlfn_keras")
class MLFNClassifier(keras.Model):
    """An MLFN backbone with a fully connected identity classifier on R.

    The paper trains with cross-entropy over identities on a final FC layer
    above R (Eq. 6). This model exists only for training: it shares its
    backbone's layers, so after ``fit`` the backbone itself is the embedding
    model to save and export.

    Outputs a dict: ``"logits"`` ``(B, num_classes)`` and ``"embedding"``
    ``(B, d)`` (for metric losses such as triplet). With ``bnneck=True`` the
    logits are computed from a BatchNorm'd copy of R and a bias-free classifier
    (the "BNNeck" of Luo et al., 2019), while ``"embedding"`` stays R.

    Args:
        backbone: an `mlfn_keras.MLFN`.
        num_classes: number of training identities.
        bnneck: insert a BatchNorm before the classifier.
        **kwargs: `keras.Model` arguments; ``dtype`` defaults to the
            backbone's policy (so ``compile`` scales the loss under
            ``mixed_float16``).
    """

    def __init__(self, backbone: MLFN, num_classes: int, bnneck: bool = False, **kwargs):
        dtype = kwargs.pop("dtype", None) or backbone.dtype_policy
        images = keras.Input(shape=backbone.image_shape, name="images")
        features = backbone(images)
        embedding = features["embedding"]
        x = embedding
        if bnneck:
            x = keras.layers.BatchNormalization(
                epsilon=BN_EPSILON, momentum=BN_MOMENTUM, center=False, name="bnneck",
                dtype=backbone.dtype_policy,
            )(x)
        # float32 logits keep the softmax stable under mixed precision.
        logits = keras.layers.Dense(
            num_classes, use_bias=not bnneck, dtype="float32", name="classifier"
        )(x)
        outputs = {"logits": logits, "embedding": embedding}
        super().__init__(inputs=images, outputs=outputs, **kwargs)
        self.dtype_policy = keras.dtype_policies.get(dtype)
        self.backbone = backbone
        self.num_classes = int(num_classes)
        self.bnneck = bool(bnneck)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "bnneck": self.bnneck,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "MLFNClassifier":
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)
