"""Progress bars on a terminal, plain periodic lines in log files.

Every long loop of the project reports progress through :func:`tqdm` here (a
drop-in for ``tqdm.tqdm``): on a terminal it is tqdm's bar; when the stream is
not a terminal (``> run.log``, ``nohup``, CI, a pipe) it prints one complete
line every :data:`LINE_INTERVAL` seconds and at the end, without carriage
returns or terminal escape codes, so a log file reads line by line::

    tracking: 120/600 tick (20%), 11.8 tick/s, 0:10 elapsed, ETA 0:40

``MLFN_KERAS_PROGRESS=bar|lines|off`` overrides the choice (``off`` as
``--quiet`` does); ``MLFN_KERAS_PROGRESS_INTERVAL`` sets the seconds between
lines.

Example:
    >>> from mlfn_keras.progress import tqdm
    >>> for batch in tqdm(batches, desc="embedding", unit="batch", disable=quiet):
    ...     ...
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm import tqdm as _BarTqdm

__all__ = ["LINE_INTERVAL", "LineProgress", "progress_mode", "tqdm"]

#: Seconds between two progress lines in a log file (``MLFN_KERAS_PROGRESS_INTERVAL``).
LINE_INTERVAL = 10.0

_LINE_FORMAT = "{desc}: {n_fmt}{total_part} {unit}{percent_part}, {rate_fmt}, {elapsed} elapsed{eta_part}{postfix}"


def progress_mode(stream: Any = None) -> str:
    """``"bar"`` on a terminal, ``"lines"`` otherwise, or what ``MLFN_KERAS_PROGRESS`` says.

    Args:
        stream: where the progress goes (default ``sys.stderr``).
    """
    forced = os.environ.get("MLFN_KERAS_PROGRESS", "").strip().lower()
    if forced in ("bar", "lines", "off"):
        return forced
    stream = sys.stderr if stream is None else stream
    try:
        return "bar" if stream.isatty() and os.environ.get("TERM") != "dumb" else "lines"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "lines"


class LineProgress(_BarTqdm):
    """tqdm that prints whole lines every few seconds instead of redrawing a bar.

    Same API as ``tqdm.tqdm`` (``update``, ``set_postfix``, iteration, context
    manager); what differs is only what reaches the stream: a line at the
    start, at most one every ``mininterval`` seconds (default
    :data:`LINE_INTERVAL`), and one at the end.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        interval = float(os.environ.get("MLFN_KERAS_PROGRESS_INTERVAL", LINE_INTERVAL))
        kwargs.setdefault("mininterval", interval)
        kwargs["maxinterval"] = max(kwargs.get("maxinterval", interval), kwargs["mininterval"])
        # Check the clock on every update (cheap): a line every `mininterval` seconds however the rate
        # changes, and tqdm's monitor thread (which acts only when miniters > 1) never adds extra lines.
        kwargs["miniters"] = 1
        kwargs["dynamic_ncols"] = False
        kwargs["ascii"] = True
        self._printed_n: float | None = None
        super().__init__(*args, **kwargs)

    def _line(self) -> str:
        d = self.format_dict
        total, n, rate = d["total"], d["n"], d["rate"]
        unit = d["unit"] or "it"
        if rate is None and d["elapsed"]:
            rate = n / d["elapsed"]
        eta = ""
        if total and rate and n < total:
            eta = f", ETA {self.format_interval(max(total - n, 0) / rate)}"
        postfix = d.get("postfix")
        return _LINE_FORMAT.format(
            desc=d.get("prefix") or "progress",
            n_fmt=self.format_sizeof(n) if d.get("unit_scale") else f"{n:g}",
            total_part=f"/{total:g}" if total else "",
            unit=unit,
            percent_part=f" ({100.0 * n / total:.0f}%)" if total else "",
            rate_fmt=(f"{rate:.0f} {unit}/s" if rate >= 100 else f"{rate:.3g} {unit}/s") if rate else f"? {unit}/s",
            elapsed=self.format_interval(d["elapsed"]),
            eta_part=eta,
            postfix=f" [{postfix}]" if postfix else "",
        )

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg is not None:  # tqdm clears or overwrites its line: nothing to do on a log
            return False
        line = self._line()
        self.fp.write(line + "\n")
        self.fp.flush()
        self._printed_n = self.n
        return True

    def clear(self, nolock: bool = False) -> None:
        """A printed line stays (nothing to clear in a log)."""

    def moveto(self, n: int) -> None:
        """Lines never move the cursor."""

    def close(self) -> None:
        if getattr(self, "disable", True):
            return
        if self._printed_n != self.n:
            with self._lock:
                self._ema_dt = lambda: None  # the final line shows the overall rate
                self.display()
        self.disable = True
        self._decr_instances(self)


def tqdm(*args: Any, **kwargs: Any) -> _BarTqdm:
    """A progress bar on a terminal, periodic plain lines elsewhere (see the module docstring).

    Takes ``tqdm.tqdm``'s arguments. ``disable=True`` (``--quiet``) shows
    nothing; output goes to ``file`` (default ``sys.stderr``).
    """
    mode = progress_mode(kwargs.get("file"))
    if mode == "off":
        kwargs["disable"] = True
    if kwargs.get("disable") is None:  # tqdm's "hide on a non-terminal": we print lines there instead
        kwargs["disable"] = False
    return (_BarTqdm if mode == "bar" else LineProgress)(*args, **kwargs)
