"""The central half of the multi-camera tracker: tracklets, global ids, revision, final ids.

:class:`CentralAssociator` turns the per-camera ticks of the edge half
(:class:`~mlfn_keras.tracking.core.updates.CameraTick`) into global ids. It
keeps a mirror of every live track (its smoothed feature, rebuilt from the
raw embeddings exactly as the edge smooths them, its segment and global
id), and per tick, in this order:

1. ``_apply``: ends, starts and boxes of every camera, camera by camera,
   into the :class:`~mlfn_keras.tracking.core.association.TrackletStore`;
   then the tick's embeddings (tracks waiting for an id first), cutting a
   track's tracklet where the edge's appearance check cut it;
2. ``_commit``: **one** commit on the
   :class:`~mlfn_keras.tracking.core.gallery.IdentityGallery` with every live
   track: it files their features, gives ids to those with enough evidence
   (never one id to two tracks seen together in one camera) and forgets old
   identities;
3. ``_revise`` (online mode): every ``revise_seconds`` recalibrate the
   threshold, group the recent tracklets by the offline rules and make the
   live ids follow the grouping: merge global ids that later evidence shows
   are one person, split off the part of an id it shows is someone else
   (:class:`~mlfn_keras.tracking.core.association.online.OnlineReviser`).
   A live central with many cameras spreads a revision over several ticks
   (``revise_budget_seconds``).

A track shows an id from its first frame: until it has enough evidence for a
global id, a new one held back for it (kept if it turns out to be a new
person, replaced by the identity it matches otherwise). Times are each
camera's own timestamps (:class:`~mlfn_keras.tracking.core.gallery.IdentityGallery`).

:meth:`~CentralAssociator.finalize` re-clusters every tracklet of a recorded
run at the end. The single box and the site's central run this same class,
so they give the same answer on the same ticks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import supervision as sv

from mlfn_keras.tracking.core import events as ev
from mlfn_keras.tracking.core.association.calibration import Calibration
from mlfn_keras.tracking.core.association.online import OnlineReviser, Revision
from mlfn_keras.tracking.core.association.overlap import ViewOverlap
from mlfn_keras.tracking.core.association.tracklets import TrackletKey, TrackletStore
from mlfn_keras.tracking.core.gallery import IdentityGallery, LiveTrack
from mlfn_keras.tracking.core.reid import TrackAppearance
from mlfn_keras.tracking.core.updates import CameraTick


@dataclass
class TrackedObject:
    """One confirmed track in one frame.

    Attributes:
        camera: camera index.
        frame: frame index in that camera's stream (0-based).
        track_id: the per-camera tracker id.
        global_id: the cross-camera identity; until the track has one, the
            new id held back for it (``None`` only for objects made elsewhere).
        xyxy: box in pixels.
        score: detection score.
        segment: the track's tracklet number (bumped on an appearance change).
        provisional: ``global_id`` is the new id held back for the track
            until it has enough evidence (kept if it is a new person, replaced
            by the identity it matches otherwise).
    """

    camera: int
    frame: int
    track_id: int
    global_id: int | None
    xyxy: np.ndarray
    score: float
    segment: int = 0
    provisional: bool = False

    @property
    def tracklet(self) -> TrackletKey:
        return (self.camera, self.track_id, self.segment)


@dataclass
class CameraResult:
    """One camera's part of a tick.

    Attributes:
        camera: camera index.
        frame: the frame index.
        detections: confirmed tracks (``tracker_id``; ``data["global_id"]``,
            ``-1`` while unassigned).
        objects: the same as :class:`TrackedObject` rows.
    """

    camera: int
    frame: int
    detections: sv.Detections
    objects: list[TrackedObject] = field(default_factory=list)


@dataclass(frozen=True)
class FinalIdentities:
    """The offline answer: every tracklet's final global id.

    Attributes:
        ids: tracklet key ``(camera, track_id, segment)`` → global id (1, 2, ...).
        calibration: the threshold used and its evidence.
        event: the ``final_identities`` event for the log.
        overlaps: camera pairs found to see the same ground, and how many
            people were linked through them.
    """

    ids: dict[TrackletKey, int]
    calibration: Calibration
    event: ev.FinalIdentities
    overlaps: list[ViewOverlap] = field(default_factory=list)


@dataclass
class _LiveTrack:
    appearance: TrackAppearance
    global_id: int | None = None
    segment: int = 0
    time: float | None = None  # timestamp of its latest frame (its camera's clock)
    provisional: int | None = None  # the id shown until it has a global id, kept if it turns out new


class CentralAssociator:
    """Global identities for the live tracks of every camera of a site.

    Args:
        config: a :class:`~mlfn_keras.tracking.core.pipeline.PipelineConfig`.
        online_revision: recalibrate and merge ids while running (live mode);
            offline runs leave that to :meth:`finalize`.
        history_seconds: forget tracklets (and their ids) last seen longer
            ago than this, so a central running for days stays bounded
            (``None``: keep every tracklet for :meth:`finalize`, as a
            recorded run does).
        unsynced: cameras whose clock is not known to agree with the others'
            (files given without start times): their people are linked to
            another camera's only where the two views are found to overlap.
        revise_budget_seconds: a live central with many cameras: a revision
            takes about this long of a tick at most (one part more), and
            carries on at the next ticks (:meth:`OnlineReviser.start
            <mlfn_keras.tracking.core.association.online.OnlineReviser.start>`),
            so no tick waits for the whole of it. ``None``: every revision
            is made in the tick it falls due, as recorded runs need to give
            the same answer every time.
    """

    def __init__(self, config, online_revision: bool = True, history_seconds: float | None = None,
                 unsynced: Sequence[int] = (), revise_budget_seconds: float | None = None):
        c = self.config = config
        self.history_seconds = history_seconds
        self.reviser = OnlineReviser(
            c.revise_seconds, c.threshold, c.different_quantile, c.centre_features,
            per_camera=c.centre_per_camera, linkage=c.linkage, mutual_k=c.mutual_k, max_gap_seconds=c.max_gap_seconds,
            overlap_min_support=c.overlap_min_support, overlap_max_error=c.overlap_max_error,
            first_quantile=c.first_id_quantile, live_quantile=c.live_quantile, live_min_pairs=c.live_min_pairs,
            unsynced=unsynced,
        )
        self.online_revision = online_revision
        self.revise_budget_seconds = revise_budget_seconds
        self._part_seconds: dict[str, float] = {}  # how long each whole part of a revision took last time
        self.gallery = IdentityGallery(self.reviser.threshold, c.expiry_seconds, max_gap_seconds=c.max_gap_seconds)
        self.gallery.unsynced = self.reviser.unsynced
        self.store = TrackletStore()
        self.tracklet_gid: dict[TrackletKey, int] = {}
        self._tracks: dict[tuple[int, int], _LiveTrack] = {}
        self._logged_threshold: float | None = self.reviser.threshold  # logged again once it moves
        #: counters; ``revisions``: revisions made, ``revision_ticks``: the ticks they were made over (one
        #: each in the tick they fall due, more where a time budget spreads them)
        self.stats = {"embeddings": 0, "global_ids": 0, "handoffs": 0, "reentries": 0, "merges": 0, "splits": 0,
                      "identity_splits": 0, "revisions": 0, "revision_ticks": 0}
        self._revision_ticks = 0  # ticks the pending revision has been worked on

    # ------------------------------------------------------------------ tick
    def step(self, ticks: Sequence[CameraTick]) -> tuple[list[ev.Event], int]:
        """Applies one tick of every camera that has a frame and commits it.

        Args:
            ticks: this tick's camera ticks (at most one per camera, with a frame).

        Returns:
            ``(events, embedded)``.
        """
        events: list[ev.Event] = []
        if not ticks:
            return events, 0
        now = max(t.timestamp for t in ticks)
        embedded = self._apply(ticks, now, events)
        self._commit(ticks, now, events)
        if self.online_revision and (self.reviser.pending or self.reviser.due(now)):
            self._revise(now, events)
        return events, embedded

    def _apply(self, ticks: Sequence[CameraTick], now: float, events: list[ev.Event]) -> int:
        m = self.config.momentum
        for t in ticks:
            for tid in t.ended:
                self._end_track((t.camera, tid), t.frame, now, events)
            for tid in t.started:
                self._tracks[(t.camera, tid)] = _LiveTrack(TrackAppearance(m))
                events.append(ev.TrackStart(t.camera, t.frame, now, tid))
            for tid, xyxy in zip(t.track_ids, t.boxes):
                state = self._tracks.setdefault((t.camera, int(tid)), _LiveTrack(TrackAppearance(m)))
                state.time = t.timestamp
                self.store.observe((t.camera, int(tid), state.segment), t.frame, t.timestamp, xyxy)
        # The edge embedded the tracks waiting for an id first, over all its cameras (stable order).
        embeddings = sorted(((t, e) for t in ticks for e in t.embeddings), key=lambda te: te[1].identified)
        for t, e in embeddings:
            key = (t.camera, e.track)
            state = self._tracks.setdefault(key, _LiveTrack(TrackAppearance(m)))
            if e.new_segment:
                events.append(ev.AppearanceChange(t.camera, t.frame, now, e.track, state.global_id))
                self.stats["splits"] += 1
                state.global_id, state.appearance, state.provisional = None, TrackAppearance(m), None
                state.segment = e.segment
                self.store.observe((*key, state.segment), t.frame, now)
            state.appearance.update(e.feature)
            self.store.add_embedding((*key, state.segment), e.feature)
        self.stats["embeddings"] += len(embeddings)
        return len(embeddings)

    def _commit(self, ticks: Sequence[CameraTick], now: float, events: list[ev.Event]) -> None:
        c = self.config
        frame_of = {t.camera: t.frame for t in ticks}
        live = {
            key: LiveTrack(key[0], s.appearance.feature, s.global_id, s.appearance.count >= c.min_embeddings, s.time,
                           s.provisional)
            for key, s in self._tracks.items()
        }
        for key, a in self.gallery.commit(live, now).items():
            state = self._tracks[key]
            state.global_id = a.global_id
            self.tracklet_gid[(*key, state.segment)] = a.global_id
            self.stats["global_ids"] += 1
            cam, frame = key[0], frame_of.get(key[0], -1)
            sim = None if a.new else float(a.similarity)
            events.append(ev.GlobalIdAssigned(cam, frame, now, key[1], a.global_id, a.new, sim))
            if not a.new and a.previous_camera >= 0:
                kind = ev.Reentry if a.previous_camera == cam else ev.Handoff
                self.stats["reentries" if kind is ev.Reentry else "handoffs"] += 1
                events.append(kind(cam, frame, now, key[1], a.global_id, a.previous_camera, sim))

    def _revise(self, now: float, events: list[ev.Event]) -> None:
        if not self.reviser.pending:
            self.store.compact_before(now - self.config.expiry_seconds)
            if self.history_seconds is not None:
                for key in self.store.drop_before(now - self.history_seconds):
                    self.tracklet_gid.pop(key, None)
            self.reviser.start(self.store, self.tracklet_gid, now, self.config.expiry_seconds)
            self._revision_ticks = 0
        self._revision_ticks += 1
        revision = self._revision_part()
        if revision is None:
            return  # the rest at the next tick
        self.stats["revisions"] += 1
        self.stats["revision_ticks"] += self._revision_ticks
        self.gallery.overlapping = {o.cameras for o in self.reviser.overlaps if o.believed}
        for merge in revision.merges:
            self._merge(merge.kept, merge.removed)
            events.append(ev.IdentitiesMerged(-1, -1, now, merge.kept, merge.removed, merge.similarity))
        new_ids: dict[int, int] = {}  # placeholder -> the new identity made for it
        for split in revision.splits:
            target, live = self._split(split.source, split.target if split.target > 0 else new_ids.get(split.target),
                                       split.tracklets)
            if split.target < 0:
                new_ids[split.target] = target
            events.append(ev.IdentitySplit(-1, -1, now, split.source, target, len(split.tracklets), split.similarity,
                                           tuple(live)))
        self._log_threshold(now, events)
        self.gallery.threshold = self.reviser.first_threshold
        self.gallery.centre = self.reviser.centre

    def _revision_part(self) -> Revision | None:
        """Carries the pending revision on for at most ``revise_budget_seconds``; returns it once finished.

        Without a budget it is finished at once. With one, the first part
        always runs; a later one starts only while the budget lasts and, for
        the parts that look at every tracklet (recalibration, grouping), only
        if it took no longer than what is left the last time, so a tick is
        held about the budget at most (or one such part alone).
        """
        budget = self.revise_budget_seconds
        if budget is None:
            while (revision := self.reviser.step()) is None:
                pass
            return revision
        start = time.perf_counter()
        first = True
        while True:
            part = self.reviser.next_part
            spent = time.perf_counter() - start
            if not first and (spent >= budget or spent + self._part_seconds.get(part, 0.0) > budget):
                return None
            began = time.perf_counter()
            revision = self.reviser.step()
            if part != "overlaps":
                self._part_seconds[part] = time.perf_counter() - began
            if revision is not None:
                return revision
            first = False

    def _merge(self, kept: int, removed: int) -> None:
        self.gallery.merge(kept, removed)
        for key, gid in self.tracklet_gid.items():
            if gid == removed:
                self.tracklet_gid[key] = kept
        for state in self._tracks.values():
            if state.global_id == removed:
                state.global_id = kept
        self.stats["merges"] += 1

    def _split(self, source: int, target: int | None, tracklets: Sequence[TrackletKey]) -> tuple[int, list[tuple[int, int, int]]]:
        """Moves tracklets from id ``source`` to ``target`` (``None``: a new id); live tracks show it at once.

        Returns:
            ``(target, live)``: the id they carry now, and the live tracks
            among them as ``(camera, track, segment)``.
        """
        moving = [self.store.get(k) for k in tracklets]
        latest = max(moving, key=lambda t: t.last_time)
        span = (min(t.first_time for t in moving), latest.last_time, latest.camera)
        target = self.gallery.reassign({k[:2] for k in tracklets}, source, target, span)
        live = []
        for key in tracklets:
            self.tracklet_gid[key] = target
            state = self._tracks.get(key[:2])
            if state is not None and state.segment == key[2]:
                state.global_id = target
                live.append(key)
        self.stats["identity_splits"] += 1
        return target, live

    def _log_threshold(self, now: float, events: list[ev.Event]) -> None:
        cal = self.reviser.calibration
        if self._logged_threshold is not None and abs(cal.threshold - self._logged_threshold) < 0.01:
            return
        self._logged_threshold = cal.threshold
        events.append(calibration_event(cal, now))

    # -------------------------------------------------------------- queries
    def global_id(self, key: tuple[int, int]) -> int | None:
        """The live track's global id (``None`` while it has none)."""
        state = self._tracks.get(key)
        return None if state is None else state.global_id

    def shown_id(self, key: tuple[int, int]) -> tuple[int | None, bool]:
        """``(id, provisional)``: the id a live track shows (``(None, False)`` for an unknown track).

        A track without a global id yet shows a new id held back for it
        (reserved in the gallery, matching nobody): it keeps it if it turns
        out to be a new person and takes the identity it matches otherwise.
        So every tracked person carries an id from the first frame, and no
        identity is committed on the evidence of a box or two.
        """
        state = self._tracks.get(key)
        if state is None:
            return None, False
        if state.global_id is not None:
            return state.global_id, False
        if state.provisional is None:
            state.provisional = self.gallery.reserve()
        return state.provisional, True

    def track_segment(self, key: tuple[int, int]) -> int:
        """The live track's current tracklet number."""
        state = self._tracks.get(key)
        return 0 if state is None else state.segment

    def live_tracks(self, camera: int | None = None) -> list[tuple[int, int]]:
        """Keys ``(camera, track)`` of the live tracks (of one camera)."""
        return [k for k in self._tracks if camera is None or k[0] == camera]

    def camera_result(self, tick: CameraTick) -> CameraResult:
        """The tick's tracks with their global ids now: ``sv.Detections`` and :class:`TrackedObject` rows."""
        dets = tick.detections
        if dets is None:
            dets = sv.Detections(xyxy=np.asarray(tick.boxes, np.float32).reshape(-1, 4),
                                 confidence=np.asarray(tick.scores, np.float32), tracker_id=np.asarray(tick.track_ids, int))
        objects, gids = [], []
        for xyxy, tid, score in zip(tick.boxes, tick.track_ids, tick.scores):
            key = (tick.camera, int(tid))
            gid, provisional = self.shown_id(key)
            gids.append(-1 if gid is None else gid)
            objects.append(TrackedObject(tick.camera, tick.frame, int(tid), gid, np.asarray(xyxy, np.float32), float(score),
                                         self.track_segment(key), provisional))
        dets.data["global_id"] = np.asarray(gids, int)
        return CameraResult(tick.camera, tick.frame, dets, objects)

    # ------------------------------------------------------------ lifecycle
    def _end_track(self, key: tuple[int, int], frame: int, now: float, events: list[ev.Event]) -> None:
        state = self._tracks.pop(key, None)
        if state is not None:
            events.append(ev.TrackEnd(key[0], frame, now, key[1], state.global_id))

    def end_camera(self, tick: CameraTick) -> list[ev.Event]:
        """Ends every track of a camera whose stream ended (``tick.end_of_stream``); returns the events."""
        events: list[ev.Event] = []
        for tid in tick.ended:
            self._end_track((tick.camera, tid), tick.frame, tick.timestamp, events)
        for key in self.live_tracks(tick.camera):
            self._end_track(key, tick.frame, tick.timestamp, events)
        return events

    def finalize(self, now: float = 0.0) -> FinalIdentities:
        """Re-clusters every tracklet of the run (recorded video): the best final ids.

        The threshold is calibrated on the whole run (unless set by hand);
        people seen at one place at one time by two overlapping cameras are
        linked; tracklets are grouped by ``config.linkage`` (mutual nearest
        neighbours by default) with cannot-link constraints and the
        ``max_gap_seconds`` limit; ids are numbered by first appearance. Every
        tracklet gets an id, also those too short to embed (each its own person).
        A run longer than ``config.final_window_seconds`` is grouped window by
        window (the calibration still measures the whole run), so its memory
        grows with the run, not with its square.
        """
        cal = self.reviser.recalibrate(self.store)  # on the whole run
        labels, overlaps = self.reviser.group_windows(list(self.store.values()), self.config.final_window_seconds)
        ids = {k: v + 1 for k, v in labels.items()}
        online = len(set(self.tracklet_gid.values()))
        event = ev.FinalIdentities(-1, -1, now, cal.threshold, len(ids), len(set(ids.values())), online)
        return FinalIdentities(ids, cal, event, overlaps)

    @property
    def global_ids_given(self) -> int:
        """Global ids handed out so far (online)."""
        return int(self.gallery._next_id - 1)


def calibration_event(cal: Calibration, now: float) -> ev.ThresholdCalibrated:
    """The ``threshold_calibrated`` event for a calibration."""
    return ev.ThresholdCalibrated(-1, -1, now, cal.threshold, cal.source, cal.same_pairs, cal.different_pairs,
                                  cal.same_median, cal.different_high)
