"""What operators look at: a desktop window, the live web page, the run report.

The runner feeds :class:`LiveViews` once per tick (the per-camera annotated
frames, the new frames with their tracked objects, FPS, camera health and the
tick's events) and knows nothing else about the views; the tracker core knows
nothing of views at all.

* :mod:`~mlfn_keras.tracking.view.feed`: :class:`~mlfn_keras.tracking.view.feed.IdentityFeed`,
  the pages' one data source (identities, appearances, cameras, events in
  plain words, transitions, thumbnails); fed by the runner here, and by
  anything else that tracks people (a central identity service) the same way.
* :mod:`~mlfn_keras.tracking.view.draw`: colours and labelled boxes.
* :class:`~mlfn_keras.tracking.view.window.WindowView`: a pygame-ce window in a
  child process (so a display that disappears cannot take the pipeline down).
* :class:`~mlfn_keras.tracking.view.web.WebView`: ``--serve [HOST:]PORT``, the
  live page (camera tiles with health, identity gallery, timelines,
  transitions, events) and its read-only JSON API under ``/api/``.
* :mod:`~mlfn_keras.tracking.view.report`: ``report.html``, the same page
  frozen at the end of a run (opens from disk).

A view must never slow the pipeline: ``update`` only hands over references and
returns; drawing, encoding and I/O happen on the view's own threads, which
keep only the latest tick (older ones are dropped, never queued).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlfn_keras.tracking.core.events import as_dict
from mlfn_keras.tracking.view.feed import CameraHealth, IdentityFeed


#: Events kept for the views (newest last).
EVENT_HISTORY = 50


@dataclass
class TickState:
    """What the views get once per tick.

    Attributes:
        tick: ticks done so far.
        camera_names: one name per camera.
        images: the latest annotated BGR frame per camera (``None`` until its
            first frame, or while no view wants images).
        objects: the latest tracked objects per camera.
        fps: measured frames per second per camera.
        events: the latest events of the run, newest last (at most
            :data:`EVENT_HISTORY`).
        last_handoff: the latest ``handoff`` event (an identity seen in
            another camera before), or ``None``.
        feed: the run's identities (what the web page shows), or ``None``.
    """

    tick: int
    camera_names: list[str]
    images: list[np.ndarray | None]
    objects: list[list[Any]]
    fps: list[float]
    events: list[dict[str, Any]] = field(default_factory=list)
    last_handoff: dict[str, Any] | None = None
    feed: IdentityFeed | None = None

    def describe(self, event: dict[str, Any] | None) -> dict[str, Any] | None:
        """An event with camera names beside the indices (for people)."""
        if event is None:
            return None
        out = dict(event)
        for key in ("camera", "from_camera"):
            cam = event.get(key)
            if isinstance(cam, int) and 0 <= cam < len(self.camera_names):
                out[key + "_name"] = self.camera_names[cam]
        return out


@dataclass
class CameraFrame:
    """One camera's new frame this tick, as the feed takes it.

    Attributes:
        camera: camera index.
        frame: frame index in that camera.
        time: the frame's timestamp (seconds).
        objects: its tracked objects (:class:`~mlfn_keras.tracking.core.pipeline.TrackedObject`).
        image: the raw BGR frame (for thumbnails), or ``None``.
    """

    camera: int
    frame: int
    time: float
    objects: Sequence[Any]
    image: np.ndarray | None = None


@runtime_checkable
class View(Protocol):
    """A live view fed once per tick.

    ``update`` returns ``False`` when the person asked to stop (``q``/Esc in the
    window); ``wants_images`` says whether annotated frames are needed now (the
    web view needs them only while someone watches); ``close`` releases it.
    """

    wants_images: bool

    def update(self, state: TickState) -> bool: ...

    def close(self) -> None: ...


class LiveViews:
    """The views of one run: files each tick in the feed, builds its :class:`TickState` and feeds the views.

    A view that raises is reported once and dropped; the run goes on.

    Args:
        views: the views.
        camera_names: one name per camera.
        log: where messages go.
        feed: the run's :class:`~mlfn_keras.tracking.view.feed.IdentityFeed`
            (the web page's and the report's data), or ``None``.
    """

    def __init__(self, views: Sequence[View], camera_names: Sequence[str], log: Callable[[str], None],
                 feed: IdentityFeed | None = None):
        self.views = list(views)
        self.camera_names = list(camera_names)
        self.log = log
        self.feed = feed
        self.ticks = 0
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=EVENT_HISTORY)
        self._last_handoff: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.views) or self.feed is not None

    @property
    def wants_images(self) -> bool:
        return any(getattr(v, "wants_images", True) for v in self.views)

    def update(
        self,
        images: Sequence[np.ndarray | None],
        objects: Sequence[Sequence[Any]],
        events: Sequence[Any],
        fps: Sequence[float],
        frames: Sequence[CameraFrame] = (),
        health: Sequence[CameraHealth] | None = None,
        ids: Any = None,
        record_events: bool = True,
    ) -> bool:
        """Feeds one tick to the feed and every view; ``False`` when a view asks to stop.

        Args:
            images: the latest annotated frame per camera (``None``: none).
            objects: the latest tracked objects per camera.
            events: the tick's tracker events (typed or plain dicts); views
                get them as the dicts ``events.jsonl`` holds.
            fps: frames per second per camera.
            frames: the cameras' new frames this tick (for the feed).
            health: per camera state (for the feed).
            ids: the current global id of every tracklet (lets the feed follow
                merges and splits of tracklets no longer in view).
            record_events: file ``events`` in the feed (``False``: the caller did).
        """
        self.ticks += 1
        if self.feed is not None:
            for f in frames:
                self.feed.observe(f.camera, f.frame, f.time, f.objects, f.image)
            if record_events:
                self.feed.record_events(events, ids)
            for i, h in enumerate(health or ()):
                self.feed.set_health(i, h)
            self.feed.tick()
        for e in map(as_dict, events):
            self._events.append(e)
            if e.get("event") == "handoff":
                self._last_handoff = e
        state = TickState(
            tick=self.ticks,
            camera_names=self.camera_names,
            images=list(images),
            objects=[list(o) for o in objects],
            fps=[float(f) for f in fps],
            events=list(self._events),
            last_handoff=self._last_handoff,
            feed=self.feed,
        )
        keep_running = True
        for view in list(self.views):
            try:
                keep_running = view.update(state) and keep_running
            except Exception as exc:  # a broken view must not stop the pipeline
                self.log(f"The {type(view).__name__} failed ({exc}); continuing without it.")
                self._close(view)
                self.views.remove(view)
        return keep_running

    def close(self) -> None:
        """Closes every view but those that outlive the run (``outlives_run``: the caller closes them)."""
        for view in self.views:
            if not getattr(view, "outlives_run", False):
                self._close(view)
        self.views = []

    def _close(self, view: View) -> None:
        try:
            view.close()
        except Exception as exc:
            self.log(f"Closing the {type(view).__name__} failed: {exc}")
