"""Reading a CameraStream to its end in tests, bounded in time."""

from __future__ import annotations

import time


def drain(stream, timeout: float = 20.0, poll: float = 0.05) -> list:
    """Every packet ``stream`` delivers until it finishes (or ``timeout`` seconds pass)."""
    packets, deadline = [], time.monotonic() + timeout
    while not stream.finished and time.monotonic() < deadline:
        p = stream.read(timeout=poll)
        if p is not None:
            packets.append(p)
    return packets
