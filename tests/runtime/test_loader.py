"""`load_embedder` specs: files, ``hist``, ``untrained[:PRESET]``, fusions, and the one existence check."""

import numpy as np
import pytest

from mlfn_keras.errors import InputPathError
from mlfn_keras.runtime import (
    ColourHistogramEmbedder,
    Embedder,
    EmbedderNotFoundError,
    FusedEmbedder,
    KerasEmbedder,
    check_spec,
    load_embedder,
)


def _crops(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (40 + 4 * i, 20, 3), np.uint8) for i in range(n)]


def test_hist_is_the_colour_histogram():
    embedder = load_embedder("hist")
    assert isinstance(embedder, ColourHistogramEmbedder) and isinstance(embedder, Embedder)
    f = embedder(_crops())
    assert f.shape == (6, embedder.embedding_dim) and np.allclose(np.linalg.norm(f, axis=1), 1.0)


def test_untrained_preset_is_a_seeded_keras_model():
    a, b = load_embedder("untrained:mlfn_tiny"), load_embedder("untrained:mlfn_tiny")
    assert isinstance(a, KerasEmbedder) and a.metadata.preset == "mlfn_tiny"
    np.testing.assert_allclose(a(_crops()), b(_crops()), atol=1e-6)


def test_fusion_is_an_equal_weight_concatenation():
    rgb = _crops()
    a = lambda x: np.tile([[3.0, 4.0]], (len(x), 1))  # noqa: E731  (unit: 0.6, 0.8)
    b = lambda x: np.stack([np.eye(3)[i % 3] for i in range(len(x))])  # noqa: E731
    f = FusedEmbedder(a, b)(rgb)
    assert f.shape == (6, 5) and np.allclose(np.linalg.norm(f, axis=1), 1.0)
    assert np.allclose(f[0], np.array([0.6, 0.8, 1.0, 0.0, 0.0]) / np.sqrt(2.0))
    # Squared distance of the fusion = mean of the two squared distances.
    assert np.isclose(np.sum((f[0] - f[1]) ** 2), (0.0 + 2.0) / 2)
    with pytest.raises(ValueError, match="weights"):
        FusedEmbedder(a, b, weights=[1.5, -0.5])
    with pytest.raises(ValueError, match="at least two"):
        FusedEmbedder(a)


def test_fusion_spec_joins_any_specs():
    fused = load_embedder("untrained:mlfn_tiny+hist")
    assert isinstance(fused, FusedEmbedder) and [type(p) for p in fused.parts] == [KerasEmbedder, ColourHistogramEmbedder]
    assert fused(_crops()).shape == (6, fused.embedding_dim)
    hist = ColourHistogramEmbedder()(_crops())
    np.testing.assert_allclose(load_embedder("hist+hist")(_crops()), np.concatenate([hist, hist], 1) / np.sqrt(2.0),
                               atol=1e-6)


def test_one_existence_check_with_one_message(tmp_path):
    for spec, named in (("missing.onnx", "'missing.onnx'"), ("missing.onnx+hist", "'missing.onnx' (in 'missing.onnx+hist')")):
        for call in (check_spec, load_embedder):
            with pytest.raises(EmbedderNotFoundError) as error:
                call(spec, what="--reid")
            message = str(error.value)
            assert message.startswith(f"--reid {named} does not exist; expected a .keras")
            assert "'hist'" in message and "untrained[:PRESET]" in message and "site.onnx+hist" in message
            assert isinstance(error.value, FileNotFoundError) and isinstance(error.value, InputPathError)
    check_spec("hist")
    check_spec("untrained")
    check_spec("untrained:mlfn_small+hist")


def test_an_existing_path_with_a_plus_is_a_path(tmp_path):
    odd = tmp_path / "a+hist"
    odd.write_bytes(b"0")
    check_spec(str(odd))  # exists: not split into a fusion
    with pytest.raises(ValueError, match="Cannot tell the backend"):
        load_embedder(str(odd))
