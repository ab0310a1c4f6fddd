"""The live desktop window (pygame-ce, in a child process).

Why pygame-ce: the project keeps ``opencv-python-headless`` as its only OpenCV
(it installs everywhere; ``opencv-python`` beside it overwrites the same
``cv2`` package), so ``cv2.imshow`` is not available. pygame-ce ships SDL2
inside its wheels for Linux (x86-64, aarch64), Windows and macOS and Python
3.10-3.14, so ``pip install`` gives a working window on a fresh desktop with
no system packages; Tk needs a system package on many Linux installs
(``python3-tk``) and the original ``pygame`` has no wheels for Python 3.14.

The window runs in its own process (:mod:`.window_process`): Xlib ends the
process whose X server goes away, and that must not be the pipeline. The
pipeline thread only hands the latest tick to a writer thread, which draws
the picture (:func:`~mlfn_keras.tracking.view.overlay.compose`) and sends it
when the window has taken the previous one; ticks in between are dropped.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
from collections.abc import Callable

from mlfn_keras.tracking.view import TickState

NO_WINDOW_HINT = "continuing without a window (use --serve PORT to watch from a browser)"


class WindowView:
    """The tiled live window; ``q``/Esc or closing it stops the run.

    Where there is no display (or no pygame-ce) it says so once and does
    nothing; if the display disappears mid-run it says so once and the run
    goes on headless.

    Args:
        log: where messages go.
        start_timeout: seconds to wait for the window process to start.
        tile_width: width of one camera tile in pixels.
    """

    def __init__(self, log: Callable[[str], None] | None = None, start_timeout: float = 30.0, tile_width: int = 640):
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.tile_width = tile_width
        self.active = False
        self.quit_requested = False
        self.driver: str | None = None
        self._closing = False
        self._lost_reported = False
        self._cond = threading.Condition()
        self._state: TickState | None = None
        self._ready = True
        self._started = threading.Event()
        self._start_error: str | None = None
        env = dict(os.environ, PYGAME_HIDE_SUPPORT_PROMPT="1")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "window_process.py")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
            )
        except OSError as exc:
            self._proc = None
            self.log(f"No live window: could not start its process ({exc}); {NO_WINDOW_HINT}.")
            return
        self._reader = threading.Thread(target=self._read_messages, name="window-reader", daemon=True)
        self._reader.start()
        if not self._started.wait(start_timeout):
            self._start_error = f"the window process did not start within {start_timeout:.0f} s"
        if self._start_error is not None or not self.active:
            self.log(f"No live window: {self._start_error or 'the window process ended'}; {NO_WINDOW_HINT}.")
            self._stop_process()
            return
        self._writer = threading.Thread(target=self._write_frames, name="window-writer", daemon=True)
        self._writer.start()

    @property
    def wants_images(self) -> bool:
        return self.active

    def update(self, state: TickState) -> bool:
        """Hands the tick to the writer thread; ``False`` once q/Esc was pressed."""
        if self.quit_requested:
            return False
        if not self.active:
            if self._proc is not None and self._started.is_set() and not self._lost_reported and self.driver:
                self._lost_reported = True
                self.log(f"The live window closed unexpectedly (display lost?); {NO_WINDOW_HINT}. Outputs are still written.")
            return True
        with self._cond:
            self._state = state
            self._cond.notify()
        return True

    def close(self) -> None:
        """Closes the window and ends its process."""
        self._closing = True
        with self._cond:
            self._cond.notify_all()
        self._stop_process()

    # -- threads ------------------------------------------------------------

    def _read_messages(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            word, _, rest = raw.decode("utf-8", "replace").strip().partition(" ")
            if word == "ok":
                self.driver = rest
                self.active = True
                self._started.set()
            elif word == "error":
                self._start_error = rest
                self._started.set()
            elif word == "ready":
                with self._cond:
                    self._ready = True
                    self._cond.notify()
            elif word == "quit":
                self.quit_requested = True
        self.active = False  # the process is gone
        self._started.set()
        with self._cond:
            self._cond.notify_all()

    def _write_frames(self) -> None:
        from mlfn_keras.tracking.view.overlay import compose

        assert self._proc is not None and self._proc.stdin is not None
        while True:
            with self._cond:
                while not self._closing and self.active and (self._state is None or not self._ready):
                    self._cond.wait(0.5)
                if self._closing or not self.active:
                    return
                state, self._state, self._ready = self._state, None, False
            picture = compose(state, self.tile_width)
            h, w = picture.shape[:2]
            try:
                self._proc.stdin.write(struct.pack("<II", w, h))
                self._proc.stdin.write(picture.tobytes())
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.active = False
                return

    def _stop_process(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self.active = False
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.join(2.0)
            if writer.is_alive():  # stuck writing to a window that stopped reading
                proc.kill()
                writer.join(5.0)
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
