"""Multi-camera people tracking with cross-camera re-identification.

The library behind ``demo/multicam.py``:

* :mod:`~mlfn_keras.tracking.sources`: ``--cams`` parsing and threaded camera readers;
* :mod:`~mlfn_keras.tracking.detectors`: SSDLite (ONNX), YOLO-style ONNX, background subtraction;
* :mod:`~mlfn_keras.tracking.tracker`: per-camera ByteTrack (Roboflow ``trackers``);
* :mod:`~mlfn_keras.tracking.reid`: embedder loading, box quality, per-track smoothing;
* :mod:`~mlfn_keras.tracking.gallery`: global identities, Hungarian assignment, expiry;
* :mod:`~mlfn_keras.tracking.association`: tracklets, cannot-link, label-free
  threshold calibration, constrained agglomerative clustering, online revision;
* :mod:`~mlfn_keras.tracking.events`: typed events (``events.jsonl``);
* :mod:`~mlfn_keras.tracking.pipeline`: the multi-camera tracker (named steps,
  per-camera results, offline re-clustering);
* :mod:`~mlfn_keras.tracking.runner`: the main loop (window, outputs, Ctrl-C);
* :mod:`~mlfn_keras.tracking.recorder`: videos, events JSONL, MOT files, summary;
* :mod:`~mlfn_keras.tracking.scene`: the generated two-camera scene with ground truth;
* :mod:`~mlfn_keras.tracking.metrics`: HOTA/MOTA/IDF1 per camera and cross-camera IDF1;
* :mod:`~mlfn_keras.tracking.app` and :mod:`~mlfn_keras.tracking.benchmark`: what the demo CLIs call.
"""

from mlfn_keras.tracking.detectors import build_detector
from mlfn_keras.tracking.gallery import IdentityGallery
from mlfn_keras.tracking.pipeline import MultiCameraTracker, PipelineConfig
from mlfn_keras.tracking.reid import load_reid
from mlfn_keras.tracking.runner import RunOptions, run_multicam
from mlfn_keras.tracking.scene import SceneConfig
from mlfn_keras.tracking.sources import CameraStream, SourceSpec, parse_cams
from mlfn_keras.tracking.tracker import CameraTracker

__all__ = [
    "CameraStream",
    "CameraTracker",
    "IdentityGallery",
    "MultiCameraTracker",
    "PipelineConfig",
    "RunOptions",
    "SceneConfig",
    "SourceSpec",
    "build_detector",
    "load_reid",
    "parse_cams",
    "run_multicam",
]
