"""Generated identities: synthetic people seen by synthetic cameras.

No re-id data set can be downloaded on the machines this project is built
on, so the project draws its own people, in four steps (one module each):

* :mod:`~mlfn_keras.data.synthetic.identities`: an identity is a set of
  ground-truth attributes (body shape, skin, hair style and colour, upper
  garment type, colour and pattern, an open jacket's shirt, lower garment,
  shoes, bag, cap), with realistic, mostly muted clothing colours;
* :mod:`~mlfn_keras.data.synthetic.rendering`: :func:`render_person` poses an
  articulated skeleton in a walking cycle, turns it to any yaw and draws
  textured clothes far-to-near with shading;
* :mod:`~mlfn_keras.data.synthetic.cameras`: :func:`apply_camera` puts the
  person in a detector box over a photographic
  (:mod:`~mlfn_keras.data.synthetic.backgrounds`) or procedural background
  with a shadow, passers-by and occluders, then applies the camera's light,
  resolution (a 50–110 px pedestrian), motion blur, noise and codec;
* :mod:`~mlfn_keras.data.synthetic.layout`: :func:`generate_market_layout`
  writes a Market-1501-layout folder with ``attributes.json`` and
  ``meta.json``, built beside the target and moved into place when complete.

Everything is deterministic from the seed, and rendering is fast (about
2–4 ms a crop at 128×64 on one core), so tests, benchmarks, training and the
demo's scene generator all reuse it.

Command line (:mod:`~mlfn_keras.data.synthetic.cli`, also
``python -m mlfn_keras.data.synthetic``):

    mlfn synthetic --output /tmp/synth --identities 200 --cameras 4
    mlfn synthetic --output /tmp/synth_photo --identities 2000 --train-identities 1900 \\
        --height 128 --width 64 --fetch-backgrounds mate-backgrounds

From Python:

    import numpy as np
    from mlfn_keras.data import synthetic

    rng = np.random.default_rng(0)
    person = synthetic.sample_identity(pid=1, rng=rng)
    rgb, alpha = synthetic.render_person(person, "back", rng)
    camera = synthetic.sample_camera(1, rng)
    crop = synthetic.apply_camera(rgb, alpha, camera, rng)
"""

from mlfn_keras._lazy import lazy_exports

# Imported on first use, so `mlfn ... --help` and light imports stay fast (no TensorFlow).
_EXPORTS = {
    "DEFAULT_PACKAGE": "mlfn_keras.data.synthetic.backgrounds",
    "BackgroundBank": "mlfn_keras.data.synthetic.backgrounds",
    "fetch_debian_backgrounds": "mlfn_keras.data.synthetic.backgrounds",
    "CameraStyle": "mlfn_keras.data.synthetic.cameras",
    "apply_camera": "mlfn_keras.data.synthetic.cameras",
    "procedural_background": "mlfn_keras.data.synthetic.cameras",
    "sample_camera": "mlfn_keras.data.synthetic.cameras",
    "BAGS": "mlfn_keras.data.synthetic.identities",
    "PATTERNS": "mlfn_keras.data.synthetic.identities",
    "COLOURS": "mlfn_keras.data.synthetic.identities",
    "IdentityAttributes": "mlfn_keras.data.synthetic.identities",
    "colour_name": "mlfn_keras.data.synthetic.identities",
    "sample_identity": "mlfn_keras.data.synthetic.identities",
    "GENERATOR_VERSION": "mlfn_keras.data.synthetic.layout",
    "SyntheticFolderError": "mlfn_keras.data.synthetic.layout",
    "generate_market_layout": "mlfn_keras.data.synthetic.layout",
    "render_crop": "mlfn_keras.data.synthetic.layout",
    "VIEWS": "mlfn_keras.data.synthetic.rendering",
    "render_person": "mlfn_keras.data.synthetic.rendering",
}

__all__ = [
    "BAGS",
    "COLOURS",
    "DEFAULT_PACKAGE",
    "GENERATOR_VERSION",
    "PATTERNS",
    "VIEWS",
    "BackgroundBank",
    "CameraStyle",
    "IdentityAttributes",
    "SyntheticFolderError",
    "apply_camera",
    "colour_name",
    "fetch_debian_backgrounds",
    "generate_market_layout",
    "procedural_background",
    "render_crop",
    "render_person",
    "sample_camera",
    "sample_identity",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
