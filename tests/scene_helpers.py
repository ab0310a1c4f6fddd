"""Generated test footage shared across test folders: a tiny scene, its ground-truth detector, a tiny adaptation
loop, and PETS09-like ground-truth crops."""

from __future__ import annotations

import numpy as np

from mlfn_keras.data.pets09 import Crop
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


#: One clothing colour (BGR) per person of :func:`pets09_like_crops`.
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]


def pets09_like_crops(frames=range(0, 795, 40), people=5, seed=0) -> list[Crop]:
    """People of distinct colours (BGR) with noise, on frames spread over both halves of the PETS09 video."""
    rng = np.random.default_rng(seed)
    out = []
    for f in frames:
        for pid in range(1, people + 1):
            img = np.clip(np.array(COLOURS[pid - 1], np.float32) * 0.8 + rng.normal(0, 20, (40, 20, 3)), 0, 255)
            out.append(Crop(pid, int(f), (0.0, 0.0, 20.0, 40.0), img.astype(np.uint8)))
    return out
