"""What the core takes in: one camera frame with its index and time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FramePacket:
    """One frame from one camera.

    Attributes:
        camera: the camera's index in the pipeline.
        index: frame number within the stream (0-based, counts skipped frames
            for offline sources, so it matches ground-truth frame numbers).
        image: BGR ``uint8`` array ``(H, W, 3)``.
        timestamp: seconds; stream time for offline sources, wall clock for live.
        decode_s: seconds spent reading/decoding this frame.
    """

    camera: int
    index: int
    image: np.ndarray
    timestamp: float
    decode_s: float = 0.0
