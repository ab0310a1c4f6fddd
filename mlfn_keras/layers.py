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
from keras import ops


@keras.saving.register_keras_serializable(package="mlfn_keras")
class FactorSelectionGate(keras.layers.Layer):
    """Scales each factor module's channels by its selection weight (Eq. 4).

    The factor modules of a block are the groups of a grouped convolution, so
    factor ``i`` owns the contiguous channels ``[i * C / K, (i + 1) * C / K)``
    (the layout of grouped convolution kernels in Keras and PyTorch alike).
    The gate computes ``M_n ×₄ S_n``: channel ``c`` is multiplied by
    ``S_{n, c // (C / K)}``. It is expressed as a broadcast multiply in the
    channels-last layout so that exported graphs need no NCHW↔NHWC transposes
    around it.

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
        # Group-major repeat: [s0, s0, ..., s1, s1, ...] matches grouped conv
        # channel order, so no reshape of the feature map is needed.
        scale = ops.repeat(selection, self.channels_per_factor, axis=-1)
        return features * scale[:, None, None, :]

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
    In training (``training=True``) and on other backends it is `keras.ops.conv`.

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
        # TF has no CPU kernel for the *gradient* of a grouped convolution
        # outside XLA, so training keeps Keras's XLA-compiled op; inference and
        # export use the plain op. Both compute the same convolution.
        if training or keras.backend.backend() != "tensorflow":
            return ops.conv(
                inputs,
                self.kernel,
                strides=list(self.strides),
                padding=self.padding,
                dilation_rate=self.dilation_rate,
                data_format=self.data_format,
            )
        import tensorflow as tf

        data_format = "NHWC" if self.data_format == "channels_last" else "NCHW"
        return tf.nn.convolution(
            inputs,
            self.kernel,
            strides=list(self.strides),
            padding=self.padding.upper(),
            dilations=list(self.dilation_rate),
            data_format=data_format,
        )
