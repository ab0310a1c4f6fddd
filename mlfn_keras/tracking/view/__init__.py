"""Live views of a running demo: a desktop window and a web page.

The runner feeds every view once per tick with a :class:`TickState` (the
per-camera annotated frames, tracked objects, FPS and the recent events) and
knows nothing else about them; the tracker core knows nothing of views at all.

* :class:`~mlfn_keras.tracking.view.window.WindowView`: a pygame-ce window in a
  child process (so a display that disappears cannot take the pipeline down).
* :class:`~mlfn_keras.tracking.view.web.WebView`: ``--serve [HOST:]PORT``, a
  page with live MJPEG tiles, the roster and the latest events.

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
    """

    tick: int
    camera_names: list[str]
    images: list[np.ndarray | None]
    objects: list[list[Any]]
    fps: list[float]
    events: list[dict[str, Any]] = field(default_factory=list)
    last_handoff: dict[str, Any] | None = None

    def roster(self) -> dict[str, Any]:
        """Which global ids are in which camera now, and the last hand-off (JSON-ready)."""
        from mlfn_keras.tracking.view.draw import colour_for

        def hex_colour(gid: int | None) -> str:
            b, g, r = colour_for(gid)
            return f"#{r:02x}{g:02x}{b:02x}"

        cameras = []
        for i, name in enumerate(self.camera_names):
            ids = sorted({int(o.global_id) for o in self.objects[i] if o.global_id is not None})
            pending = sorted(int(o.track_id) for o in self.objects[i] if o.global_id is None)
            cameras.append(
                {
                    "name": name,
                    "fps": round(float(self.fps[i]), 1),
                    "ids": ids,
                    "colours": [hex_colour(g) for g in ids],
                    "unassigned_tracks": pending,
                }
            )
        return {"tick": self.tick, "cameras": cameras, "last_handoff": self.describe(self.last_handoff)}

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
    """The views of one run: builds each tick's :class:`TickState` and feeds them.

    A view that raises is reported once and dropped; the run goes on.

    Args:
        views: the views.
        camera_names: one name per camera.
        log: where messages go.
    """

    def __init__(self, views: Sequence[View], camera_names: Sequence[str], log: Callable[[str], None]):
        self.views = list(views)
        self.camera_names = list(camera_names)
        self.log = log
        self.ticks = 0
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=EVENT_HISTORY)
        self._last_handoff: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.views)

    @property
    def wants_images(self) -> bool:
        return any(getattr(v, "wants_images", True) for v in self.views)

    def update(
        self,
        images: Sequence[np.ndarray | None],
        objects: Sequence[Sequence[Any]],
        events: Sequence[Any],
        fps: Sequence[float],
    ) -> bool:
        """Feeds one tick to every view; ``False`` when one of them asks to stop.

        ``events`` are the tracker's typed events (or plain dicts); views get
        them as the dicts ``events.jsonl`` holds.
        """
        self.ticks += 1
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
        """Closes every view."""
        for view in self.views:
            self._close(view)
        self.views = []

    def _close(self, view: View) -> None:
        try:
            view.close()
        except Exception as exc:
            self.log(f"Closing the {type(view).__name__} failed: {exc}")
