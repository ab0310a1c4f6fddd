"""Fixtures of the adaptation tests: a tiny generated scene and a tiny starting model (module-scoped)."""

import keras
import pytest

import mlfn_keras
from mlfn_keras.tracking.app.scene import write_scene
from scene_helpers import TINY_SCENE


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_scene(TINY_SCENE, str(tmp_path_factory.mktemp("scene")), progress=False)


@pytest.fixture(scope="module")
def init_model(tmp_path_factory):
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("init") / "tiny.keras"
    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(path)
    return path
