import numpy as np

from mlfn_keras.runtime.histogram import ColourHistogramEmbedder


def _person(top, bottom, h=90, w=40):
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2] = top
    img[h // 2 :] = bottom
    return img


def test_same_clothes_closer_than_other_clothes_at_any_size():
    emb = ColourHistogramEmbedder()
    red_blue = _person((220, 30, 30), (30, 30, 220))
    red_blue_small = _person((235, 40, 35), (35, 30, 235), h=40, w=18)
    blue_red = _person((30, 30, 220), (220, 30, 30))
    f = emb([red_blue, red_blue_small, blue_red])
    assert f.shape == (3, 6 * 8 * 4 * 4)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, rtol=1e-5)
    assert f[0] @ f[1] > 0.9 > f[0] @ f[2]


def test_empty_batch():
    assert ColourHistogramEmbedder()([]).shape == (0, 768)
