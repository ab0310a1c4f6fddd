"""What operators look at, as data: identities, appearances, cameras, events, transitions.

:class:`IdentityFeed` is the one data source of the live page
(:mod:`~mlfn_keras.tracking.view.web`) and of ``report.html``
(:mod:`~mlfn_keras.tracking.view.report`). Whoever runs the tracking writes
into it, the pages only read from it, so the single-box demo
(:func:`~mlfn_keras.tracking.app.runner.run_multicam`) and a central identity
service can feed the same page.

Write side (one thread: whoever runs the tracker):

* :meth:`IdentityFeed.observe`: one camera frame's tracked objects (anything
  with ``camera``, ``track_id``, ``segment``, ``global_id``, ``xyxy``,
  ``score``, e.g. :class:`~mlfn_keras.tracking.core.pipeline.TrackedObject`)
  and, for thumbnails, the raw frame;
* :meth:`IdentityFeed.record_events`: the tracker's typed events (merges,
  splits, calibration, camera messages); ``ids``, the current global id of
  every tracklet, lets merges and splits of tracklets no longer visible
  move them to their new identity;
* :meth:`IdentityFeed.set_health`: per camera FPS, reconnects, given up, ended;
* :meth:`IdentityFeed.relabel`: final ids per tracklet at the end of a run;
* :meth:`IdentityFeed.set_thumbnail`: a JPEG crop made elsewhere (an edge box);
* :meth:`IdentityFeed.finish`: the run ended.

Read side (any thread; JSON-ready, what ``/api/`` serves): :meth:`run`,
:meth:`identities`, :meth:`identity`, :meth:`cameras`, :meth:`events`,
:meth:`transitions`, :meth:`thumbnail`, :meth:`appearance_thumbnail`, and
:meth:`snapshot` (all of it at once, for the report).

An *appearance* is one tracklet: one person followed by one camera's tracker
without a break (``(camera, track, segment)``); an identity is every
appearance with one global id. Person events ("ID 7 entered cam1 from cam0
after 12 s") are derived from appearances as they get their ids, so the
event list, the cards and the timeline always agree; after :meth:`relabel`
with ``final=True`` they are derived again from the final ids.

Times are the tracker's timestamps (seconds). With ``epoch`` (live cameras)
they are shown as wall-clock time (``14:02:31``); without it (recorded files)
as time into the recording (``0:01:23``).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlfn_keras.tracking.core.events import as_dict
from mlfn_keras.tracking.view.draw import hex_colour

TrackletKey = tuple[int, int, int]

#: Height of the thumbnails (pixels; crops are scaled to it).
THUMB_HEIGHT = 128
#: A tracklet's thumbnail is replaced only by a crop this much better.
THUMB_IMPROVEMENT = 1.15
#: Appearances kept (the oldest ended ones are forgotten first, thumbnails with them).
MAX_APPEARANCES = 20000
#: Events kept for ``/api/events``.
MAX_EVENTS = 2000
#: A person counts as "here now" while their last box is at most this old (seconds).
PRESENT_SECONDS = 1.0


class Clock:
    """Turns tracker timestamps into what people read.

    Args:
        epoch: the Unix time of timestamp 0 (live cameras: wall clock shown as
            ``HH:MM:SS``); ``None`` for recorded files (time into the
            recording, ``H:MM:SS``).
    """

    def __init__(self, epoch: float | None = None):
        self.epoch = epoch

    def __call__(self, t: float | None) -> str | None:
        if t is None:
            return None
        if self.epoch is not None:
            return time.strftime("%H:%M:%S", time.localtime(self.epoch + t))
        s = max(0, int(t))
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"

    @property
    def kind(self) -> str:
        return "wall clock" if self.epoch is not None else "time into the recording"


def duration(seconds: float) -> str:
    """``12 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s // 60 % 60:02d} min"


@dataclass
class CameraHealth:
    """One camera's state as the runner (or an edge box) reports it.

    Attributes:
        fps: measured frames per second.
        frames: frames processed.
        reconnects: times a live source was reopened.
        gave_up: the source was given up after failing too often.
        ended: the stream ended (file done, ``--max-frames`` reached).
        dropped: frames dropped because processing was behind (live sources).
    """

    fps: float = 0.0
    frames: int = 0
    reconnects: int = 0
    gave_up: bool = False
    ended: bool = False
    dropped: int = 0


@dataclass
class Appearance:
    """One tracklet: a person seen by one camera without a break."""

    n: int
    camera: int
    track: int
    segment: int
    global_id: int | None
    first_time: float
    last_time: float
    first_frame: int
    last_frame: int
    boxes: int = 0
    last_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    quality: float = 0.0
    thumb: bytes | None = None
    thumb_version: int = 0
    announced: bool = False

    @property
    def tracklet(self) -> TrackletKey:
        return (self.camera, self.track, self.segment)


@dataclass
class FeedEvent:
    """One line of the event list, in plain words."""

    n: int
    time: float
    kind: str
    text: str
    camera: int | None = None
    ids: tuple[int, ...] = ()
    person: bool = False  # derived from appearances (re-derived on a final relabel)


@dataclass
class _Camera:
    name: str
    health: CameraHealth = field(default_factory=CameraHealth)
    last_time: float | None = None
    last_frame: int = -1
    last_wall: float | None = None
    size: tuple[int, int] | None = None  # (width, height)
    objects: list[dict[str, Any]] = field(default_factory=list)


def box_quality(xyxy: Sequence[float], score: float, frame_shape: Sequence[int]) -> float:
    """How good a crop of this box is as a person's picture: tall, whole, confident."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    h, w = float(frame_shape[0]), float(frame_shape[1])
    bw, bh = x2 - x1, y2 - y1
    if bw <= 2 or bh <= 4:
        return 0.0
    quality = bh * max(0.05, float(score))
    if x1 < 3 or y1 < 3 or x2 > w - 3 or y2 > h - 3:
        quality *= 0.4  # cut by the border
    if not 1.2 <= bh / bw <= 5.0:
        quality *= 0.5  # not person-shaped (occluded, two people)
    return quality


def crop_jpeg(image: np.ndarray, xyxy: Sequence[float], height: int = THUMB_HEIGHT, quality: int = 85) -> bytes | None:
    """A JPEG of the box's crop scaled to ``height`` pixels (``None`` if empty)."""
    import cv2

    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(float(v))) for v in xyxy)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    crop = image[y1:y2, x1:x2]
    width = max(1, int(round(crop.shape[1] * height / crop.shape[0])))
    crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if crop.shape[0] > height else cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None


class IdentityFeed:
    """The identities of a run as the pages show them (see the module docstring).

    Args:
        camera_names: one name per camera.
        clock: how times are shown (default: time into the recording).
        thumbnails: keep a crop per tracklet (``False``: ``--no-thumbnails``,
            no person's picture is kept or served).
        settings: the run's settings, shown by the pages as given.
        max_appearances: memory bound for long runs (oldest forgotten first).
    """

    def __init__(
        self,
        camera_names: Sequence[str],
        clock: Clock | None = None,
        thumbnails: bool = True,
        settings: Mapping[str, Any] | None = None,
        max_appearances: int = MAX_APPEARANCES,
    ):
        self.camera_names = [str(n) for n in camera_names]
        self.clock = clock or Clock()
        self.thumbnails = bool(thumbnails)
        self.settings = dict(settings or {})
        self.max_appearances = int(max_appearances)
        self._lock = threading.RLock()
        self._cameras = [_Camera(n) for n in self.camera_names]
        self._apps: dict[TrackletKey, Appearance] = {}
        self._by_n: dict[int, Appearance] = {}
        self._next_n = 1
        self._events: list[FeedEvent] = []
        self._next_event = 1
        self._generation = 1
        self._state = "running"
        self._final = False
        self._now = 0.0
        self._ticks = 0
        self._version = 0
        self._cache: dict[str, tuple[int, Any]] = {}
        self.scores: dict[str, Any] | None = None

    # ------------------------------------------------------------ write side
    def observe(self, camera: int, frame: int, t: float, objects: Iterable[Any], image: np.ndarray | None = None) -> None:
        """Files one camera frame's tracked objects (and crops from ``image``).

        Args:
            camera: camera index.
            frame: frame index in that camera.
            t: the frame's timestamp (seconds).
            objects: the frame's confirmed tracks.
            image: the raw BGR frame (for thumbnails; ``None``: no crops).
        """
        with self._lock:
            cam = self._cameras[camera]
            cam.last_time, cam.last_frame, cam.last_wall = float(t), int(frame), time.monotonic()
            if image is not None:
                cam.size = (int(image.shape[1]), int(image.shape[0]))
            self._now = max(self._now, float(t))
            seen = []
            for obj in objects:
                app = self._appearance(obj, camera, frame, t)
                box = tuple(float(v) for v in obj.xyxy)
                app.last_box, app.last_time, app.last_frame = box, float(t), int(frame)
                app.boxes += 1
                # the id held back for a new track is drawn on its box, but is nobody's card until committed
                gid = None if obj.global_id is None or getattr(obj, "provisional", False) else int(obj.global_id)
                if gid != app.global_id:
                    self._move(app, gid)
                if self.thumbnails and image is not None:
                    q = box_quality(box, float(obj.score), image.shape)
                    if q > app.quality * THUMB_IMPROVEMENT:
                        jpeg = crop_jpeg(image, box)
                        if jpeg is not None:
                            app.quality, app.thumb = q, jpeg
                            app.thumb_version += 1
                seen.append({"id": gid, "track": app.track, "box": [round(v, 1) for v in box]})
            cam.objects = seen
            self._version += 1

    def tick(self) -> None:
        """Counts one tick of the run (shown on the page)."""
        with self._lock:
            self._ticks += 1

    def record_events(self, events: Iterable[Any], ids: Mapping[TrackletKey, int] | None = None) -> None:
        """Files the tracker's events (typed or dicts) as plain-word lines.

        Merges move the removed id's appearances to the kept id. With ``ids``
        (the current global id of every tracklet) any event that revises
        identities (a merge, a split, or a kind this feed does not know) also
        moves every filed tracklet to its current id.
        """
        revised = False
        with self._lock:
            for e in map(as_dict, events):
                kind = str(e.get("event", ""))
                if kind in _SILENT:
                    continue
                if kind == "identities_merged":
                    kept, removed = int(e["kept"]), int(e["removed"])
                    for app in list(self._apps.values()):
                        if app.global_id == removed:
                            app.global_id = kept
                    self._add(e.get("time", self._now), "merged", f"ID {removed} is ID {kept}: merged", None, (kept, removed))
                    revised = True
                    continue
                if kind not in _ROUTINE:
                    revised = True
                self._add_tracker_event(e)
            if revised and ids is not None:
                self._reconcile(ids)
            self._version += 1

    def set_health(self, camera: int, health: CameraHealth) -> None:
        """Updates one camera's FPS / reconnects / given-up / ended state."""
        with self._lock:
            self._cameras[camera].health = health
            self._version += 1

    def set_thumbnail(self, tracklet: TrackletKey, jpeg: bytes, quality: float = 1.0) -> None:
        """Files a JPEG crop made elsewhere for a tracklet (kept if better than the one held)."""
        if not self.thumbnails:
            return
        with self._lock:
            app = self._apps.get(tuple(int(v) for v in tracklet))  # type: ignore[arg-type]
            if app is not None and quality > app.quality:
                app.quality, app.thumb = float(quality), bytes(jpeg)
                app.thumb_version += 1
                self._version += 1

    def relabel(self, ids: Mapping[TrackletKey, int], final: bool = False, note: str | None = None) -> None:
        """Gives tracklets new global ids (``final``: the run's final ids).

        With ``final`` every tracklet ``ids`` lists takes its id, those it does
        not list lose theirs, person events are derived again from the final
        identities (live merges and splits, which name live ids, are dropped
        from the list) and the event list starts a new generation.
        """
        with self._lock:
            for key, app in self._apps.items():
                gid = ids.get(key)
                if gid is not None or final:
                    app.global_id = None if gid is None else int(gid)
            if final:
                self._final = True
                self._generation += 1
                kept = [e for e in self._events if not e.person and e.kind not in ("merged", "split", "changed")]
                self._events = []
                derived = self._derive_person_events()
                for e in sorted(kept + derived, key=lambda e: (e.time, e.n)):
                    e.n = self._next_event
                    self._next_event += 1
                    self._events.append(e)
                if note:
                    self._add(self._now, "final", note)
            self._version += 1

    def finish(self, state: str = "finished") -> None:
        """Marks the run as ended (``"finished"`` or ``"interrupted"``)."""
        with self._lock:
            self._state = state
            for cam in self._cameras:
                cam.objects = []
            self._version += 1

    # ------------------------------------------------------------- read side
    @property
    def version(self) -> int:
        """Bumped on every change (for caches)."""
        return self._version

    def run(self) -> dict[str, Any]:
        """The run's state: running / finished, final ids or live, clock, counts, settings."""
        with self._lock:
            ids = {a.global_id for a in self._apps.values() if a.global_id is not None}
            return {
                "state": self._state,
                "final": self._final,
                "ticks": self._ticks,
                "now": round(self._now, 2),
                "clock": self.clock(self._now),
                "clock_kind": self.clock.kind,
                "identities": len(ids),
                "cameras": self.camera_names,
                "thumbnails": self.thumbnails,
                "settings": self.settings,
                "scores": self.scores,
            }

    def identities(self) -> list[dict[str, Any]]:
        """One card per global id: crops per camera, first/last seen, path, where now."""
        return self._cached("identities", lambda: [self._card(gid, apps) for gid, apps in sorted(self._groups().items())])

    def identity(self, global_id: int) -> dict[str, Any] | None:
        """One identity's card with every appearance (its timeline); ``None`` if unknown."""
        with self._lock:
            apps = self._groups().get(int(global_id))
            if not apps:
                return None
            card = self._card(int(global_id), apps)
            card["appearances"] = [self._appearance_dict(a) for a in apps]
            return card

    def cameras(self) -> list[dict[str, Any]]:
        """Per camera: health, the age of its last frame, who is there now (with boxes)."""
        with self._lock:
            wall = time.monotonic()
            out = []
            for i, cam in enumerate(self._cameras):
                h = cam.health
                state = "ended" if h.ended else "given up" if h.gave_up else "waiting" if cam.last_wall is None else "live"
                if self._state != "running" and state in ("live", "waiting"):
                    state = "ended"
                out.append({
                    "index": i,
                    "name": cam.name,
                    "state": state,
                    "fps": round(float(h.fps), 1),
                    "frames": int(h.frames),
                    "dropped": int(h.dropped),
                    "reconnects": int(h.reconnects),
                    "gave_up": bool(h.gave_up),
                    "last_frame_age_s": None if cam.last_wall is None else round(wall - cam.last_wall, 1),
                    "last_frame": cam.last_frame,
                    "size": list(cam.size) if cam.size else None,
                    "objects": list(cam.objects),
                    "people_now": sorted({o["id"] for o in cam.objects if o["id"] is not None}),
                })
            return out

    def events(self, since: int = 0, limit: int = 200) -> dict[str, Any]:
        """Events numbered after ``since`` (at most ``limit``, the newest).

        Returns:
            ``{"generation", "next", "events": [...]}``: a client keeps ``next``
            for its next call and starts again from 0 when ``generation``
            changes (the list was derived again from the final ids).
        """
        with self._lock:
            i = bisect.bisect_right([e.n for e in self._events], int(since))
            new = self._events[i:][-max(1, int(limit)):]
            return {
                "generation": self._generation,
                "next": self._next_event - 1,
                "events": [self._event_dict(e) for e in new],
            }

    def transitions(self) -> list[dict[str, Any]]:
        """Per ordered camera pair: people who went from one to the other, median travel time."""
        return self._cached("transitions", self._transitions)

    def thumbnail(self, global_id: int, camera: str | int) -> bytes | None:
        """The best crop of an identity in a camera (by name or index); ``None`` if none."""
        with self._lock:
            cam = self._camera_index(camera)
            if cam is None or not self.thumbnails:
                return None
            best = self._best(self._groups().get(int(global_id), []), cam)
            return None if best is None else best.thumb

    def appearance_thumbnail(self, n: int) -> bytes | None:
        """The crop of appearance ``n`` (``None`` if none)."""
        with self._lock:
            app = self._by_n.get(int(n))
            return None if app is None or not self.thumbnails or app.global_id is None else app.thumb

    def snapshot(self) -> dict[str, Any]:
        """Everything the pages show, at once (the report's data)."""
        with self._lock:
            cards = []
            for gid, apps in sorted(self._groups().items()):
                card = self._card(gid, apps)
                card["appearances"] = [self._appearance_dict(a) for a in apps]
                cards.append(card)
            return {
                "run": self.run(),
                "cameras": self.cameras(),
                "identities": cards,
                "transitions": self._transitions(),
                "events": self.events(0, MAX_EVENTS)["events"],
            }

    def tracklet_thumbs(self) -> dict[TrackletKey, bytes]:
        """Every labelled tracklet's crop (for writing thumbnails beside the report)."""
        with self._lock:
            if not self.thumbnails:
                return {}
            return {k: a.thumb for k, a in self._apps.items() if a.thumb is not None and a.global_id is not None}

    # -------------------------------------------------------------- internals
    def _cached(self, name: str, build):
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == self._version:
                return hit[1]
            value = build()
            self._cache[name] = (self._version, value)
            return value

    def _appearance(self, obj: Any, camera: int, frame: int, t: float) -> Appearance:
        key = (int(camera), int(obj.track_id), int(getattr(obj, "segment", 0)))
        app = self._apps.get(key)
        if app is None:
            app = Appearance(self._next_n, key[0], key[1], key[2], None, float(t), float(t), int(frame), int(frame))
            self._next_n += 1
            self._apps[key] = app
            self._by_n[app.n] = app
            if len(self._apps) > self.max_appearances:
                self._forget()
        return app

    def _forget(self) -> None:
        oldest = sorted(self._apps.values(), key=lambda a: a.last_time)[: max(1, len(self._apps) // 10)]
        for app in oldest:
            self._apps.pop(app.tracklet, None)
            self._by_n.pop(app.n, None)

    def _move(self, app: Appearance, gid: int | None) -> None:
        app.global_id = gid
        if gid is not None and not app.announced:
            app.announced = True
            event = self._person_event(app, [a for a in self._apps.values() if a.global_id == gid and a is not app], self._now)
            self._events.append(event)
            self._trim()

    def _person_event(self, app: Appearance, others: Sequence[Appearance], t: float, n: int | None = None) -> FeedEvent:
        gid, cam = int(app.global_id), self.camera_names[app.camera]  # type: ignore[arg-type]
        before = [a for a in others if a.first_time <= app.first_time]
        if not before:
            kind, text = "appeared", f"ID {gid} appeared in {cam}"
        else:
            prev = max(before, key=lambda a: a.last_time)
            gap = app.first_time - prev.last_time
            if prev.camera != app.camera:
                when = "seen by both cameras at once" if gap <= 0 else f"after {duration(gap)}"
                kind, text = "entered", f"ID {gid} entered {cam} from {self.camera_names[prev.camera]} {when}"
            else:
                kind, text = "returned", f"ID {gid} came back to {cam} after {duration(gap)}"
        if n is None:
            n = self._next_event
            self._next_event += 1
        return FeedEvent(n, float(t), kind, text, app.camera, (gid,), person=True)

    def _derive_person_events(self) -> list[FeedEvent]:
        out = []
        for gid, apps in self._groups().items():
            for i, app in enumerate(apps):
                out.append(self._person_event(app, apps[:i], app.first_time, n=0))
        return out

    def _reconcile(self, ids: Mapping[TrackletKey, int]) -> None:
        for key, app in self._apps.items():
            gid = ids.get(key)
            if gid is not None and gid != app.global_id:
                app.global_id = int(gid)

    def _add(self, t: Any, kind: str, text: str, camera: int | None = None, ids: tuple[int, ...] = ()) -> None:
        t = float(t) if isinstance(t, (int, float)) else self._now
        self._events.append(FeedEvent(self._next_event, t, kind, text, camera, tuple(int(i) for i in ids)))
        self._next_event += 1
        self._trim()

    def _trim(self) -> None:
        if len(self._events) > MAX_EVENTS:
            del self._events[: len(self._events) - MAX_EVENTS]

    def _add_tracker_event(self, e: dict[str, Any]) -> None:
        kind = str(e.get("event", ""))
        cam = e.get("camera")
        cam = int(cam) if isinstance(cam, int) and 0 <= cam < len(self.camera_names) else None
        where = f" in {self.camera_names[cam]}" if cam is not None else ""
        t = e.get("time", self._now)
        if kind == "appearance_change":
            gid = e.get("global_id")
            who = f"ID {gid}" if isinstance(gid, int) and gid >= 0 else "a person"
            self._add(t, "changed", f"{who}{where} looks like someone else now; identifying them again", cam,
                      (gid,) if isinstance(gid, int) and gid >= 0 else ())
        elif kind == "threshold_calibrated":
            source = e.get("source")
            pairs = f"{e.get('same_pairs', 0)} same-person and {e.get('different_pairs', 0)} different-person pairs"
            if source == "manual":
                text = f"Matching threshold {float(e.get('threshold', 0)):.2f}, set by hand"
            elif source == "footage":
                text = f"Matching threshold {float(e.get('threshold', 0)):.2f}, measured on the footage ({pairs})"
            else:
                why = "too little evidence" if source == "too_little_evidence" else "the model cannot tell these people apart"
                text = f"Nobody is linked across cameras yet: {why} ({pairs})"
            self._add(t, "calibrated", text)
        elif kind == "final_identities":
            self._add(t, "final", f"Whole run re-grouped: {e.get('global_ids')} people in {e.get('tracklets')} "
                      f"tracklets (live view had {e.get('online_global_ids')})")
        elif kind == "camera_message":
            self._add(t, "camera", str(e.get("message", "")))
        elif kind == "stream_end":
            self._add(t, "camera", f"{self.camera_names[cam] if cam is not None else 'a camera'}: stream ended", cam)
        else:  # a kind this feed does not know yet: its name and ids in words, never -1
            ids = [int(v) for k, v in e.items() if k not in ("camera", "frame", "track", "time", "event")
                   and isinstance(v, int) and not isinstance(v, bool) and v >= 0 and ("id" in k or k in ("kept", "removed", "new"))]
            self._add(t, kind.replace("_", " "), f"{kind.replace('_', ' ').capitalize()}{where}"
                      + (": " + ", ".join(f"ID {i}" for i in ids) if ids else ""), cam, tuple(ids))

    def _groups(self) -> dict[int, list[Appearance]]:
        groups: dict[int, list[Appearance]] = {}
        for app in self._apps.values():
            if app.global_id is not None:
                groups.setdefault(app.global_id, []).append(app)
        for apps in groups.values():
            apps.sort(key=lambda a: (a.first_time, a.camera, a.n))
        return groups

    def _best(self, apps: Sequence[Appearance], camera: int) -> Appearance | None:
        with_thumb = [a for a in apps if a.camera == camera and a.thumb is not None]
        return max(with_thumb, key=lambda a: a.quality) if with_thumb else None

    def _camera_index(self, camera: str | int) -> int | None:
        if isinstance(camera, int) or (isinstance(camera, str) and camera.isdigit() and camera not in self.camera_names):
            i = int(camera)
            return i if 0 <= i < len(self.camera_names) else None
        return self.camera_names.index(camera) if camera in self.camera_names else None

    def _visits(self, apps: Sequence[Appearance]) -> list[dict[str, Any]]:
        """Consecutive appearances in one camera joined: the person's path."""
        visits: list[dict[str, Any]] = []
        for app in apps:
            if visits and visits[-1]["camera_index"] == app.camera:
                v = visits[-1]
                v["to"] = max(v["to"], app.last_time)
                continue
            travel = None if not visits else app.first_time - max(v["to"] for v in visits)
            visits.append({"camera_index": app.camera, "from": app.first_time, "to": app.last_time, "travel_s": travel})
        for v in visits:
            v["camera"] = self.camera_names[v["camera_index"]]
            v["from_clock"], v["to_clock"] = self.clock(v["from"]), self.clock(v["to"])
            v["from"], v["to"] = round(v["from"], 2), round(v["to"], 2)
            if v["travel_s"] is not None:
                v["travel_s"] = round(max(0.0, v["travel_s"]), 1)
        return visits

    def _card(self, gid: int, apps: Sequence[Appearance]) -> dict[str, Any]:
        first = min(apps, key=lambda a: a.first_time)
        last = max(apps, key=lambda a: a.last_time)
        now = sorted({self.camera_names[a.camera] for a in apps if self._present(a)}) if self._state == "running" else []
        cams = sorted({a.camera for a in apps})
        thumbs = {}
        if self.thumbnails:
            for c in cams:
                best = self._best(apps, c)
                if best is not None:
                    thumbs[self.camera_names[c]] = f"/api/identities/{gid}/{self.camera_names[c]}.jpg?v={best.n}.{best.thumb_version}"
        path = self._visits(apps)
        return {
            "id": gid,
            "colour": hex_colour(gid),
            "first_seen": {"t": round(first.first_time, 2), "clock": self.clock(first.first_time), "camera": self.camera_names[first.camera]},
            "last_seen": {"t": round(last.last_time, 2), "clock": self.clock(last.last_time), "camera": self.camera_names[last.camera]},
            "cameras": [v["camera"] for v in path],
            "path": path,
            "now": now,
            "thumbnails": thumbs,
            "appearance_count": len(apps),
            "boxes": sum(a.boxes for a in apps),
        }

    def _present(self, app: Appearance) -> bool:
        cam = self._cameras[app.camera]
        return cam.last_frame == app.last_frame and self._now - app.last_time <= PRESENT_SECONDS

    def _appearance_dict(self, app: Appearance) -> dict[str, Any]:
        out = {
            "n": app.n,
            "camera": self.camera_names[app.camera],
            "camera_index": app.camera,
            "track": app.track,
            "segment": app.segment,
            "first_frame": app.first_frame,
            "last_frame": app.last_frame,
            "from": round(app.first_time, 2),
            "to": round(app.last_time, 2),
            "from_clock": self.clock(app.first_time),
            "to_clock": self.clock(app.last_time),
            "boxes": app.boxes,
            "now": self._state == "running" and self._present(app),
        }
        if self.thumbnails and app.thumb is not None:
            out["thumbnail"] = f"/api/appearances/{app.n}.jpg?v={app.thumb_version}"
        return out

    def _event_dict(self, e: FeedEvent) -> dict[str, Any]:
        return {
            "n": e.n,
            "t": round(e.time, 2),
            "clock": self.clock(e.time),
            "kind": e.kind,
            "text": e.text,
            "camera": None if e.camera is None else self.camera_names[e.camera],
            "ids": list(e.ids),
        }

    def _transitions(self) -> list[dict[str, Any]]:
        pairs: dict[tuple[int, int], list[tuple[int, float]]] = {}
        for gid, apps in self._groups().items():
            visits = self._visits(apps)
            for a, b in zip(visits, visits[1:]):
                pairs.setdefault((a["camera_index"], b["camera_index"]), []).append((gid, b["travel_s"] or 0.0))
        out = []
        for (a, b), moves in sorted(pairs.items()):
            travel = [t for _, t in moves]
            people = Counter(g for g, _ in moves)
            out.append({
                "from": self.camera_names[a],
                "to": self.camera_names[b],
                "people": len(people),
                "transitions": len(moves),
                "median_travel_s": round(float(np.median(travel)), 1),
                "min_travel_s": round(min(travel), 1),
                "max_travel_s": round(max(travel), 1),
                "ids": sorted(people),
            })
        return out


#: Tracker events the feed does not list (the appearances say it better).
_SILENT = frozenset({"track_start", "track_end", "global_id_assigned", "handoff", "reentry"})
#: Tracker events that never change who is who.
_ROUTINE = frozenset({"threshold_calibrated", "camera_message", "stream_end", "final_identities"})
