"""Export an MLFN embedder: TensorRT engine, checked against Keras (NVIDIA GPU).

The same command as ``mlfn export tensorrt`` (``mlfn_keras.export.cli``); run it with
``--help`` for the options and examples.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mlfn_keras.cli import run_command
from mlfn_keras.errors import cli_entry


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    return run_command("export tensorrt", argv, prog="python export/to_tensorrt.py")


if __name__ == "__main__":
    sys.exit(main())
