"""Scoring a tracking run against ground truth: tracking metrics, one run's scores, detector recall/precision.

See :mod:`mlfn_keras.tracking` for the map of the modules.
"""
