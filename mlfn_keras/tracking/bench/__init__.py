"""Benchmarks that run the tracker and score it: real video, speed per stage, detectors.

See :mod:`mlfn_keras.tracking` for the map of the modules.
"""
