"""Camera sources: parsing ``--cams`` values and reading each camera on a thread.

A camera is any mix of a webcam index (``0``), a video file (``walk.mp4``), a
stream URL (``rtsp://...``, ``http://...``) or a folder of images. Each one is
read by a :class:`CameraStream` on its own thread into a bounded queue:

* live sources (webcams, URLs) drop the oldest queued frame when the consumer
  falls behind, so the pipeline always works on a recent frame, and a camera
  that cannot be opened or stops delivering is reported and retried with
  exponential back-off while the other cameras keep running: by default
  :data:`LIVE_MAX_RETRIES` attempts in a row without a frame, waiting
  :data:`LIVE_RETRY_BACKOFF` (0.5 s doubling up to 8 s, about 15 s in all),
  after which the source is reported as given up and its stream ends;
* offline sources (files, folders, generated scenes) block instead, so every
  frame is processed in order; end of file ends that stream only, and a corrupt
  frame is skipped and counted. A video file's frame count tells a frame that
  fails to decode (skipped, counted, and the next one read) from the end of the
  file, so damage in the middle of an mp4 does not end the camera there.

Example:

    specs = parse_cams(["0", "videos/hall.mp4", "frames/"])
    streams = [CameraStream(spec) for spec in specs]
    for stream in streams:
        stream.start()
    packet = streams[1].read(timeout=1.0)
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mlfn_keras.tracking.core.frames import FramePacket

SourceKind = Literal["webcam", "file", "url", "folder", "generator"]

VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
)
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Frame rate assumed for sources that do not report one (image folders, some streams).
DEFAULT_FPS = 15.0
#: Reconnect attempts in a row without a frame before a live source is given up.
LIVE_MAX_RETRIES = 5
#: ``(first, max)`` seconds between reconnect attempts; the wait doubles each time.
LIVE_RETRY_BACKOFF: tuple[float, float] = (0.5, 8.0)
#: Failed reads in a row after which a video of unknown length is taken to have ended.
MAX_CONSECUTIVE_FAILURES = 30
#: Failed reads in a row after which a live source is reconnected.
LIVE_MAX_FAILED_READS = 5
URL_SCHEMES: tuple[str, ...] = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")

ACCEPTED_CAMS_HELP = (
    "a webcam index (0, 1, ...), a video file (" + ", ".join(VIDEO_EXTENSIONS) + "), "
    "a stream URL (" + ", ".join(s.rstrip(":/") for s in URL_SCHEMES) + "), "
    "or a folder of images (" + ", ".join(IMAGE_EXTENSIONS) + ")"
)


class CamsError(ValueError):
    """A ``--cams`` value names nothing this demo can read."""


@dataclass(frozen=True)
class SourceSpec:
    """What one camera reads from.

    Attributes:
        kind: ``"webcam"``, ``"file"``, ``"url"``, ``"folder"`` or ``"generator"``.
        target: the webcam index, path or URL; for ``"generator"`` a zero-arg
            callable returning an iterator of BGR frames.
        name: a short label used in windows, logs and output file names.
        fps: frames per second when the source knows it (``None`` otherwise).
        start_time: offline sources: when the first frame was recorded, in
            seconds on the cameras' common clock (files that started together
            all have 0). Timestamps of offline frames count from it; live
            sources use the wall clock.
    """

    kind: SourceKind
    target: Any
    name: str
    fps: float | None = None
    start_time: float = 0.0

    @property
    def live(self) -> bool:
        """Whether frames arrive in real time (and stale ones may be dropped)."""
        return self.kind in ("webcam", "url")


def parse_cam(value: str, index: int = 0) -> SourceSpec:
    """Parses one ``--cams`` value.

    Args:
        value: a webcam index, video path, URL or image folder.
        index: the camera's position in ``--cams``, used in its name.

    Returns:
        The camera's :class:`SourceSpec`.

    Raises:
        CamsError: if ``value`` is none of the accepted kinds; the message says
            what was received and lists what is accepted.
    """
    text = str(value).strip()
    if text.isdigit():
        return SourceSpec("webcam", int(text), f"cam{index}")
    if text.lower().startswith(URL_SCHEMES):
        return SourceSpec("url", text, f"cam{index}")
    if os.path.isdir(text):
        if not _list_images(text):
            raise CamsError(
                f"--cams value {text!r} is a folder with no images in it; expected "
                f"{ACCEPTED_CAMS_HELP}."
            )
        return SourceSpec("folder", text, f"cam{index}")
    if os.path.isfile(text):
        if text.lower().endswith(VIDEO_EXTENSIONS):
            return SourceSpec("file", text, f"cam{index}")
        raise CamsError(
            f"--cams value {text!r} is a file whose extension is not a video "
            f"extension; expected {ACCEPTED_CAMS_HELP}."
        )
    raise CamsError(
        f"--cams value {text!r} is not a webcam index, an existing video file or "
        f"folder, or a stream URL; expected {ACCEPTED_CAMS_HELP}."
    )


def parse_cams(values: Sequence[str]) -> list[SourceSpec]:
    """Parses all ``--cams`` values; see :func:`parse_cam`.

    Raises:
        CamsError: naming the first bad value and what is accepted.
    """
    if not values:
        raise CamsError(f"--cams got no value; expected one or more of: {ACCEPTED_CAMS_HELP}.")
    return [parse_cam(v, i) for i, v in enumerate(values)]


def _list_images(folder: str) -> list[str]:
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS))
    return [os.path.join(folder, n) for n in names]


@dataclass
class StreamStats:
    """Counters a stream keeps for the summary."""

    frames_read: int = 0
    frames_dropped: int = 0
    corrupt_skipped: int = 0
    reconnects: int = 0
    gave_up: bool = False
    messages: list[str] = field(default_factory=list)


class _Reader:
    """Opens a source and yields frames; ``None`` marks a corrupt/unreadable frame."""

    def __init__(self, spec: SourceSpec):
        self.spec = spec
        self._cap = None
        self._paths: list[str] = []
        self._pos = 0
        self._gen: Iterator[np.ndarray] | None = None

    def open(self) -> None:
        spec = self.spec
        if spec.kind == "folder":
            self._paths = _list_images(spec.target)
            if not self._paths:
                raise OSError(f"folder {spec.target!r} has no images")
            return
        if spec.kind == "generator":
            self._gen = iter(spec.target())
            return
        import cv2

        cap = cv2.VideoCapture(spec.target)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open {spec.kind} {spec.target!r}")
        self._cap = cap

    def fps(self) -> float | None:
        if self._cap is not None:
            import cv2

            fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
            return fps if 0 < fps < 1000 else None
        return None

    def frame_count(self) -> int | None:
        """Frames in a video file when its container says so, else ``None``."""
        if self._cap is not None and self.spec.kind == "file":
            import cv2

            n = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            return n if n > 0 else None
        return None

    def read(self) -> tuple[bool, np.ndarray | None]:
        """Returns ``(more, frame)``: ``more=False`` at end of stream."""
        if self.spec.kind == "folder":
            if self._pos >= len(self._paths):
                return False, None
            import cv2

            path = self._paths[self._pos]
            self._pos += 1
            return True, cv2.imread(path, cv2.IMREAD_COLOR)
        if self.spec.kind == "generator":
            assert self._gen is not None
            try:
                return True, next(self._gen)
            except StopIteration:
                return False, None
        assert self._cap is not None
        ok, frame = self._cap.read()
        if ok:
            return True, frame
        return False, None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _valid_frame(frame: np.ndarray | None) -> bool:
    return (
        isinstance(frame, np.ndarray)
        and frame.dtype == np.uint8
        and frame.ndim == 3
        and frame.shape[2] == 3
        and frame.shape[0] > 0
        and frame.shape[1] > 0
    )


class CameraStream:
    """Reads one camera on a background thread into a bounded queue.

    Args:
        spec: what to read (see :func:`parse_cam`).
        camera: the camera's index in the pipeline (stamped on every packet).
        queue_size: frames buffered; live sources drop the oldest when full.
        retry_backoff: ``(first, max)`` seconds between reconnect attempts for
            live sources; doubles after every failure.
        max_retries: reconnect attempts in a row without a frame before a live
            source is given up (``None``: keep trying until stopped). Short
            limits give up on a flaky camera sooner; long ones ride out longer
            outages while the run cannot end on its own.
        max_consecutive_failures: failed reads in a row after which a video
            whose container does not give its frame count is taken to have
            ended (with a frame count, reads go on to the last frame).
        on_message: called with a human-readable line for every fault report.
    """

    def __init__(
        self,
        spec: SourceSpec,
        camera: int = 0,
        queue_size: int = 4,
        retry_backoff: tuple[float, float] = LIVE_RETRY_BACKOFF,
        max_retries: int | None = LIVE_MAX_RETRIES,
        max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES,
        on_message: Callable[[str], None] | None = None,
    ):
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}.")
        self.spec = spec
        self.camera = camera
        self.stats = StreamStats()
        self._queue: queue.Queue[FramePacket] = queue.Queue(maxsize=queue_size)
        self._retry_backoff = retry_backoff
        self._max_retries = max_retries
        self._max_failures = max_consecutive_failures
        self._on_message = on_message
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self.fps: float | None = spec.fps

    # ------------------------------------------------------------------ control
    def start(self) -> CameraStream:
        """Starts the reader thread; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"camera-{self.spec.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Asks the reader to stop and waits for it briefly."""
        self._stop.set()
        # Unblock a producer waiting on a full queue.
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def gave_up(self) -> bool:
        """True once a live source was given up after its retries."""
        return self.stats.gave_up

    @property
    def finished(self) -> bool:
        """True once the stream has ended and every queued frame was read."""
        return self._finished.is_set() and self._queue.empty()

    def read(self, timeout: float | None = None) -> FramePacket | None:
        """Returns the next frame, or ``None`` if none arrived within ``timeout``."""
        try:
            return self._queue.get(timeout=timeout) if timeout != 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    # ------------------------------------------------------------------ thread
    def _report(self, message: str) -> None:
        line = f"[{self.spec.name}] {message}"
        self.stats.messages.append(line)
        if self._on_message is not None:
            self._on_message(line)

    def _put(self, packet: FramePacket) -> None:
        if self.spec.live:
            while not self._stop.is_set():
                try:
                    self._queue.put_nowait(packet)
                    return
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self.stats.frames_dropped += 1
                    except queue.Empty:
                        pass
        else:
            while not self._stop.is_set():
                try:
                    self._queue.put(packet, timeout=0.1)
                    return
                except queue.Full:
                    continue

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a reader must never take the pipeline down
            self._report(f"stopped on an unexpected error: {exc!r}")
        finally:
            self._finished.set()

    def _wait_retry(self, delay: float, max_delay: float) -> float:
        self._stop.wait(delay)
        return min(delay * 2.0, max_delay)

    def _give_up(self, attempts: int, why: str) -> None:
        self.stats.gave_up = True
        self._report(f"{why} after {attempts} retries; giving up (the other cameras go on).")

    def _loop(self) -> None:
        reader = _Reader(self.spec)
        delay, max_delay = self._retry_backoff
        attempts = 0  # reconnects in a row without a frame (live sources)
        index = 0
        while not self._stop.is_set():
            try:
                reader.open()
            except Exception as exc:
                if not self.spec.live:
                    self._report(f"cannot be opened ({exc}); this stream ends, the others go on.")
                    return
                if self._max_retries is not None and attempts >= self._max_retries:
                    self._give_up(attempts, f"cannot be opened ({exc})")
                    return
                attempts += 1
                self._report(f"cannot be opened ({exc}); retrying in {delay:.1f} s "
                             f"(attempt {attempts} of {self._max_retries or 'unlimited'}).")
                delay = self._wait_retry(delay, max_delay)
                continue
            if attempts:
                self.stats.reconnects += 1
                self._report("opened after retrying.")
            if self.fps is None:
                self.fps = reader.fps()
            total = reader.frame_count()
            failures = 0
            delivered = False
            while not self._stop.is_set():
                t0 = time.perf_counter()
                more, frame = reader.read()
                decode_s = time.perf_counter() - t0
                if not more and self.spec.kind in ("folder", "generator"):
                    reader.close()
                    return
                if frame is None or not _valid_frame(frame):
                    if more:
                        # A listed image that cannot be decoded: skip it, keep numbering.
                        self.stats.corrupt_skipped += 1
                        self._report(f"frame {index} is corrupt or unreadable; skipped.")
                        index += 1
                        continue
                    # A failed video read is a frame that does not decode or the
                    # end: the container's frame count tells them apart (without
                    # one, only a later good frame does).
                    if self.spec.live:
                        if failures + 1 >= LIVE_MAX_FAILED_READS:
                            break
                    elif total is not None:
                        if index >= total:
                            break
                    elif failures + 1 >= self._max_failures:
                        break
                    failures += 1
                    index += 0 if self.spec.live else 1
                    continue
                if failures:
                    self.stats.corrupt_skipped += failures
                    self._report(f"{failures} frame(s) that did not decode before frame {index} skipped.")
                    failures = 0
                if self.spec.live:
                    timestamp = time.time()  # wall clock: comparable across cameras and boxes
                else:
                    timestamp = self.spec.start_time + index / (self.fps or DEFAULT_FPS)
                self.stats.frames_read += 1
                delivered = True
                self._put(FramePacket(self.camera, index, frame, timestamp, decode_s))
                index += 1
            reader.close()
            if failures and not self.spec.live:
                # Reads failed up to the end: truncated, damaged at the end, or a
                # container that overstates its length; nothing tells these apart.
                self._report(f"the last {failures} frame(s) the file lists could not be read.")
            if self._stop.is_set() or not self.spec.live:
                return
            if delivered:
                delay, attempts = self._retry_backoff[0], 0
            if self._max_retries is not None and attempts >= self._max_retries:
                self._give_up(attempts, "stopped delivering frames")
                return
            attempts += 1
            self._report(f"stopped delivering frames; reconnecting in {delay:.1f} s "
                         f"(attempt {attempts} of {self._max_retries or 'unlimited'}).")
            delay = self._wait_retry(delay, max_delay)
