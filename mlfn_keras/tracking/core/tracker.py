"""Per-camera multi-object tracking: ByteTrack with track start/end reporting.

The tracking itself is Roboflow's ``trackers.ByteTrackTracker`` (Kalman filter,
IoU association with high- then low-score stages, track birth after
``min_hits`` frames, death after ``lost_seconds`` unmatched), the maintained
successor of ``supervision``'s ``sv.ByteTrack`` (removed from supervision 0.27+).
:class:`CameraTracker` adds what the multi-camera pipeline needs on top: which
tracks started and which ended in this frame, and only confirmed tracks in
the output.

Example:

    tracker = CameraTracker(fps=15)
    update = tracker.update(detections)          # sv.Detections in, per frame
    update.detections.tracker_id, update.started, update.ended
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
    """

    detections: sv.Detections
    started: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


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
        return TrackUpdate(confirmed, started, ended)

    def finish(self) -> list[int]:
        """Ends every live track (end of stream) and returns their ids."""
        ended = sorted(i + 1 for i in self._alive)
        self._alive = set()
        self._tracker.reset()
        return ended
