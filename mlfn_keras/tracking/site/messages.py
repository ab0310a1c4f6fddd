"""What edges and the central say to each other, and how it looks on the wire.

Keys and streams of a site (``NS`` is the namespace, ``mlfn`` by default):

* ``NS:up:EDGE`` (stream): one :class:`EdgeMessage` per edge tick, entry id
  ``{tick}-1``; fields ``h`` (JSON header: edge, epoch, tick, previous tick,
  send time, per camera: frame, capture time, boxes, track ids, starts, ends,
  which embeddings) and ``e`` (the embeddings, raw little-endian float32, or
  float16 with ``--fp16``);
* ``NS:edges`` (hash): edge name → its :class:`EdgeHello` (cameras, frame
  rates, epoch, protocol version);
* ``NS:alive:EDGE`` (key with a 3 s expiry, refreshed every second): the edge runs;
* ``NS:ids`` (stream): one :class:`IdUpdate` per committed tick, central →
  edges: the global ids given and merged;
* ``NS:checkpoint`` and ``NS:lease``: the central's state and who is the
  active central.

Boxes travel as JSON numbers (Python writes floats so they read back
exactly) and features as float32, so the central computes on exactly what
the edge computed: a site gives the same answer as one box.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from mlfn_keras.tracking.core.updates import CameraTick, TrackEmbedding

#: Version of the message format; a central refuses messages from a newer one.
PROTOCOL_VERSION = 1
#: Default namespace of a site's keys.
NAMESPACE = "mlfn"


class ProtocolError(ValueError):
    """A message this central cannot read (malformed, or from a newer protocol version)."""


@dataclass(frozen=True)
class Keys:
    """The broker keys of one site (see the module docstring)."""

    namespace: str = NAMESPACE

    def up(self, edge: str) -> str:
        return f"{self.namespace}:up:{edge}"

    def alive(self, edge: str) -> str:
        return f"{self.namespace}:alive:{edge}"

    @property
    def edges(self) -> str:
        return f"{self.namespace}:edges"

    @property
    def ids(self) -> str:
        return f"{self.namespace}:ids"

    @property
    def checkpoint(self) -> str:
        return f"{self.namespace}:checkpoint"

    @property
    def lease(self) -> str:
        return f"{self.namespace}:lease"

    #: The central's consumer group on every edge stream.
    group: str = "central"


@dataclass
class EdgeHello:
    """An edge introducing itself (``NS:edges``).

    Attributes:
        edge: its name (unique on the site).
        cameras: its cameras' names (unique on the site).
        fps: their frame rates.
        epoch: bumped on every restart of the edge.
        recorded: its cameras are recorded files (ticks are frame positions,
            every tick is published); ``False``: live cameras.
        host: the machine it runs on.
        tick_hz: live edges: ticks per second (a tick is a capture time in ``1/tick_hz`` steps).
        version: its protocol version.
    """

    edge: str
    cameras: list[str]
    fps: list[float]
    epoch: int = 0
    recorded: bool = True
    host: str = ""
    tick_hz: float = 30.0
    version: int = PROTOCOL_VERSION

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> EdgeHello:
        try:
            d = json.loads(data)
            version = int(d.get("version", 0))
            if version > PROTOCOL_VERSION:
                raise ProtocolError(f"protocol version {version}; this central reads up to {PROTOCOL_VERSION}")
            return cls(str(d["edge"]), [str(c) for c in d["cameras"]], [float(f) for f in d["fps"]], int(d["epoch"]),
                       bool(d["recorded"]), str(d.get("host", "")), float(d.get("tick_hz", 30.0)), version)
        except ProtocolError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"unreadable edge registration ({exc!r})") from None


@dataclass
class EdgeMessage:
    """One edge tick.

    Attributes:
        edge: the edge's name.
        epoch: the edge's epoch (bumped on restart).
        tick: the tick (frame position for recorded files; capture time in
            ``1/tick_hz`` steps for live cameras); also the stream entry id.
        prev: the edge's previously published tick (``-1``: none), so the
            central knows when it holds every tick up to this one.
        t_sent: when the edge published it (edge clock, seconds since 1970).
        cameras: per camera (``camera`` = index on the edge), what changed.
        reset: first message of a new epoch: the central ends the tracks the
            edge had before its restart.
        done: the edge's last message (its recorded files ended).
        version: protocol version.
    """

    edge: str
    epoch: int
    tick: int
    prev: int = -1
    t_sent: float = 0.0
    cameras: list[CameraTick] = field(default_factory=list)
    reset: bool = False
    done: bool = False
    version: int = PROTOCOL_VERSION

    @property
    def entry_id(self) -> str:
        return f"{self.tick}-1"

    @property
    def essential(self) -> bool:
        """Whether it carries more than boxes (see :attr:`CameraTick.essential`)."""
        return self.reset or self.done or any(c.essential for c in self.cameras)


def encode_message(msg: EdgeMessage, fp16: bool = False) -> dict[str, bytes]:
    """The stream fields of a message: ``h`` (JSON) and ``e`` (the embeddings' bytes)."""
    feats, cams = [], []
    for c in msg.cameras:
        emb = []
        for e in c.embeddings:
            feats.append(np.asarray(e.feature, np.float32).ravel())
            emb.append([int(e.track), int(e.segment), int(e.new_segment), int(e.identified)])
        cams.append({
            "c": int(c.camera), "f": int(c.frame), "t": float(c.timestamp),
            "ids": [int(t) for t in c.track_ids], "boxes": [[float(v) for v in b] for b in c.boxes],
            "scores": [float(s) for s in c.scores], "started": [int(t) for t in c.started],
            "ended": [int(t) for t in c.ended], "emb": emb, "eos": bool(c.end_of_stream),
        })
    dim = int(feats[0].size) if feats else 0
    header = {"v": msg.version, "edge": msg.edge, "epoch": msg.epoch, "tick": msg.tick, "prev": msg.prev,
              "t_sent": msg.t_sent, "reset": msg.reset, "done": msg.done, "dim": dim,
              "dtype": "<f2" if fp16 else "<f4", "cams": cams}
    blob = np.concatenate(feats).astype("<f2" if fp16 else "<f4").tobytes() if feats else b""
    return {"h": json.dumps(header, separators=(",", ":")).encode(), "e": blob}


def decode_message(fields: Mapping[bytes, bytes] | None) -> EdgeMessage:
    """Reads :func:`encode_message`'s fields back.

    Raises:
        ProtocolError: malformed, or written by a newer protocol version.
    """
    if not fields:
        raise ProtocolError("empty entry (trimmed from the stream before it was read)")
    try:
        h = json.loads(fields[b"h"])
        version = int(h.get("v", 0))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"unreadable message header ({exc!r})") from None
    if version > PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {version} from edge {h.get('edge')!r}; this central reads up to "
                            f"{PROTOCOL_VERSION} (upgrade the central first)")
    try:
        dim = int(h["dim"])
        feats = np.frombuffer(fields.get(b"e", b""), np.dtype(h["dtype"])).astype(np.float32)
        feats = feats.reshape(-1, dim) if dim else np.zeros((0, 0), np.float32)
        row, cams = 0, []
        for c in h["cams"]:
            emb = []
            for track, segment, new, identified in c["emb"]:
                emb.append(TrackEmbedding(int(track), int(segment), feats[row].copy(), bool(new), bool(identified)))
                row += 1
            cams.append(CameraTick(
                int(c["c"]), int(c["f"]), float(c["t"]), np.asarray(c["ids"], int).reshape(-1),
                np.asarray(c["boxes"], np.float64).reshape(-1, 4), np.asarray(c["scores"], np.float32).reshape(-1),
                [int(t) for t in c["started"]], [int(t) for t in c["ended"]], emb, bool(c["eos"]),
            ))
        return EdgeMessage(str(h["edge"]), int(h["epoch"]), int(h["tick"]), int(h["prev"]), float(h["t_sent"]), cams,
                           bool(h["reset"]), bool(h["done"]), version)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ProtocolError(f"malformed message from edge {h.get('edge')!r} ({exc!r})") from None


@dataclass
class IdUpdate:
    """The central's answer to one committed tick (``NS:ids``).

    Attributes:
        seq: the central's commit number (the entry id is ``{seq}-1``, so a
            restarted central re-publishing a commit cannot duplicate it).
        tick: the committed tick.
        assigned: ``[edge, epoch, camera_on_edge, track, segment, global_id]``
            for each track given an id in this tick.
        merged: ``[kept, removed]`` global ids folded together.
        timing: per edge ``[t_sent, t_received, t_committed, t_published]``
            (seconds; edge clock for the first, central clock for the rest),
            for the latency split by hop.
    """

    seq: int
    tick: int
    assigned: list[list] = field(default_factory=list)
    merged: list[list[int]] = field(default_factory=list)
    timing: dict[str, list[float]] = field(default_factory=dict)

    @property
    def entry_id(self) -> str:
        return f"{self.seq}-1"

    def encode(self) -> dict[str, bytes]:
        return {"u": json.dumps(asdict(self), separators=(",", ":")).encode()}

    @classmethod
    def decode(cls, fields: Mapping[bytes, bytes]) -> IdUpdate:
        try:
            d = json.loads(fields[b"u"])
            return cls(int(d["seq"]), int(d["tick"]), list(d["assigned"]), list(d["merged"]), dict(d["timing"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise ProtocolError(f"unreadable id update ({exc!r})") from None
