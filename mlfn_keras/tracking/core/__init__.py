"""The tracking rules, free of threads, files and windows: what every runner shares.

See :mod:`mlfn_keras.tracking` for the map of the modules.
"""
