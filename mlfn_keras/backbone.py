"""The MLFN backbone: stem → N MLFN blocks → Factor Signature → fusion (Sec. 3).

The model is a functional Keras graph built inside the class (the keras-hub
way). Every layer has a stable name so that weights port from torchreid and
torchvision and exported graphs stay readable:

* stem: ``conv1``, ``bn1``, ``relu1``, ``pool1``;
* block ``n`` (1-based, bottom to top): ``block{n}_fm_conv{1,2,3}`` /
  ``block{n}_fm_bn{1,2,3}`` (Factor Modules, the grouped bottleneck),
  ``block{n}_fsm_fc{1,2,3}`` / ``block{n}_fsm_bn{1,2,3}`` (Factor Selection
  Module), ``block{n}_selection`` (S_n, Eq. 2), ``block{n}_gate`` (Eq. 4),
  ``block{n}_downsample_conv`` / ``_bn`` (projection shortcut);
* head: ``factor_signature`` (Ŝ, Eq. 5), ``fc_x`` / ``fc_s`` (T of Eq. 6),
  ``embedding`` (R, Eq. 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from mlfn_keras import preprocessing
from mlfn_keras.layers import FactorSelectionGate, GroupedConv2D
from mlfn_keras.presets import get_preset

# PyTorch's BatchNorm defaults, needed for numerical parity with torch weights.
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9

# Per block type: the bottleneck width as a fraction of the block's output
# width, whether its 3x3 conv is split into one group per factor, and whether
# a Factor Selection Module gates the factors.
BLOCK_TYPES: dict[str, dict[str, Any]] = {
    "mlfn": {"width_ratio": 0.5, "grouped": True, "factor_selection": True},
    "resnext": {"width_ratio": 0.5, "grouped": True, "factor_selection": False},
    "resnet": {"width_ratio": 0.25, "grouped": False, "factor_selection": False},
}


def _batch_norm(name: str, dtype=None) -> keras.layers.BatchNormalization:
    return keras.layers.BatchNormalization(
        epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name, dtype=dtype
    )


def _padded_conv(
    x,
    filters: int,
    kernel_size: int,
    strides: int,
    name: str,
    groups: int = 1,
    use_bias: bool = False,
    dtype=None,
):
    """A conv with PyTorch's symmetric ``kernel_size // 2`` zero padding.

    Keras ``"same"`` pads stride-2 convs 0/1 where torch pads 1/1, which shifts
    every feature map; explicit padding keeps weights interchangeable.
    """
    if strides > 1 and kernel_size > 1:
        x = keras.layers.ZeroPadding2D(kernel_size // 2, name=f"{name}_pad", dtype=dtype)(x)
        padding = "valid"
    else:
        padding = "same"
    conv_class = GroupedConv2D if groups > 1 else keras.layers.Conv2D
    return conv_class(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        groups=groups,
        use_bias=use_bias,
        name=name,
        dtype=dtype,
    )(x)


def apply_stem(x, filters: int, stem: str, dtype=None):
    """The initial convolutional layer that feeds block 1 (X_1 in Eq. 4).

    Args:
        x: input images, already normalised.
        filters: channels of the stem conv.
        stem: ``"imagenet"`` (7×7/2 conv, BN, ReLU, 3×3/2 max-pool) or
            ``"cifar"`` (3×3/1 conv, BN, ReLU) for 32×32 inputs.
        dtype: dtype policy of the layers (e.g. ``"mixed_float16"``).
    """
    if stem == "imagenet":
        x = _padded_conv(x, filters, 7, 2, name="conv1", use_bias=True, dtype=dtype)
        x = _batch_norm("bn1", dtype=dtype)(x)
        x = keras.layers.ReLU(name="relu1", dtype=dtype)(x)
        # Zero padding equals torch's -inf padding here: inputs are post-ReLU.
        x = keras.layers.ZeroPadding2D(1, name="pool1_pad", dtype=dtype)(x)
        return keras.layers.MaxPooling2D(3, strides=2, name="pool1", dtype=dtype)(x)
    if stem == "cifar":
        x = _padded_conv(x, filters, 3, 1, name="conv1", use_bias=True, dtype=dtype)
        x = _batch_norm("bn1", dtype=dtype)(x)
        return keras.layers.ReLU(name="relu1", dtype=dtype)(x)
    raise ValueError(f"Unknown stem {stem!r}; expected 'imagenet' or 'cifar'.")


def apply_factor_selection(x, hidden_filters: Sequence[int], num_factors: int, name: str, dtype=None):
    """Factor Selection Module: S_n = σ(Ā_n) (Eq. 2).

    Global average pooling, then two FC/BN/ReLU layers and an FC/BN giving the
    pre-activation Ā_n, one value per factor module. FC on the pooled vector is
    the 1×1 conv of the reference implementation without the spatial dims.
    """
    s = keras.layers.GlobalAveragePooling2D(name=f"{name}_fsm_pool", dtype=dtype)(x)
    for i, units in enumerate(hidden_filters, start=1):
        s = keras.layers.Dense(units, name=f"{name}_fsm_fc{i}", dtype=dtype)(s)
        s = _batch_norm(f"{name}_fsm_bn{i}", dtype=dtype)(s)
        s = keras.layers.ReLU(name=f"{name}_fsm_relu{i}", dtype=dtype)(s)
    last = len(hidden_filters) + 1
    s = keras.layers.Dense(num_factors, name=f"{name}_fsm_fc{last}", dtype=dtype)(s)
    s = _batch_norm(f"{name}_fsm_bn{last}", dtype=dtype)(s)
    return keras.layers.Activation("sigmoid", name=f"{name}_selection", dtype=dtype)(s)


def apply_mlfn_block(
    x,
    filters: int,
    strides: int,
    num_factors: int,
    fsm_filters: Sequence[int],
    block_type: str,
    name: str,
    dtype=None,
):
    """One MLFN block B_n: Y_n = M_n ×₄ S_n + X_n (Eq. 4).

    The Factor Modules are the groups of a grouped bottleneck (1×1 reduce,
    3×3 grouped conv with one group per factor, 1×1 expand): F_{n,i} of Eq. 7.
    Following the reference implementation, the gate multiplies the grouped
    conv's output (the last layer that keeps factors separate), and the
    expanded branch is ReLU'd before the residual sum.

    Returns:
        ``(Y_n, S_n)``; ``S_n`` is ``None`` for block types without selection.
    """
    spec = BLOCK_TYPES[block_type]
    width = int(filters * spec["width_ratio"])
    groups = num_factors if spec["grouped"] else 1
    selection = None
    if spec["factor_selection"]:
        selection = apply_factor_selection(x, fsm_filters, num_factors, name, dtype=dtype)

    y = keras.layers.Conv2D(width, 1, use_bias=False, name=f"{name}_fm_conv1", dtype=dtype)(x)
    y = _batch_norm(f"{name}_fm_bn1", dtype=dtype)(y)
    y = keras.layers.ReLU(name=f"{name}_fm_relu1", dtype=dtype)(y)
    y = _padded_conv(y, width, 3, strides, name=f"{name}_fm_conv2", groups=groups, dtype=dtype)
    y = _batch_norm(f"{name}_fm_bn2", dtype=dtype)(y)
    y = keras.layers.ReLU(name=f"{name}_fm_relu2", dtype=dtype)(y)
    if selection is not None:
        y = FactorSelectionGate(num_factors, name=f"{name}_gate", dtype=dtype)([y, selection])
    y = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_fm_conv3", dtype=dtype)(y)
    y = _batch_norm(f"{name}_fm_bn3", dtype=dtype)(y)
    y = keras.layers.ReLU(name=f"{name}_fm_relu3", dtype=dtype)(y)

    shortcut = x
    if x.shape[-1] != filters or strides > 1:
        shortcut = keras.layers.Conv2D(
            filters, 1, strides=strides, use_bias=False, name=f"{name}_downsample_conv", dtype=dtype
        )(x)
        shortcut = _batch_norm(f"{name}_downsample_bn", dtype=dtype)(shortcut)
    y = keras.layers.Add(name=f"{name}_add", dtype=dtype)([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_out", dtype=dtype)(y), selection


def apply_projection(x, units: int, name: str, dtype=None):
    """T(·, d) of Eq. 6: FC (bias-free), BN, ReLU."""
    x = keras.layers.Dense(units, use_bias=False, name=name, dtype=dtype)(x)
    x = _batch_norm(f"{name}_bn", dtype=dtype)(x)
    return keras.layers.ReLU(name=f"{name}_relu", dtype=dtype)(x)


@keras.saving.register_keras_serializable(package="mlfn_keras")
class MLFN(keras.Model):
    """Multi-Level Factorisation Net backbone (embedding model).

    Takes RGB images in [0, 255] (see `mlfn_keras.preprocessing`) and returns a
    dict:

    * ``"embedding"``: R (Eq. 6), ``(B, embedding_dim)``, the Re-ID feature,
      matched with L2 distance. Without fusion it is T(Y_N) alone.
    * ``"factor_signature"``: Ŝ = [S_1..S_N] (Eq. 5), ``(B, K)``, when the
      block type has factor selection.
    * ``"selection_n"`` for n = 1..N: S_n (Eq. 2), ``(B, num_factors)``.

    Outputs do not depend on ``training`` except through BatchNorm statistics.
    The identity classifier is a separate model, `mlfn_keras.MLFNClassifier`.

    Args:
        stage_filters: output width of the blocks of each stage.
        stage_blocks: number of blocks per stage (N is their sum).
        stage_strides: stride of the first block of each stage.
        stage_fsm_filters: hidden widths of the FSM of each stage's blocks.
        block_type: ``"mlfn"``, ``"resnext"`` or ``"resnet"``.
        num_factors: K_n, factor modules per block (groups of the grouped conv).
        fusion: fuse T(Ŝ) into R (Eq. 6); only with factor selection.
        embedding_dim: d.
        stem: ``"imagenet"`` or ``"cifar"``.
        stem_filters: channels of the stem conv.
        image_shape: ``(H, W, 3)`` input size.
        preset: name of the preset this model was built from, if any.
        dtype: dtype policy of every layer, e.g. ``"mixed_float16"`` or
            ``"bfloat16"``; default the global policy (float32). Passing it
            here, not through a global policy switch, keeps one process free
            to hold models of different precisions.
        **kwargs: `keras.Model` arguments (``name``, ``trainable``).

    Example:
        >>> model = MLFN.from_preset("mlfn_tiny")
        >>> out = model(np.zeros((2, 64, 32, 3), "float32"))
        >>> out["embedding"].shape
        TensorShape([2, 32])
    """

    def __init__(
        self,
        stage_filters: Sequence[int],
        stage_blocks: Sequence[int],
        stage_strides: Sequence[int],
        stage_fsm_filters: Sequence[Sequence[int]],
        block_type: str = "mlfn",
        num_factors: int = 32,
        fusion: bool = True,
        embedding_dim: int = 1024,
        stem: str = "imagenet",
        stem_filters: int = 64,
        image_shape: Sequence[int] = (256, 128, 3),
        preset: str | None = None,
        dtype: str | keras.DTypePolicy | None = None,
        **kwargs,
    ):
        if block_type not in BLOCK_TYPES:
            raise ValueError(
                f"Unknown block_type {block_type!r}; expected one of {sorted(BLOCK_TYPES)}."
            )
        lengths = {len(stage_filters), len(stage_blocks), len(stage_strides), len(stage_fsm_filters)}
        if len(lengths) != 1:
            raise ValueError(
                "stage_filters, stage_blocks, stage_strides and stage_fsm_filters "
                "must have one entry per stage; received lengths "
                f"{len(stage_filters)}, {len(stage_blocks)}, {len(stage_strides)}, "
                f"{len(stage_fsm_filters)}."
            )
        factor_selection = BLOCK_TYPES[block_type]["factor_selection"]
        if fusion and not factor_selection:
            raise ValueError(
                f"fusion=True needs factor selection, which block_type={block_type!r} lacks."
            )

        # === Functional model ===
        images = keras.Input(shape=tuple(image_shape), name="images")
        x = keras.layers.Normalization(
            mean=list(preprocessing.IMAGENET_MEAN),
            variance=[s * s for s in preprocessing.IMAGENET_STD],
            name="normalize",
            dtype=dtype,
        )(images)
        x = apply_stem(x, stem_filters, stem, dtype=dtype)
        selections = []
        n = 0
        for filters, blocks, strides, fsm_filters in zip(
            stage_filters, stage_blocks, stage_strides, stage_fsm_filters
        ):
            for b in range(blocks):
                n += 1
                x, s = apply_mlfn_block(
                    x,
                    filters=filters,
                    strides=strides if b == 0 else 1,
                    num_factors=num_factors,
                    fsm_filters=fsm_filters,
                    block_type=block_type,
                    name=f"block{n}",
                    dtype=dtype,
                )
                if s is not None:
                    selections.append(s)

        pooled = keras.layers.GlobalAveragePooling2D(name="global_avgpool", dtype=dtype)(x)
        phi_y = apply_projection(pooled, embedding_dim, name="fc_x", dtype=dtype)
        outputs = {}
        if factor_selection:
            signature = keras.layers.Concatenate(name="factor_signature", dtype=dtype)(selections)
            outputs["factor_signature"] = signature
        if fusion:
            phi_s = apply_projection(signature, embedding_dim, name="fc_s", dtype=dtype)
            outputs["embedding"] = keras.layers.Average(name="embedding", dtype=dtype)([phi_y, phi_s])
        else:
            outputs["embedding"] = phi_y
        for i, s in enumerate(selections, start=1):
            outputs[f"selection_{i}"] = s
        super().__init__(inputs=images, outputs=outputs, **kwargs)
        if dtype is not None:
            # Functional models drop `dtype`; record it so that `compile`
            # scales the loss under mixed_float16 and get_config keeps it.
            self.dtype_policy = keras.dtype_policies.get(dtype)

        # === Config ===
        self.stage_filters = [int(v) for v in stage_filters]
        self.stage_blocks = [int(v) for v in stage_blocks]
        self.stage_strides = [int(v) for v in stage_strides]
        self.stage_fsm_filters = [[int(u) for u in v] for v in stage_fsm_filters]
        self.block_type = block_type
        self.num_factors = int(num_factors)
        self.fusion = bool(fusion)
        self.embedding_dim = int(embedding_dim)
        self.stem = stem
        self.stem_filters = int(stem_filters)
        self.image_shape = tuple(int(v) for v in image_shape)
        self.preset = preset

    @property
    def num_blocks(self) -> int:
        """N, the number of MLFN blocks."""
        return sum(self.stage_blocks)

    @property
    def has_factor_selection(self) -> bool:
        return BLOCK_TYPES[self.block_type]["factor_selection"]

    @property
    def factor_signature_dim(self) -> int:
        """K = Σ K_n (Eq. 5), or 0 without factor selection."""
        return self.num_blocks * self.num_factors if self.has_factor_selection else 0

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "stage_filters": self.stage_filters,
            "stage_blocks": self.stage_blocks,
            "stage_strides": self.stage_strides,
            "stage_fsm_filters": self.stage_fsm_filters,
            "block_type": self.block_type,
            "num_factors": self.num_factors,
            "fusion": self.fusion,
            "embedding_dim": self.embedding_dim,
            "stem": self.stem,
            "stem_filters": self.stem_filters,
            "image_shape": list(self.image_shape),
            "preset": self.preset,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "MLFN":
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)

    @classmethod
    def from_preset(cls, preset: str, **overrides) -> "MLFN":
        """Builds a preset from `mlfn_keras.presets.PRESETS`, randomly initialised.

        Args:
            preset: preset name, e.g. ``"mlfn"`` or ``"mlfn_small"``.
            **overrides: constructor arguments that replace the preset's, e.g.
                ``image_shape=(384, 192, 3)`` or ``name="reid"``.
        """
        config = get_preset(preset)
        config.update(overrides)
        config.setdefault("name", preset)
        return cls(preset=preset, **config)
