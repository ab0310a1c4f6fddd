import keras
import numpy as np
import pytest
from harness import run_model_test

from mlfn_keras import MLFN, PRESETS, MLFNClassifier
from mlfn_keras.layers import FactorSelectionGate, GroupedConv2D


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def _images(model, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (batch, *model.image_shape)).astype("float32")


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    return MLFN.from_preset("mlfn_tiny")


class TestOutputs:
    def test_keys_and_shapes(self, tiny):
        out = tiny.predict(_images(tiny), verbose=0)
        n, k = tiny.num_blocks, tiny.num_factors
        assert set(out) == {"embedding", "factor_signature", *(f"selection_{i}" for i in range(1, n + 1))}
        assert out["embedding"].shape == (2, tiny.embedding_dim)
        assert out["factor_signature"].shape == (2, n * k) == (2, tiny.factor_signature_dim)
        for i in range(1, n + 1):
            assert out[f"selection_{i}"].shape == (2, k)

    def test_factor_signature_is_concatenated_selections(self, tiny):
        """Eq. 5: Ŝ = [S_1, ..., S_N], each S_n a sigmoid (Eq. 2)."""
        out = tiny.predict(_images(tiny), verbose=0)
        selections = [out[f"selection_{i}"] for i in range(1, tiny.num_blocks + 1)]
        np.testing.assert_array_equal(out["factor_signature"], np.concatenate(selections, -1))
        assert np.all((out["factor_signature"] > 0) & (out["factor_signature"] < 1))

    def test_embedding_is_average_of_projections(self, tiny):
        """Eq. 6: R = ½(T(Y_N) + T(Ŝ))."""
        probe = keras.Model(
            tiny.input,
            [tiny.get_layer("fc_x_relu").output, tiny.get_layer("fc_s_relu").output, tiny.output["embedding"]],
        )
        phi_y, phi_s, r = probe.predict(_images(tiny), verbose=0)
        np.testing.assert_allclose(r, 0.5 * (phi_y + phi_s), rtol=1e-6)

    def test_training_flag_keeps_output_structure(self, tiny):
        x = _images(tiny)
        assert set(tiny(x, training=True)) == set(tiny(x, training=False))

    def test_normalisation_is_inside_the_model(self, tiny):
        norm = tiny.get_layer("normalize")
        x = np.full((1, 1, 1, 3), 255.0, "float32")
        y = keras.ops.convert_to_numpy(norm(x))[0, 0, 0]
        np.testing.assert_allclose(y, [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225], rtol=1e-5)

    def test_gate_switches_factors(self, tiny):
        """A block's grouped conv is split into num_factors groups, one gate per block."""
        gates = [l for l in tiny.layers if isinstance(l, FactorSelectionGate)]
        convs = [l for l in tiny.layers if isinstance(l, GroupedConv2D)]
        assert len(gates) == len(convs) == tiny.num_blocks
        assert all(c.groups == tiny.num_factors for c in convs)


class TestSerialization:
    """Through the shared harness: config JSON round trip, .keras save/load, tf.data, mixed_float16."""

    @pytest.mark.parametrize("preset", ["mlfn_tiny", "mlfn_tiny_resnet"])
    def test_backbone_harness(self, preset, tmp_path):
        keras.utils.set_random_seed(0)
        images = np.random.default_rng(0).uniform(0, 255, (4, 64, 32, 3)).astype("float32")
        model = run_model_test(lambda dtype=None: MLFN.from_preset(preset, dtype=dtype), images, tmp_path,
                               expected_output_shape={"embedding": (4, 32)}, atol=1e-5)
        assert model.preset == preset

    def test_classifier_harness(self, tmp_path):
        keras.utils.set_random_seed(0)
        images = np.random.default_rng(1).uniform(0, 255, (4, 64, 32, 3)).astype("float32")

        def build(dtype=None):
            return MLFNClassifier(MLFN.from_preset("mlfn_tiny", dtype=dtype), num_classes=7, bnneck=True)

        model = run_model_test(build, images, tmp_path, expected_output_shape={"logits": (4, 7), "embedding": (4, 32)},
                               atol=1e-5, float32_layers=("classifier",))
        assert model.num_classes == 7 and model.bnneck

    def test_mixed_precision_keeps_float32_logits(self):
        clf = MLFNClassifier(MLFN.from_preset("mlfn_tiny", dtype="mixed_float16"), num_classes=3)
        assert clf.get_layer("classifier").compute_dtype == "float32"
        assert keras.config.dtype_policy().name == "float32"  # no global switch

    def test_classifier_shares_backbone_weights(self, tiny):
        clf = MLFNClassifier(tiny, num_classes=5)
        x = _images(tiny)
        np.testing.assert_allclose(
            clf.predict(x, verbose=0)["embedding"], tiny.predict(x, verbose=0)["embedding"], rtol=1e-6
        )
        assert _count(clf.trainable_weights) == _count(tiny.trainable_weights) + tiny.embedding_dim * 5 + 5


class TestPresets:
    # Exact parameter counts (tensorflow/models style). `mlfn` must equal
    # torchreid's MLFN: 32,473,024 parameters, 33,242,799 with a 751-way
    # classifier, 89,088 BatchNorm moving statistics.
    # resnext50 / resnet50 = torchvision's resnext50_32x4d / resnet50 without
    # the ImageNet fc (22,979,904 / 23,508,032) + stem conv bias (64) +
    # T(Y_N) = 2048x1024 FC + its BN scale/offset (2,099,200).
    EXPECTED = {
        "mlfn": (32_473_024, 89_088),
        "mlfn_no_fusion": (31_946_688, 87_040),
        "resnext50": (22_979_904 + 64 + 2_099_200, 70_272),
        "resnet50": (23_508_032 + 64 + 2_099_200, 55_168),
        "mlfn_cifar": (8_187_296, 37_184),
        "mlfn_small": (863_760, 10_016),
        "mlfn_tiny": (5_600, 496),
        "mlfn_small_no_fusion": (838_672, 9_504),
        "mlfn_small_resnext": (721_280, 7_872),
        "mlfn_small_resnet": (729_856, 6_528),
        "mlfn_tiny_no_fusion": (5_280, 432),
        "mlfn_tiny_resnext": (4_896, 368),
        "mlfn_tiny_resnet": (4_368, 320),
    }

    def test_every_preset_is_tested(self):
        assert set(self.EXPECTED) == set(PRESETS)

    @pytest.mark.parametrize("preset", sorted(PRESETS))
    def test_parameter_counts(self, preset):
        model = MLFN.from_preset(preset)
        trainable, moving = self.EXPECTED[preset]
        assert _count(model.trainable_weights) == trainable
        assert _count(model.non_trainable_weights) == moving

    def test_mlfn_with_market_classifier(self):
        clf = MLFNClassifier(MLFN.from_preset("mlfn"), num_classes=751)
        assert _count(clf.trainable_weights) == 33_242_799

    def test_paper_configuration(self):
        model = MLFN.from_preset("mlfn")
        assert model.num_blocks == 16 and model.num_factors == 32
        assert model.factor_signature_dim == 512 and model.embedding_dim == 1024
        assert model.image_shape == (256, 128, 3)
        cifar = MLFN.from_preset("mlfn_cifar")
        assert cifar.num_blocks == 9 and cifar.factor_signature_dim == 288

    def test_ablations_differ_in_one_component(self):
        no_fusion = MLFN.from_preset("mlfn_no_fusion")
        assert "factor_signature" in no_fusion.output and "fc_s" not in [l.name for l in no_fusion.layers]
        resnext = MLFN.from_preset("resnext50")
        assert set(resnext.output) == {"embedding"}
        assert not any(isinstance(l, FactorSelectionGate) for l in resnext.layers)
        assert {l.groups for l in resnext.layers if isinstance(l, GroupedConv2D)} == {32}
        resnet = MLFN.from_preset("resnet50")
        assert not any(isinstance(l, GroupedConv2D) for l in resnet.layers)
        assert resnet.get_layer("block1_fm_conv2").filters == 64  # holistic, 256 / 4

    @pytest.mark.slow
    def test_full_mlfn_forward(self):
        model = MLFN.from_preset("mlfn")
        out = model.predict(np.zeros((1, 256, 128, 3), "float32"), verbose=0)
        assert out["embedding"].shape == (1, 1024) and out["factor_signature"].shape == (1, 512)

    def test_overrides_and_errors(self):
        model = MLFN.from_preset("mlfn_tiny", image_shape=(96, 48, 3), name="custom")
        assert model.image_shape == (96, 48, 3) and model.name == "custom"
        with pytest.raises(ValueError, match="Unknown preset 'nope'. Expected one of"):
            MLFN.from_preset("nope")
        with pytest.raises(ValueError, match="fusion=True needs factor selection"):
            MLFN.from_preset("resnext50", fusion=True)
        with pytest.raises(ValueError, match="one entry per stage"):
            MLFN.from_preset("mlfn_tiny", stage_blocks=(1,))
