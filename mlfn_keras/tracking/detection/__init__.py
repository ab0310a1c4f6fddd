"""Person detectors; pick one with :func:`~mlfn_keras.tracking.detection.detectors.build_detector`.

* :mod:`~mlfn_keras.tracking.detection.detectors`: the detector protocol, ``build_detector``,
  YOLO-style ONNX, background subtraction, ground-truth boxes;
* :mod:`~mlfn_keras.tracking.detection.ssdlite`: the SSDLite pedestrian detector, whole-frame or tiled;
* :mod:`~mlfn_keras.tracking.detection.tiling`: overlapping tiles and merging their boxes.

Scoring a detector lives in :mod:`mlfn_keras.tracking.eval`.
"""

#: What ``--detector`` accepts, for command-line help (kept here so ``--help`` imports nothing heavy).
DETECTOR_CHOICES_HELP = "ssdlite, bgsub, gt (generated scene only), onnx:PATH, or ssdlite:RxC (tiles, e.g. ssdlite:1x2)"
