"""Multi-camera people tracking with cross-camera re-identification.

The library behind ``mlfn demo`` (its command line: :mod:`~mlfn_keras.tracking.app.cli`), in
floors; each floor imports only the floors above it in this list:

* :mod:`~mlfn_keras.tracking.core` (no threads, no files, no windows): the
  tracking rules.

  - :mod:`~mlfn_keras.tracking.core.frames`: ``FramePacket``, what the core takes in;
  - :mod:`~mlfn_keras.tracking.core.tracker`: per-camera ByteTrack (Roboflow ``trackers``);
  - :mod:`~mlfn_keras.tracking.core.reid`: box quality, per-track appearance smoothing
    (embedders themselves: :func:`mlfn_keras.runtime.load_embedder`);
  - :mod:`~mlfn_keras.tracking.core.gallery`: global identities, Hungarian assignment, expiry;
  - :mod:`~mlfn_keras.tracking.core.association`: the one ``Tracklet`` type and
    the one cannot-link rule (``association/tracklets.py``, also ``mlfn-adapt``'s),
    label-free threshold calibration (``association/calibration.py``:
    ``calibrate(method="quantile" | "balanced_error")``), constrained clustering
    (``association/clustering.py``: ``cluster_tracklets``), overlapping views,
    online revision;
  - :mod:`~mlfn_keras.tracking.core.events`: typed events (``events.jsonl``);
  - :mod:`~mlfn_keras.tracking.core.edge`: the tracker's edge half (track,
    pick crops, embed, cut segments), which needs the frames;
  - :mod:`~mlfn_keras.tracking.core.updates`: what the edge half hands the
    central half (``CameraTick``), in process or over a broker;
  - :mod:`~mlfn_keras.tracking.core.central`: the tracker's central half
    (tracklets, global ids, online revision, offline re-clustering);
  - :mod:`~mlfn_keras.tracking.core.pipeline`: both halves in one process (the
    single box: ``MultiCameraTracker``) and the settings (``PipelineConfig``).

* :mod:`~mlfn_keras.tracking.detection`: person detectors behind one
  :func:`~mlfn_keras.tracking.detection.detectors.build_detector` (SSDLite ONNX,
  tiled, fp32 or int8; YOLO-style ONNX; background subtraction; ground truth),
  and the :class:`~mlfn_keras.tracking.detection.schedule.DetectionScheduler`
  that decides which cameras and tiles are detected each tick.
* :mod:`~mlfn_keras.tracking.view`: what operators look at: the identity feed
  (:mod:`~mlfn_keras.tracking.view.feed`, the pages' one data source), the
  live window, the live web page and its JSON API, ``report.html``.
* :mod:`~mlfn_keras.tracking.eval`: scoring a run against ground truth:
  HOTA/MOTA/IDF1 and cross-camera IDF1 (:mod:`~mlfn_keras.tracking.eval.metrics`),
  one run scored with the baselines (:mod:`~mlfn_keras.tracking.eval.scoring`),
  detector recall and precision (:mod:`~mlfn_keras.tracking.eval.detection`).
* :mod:`~mlfn_keras.tracking.app`: running it on one box: camera sources
  (:mod:`~mlfn_keras.tracking.app.sources`), the cameras of a run read one
  tick at a time (:mod:`~mlfn_keras.tracking.app.cameras`), the main loop
  (:mod:`~mlfn_keras.tracking.app.runner`), where results go
  (:mod:`~mlfn_keras.tracking.app.outputs`: files and live views), the files,
  one final id everywhere (:mod:`~mlfn_keras.tracking.app.recorder`), the generated scene
  (:mod:`~mlfn_keras.tracking.app.scene`), what the demo CLI calls
  (:mod:`~mlfn_keras.tracking.app.demo`), and ``mlfn demo`` itself
  (:mod:`~mlfn_keras.tracking.app.cli`).
* :mod:`~mlfn_keras.tracking.site`: running it across boxes: edge boxes and a
  central identity service on Redis Streams (broker interface, messages,
  ordering, ``mlfn edge`` and ``mlfn central``).
* :mod:`~mlfn_keras.tracking.bench`: benchmarks that run the app and score it:
  the real-video benchmark (:mod:`~mlfn_keras.tracking.bench.realvideo`),
  frames per second per stage and cameras per box against quality
  (:mod:`~mlfn_keras.tracking.bench.speed`), a detector on PETS09
  pseudo-cameras and the int8 detector's gate (:mod:`~mlfn_keras.tracking.bench.detector`),
  the multi-box figures (:mod:`~mlfn_keras.tracking.bench.multibox`).

MOT text files (every ``mot/``, ``gt/`` and ``detections/`` file) are read and
written by :mod:`mlfn_keras.data.mot` only.
"""

from mlfn_keras._lazy import lazy_exports

# Imported on first use, so `mlfn ... --help` and light imports stay fast (no TensorFlow).
_EXPORTS = {
    "RunOptions": "mlfn_keras.tracking.app.runner",
    "run_multicam": "mlfn_keras.tracking.app.runner",
    "SceneConfig": "mlfn_keras.tracking.app.scene",
    "CameraStream": "mlfn_keras.tracking.app.sources",
    "SourceSpec": "mlfn_keras.tracking.app.sources",
    "parse_cams": "mlfn_keras.tracking.app.sources",
    "IdentityGallery": "mlfn_keras.tracking.core.gallery",
    "MultiCameraTracker": "mlfn_keras.tracking.core.pipeline",
    "PipelineConfig": "mlfn_keras.tracking.core.pipeline",
    "CameraTracker": "mlfn_keras.tracking.core.tracker",
    "build_detector": "mlfn_keras.tracking.detection.detectors",
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
    "parse_cams",
    "run_multicam",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
