"""The generated people are pixel-identical for a given seed.

Every generated data set, the demo's scene and the figures measured on them
depend on these pixels, so a refactor of the renderer must not move one. The
digest covers 40 identities (every bag, hair style, garment, sleeve, pattern,
hat and open front), each drawn by `render_person` at a random yaw and stride
and as a camera crop (`render_crop`: `apply_camera`, with bystanders). A
deliberate change of the drawing changes the digest: then bump
`GENERATOR_VERSION` and record the new one here.
"""

import hashlib

import numpy as np

from mlfn_keras.data import synthetic

#: sha256 of the renders below, recorded from the renderer as it stands.
DIGEST = "a662343b05882673faefcf485a30e91310fc6db9d86acf1dfafefa9a3e70ee21"


def _renders(n=40):
    for seed in range(n):
        rng = np.random.default_rng(seed)
        person = synthetic.sample_identity(pid=seed + 1, rng=rng)
        view = synthetic.VIEWS[seed % len(synthetic.VIEWS)]
        yield from synthetic.render_person(person, view, rng, height=128, width=64, walk_phase=0.13 * seed)
        camera = synthetic.sample_camera(seed % 4, rng)
        crop, _ = synthetic.render_crop(person, camera, rng, height=128, width=64)
        yield crop


def render_digest(n=40) -> str:
    h = hashlib.sha256()
    for array in _renders(n):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def test_generated_people_are_pixel_identical_for_a_seed():
    assert render_digest() == DIGEST


def test_the_digest_sees_a_one_pixel_change(monkeypatch):
    before = render_digest(2)
    real = synthetic.render_person

    def nudged(*args, **kwargs):
        rgb, alpha = real(*args, **kwargs)
        rgb = rgb.copy()
        rgb[0, 0, 0] ^= 1
        return rgb, alpha

    monkeypatch.setattr(synthetic, "render_person", nudged)
    assert render_digest(2) != before
