"""``python -m mlfn_keras.evaluation``: same as ``mlfn-eval``."""

from mlfn_keras.evaluation.cli import main

raise SystemExit(main())
