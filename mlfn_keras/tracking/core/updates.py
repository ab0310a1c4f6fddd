"""What the edge half of the tracker hands the central half, one camera per tick.

The multi-camera tracker is cut in two
(:class:`~mlfn_keras.tracking.core.edge.EdgeTracker` and
:class:`~mlfn_keras.tracking.core.central.CentralAssociator`); these small
objects are everything that crosses the cut. In one process they are passed
by reference; between boxes they travel through a broker
(:mod:`mlfn_keras.tracking.site.messages` turns them into bytes and back,
exactly: boxes as Python floats, features as float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TrackEmbedding:
    """One new embedding of one track.

    Attributes:
        track: the per-camera tracker id.
        segment: the track's tracklet number this embedding belongs to.
        feature: the raw L2-normalised embedding ``(d,)`` float32 (the central
            smooths it exactly as the edge does).
        new_segment: the edge's appearance check cut the track here: this
            embedding starts tracklet ``segment`` (the track gives its global
            id back and is re-identified).
        identified: the track already had enough evidence for a global id
            when it was picked (it was re-embedded on the ``embed_every``
            cadence, after the tracks still waiting for an id).
    """

    track: int
    segment: int
    feature: np.ndarray
    new_segment: bool = False
    identified: bool = False


@dataclass
class CameraTick:
    """One camera's part of one edge tick.

    Attributes:
        camera: the camera's index in the pipeline that produced it (an edge
            numbers its own cameras from 0; the central maps them to site
            indices).
        frame: the frame index in the camera's stream.
        timestamp: the frame's capture time (seconds; stream time for files).
        track_ids: ``(N,)`` confirmed tracks in this frame.
        boxes: ``(N, 4)`` their boxes ``x1, y1, x2, y2`` in pixels.
        scores: ``(N,)`` their detection scores.
        started: tracks confirmed in this frame.
        ended: tracks dropped in this frame (lost too long, or the stream ended).
        embeddings: new embeddings, in the order the edge embedded them.
        end_of_stream: the camera's stream ended (or it was given up) before
            this frame: ``ended`` lists every track it still had and there is
            no frame (``track_ids`` is empty).
        detections: the tracker's ``sv.Detections`` for this frame, kept in
            process only (never sent) so a single box keeps its own object.
    """

    camera: int
    frame: int
    timestamp: float
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), int))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    started: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    embeddings: list[TrackEmbedding] = field(default_factory=list)
    end_of_stream: bool = False
    detections: Any = None

    @property
    def essential(self) -> bool:
        """Whether dropping it would lose more than boxes (a track starting or
        ending, an embedding, the end of the stream)."""
        return bool(self.started or self.ended or self.embeddings or self.end_of_stream)
