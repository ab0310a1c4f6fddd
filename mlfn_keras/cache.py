"""Where the project keeps what it builds once: converted detectors, rendered scenes, data sets, videos."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that moves the cache.
ENV = "MLFN_KERAS_CACHE"


def cache_root() -> Path:
    """``$MLFN_KERAS_CACHE`` or ``~/.cache/mlfn_keras``."""
    return Path(os.environ.get(ENV, Path.home() / ".cache" / "mlfn_keras")).expanduser()
