"""What a command prints besides its own output: a quiet TensorFlow start.

TensorFlow, absl and CUDA write start-up lines straight to the process's
stderr from C++ (``WARNING: All log messages before absl::InitializeLog() ...``,
``I0000 ... cudart_stub.cc ... Could not find cuda drivers``, ``E0000 ...
failed call to cuInit`` on a machine without a GPU, the CPU-instructions
notice). ``TF_CPP_MIN_LOG_LEVEL`` does not reach the ones written before
absl's logging starts. :func:`quiet_start` is the one place a command line
sets this up, before anything imports TensorFlow:

* ``TF_CPP_MIN_LOG_LEVEL=2`` (unless already set): C++ info and warnings off,
  errors kept;
* the first ``import tensorflow`` (and the device probe that emits the CUDA
  lines) runs with stderr captured; the known start-up lines
  (:data:`NOISE`) are dropped and anything else (a real error) is written
  back to stderr;
* the ``tensorflow`` and ``absl`` Python loggers show errors only;
* native libraries that announce themselves later (LiteRT's XNNPACK line)
  are created inside :func:`quiet_native_start`.

``--debug`` (or ``MLFN_KERAS_DEBUG=1``) turns all of this off, so a bug
report shows everything TensorFlow said.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence

__all__ = ["NOISE", "filtered_stderr", "invoked_as", "program_name", "quiet_native_start", "quiet_start", "wants_debug"]

#: Start-up lines of TensorFlow / absl / CUDA that say nothing to a user.
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\s+\d+ \S+:\d+\] "  # absl info / warning lines (glog prefix)
    r"|E\d{4} [\d:. ]+\s+\d+ \S+:\d+\] (failed call to cuInit|Unable to register cu\w+ factory)"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
    r"|oneDNN custom operations are on"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$)"
)

_installed = False
#: The names the running command was invoked by, innermost last (set by `mlfn_keras.cli`).
_INVOKED_AS: list[str] = []


@contextlib.contextmanager
def invoked_as(prog: str) -> Iterator[None]:
    """Inside this block the command calls itself ``prog`` (``mlfn train``, ``mlfn-train``, ...) in help and errors."""
    _INVOKED_AS.append(prog)
    try:
        yield
    finally:
        _INVOKED_AS.pop()


def program_name(default: str | None = None) -> str:
    """The running command's name: as invoked (:func:`invoked_as`), else ``default``, else the script's."""
    if _INVOKED_AS:
        return _INVOKED_AS[-1]
    return default or os.path.basename(sys.argv[0]) or "mlfn"


def wants_debug(argv: Sequence[str] | None = None) -> bool:
    """``--debug`` on the command line (``argv``, default ``sys.argv``) or ``MLFN_KERAS_DEBUG`` set."""
    args = sys.argv[1:] if argv is None else list(argv)
    return "--debug" in args or os.environ.get("MLFN_KERAS_DEBUG", "") not in ("", "0")


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern[str] = NOISE) -> Iterator[None]:
    """Captures what is written to file descriptor 2 (C++ included); writes back all but ``noise`` lines."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded interpreter): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True) if not noise.match(line))
            if kept:
                os.write(2, kept.encode("utf-8"))


@contextlib.contextmanager
def quiet_native_start() -> Iterator[None]:
    """:func:`filtered_stderr` around a native library's first use, in a command started quietly.

    For start-up lines written outside ``import tensorflow`` (LiteRT's "Created
    TensorFlow Lite XNNPACK delegate"). Outside a command (library use) or
    with ``--debug``, it changes nothing.
    """
    if not _installed:
        yield
        return
    with filtered_stderr():
        yield


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` inside :func:`filtered_stderr`, then probes the devices."""

    def __init__(self, real: importlib.abc.Loader) -> None:
        self.real = real

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module) -> None:
        with filtered_stderr():
            try:
                self.real.exec_module(module)
            finally:
                module.__loader__ = self.real  # tensorflow sees its own loader afterwards
                if module.__spec__ is not None:
                    module.__spec__.loader = self.real
            # The CUDA probe (cuInit) happens at the first device query: do it here, inside the filter.
            # Listing physical devices does not start the runtime, so device settings can still change.
            with contextlib.suppress(Exception):
                module.config.list_physical_devices()

    def __getattr__(self, name: str):
        return getattr(self.real, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Intercepts the first ``import tensorflow`` (from anywhere: keras, a library module, a test)."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # only the first import is wrapped
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_start(argv: Sequence[str] | None = None) -> None:
    """Silences TensorFlow's start-up lines for this process (see the module docstring); idempotent.

    Call it before anything imports TensorFlow; where TensorFlow is imported
    already, only the loggers are turned down. With ``--debug`` in ``argv``
    (default ``sys.argv``) or ``MLFN_KERAS_DEBUG=1`` it does nothing.
    """
    global _installed
    if _installed or wants_debug(argv):
        return
    _installed = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
