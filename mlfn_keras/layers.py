"""Custom layers of MLFN: the factor-selection gate and an exportable grouped conv.

Only two things here are not stock Keras:

* `FactorSelectionGate` applies the factor selection vector S_n to the output of
  the Factor Modules (the mode-4 product of Eq. 4). No stock layer repeats a
  per-factor scalar over that factor's channels.
* `GroupedConv2D` is a `keras.layers.Conv2D` whose TensorFlow convolution is
  not wrapped in an XLA-compiled `tf.function`. Keras 3.15 compiles grouped
  convolutions with XLA on the TensorFlow backend, which leaves a
  `StatefulPartitionedCall` in every exported graph that onnxruntime refuses to
  load. TF 2.21 runs grouped `tf.nn.convolution` natively on CPU and GPU, so the
  backend-specific call lives here, in one place.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="mlfn_keras")
class FactorSelectionGate(keras.layers.Layer):
    """Scales each factor module's channels by its selection weight (Eq. 4).

    The factor modules of a block are the groups of a grouped convolution, so
    factor ``i`` owns the contiguous channels ``[i * C / K, (i + 1) * C / K)``
    (the layout of grouped convolution kernels in Keras and PyTorch alike).
    The gate computes ``M_n ×₄ S_n``: channel ``c`` is multiplied by
    ``S_{n, c // (C / K)}``. It has no weights.

    Args:
        num_factors: K_n, the number of factor modules in the block.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a pair ``(features, selection)`` with ``features`` of shape
            ``(B, H, W, C)`` and ``selection`` of shape ``(B, K_n)``.
    """

    def __init__(self, num_factors: int, **kwargs):
        super().__init__(**kwargs)
        self.num_factors = int(num_factors)

    def build(self, input_shape):
        features_shape, selection_shape = input_shape
        channels = features_shape[-1]
        if channels is None or channels % self.num_factors:
            raise ValueError(
                "FactorSelectionGate expects the feature channels to be a "
                f"multiple of num_factors={self.num_factors}; received "
                f"features of shape {tuple(features_shape)}."
            )
        if selection_shape[-1] != self.num_factors:
            raise ValueError(
                f"FactorSelectionGate expects a selection vector of size "
                f"num_factors={self.num_factors}; received shape "
                f"{tuple(selection_shape)}."
            )
        self.channels_per_factor = channels // self.num_factors
        self.built = True

    def call(self, inputs):
        features, selection = inputs
        selection = ops.cast(selection, features.dtype)
        # Repeating S_n group-major ([s0, s0, ..., s1, s1, ...], the grouped
        # conv's channel order) is written as a 1x1 conv with a constant 0/1
        # kernel: converters keep such a graph in one layout, where a
        # repeat/tile makes tf2onnx wrap every block in NCHW<->NHWC transposes
        # (full `mlfn`: 375 ONNX nodes and 1 Transpose instead of 530 and 33).
        expand = np.repeat(
            np.eye(self.num_factors, dtype="float32"), self.channels_per_factor, axis=1
        )
        kernel = ops.convert_to_tensor(expand[None, None], dtype=features.dtype)
        scale = ops.conv(ops.reshape(selection, (-1, 1, 1, self.num_factors)), kernel)
        return features * scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"num_factors": self.num_factors})
        return config


@keras.saving.register_keras_serializable(package="mlfn_keras")
class GroupedConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` with ``groups > 1`` that exports cleanly.

    Identical arguments, weights and outputs to `keras.layers.Conv2D`. At
    inference on the TensorFlow backend the convolution calls
    `tf.nn.convolution` directly instead of Keras's XLA-compiled wrapper, so
    SavedModel, ONNX and TFLite graphs contain a plain (grouped) ``Conv2D`` op.
    CPU training convolves each group separately (TF has no CPU gradient
    kernel for grouped convolution); GPU training and other backends use
    Keras's own op.

    It has no bias: TensorFlow's graph optimiser fuses Conv2D + BiasAdd into a
    kernel that does not support groups on CPU (MLFN follows every grouped conv
    with BatchNorm, which makes a bias redundant anyway).
    """

    def __init__(self, filters, kernel_size, use_bias: bool = False, **kwargs):
        if use_bias:
            raise ValueError(
                "GroupedConv2D does not support use_bias=True (TensorFlow's fused "
                "Conv2D+BiasAdd kernel rejects grouped convolutions on CPU); "
                "follow it with BatchNormalization or add a bias layer."
            )
        super().__init__(filters, kernel_size, use_bias=False, **kwargs)

    def call(self, inputs, training=None):
        # Inference and export use the plain grouped op. TF has no CPU kernel
        # for the *gradient* of a grouped convolution, and Keras's XLA-compiled
        # op is ~75x slower on CPU than one plain convolution per group, so CPU
        # training splits the groups; GPU training keeps Keras's op.
        if keras.backend.backend() != "tensorflow":
            return super().call(inputs)
        import tensorflow as tf

        if training and tf.config.list_logical_devices("GPU"):
            return super().call(inputs)
        data_format = "NHWC" if self.data_format == "channels_last" else "NCHW"

        def conv(x, kernel):
            return tf.nn.convolution(
                x,
                kernel,
                strides=list(self.strides),
                padding=self.padding.upper(),
                dilations=list(self.dilation_rate),
                data_format=data_format,
            )

        if not training:
            return conv(inputs, self.kernel)
        axis = -1 if self.data_format == "channels_last" else 1
        pieces = zip(tf.split(inputs, self.groups, axis=axis), tf.split(self.kernel, self.groups, axis=-1))
        return tf.concat([conv(x, k) for x, k in pieces], axis=axis)
