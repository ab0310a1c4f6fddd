"""Person detectors; pick one with :func:`~mlfn_keras.tracking.detection.detectors.build_detector`.

* :mod:`~mlfn_keras.tracking.detection.detectors`: the detector protocol, ``build_detector``,
  YOLO-style ONNX, background subtraction, ground-truth boxes;
* :mod:`~mlfn_keras.tracking.detection.ssdlite`: the SSDLite pedestrian detector, whole-frame or tiled;
* :mod:`~mlfn_keras.tracking.detection.tiling`: overlapping tiles and merging their boxes;
* :mod:`~mlfn_keras.tracking.detection.schedule`: which cameras and tiles are detected each
  tick (a detection interval with the tracker predicting in between, motion gating);
* :mod:`~mlfn_keras.tracking.detection.quantize`: the int8 SSDLite graph (static quantisation;
  its parity gate is :func:`mlfn_keras.tracking.bench.detector.int8_parity`).

Scoring a detector lives in :mod:`mlfn_keras.tracking.eval`.
"""

#: What ``--detector`` accepts, for command-line help (kept here so ``--help`` imports nothing heavy).
DETECTOR_CHOICES_HELP = (
    "ssdlite, bgsub, gt (generated scene only), onnx:PATH, ssdlite-fp32 / ssdlite-int8 (fixed precision), "
    "or ssdlite:RxC (tiles, e.g. ssdlite:1x2)"
)
