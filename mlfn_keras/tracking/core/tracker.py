"""Per-camera multi-object tracking: ByteTrack with track start/end reporting.

The tracking itself is Roboflow's ``trackers.ByteTrackTracker`` (Kalman filter,
IoU association with high- then low-score stages, track birth after
``min_hits`` frames, death after ``lost_seconds`` unmatched), the maintained
successor of ``supervision``'s ``sv.ByteTrack`` (removed from supervision 0.27+).
:class:`CameraTracker` adds what the multi-camera pipeline needs on top: which
tracks started and which ended in this frame, and only confirmed tracks in
the output.

Between detections (a detection interval, or motion gating that skips a
frame), :meth:`CameraTracker.predict` moves every track along its Kalman
prediction without counting the frame as a miss, and :meth:`CameraTracker.status`
says whether the tracks are sure enough to skip the next detection (tracks
waiting for confirmation, tracks lost at the last detection, and tracks whose
predicted boxes overlap are not).

Example:

    tracker = CameraTracker(fps=15)
    update = tracker.update(detections)          # sv.Detections in, per frame
    update.detections.tracker_id, update.started, update.ended
    update = tracker.predict()                   # a frame without detection
    tracker.status().uncertain                   # force a detection next frame?
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import supervision as sv


@dataclass
class TrackUpdate:
    """What one frame changed.

    Attributes:
        detections: confirmed tracks in this frame (``tracker_id`` >= 1).
        started: tracker ids confirmed in this frame.
        ended: tracker ids dropped in this frame (lost for too long).
        measured: whether the boxes come from a detection (``False``: Kalman
            predictions between detections).
    """

    detections: sv.Detections
    started: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    measured: bool = True


@dataclass(frozen=True)
class TrackerStatus:
    """How sure a camera's tracks are, for the detection scheduler.

    Attributes:
        tracked: confirmed tracks matched at the last detection.
        tentative: tracks waiting for confirmation (they need consecutive
            detections to get an id).
        just_lost: confirmed tracks that the last detection missed for the
            first time (occluded, leaving, or a missed detection).
        overlapping: pairs of tracked boxes whose predictions overlap by more
            than the IoU asked for (people crossing: identities can swap).
    """

    tracked: int = 0
    tentative: int = 0
    just_lost: int = 0
    overlapping: int = 0

    @property
    def uncertain(self) -> bool:
        """Whether the next frame should be detected rather than predicted."""
        return bool(self.tentative or self.just_lost or self.overlapping)


class CameraTracker:
    """ByteTrack for one camera.

    Args:
        fps: the camera's frame rate (scales ``lost_seconds`` to frames).
        lost_seconds: how long an unmatched track survives (occlusion gaps).
        min_hits: matched frames before a track is confirmed and gets an id.
        activation_threshold: minimum detection score to start a track.
        high_threshold: scores at or above go to the first association stage;
            the rest can only extend existing tracks.
        match_iou: minimum IoU between a predicted track box and a detection.
    """

    def __init__(
        self,
        fps: float = 15.0,
        lost_seconds: float = 1.5,
        min_hits: int = 2,
        activation_threshold: float = 0.4,
        high_threshold: float = 0.5,
        match_iou: float = 0.1,
    ):
        from trackers import ByteTrackTracker

        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}.")
        self.fps = float(fps)
        # trackers counts the lost buffer in 30-FPS frames and rescales by frame_rate.
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, int(round(lost_seconds * 30.0))),
            frame_rate=self.fps,
            track_activation_threshold=activation_threshold,
            minimum_consecutive_frames=min_hits,
            minimum_iou_threshold=match_iou,
            high_conf_det_threshold=high_threshold,
        )
        self._alive: set[int] = set()
        self._scores: dict[int, float] = {}

    def _alive_ids(self) -> set[int]:
        return {int(t.tracker_id) for t in self._tracker.tracks if int(t.tracker_id) >= 0}

    def update(self, detections: sv.Detections | None) -> TrackUpdate:
        """Advances one frame.

        Args:
            detections: this frame's detections (``None`` or empty for none).

        Returns:
            The confirmed tracks in this frame and which started/ended.
        """
        if detections is None or len(detections) == 0:
            detections = sv.Detections(xyxy=np.zeros((0, 4), np.float32), confidence=np.zeros((0,), np.float32))
        result = self._tracker.update(detections)
        ids = result.tracker_id if result.tracker_id is not None else np.zeros((0,), int)
        confirmed = result[ids >= 0] if len(result) else result
        # trackers' ids start at 0; MOT files and people count from 1.
        if len(confirmed):
            confirmed.tracker_id = confirmed.tracker_id.astype(int) + 1
        else:
            confirmed.tracker_id = np.zeros((0,), int)
        alive = self._alive_ids()
        started = sorted(i + 1 for i in alive - self._alive)
        ended = sorted(i + 1 for i in self._alive - alive)
        self._alive = alive
        scores = confirmed.confidence if confirmed.confidence is not None else np.ones(len(confirmed), np.float32)
        self._scores = {int(t): float(c) for t, c in zip(confirmed.tracker_id, scores)}
        return TrackUpdate(confirmed, started, ended)

    def predict(self) -> TrackUpdate:
        """Advances one frame without a detection: every track follows its Kalman prediction.

        The tracks matched at the last detection are returned at their
        predicted boxes (with their last detection score); the frame does not
        count as a miss for them, so a detection every ``k`` frames keeps
        them alive. Tracks already lost keep counting missed frames, so
        ``lost_seconds`` still means seconds. The next :meth:`update` makes
        the last prediction step itself, as it does every frame.

        Returns:
            The tracked boxes, ``measured=False``; nothing starts or ends.
        """
        boxes, ids = [], []
        for t in self._tracker.tracks:
            t.state_estimator.predict(1.0, None)
            if t.time_since_update > 0:
                t.time_since_update += 1  # lost: the frame counts against its budget
                t.age += 1
            elif t.tracker_id >= 0:
                boxes.append(t.get_state_bbox())
                ids.append(int(t.tracker_id) + 1)
        xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray([self._scores.get(i, 1.0) for i in ids], np.float32)
        dets = sv.Detections(xyxy=xyxy, confidence=scores, tracker_id=np.asarray(ids, int))
        return TrackUpdate(dets, measured=False)

    def status(self, overlap_iou: float = 0.3) -> TrackerStatus:
        """Counts what makes the tracks uncertain (see :class:`TrackerStatus`).

        Args:
            overlap_iou: IoU between two tracked boxes above which they count
                as overlapping.
        """
        tracked, tentative, just_lost = [], 0, 0
        for t in self._tracker.tracks:
            if t.tracker_id < 0:
                tentative += 1
            elif t.time_since_update == 0:
                tracked.append(t.get_state_bbox())
            elif t.time_since_update == 1:
                just_lost += 1
        overlapping = 0
        if len(tracked) > 1:
            boxes = np.asarray(tracked, np.float32)
            iou = sv.box_iou_batch(boxes, boxes)
            overlapping = int((np.triu(iou, 1) > overlap_iou).sum())
        return TrackerStatus(len(tracked), tentative, just_lost, overlapping)

    def finish(self) -> list[int]:
        """Ends every live track (end of stream) and returns their ids."""
        ended = sorted(i + 1 for i in self._alive)
        self._alive = set()
        self._scores = {}
        self._tracker.reset()
        return ended
