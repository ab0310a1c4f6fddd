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

from mlfn_keras._lazy import lazy_exports

# Imported on first use, so `mlfn ... --help` and light imports stay fast (no TensorFlow).
_EXPORTS = {
    "build_detector": "mlfn_keras.tracking.detectors",
    "IdentityGallery": "mlfn_keras.tracking.gallery",
    "MultiCameraTracker": "mlfn_keras.tracking.pipeline",
    "PipelineConfig": "mlfn_keras.tracking.pipeline",
    "load_reid": "mlfn_keras.tracking.reid",
    "RunOptions": "mlfn_keras.tracking.runner",
    "run_multicam": "mlfn_keras.tracking.runner",
    "SceneConfig": "mlfn_keras.tracking.scene",
    "CameraStream": "mlfn_keras.tracking.sources",
    "SourceSpec": "mlfn_keras.tracking.sources",
    "parse_cams": "mlfn_keras.tracking.sources",
    "CameraTracker": "mlfn_keras.tracking.tracker",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
