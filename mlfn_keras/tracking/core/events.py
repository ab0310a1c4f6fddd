"""Typed events of the multi-camera tracker, one dataclass per kind.

Every event has a ``kind`` (the ``"event"`` field of ``events.jsonl``), the
camera and frame it happened in (``-1`` for run-wide events) and the time in
seconds; :meth:`Event.to_dict` is what the recorder writes. Kinds:

* ``track_start`` / ``track_end``: a per-camera track is confirmed / dropped;
* ``global_id_assigned``: a track got a global id (``new`` or matched);
* ``handoff`` / ``reentry``: the matched identity was last seen in another /
  the same camera;
* ``appearance_change``: a **split**: a track's look changed (the tracker
  jumped to another person): it gives its global id back, starts a new
  tracklet and is re-identified;
* ``identities_merged``: later evidence says two global ids are one person;
  ``removed`` is folded into ``kept`` (live revision, online mode);
* ``threshold_calibrated``: the association threshold measured on the
  footage (or the manual value) and the evidence behind it;
* ``final_identities``: the offline re-clustering of the whole run, whose ids
  replace the online ones in ``mot/``;
* ``stream_end``: a camera's stream ended (or was given up); ``frame`` is one
  past its last frame;
* ``camera_message``: a fault report from a camera (or, on a site, an edge)
  for people to read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events."""

    kind: ClassVar[str] = "event"
    camera: int
    frame: int
    time: float

    def to_dict(self) -> dict[str, Any]:
        """``{"event": kind, ...fields}`` with floats rounded for the log."""
        out: dict[str, Any] = {"event": self.kind}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float):
                v = None if v != v else round(v, 4)  # NaN -> null
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def __getitem__(self, name: str) -> Any:
        """``event["event"]`` / ``event["camera"]``: reads like the logged dict."""
        return self.to_dict()[name]


@dataclass(frozen=True)
class TrackStart(Event):
    kind: ClassVar[str] = "track_start"
    track: int


@dataclass(frozen=True)
class TrackEnd(Event):
    kind: ClassVar[str] = "track_end"
    track: int
    global_id: int | None


@dataclass(frozen=True)
class GlobalIdAssigned(Event):
    kind: ClassVar[str] = "global_id_assigned"
    track: int
    global_id: int
    new: bool
    similarity: float | None


@dataclass(frozen=True)
class Handoff(Event):
    kind: ClassVar[str] = "handoff"
    track: int
    global_id: int
    from_camera: int
    similarity: float | None


@dataclass(frozen=True)
class Reentry(Handoff):
    kind: ClassVar[str] = "reentry"


@dataclass(frozen=True)
class AppearanceChange(Event):
    kind: ClassVar[str] = "appearance_change"
    track: int
    global_id: int


@dataclass(frozen=True)
class IdentitiesMerged(Event):
    kind: ClassVar[str] = "identities_merged"
    kept: int
    removed: int
    similarity: float


@dataclass(frozen=True)
class ThresholdCalibrated(Event):
    kind: ClassVar[str] = "threshold_calibrated"
    threshold: float
    source: str
    same_pairs: int
    different_pairs: int
    same_median: float | None = None
    different_high: float | None = None


@dataclass(frozen=True)
class FinalIdentities(Event):
    kind: ClassVar[str] = "final_identities"
    threshold: float
    tracklets: int
    global_ids: int
    online_global_ids: int


@dataclass(frozen=True)
class StreamEnd(Event):
    kind: ClassVar[str] = "stream_end"


@dataclass(frozen=True)
class CameraMessage(Event):
    kind: ClassVar[str] = "camera_message"
    message: str


def as_dict(event: Event | dict[str, Any]) -> dict[str, Any]:
    """What goes into ``events.jsonl`` for a typed event or a plain dict."""
    return event.to_dict() if isinstance(event, Event) else dict(event)
