"""Running the tracker: camera sources, the main loop, run outputs, the generated scene, the demo.

See :mod:`mlfn_keras.tracking` for the map of the modules.
"""
