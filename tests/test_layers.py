import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import run_layer_test

from mlfn_keras.layers import FactorSelectionGate, GroupedConv2D


def _gate_reference(features, selection):
    """Eq. 4's mode-4 product written the way torchreid writes it (NCHW)."""
    b, h, w, c = features.shape
    k = selection.shape[-1]
    m = features.transpose(0, 3, 1, 2).reshape(b, k, c // k, h, w)
    out = m * selection[:, :, None, None, None]
    return out.reshape(b, c, h, w).transpose(0, 2, 3, 1)


class TestFactorSelectionGate:
    def test_build_and_call_matches_reference(self):
        rng = np.random.default_rng(0)
        features = rng.normal(size=(2, 5, 3, 12)).astype("float32")
        selection = rng.uniform(size=(2, 4)).astype("float32")
        layer = FactorSelectionGate(4)
        out = keras.ops.convert_to_numpy(layer([features, selection]))
        np.testing.assert_allclose(out, _gate_reference(features, selection), rtol=1e-6)
        assert out.shape == features.shape

    def test_factor_zero_switches_off_only_its_channels(self):
        features = np.ones((1, 2, 2, 8), "float32")
        selection = np.array([[1.0, 0.0, 1.0, 1.0]], "float32")
        out = keras.ops.convert_to_numpy(FactorSelectionGate(4)([features, selection]))
        np.testing.assert_array_equal(out[0, 0, 0], [1, 1, 0, 0, 1, 1, 1, 1])

    def test_weight_count(self):
        layer = FactorSelectionGate(4)
        layer.build([(None, 5, 3, 12), (None, 4)])
        assert len(layer.weights) == 0

    def test_rejects_channels_not_divisible(self):
        with pytest.raises(ValueError, match="multiple of num_factors=4"):
            FactorSelectionGate(4).build([(None, 5, 3, 10), (None, 4)])

    def test_rejects_wrong_selection_size(self):
        with pytest.raises(ValueError, match="selection vector of size"):
            FactorSelectionGate(4).build([(None, 5, 3, 12), (None, 3)])

    def test_harness(self, tmp_path):
        """Config JSON round trip, .keras save/load, predict on tf.data, mixed_float16."""
        rng = np.random.default_rng(1)
        features = rng.normal(size=(4, 4, 4, 8)).astype("float32")
        selection = rng.uniform(size=(4, 2)).astype("float32")
        run_layer_test(FactorSelectionGate, {"num_factors": 2, "name": "gate"}, [features, selection], tmp_path,
                       expected_output_shape=(4, 4, 4, 8), expected_num_weights=0)


class TestGroupedConv2D:
    def _pair(self, strides=1):
        ref = keras.layers.Conv2D(8, 3, strides=strides, groups=4, padding="same", use_bias=False)
        ours = GroupedConv2D(8, 3, strides=strides, groups=4, padding="same")
        ref.build((None, 6, 6, 8))
        ours.build((None, 6, 6, 8))
        ours.set_weights(ref.get_weights())
        return ref, ours

    @pytest.mark.parametrize("strides", [1, 2])
    def test_matches_keras_conv2d(self, strides):
        ref, ours = self._pair(strides)
        x = np.random.default_rng(0).normal(size=(2, 6, 6, 8)).astype("float32")
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(ref(x)), atol=1e-5
        )

    def test_training_path_matches_keras_conv2d_and_its_gradient(self):
        ref, ours = self._pair(strides=2)
        x = tf.constant(np.random.default_rng(1).normal(size=(2, 6, 6, 8)).astype("float32"))
        with tf.GradientTape(persistent=True) as tape:
            y_ref = ref(x)
            y_ours = ours(x, training=True)
            loss_ref = tf.reduce_sum(y_ref * y_ref)
            loss_ours = tf.reduce_sum(y_ours * y_ours)
        np.testing.assert_allclose(y_ours.numpy(), y_ref.numpy(), atol=1e-5)
        np.testing.assert_allclose(
            tape.gradient(loss_ours, ours.kernel).numpy(), tape.gradient(loss_ref, ref.kernel).numpy(), rtol=1e-4, atol=1e-4
        )

    def test_weight_count(self):
        _, ours = self._pair()
        # kernel 3x3x(8/4)x8, no bias
        assert [tuple(w.shape) for w in ours.weights] == [(3, 3, 2, 8)]
        assert ours.count_params() == 3 * 3 * 2 * 8

    def test_rejects_bias(self):
        with pytest.raises(ValueError, match="use_bias=True"):
            GroupedConv2D(8, 3, groups=4, use_bias=True)

    def test_runs_inside_fit(self):
        """Graph mode (grappler's remapper) must accept the op on CPU."""
        x = keras.Input((6, 6, 8))
        y = GroupedConv2D(8, 3, groups=4, padding="same")(x)
        y = keras.layers.BatchNormalization()(y)
        y = keras.layers.ReLU()(y)
        model = keras.Model(x, keras.layers.GlobalAveragePooling2D()(y))
        model.compile("adam", "mse")
        data = np.random.default_rng(0).normal(size=(4, 6, 6, 8)).astype("float32")
        history = model.fit(data, np.zeros((4, 8), "float32"), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    def test_graph_has_plain_conv_and_no_xla_call(self):
        """The reason this layer exists: no compiled function call in the graph."""

        def op_types(layer):
            fn = tf.function(lambda x: layer(x))
            graph = fn.get_concrete_function(tf.TensorSpec((1, 6, 6, 8))).graph
            return {op.type for op in graph.get_operations()}

        ref, ours = self._pair()
        ours_ops = op_types(ours)
        assert "Conv2D" in ours_ops
        assert not ours_ops & {"StatefulPartitionedCall", "PartitionedCall"}
        # Keras's own grouped conv does wrap the op; if this ever stops being
        # true, GroupedConv2D can be retired.
        assert op_types(ref) & {"StatefulPartitionedCall", "PartitionedCall"}

    def test_harness(self, tmp_path):
        """Config JSON round trip, .keras save/load, predict on tf.data, mixed_float16."""
        data = np.random.default_rng(2).normal(size=(4, 6, 6, 8)).astype("float32")
        model = run_layer_test(GroupedConv2D, {"filters": 8, "kernel_size": 3, "groups": 4, "padding": "same"},
                               data, tmp_path, expected_output_shape=(4, 6, 6, 8), expected_num_weights=1,
                               atol=1e-5)
        assert isinstance(model.layers[-1], GroupedConv2D) and model.layers[-1].groups == 4
