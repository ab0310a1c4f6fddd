import numpy as np
import pytest

from mlfn_keras.export.parity import BOUNDS, ParityError, check_parity


def _embeddings(n=12, d=16, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_identical_embeddings_pass_every_bound():
    ref = _embeddings()
    for precision in BOUNDS:
        report = check_parity(ref, ref.copy(), precision)
        assert report.passed
        assert report.max_abs_diff == 0
        assert report.min_cosine == pytest.approx(1.0)


def test_bounds_are_the_issue_s():
    assert BOUNDS == {"fp32": 0.9999, "fp16": 0.999, "dynamic_int8": 0.98, "int8": 0.98}


def test_perturbation_fails_fp32_but_passes_int8_and_raises_with_figures():
    ref = _embeddings()
    noisy = ref + 0.05 * np.random.default_rng(1).normal(size=ref.shape)
    fp32 = check_parity(ref, noisy, "fp32")
    int8 = check_parity(ref, noisy, "int8")
    assert not fp32.passed and int8.passed
    assert fp32.min_cosine == int8.min_cosine < 0.9999
    assert fp32.max_abs_diff == pytest.approx(np.abs(ref - noisy).max(), rel=1e-5)
    with pytest.raises(ParityError, match=r"cosine min 0\.99"):
        fp32.raise_if_failed()
    int8.raise_if_failed()  # no exception


def test_one_bad_crop_fails_the_gate():
    ref = _embeddings()
    bad = ref.copy()
    bad[3] = -bad[3]
    report = check_parity(ref, bad, "int8")
    assert not report.passed
    assert report.min_cosine == pytest.approx(-1.0)


def test_rank1_agreement_on_a_labelled_set():
    # Two identities, two crops each: 0,1 are one person, 2,3 another.
    ref = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    labels = np.array([1, 1, 2, 2])
    same = check_parity(ref, ref, "int8", labels)
    assert same.rank1_agreement == 1.0 and same.rank1_reference == 1.0
    # The candidate swaps crop 1 to look like identity 2.
    cand = ref.copy()
    cand[1] = [0.05, 0.95]
    report = check_parity(ref, cand, "int8", labels)
    assert report.rank1_reference == 1.0
    assert report.rank1_candidate < 1.0
    assert report.rank1_agreement < 1.0


def test_singleton_identities_are_not_queries():
    ref = _embeddings(n=3)
    report = check_parity(ref, ref, "fp32", np.array([1, 2, 3]))
    assert report.rank1_agreement is None


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="precision"):
        check_parity(_embeddings(), _embeddings(), "int4")
    with pytest.raises(ValueError, match=r"\(12, 16\) and \(12, 8\)"):
        check_parity(_embeddings(), _embeddings(d=8), "fp32")
