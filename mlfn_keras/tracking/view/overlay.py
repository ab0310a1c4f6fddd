"""Drawing the live window's picture: the camera tiles beside a roster panel.

The tiles are the runner's annotated frames (boxes labelled with global ids in
a colour per id, camera name and FPS in each header), laid out by
:func:`~mlfn_keras.tracking.app.recorder.tile`; the panel lists, per camera, the
global ids in view now (in their box colours), the last hand-off and the
latest events. Drawn with OpenCV's primitives, which the headless build has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlfn_keras.tracking.view import TickState
from mlfn_keras.tracking.view.draw import colour_for, tile

PANEL_BG = (32, 28, 24)
TEXT = (235, 235, 235)
DIM = (150, 150, 150)
FONT_SCALE = 0.5


def describe_event(state: TickState, event: dict[str, Any]) -> str:
    """One line for an event, with camera names."""
    e = state.describe(event) or {}
    cam = e.get("camera_name", e.get("camera", "?"))
    gid = e.get("global_id")
    kind = e.get("event", "?")
    if kind == "handoff":
        return f"ID {gid}: {e.get('from_camera_name', e.get('from_camera'))} -> {cam}"
    if kind == "reentry":
        return f"ID {gid} back in {cam}"
    if kind == "global_id_assigned":
        return f"ID {gid} {'new' if e.get('new') else 'found'} in {cam}"
    if kind == "camera_message":
        return str(e.get("message", ""))[:40]
    if kind == "stream_end":
        return f"{cam} ended"
    return f"{kind} {cam}"


def roster_panel(state: TickState, height: int, width: int = 300) -> np.ndarray:
    """The roster panel: ids per camera, the last hand-off, the latest events."""
    import cv2

    panel = np.full((height, width, 3), PANEL_BG, np.uint8)
    y = 26

    def text(s: str, x: int, colour=TEXT, scale: float = FONT_SCALE, thick: int = 1) -> None:
        cv2.putText(panel, s, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)

    text("Global ids now", 10, scale=0.6, thick=2)
    y += 28
    for i, name in enumerate(state.camera_names):
        ids = sorted({o.global_id for o in state.objects[i] if o.global_id is not None})
        text(f"{name}  {state.fps[i]:.1f} FPS", 10)
        y += 22
        x = 14
        if not ids:
            text("-", x, DIM)
        for gid in ids:
            label = f"{gid}"
            (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)
            if x + tw + 10 > width - 6:
                x, y = 14, y + 24
            cv2.rectangle(panel, (x, y - th - 5), (x + tw + 8, y + 5), colour_for(gid), -1)
            cv2.putText(panel, label, (x + 4, y), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, (0, 0, 0), 1, cv2.LINE_AA)
            x += tw + 14
        y += 30
    text("Last hand-off", 10, scale=0.6, thick=2)
    y += 24
    if state.last_handoff is None:
        text("none yet", 14, DIM)
    else:
        h = state.last_handoff
        text(describe_event(state, h), 14, colour_for(h.get("global_id")))
        y += 20
        text(f"frame {h.get('frame')}  t={h.get('time')} s", 14, DIM)
    y += 30
    text("Latest events", 10, scale=0.6, thick=2)
    y += 22
    shown = [e for e in state.events if e.get("event") in ("handoff", "reentry", "global_id_assigned", "camera_message", "stream_end")]
    for e in reversed(shown):
        if y > height - 8:
            break
        text(describe_event(state, e), 14, colour_for(e.get("global_id")) if "global_id" in e else DIM, scale=0.45)
        y += 18
    return panel


def compose(state: TickState, tile_width: int = 640, panel_width: int = 300) -> np.ndarray:
    """The window's picture: tiled cameras with the roster panel on the right."""
    grid = tile(state.images, tile_width)
    height = max(grid.shape[0], 420)
    if grid.shape[0] < height:
        grid = np.vstack([grid, np.zeros((height - grid.shape[0], grid.shape[1], 3), np.uint8)])
    return np.hstack([grid, roster_panel(state, height, panel_width)])
