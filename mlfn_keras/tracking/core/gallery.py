"""Cross-camera identity gallery: gives tracks global ids by appearance.

Every global identity keeps a small bank of appearance features (one smoothed,
L2-normalised embedding per track that carried the identity), so a person
seen from the side under one camera's lighting and from the front under
another's are both on file. A track asking for an id is compared by cosine
similarity with every identity (the best match in its bank); per camera, all
requests of one tick are solved together with the Hungarian algorithm
(``scipy.optimize.linear_sum_assignment``), so

* a match must reach ``threshold``, otherwise a new identity is made;
* one global id is never given to two tracks of the same camera at the same
  time: identities already held by a live track in that camera are excluded,
  and the assignment gives each identity to at most one request;
* re-entry into the same camera is the same case as a hand-off: the track that
  carried the identity has ended, so the identity is free there again;
* identities unseen for ``expiry_seconds`` are forgotten;
* times are the observations' own timestamps (each camera's clock), never
  the time of the tick that happens to carry them, so cameras whose streams
  run at different points of the common clock (recordings replayed with
  their start times, edges whose clocks differ) are compared by when the
  person was actually seen.

The pipeline uses one entry point, :meth:`IdentityGallery.commit`, once per
tick with every live track: it files the features of tracks that have an id,
gives ids to the tracks that are ready (per camera, excluding ids busy there),
marks live identities as seen and forgets expired ones, always in that order.
:meth:`IdentityGallery.merge` folds one identity into another when later
evidence says they are one person, and :meth:`IdentityGallery.reassign` moves
tracks from one identity to another (or to a new one) when it says part of an
identity is someone else.

Example:

    gallery = IdentityGallery(threshold=0.6)
    new = gallery.commit({(0, 3): LiveTrack(camera=0, feature=f, global_id=None, ready=True)}, now=1.2)
    new[(0, 3)].global_id
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

_FORBIDDEN = -1e6


@dataclass
class Identity:
    """One global identity.

    Attributes:
        global_id: the id shown to users (1, 2, ...).
        bank: smoothed features keyed by the track that produced them.
        first_seen: time (s) of the first observation.
        last_seen: time (s) of the last observation.
        last_camera: camera of the last observation.
        cameras: every camera that has seen it.
    """

    global_id: int
    bank: OrderedDict = field(default_factory=OrderedDict)
    first_seen: float = 0.0
    last_seen: float = 0.0
    last_camera: int = -1
    cameras: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Assignment:
    """The answer to one request.

    Attributes:
        global_id: the id given.
        similarity: cosine similarity to the matched identity (``nan`` if new).
        new: whether a new identity was created.
        previous_camera: the camera that last saw a matched identity (-1 if new).
    """

    global_id: int
    similarity: float
    new: bool
    previous_camera: int


@dataclass(frozen=True)
class LiveTrack:
    """A live track as the gallery sees it at a commit.

    Attributes:
        camera: its camera.
        feature: its smoothed L2-normalised feature (``None`` before any embedding).
        global_id: its id, ``None`` if it has none yet.
        ready: whether it has enough evidence to be given an id.
        time: timestamp of its latest frame, on its camera's clock (``None``:
            the commit's ``now``).
        reserved: an id held back for this track (:meth:`IdentityGallery.reserve`),
            used if it turns out to be a new person.
    """

    camera: int
    feature: np.ndarray | None
    global_id: int | None
    ready: bool
    time: float | None = None
    reserved: int | None = None


def _camera_of(track_key: Hashable) -> int | None:
    """The camera of a bank entry keyed ``(camera, track_id)`` (``None`` for other keys)."""
    return track_key[0] if isinstance(track_key, tuple) and track_key and isinstance(track_key[0], (int, np.integer)) else None


class IdentityGallery:
    """The gallery of global identities.

    Args:
        threshold: minimum cosine similarity to reuse an identity.
        expiry_seconds: identities unseen this long are removed.
        bank_size: features kept per identity (oldest dropped first).
        max_gap_seconds: an identity seen more than this long before (or
            after) a new track's frame is not given to it, in any camera: a
            first id is committed only on fresh evidence (a hand-off, a short
            occlusion); a person who comes back later gets a new id, which the
            online reviser merges when the whole picture supports it.
            ``None``: no limit.
    """

    def __init__(self, threshold: float = 0.6, expiry_seconds: float = 300.0, bank_size: int = 8,
                 max_gap_seconds: float | None = None):
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity in [-1, 1]; got {threshold}.")
        if bank_size < 1:
            raise ValueError(f"bank_size must be >= 1, got {bank_size}.")
        self.threshold = float(threshold)
        self.expiry_seconds = float(expiry_seconds)
        self.bank_size = int(bank_size)
        self.identities: dict[int, Identity] = {}
        self._next_id = 1
        #: subtracted before comparing: the footage's mean embedding, or a
        #: mapping camera → that camera's mean (``None``: raw cosine); set by
        #: the pipeline as it recalibrates.
        self.centre: np.ndarray | Mapping[int, np.ndarray] | None = None
        #: an identity unseen for longer than this is not given to a new track
        #: (``None``: no limit).
        self.max_gap_seconds: float | None = max_gap_seconds
        #: cameras whose clock is not known to agree with the others': an
        #: identity seen in one of them is not given to a track of another
        #: camera (or the other way round) unless the two views were found to
        #: overlap (:attr:`overlapping`).
        self.unsynced: frozenset[int] = frozenset()
        #: camera pairs ``(a, b)``, ``a < b``, found to see the same ground.
        self.overlapping: set[tuple[int, int]] = set()

    def _apart(self, camera: int, ident: Identity) -> bool:
        """Whether an identity was seen in a camera whose clock cannot be compared with ``camera``'s."""
        for other in ident.cameras:
            if other != camera and (other in self.unsynced or camera in self.unsynced):
                if (min(camera, other), max(camera, other)) not in self.overlapping:
                    return True
        return False

    def _centred(self, x: np.ndarray, camera: int | None = None) -> np.ndarray:
        centre = self.centre.get(camera) if isinstance(self.centre, Mapping) else self.centre
        if centre is None:
            return x
        x = x - centre
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    def __len__(self) -> int:
        return len(self.identities)

    def similarities(self, features: np.ndarray, camera: int | None = None) -> tuple[np.ndarray, list[int]]:
        """Cosine similarity of each feature to each identity (best over its bank).

        Args:
            features: ``(N, d)`` L2-normalised features.
            camera: the camera they come from (for per-camera centring).

        Returns:
            ``(sim, ids)``: ``(N, G)`` similarities and the ``G`` global ids.
        """
        ids = list(self.identities)
        features = self._centred(np.asarray(features, np.float32).reshape(len(features), -1), camera)
        sim = np.full((len(features), len(ids)), -1.0, np.float32)
        for j, gid in enumerate(ids):
            bank = self.identities[gid].bank
            if bank and len(features):
                # each stored feature is centred by the camera of the track that filed it
                centred = np.stack([self._centred(f, _camera_of(k)) for k, f in bank.items()])
                sim[:, j] = (features @ centred.T).max(axis=1)
        return sim, ids

    def assign(
        self,
        camera: int,
        requests: Mapping[Hashable, np.ndarray],
        now: float,
        busy: set[int] | frozenset[int] = frozenset(),
        reserved: Mapping[Hashable, int] | None = None,
    ) -> dict[Hashable, Assignment]:
        """Gives each requesting track of one camera a global id.

        Args:
            camera: the camera all requests come from.
            requests: track key → L2-normalised feature ``(d,)``.
            now: the time of the requests' frame, on that camera's clock.
            busy: global ids held by other live tracks in this camera, which
                these requests may not take.
            reserved: track key → the id held back for it (:meth:`reserve`),
                which it keeps if it is a new person.

        Returns:
            track key → :class:`Assignment`. Matched and new identities are
            recorded as seen now in ``camera``; call :meth:`observe` to add
            the track's feature to the bank.
        """
        keys = list(requests)
        if not keys:
            return {}
        feats = np.stack([np.asarray(requests[k], np.float32).ravel() for k in keys])
        sim, ids = self.similarities(feats, camera)
        score = sim.copy()
        for j, gid in enumerate(ids):
            ident = self.identities[gid]
            # the gap to the identity's whole span: a camera whose stream runs
            # behind another's may see a person before the other did
            gap = max(now - ident.last_seen, ident.first_seen - now, 0.0)
            too_late = self.max_gap_seconds is not None and gap > self.max_gap_seconds
            if gid in busy or too_late or (self.unsynced and self._apart(camera, ident)):
                score[:, j] = _FORBIDDEN
        score[score < self.threshold] = _FORBIDDEN
        out: dict[Hashable, Assignment] = {}
        if ids:
            rows, cols = linear_sum_assignment(score, maximize=True)
            for r, c in zip(rows, cols):
                if score[r, c] <= _FORBIDDEN / 2:
                    continue
                gid = ids[c]
                ident = self.identities[gid]
                out[keys[r]] = Assignment(gid, float(sim[r, c]), False, ident.last_camera)
                ident.cameras.add(camera)
                self._seen(ident, camera, now)
        for key in keys:
            if key not in out:
                gid = (reserved or {}).get(key)
                if gid is None or gid in self.identities:
                    gid = self.reserve()
                self.identities[gid] = Identity(gid, first_seen=now, last_seen=now, last_camera=camera, cameras={camera})
                out[key] = Assignment(gid, float("nan"), True, -1)
        return out

    def commit(self, tracks: Mapping[Hashable, LiveTrack], now: float) -> dict[Hashable, Assignment]:
        """The one per-tick update: file, assign, touch, expire.

        Args:
            tracks: every live track, keyed by ``(camera, track_id)`` (any hashable).
            now: current time in seconds (the latest frame's; forgets
                identities by it); a track's own ``time``, where given, dates
                its observation.

        Returns:
            track key → :class:`Assignment` for the tracks given an id now.
        """
        def when(t: LiveTrack) -> float:
            return now if t.time is None else float(t.time)

        for key, t in tracks.items():
            if t.global_id is not None and t.feature is not None:
                self.observe(t.global_id, key, t.feature, t.camera, when(t))
        assigned: dict[Hashable, Assignment] = {}
        for cam in sorted({t.camera for t in tracks.values()}):
            busy = {t.global_id for t in tracks.values() if t.camera == cam and t.global_id is not None}
            ready = {k: t for k, t in tracks.items() if t.camera == cam and t.global_id is None and t.ready and t.feature is not None}
            requests = {k: t.feature for k, t in ready.items()}
            cam_now = max((when(t) for t in ready.values()), default=now)
            held = {k: t.reserved for k, t in ready.items() if t.reserved is not None}
            for key, a in self.assign(cam, requests, cam_now, busy, held).items():
                self.observe(a.global_id, key, requests[key], cam, when(ready[key]))
                assigned[key] = a
        for t in tracks.values():
            if t.global_id is not None:
                self.touch(t.global_id, t.camera, when(t))
        self.expire(now)
        return assigned

    def merge(self, kept: int, removed: int) -> None:
        """Folds identity ``removed`` into ``kept`` (banks joined, newest kept)."""
        gone = self.identities.pop(removed, None)
        if gone is None or removed == kept:
            return
        ident = self.identities.setdefault(kept, Identity(kept, first_seen=gone.first_seen))
        for k, f in gone.bank.items():
            ident.bank[k] = f
        while len(ident.bank) > self.bank_size:
            ident.bank.popitem(last=False)
        ident.cameras |= gone.cameras
        ident.first_seen = min(ident.first_seen, gone.first_seen)
        if gone.last_seen > ident.last_seen:
            ident.last_seen, ident.last_camera = gone.last_seen, gone.last_camera

    def reserve(self) -> int:
        """A new id that no identity has: held back for a track until it has enough evidence."""
        gid = self._next_id
        self._next_id += 1
        return gid

    def reassign(self, track_keys: Iterable[Hashable], source: int, target: int | None, span: tuple[float, float, int]) -> int:
        """Moves tracks from identity ``source`` to ``target`` (``None``: a new identity); returns the target's id.

        What a split does: the moving tracks' bank entries leave ``source``
        and join ``target``, which also takes the moving part's time span.

        Args:
            track_keys: the moving tracks (bank keys, ``(camera, track_id)``).
            source: the identity they leave.
            target: the identity they join, ``None`` for a new one.
            span: ``(first_seen, last_seen, last_camera)`` of the moving part.
        """
        first, last, camera = span
        if target is None:
            target = self.reserve()
            self.identities[target] = Identity(target, first_seen=first, last_seen=last, last_camera=camera)
        ident = self.identities.setdefault(target, Identity(target, first_seen=first, last_seen=last, last_camera=camera))
        gone = self.identities.get(source)
        for key in track_keys:
            feature = gone.bank.pop(key, None) if gone is not None else None
            if feature is not None:
                ident.bank[key] = feature
            cam = _camera_of(key)
            if cam is not None:
                ident.cameras.add(cam)
        while len(ident.bank) > self.bank_size:
            ident.bank.popitem(last=False)
        ident.first_seen = min(ident.first_seen, first)
        if last >= ident.last_seen:
            ident.last_seen, ident.last_camera = last, camera
        return target

    def _seen(self, ident: Identity, camera: int, when: float) -> None:
        """Widens an identity's span to an observation at ``when`` in ``camera``."""
        ident.first_seen = min(ident.first_seen, when)
        if when >= ident.last_seen:
            ident.last_seen, ident.last_camera = when, camera

    def observe(self, global_id: int, track_key: Hashable, feature: np.ndarray, camera: int, now: float) -> None:
        """Records a track's current (smoothed) feature for its identity."""
        ident = self.identities.get(global_id)
        if ident is None:  # expired while the track was away; bring it back
            ident = Identity(global_id, first_seen=now, last_seen=now, last_camera=camera)
            self.identities[global_id] = ident
        ident.bank[track_key] = np.asarray(feature, np.float32).ravel()
        ident.bank.move_to_end(track_key)
        while len(ident.bank) > self.bank_size:
            ident.bank.popitem(last=False)
        self._seen(ident, camera, now)
        ident.cameras.add(camera)

    def touch(self, global_id: int, camera: int, now: float) -> None:
        """Marks an identity as seen (its track is alive) without a new feature."""
        ident = self.identities.get(global_id)
        if ident is not None:
            self._seen(ident, camera, now)

    def expire(self, now: float) -> list[int]:
        """Removes identities unseen for ``expiry_seconds``; returns their ids."""
        gone = [g for g, ident in self.identities.items() if now - ident.last_seen > self.expiry_seconds]
        for g in gone:
            del self.identities[g]
        return gone
