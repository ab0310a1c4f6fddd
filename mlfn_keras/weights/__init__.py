"""Weights shipped inside the package.

:data:`SHIPPED_REID` is the default re-id model of ``mlfn demo`` and the
starting point of ``mlfn adapt``: the ``mlfn_small`` preset trained only on
generated people (how, and what it scores on real people: ``README.md`` in
this folder). ``demo/weights/`` in a checkout links here.
"""

from pathlib import Path

__all__ = ["SHIPPED_REID", "WEIGHTS_DIR"]

#: This folder.
WEIGHTS_DIR = Path(__file__).resolve().parent
#: The shipped ``mlfn_small`` re-id model (``.keras``; its training config beside it as ``.json``).
SHIPPED_REID = WEIGHTS_DIR / "mlfn_small_synthetic.keras"
