"""``python -m mlfn_keras``: the same as ``mlfn`` (see :mod:`mlfn_keras.cli`)."""

from mlfn_keras.cli import main

raise SystemExit(main())
