"""Person detector implementations and their scoring; pick one with :func:`mlfn_keras.tracking.detectors.build_detector`.

* :mod:`~mlfn_keras.tracking.detection.tiling`: overlapping tiles and merging their boxes.
* :mod:`~mlfn_keras.tracking.detection.ssdlite`: the SSDLite pedestrian detector, whole-frame or tiled.
* :mod:`~mlfn_keras.tracking.detection.scoring`: recall/precision at IoU 0.5 with ignored ground truth.
* :mod:`~mlfn_keras.tracking.detection.evaluation`: a detector scored on PETS09 pseudo-cameras per frame range, with its time.
"""

#: What ``--detector`` accepts, for command-line help (kept here so ``--help`` imports nothing heavy).
DETECTOR_CHOICES_HELP = "ssdlite, bgsub, gt (generated scene only), onnx:PATH, or ssdlite:RxC (tiles, e.g. ssdlite:1x2)"
