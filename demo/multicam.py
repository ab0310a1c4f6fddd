"""Multi-camera people tracking with cross-camera re-identification (MLFN).

The same command as ``mlfn demo`` (``mlfn_keras.tracking.app.cli``); run it with
``--help`` for the options and examples, e.g.::

    python demo/multicam.py --output runs/demo --evaluate   # built-in scene, scored
    python demo/multicam.py --cams 0 1                      # two webcams
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mlfn_keras.cli import run_command
from mlfn_keras.errors import cli_entry
from mlfn_keras.tracking.app.cli import DEFAULT_REID, build_parser  # noqa: F401  (kept for scripts that import them)


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    return run_command("demo", argv, prog="python demo/multicam.py")


if __name__ == "__main__":
    sys.exit(main())
