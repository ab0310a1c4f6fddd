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
* identities unseen for ``expiry_seconds`` are forgotten.

The pipeline uses one entry point, :meth:`IdentityGallery.commit`, once per
tick with every live track: it files the features of tracks that have an id,
gives ids to the tracks that are ready (per camera, excluding ids busy there),
marks live identities as seen and forgets expired ones, always in that order.
:meth:`IdentityGallery.merge` folds one identity into another when later
evidence says they are one person.

Example:

    gallery = IdentityGallery(threshold=0.6)
    new = gallery.commit({(0, 3): LiveTrack(camera=0, feature=f, global_id=None, ready=True)}, now=1.2)
    new[(0, 3)].global_id
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
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
        first_seen: time (s) the identity was created.
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
    """

    camera: int
    feature: np.ndarray | None
    global_id: int | None
    ready: bool


def _camera_of(track_key: Hashable) -> int | None:
    """The camera of a bank entry keyed ``(camera, track_id)`` (``None`` for other keys)."""
    return track_key[0] if isinstance(track_key, tuple) and track_key and isinstance(track_key[0], (int, np.integer)) else None


class IdentityGallery:
    """The gallery of global identities.

    Args:
        threshold: minimum cosine similarity to reuse an identity.
        expiry_seconds: identities unseen this long are removed.
        bank_size: features kept per identity (oldest dropped first).
        max_gap_seconds: an identity unseen for longer than this is not given
            to a new track, in any camera: a first id is committed only on
            fresh evidence (a hand-off, a short occlusion); a person who
            comes back later gets a new id, which the online reviser merges
            when the whole picture supports it. ``None``: no limit.
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
    ) -> dict[Hashable, Assignment]:
        """Gives each requesting track of one camera a global id.

        Args:
            camera: the camera all requests come from.
            requests: track key → L2-normalised feature ``(d,)``.
            now: current time in seconds.
            busy: global ids held by other live tracks in this camera, which
                these requests may not take.

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
            too_late = self.max_gap_seconds is not None and now - ident.last_seen > self.max_gap_seconds
            if gid in busy or too_late:
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
                ident.last_seen, ident.last_camera = now, camera
                ident.cameras.add(camera)
        for key in keys:
            if key not in out:
                gid = self._next_id
                self._next_id += 1
                self.identities[gid] = Identity(gid, first_seen=now, last_seen=now, last_camera=camera, cameras={camera})
                out[key] = Assignment(gid, float("nan"), True, -1)
        return out

    def commit(self, tracks: Mapping[Hashable, LiveTrack], now: float) -> dict[Hashable, Assignment]:
        """The one per-tick update: file, assign, touch, expire.

        Args:
            tracks: every live track, keyed by ``(camera, track_id)`` (any hashable).
            now: current time in seconds.

        Returns:
            track key → :class:`Assignment` for the tracks given an id now.
        """
        for key, t in tracks.items():
            if t.global_id is not None and t.feature is not None:
                self.observe(t.global_id, key, t.feature, t.camera, now)
        assigned: dict[Hashable, Assignment] = {}
        for cam in sorted({t.camera for t in tracks.values()}):
            busy = {t.global_id for t in tracks.values() if t.camera == cam and t.global_id is not None}
            requests = {
                k: t.feature for k, t in tracks.items() if t.camera == cam and t.global_id is None and t.ready and t.feature is not None
            }
            for key, a in self.assign(cam, requests, now, busy).items():
                self.observe(a.global_id, key, requests[key], cam, now)
                assigned[key] = a
        for t in tracks.values():
            if t.global_id is not None:
                self.touch(t.global_id, t.camera, now)
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

    def observe(self, global_id: int, track_key: Hashable, feature: np.ndarray, camera: int, now: float) -> None:
        """Records a track's current (smoothed) feature for its identity."""
        ident = self.identities.get(global_id)
        if ident is None:  # expired while the track was away; bring it back
            ident = Identity(global_id, first_seen=now)
            self.identities[global_id] = ident
        ident.bank[track_key] = np.asarray(feature, np.float32).ravel()
        ident.bank.move_to_end(track_key)
        while len(ident.bank) > self.bank_size:
            ident.bank.popitem(last=False)
        ident.last_seen, ident.last_camera = now, camera
        ident.cameras.add(camera)

    def touch(self, global_id: int, camera: int, now: float) -> None:
        """Marks an identity as seen (its track is alive) without a new feature."""
        ident = self.identities.get(global_id)
        if ident is not None:
            ident.last_seen, ident.last_camera = now, camera

    def expire(self, now: float) -> list[int]:
        """Removes identities unseen for ``expiry_seconds``; returns their ids."""
        gone = [g for g, ident in self.identities.items() if now - ident.last_seen > self.expiry_seconds]
        for g in gone:
            del self.identities[g]
        return gone
