"""A tiny generated scene, a ground-truth detector and a tiny training loop, shared by the adaptation tests."""

from __future__ import annotations

import numpy as np

from mlfn_keras.tracking.app.demo import gt_lookup_from_files
from mlfn_keras.tracking.app.scene import SceneConfig
from mlfn_keras.tracking.detection.detectors import GroundTruthDetector

TINY_SCENE = SceneConfig(num_people=6, num_frames=90, width=320, height=240, fps=10.0,
                         pass_seconds=(2.0, 3.0), transit_seconds=(0.5, 1.0), seed=3)
MINING = dict(image_size=(64, 32), min_crops=3, max_crops=8, min_height=24.0, progress=False)
#: A few optimiser steps of mlfn-adapt's loop.
TINY_LOOP = dict(steps_per_round=2, num_ids=4, num_instances=2, learning_rate=1e-3, minutes=5.0)


def gt_detector(gt_paths):
    """A detector that returns the scene's ground-truth boxes (no detection errors in unit tests); none for a
    camera without a file."""
    lookup = gt_lookup_from_files(gt_paths)
    return GroundTruthDetector(lambda cam, index: lookup(cam, index) if cam < len(gt_paths) else np.zeros((0, 4)))
