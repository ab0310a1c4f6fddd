"""Where a run's results go: the recorder's files and the live views, fed per tick.

:class:`RunOutputs` is what the single-box runner and a site's central both
feed: per camera frame the tracked objects (and, where frames are at hand, the
annotated image), per tick the events and frame rates, and at the end of a
recorded run the re-clustered final ids
(:func:`finish_offline`). Nothing here tracks; nothing in the core writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlfn_keras.tracking.app.recorder import RunRecorder
from mlfn_keras.tracking.core.central import CentralAssociator, FinalIdentities, TrackedObject, calibration_event
from mlfn_keras.tracking.view import LiveViews, View
from mlfn_keras.tracking.view.draw import annotate


class RunOutputs:
    """A run's recorder (optional) and live views.

    Args:
        camera_names: one name per camera.
        fps: nominal frame rate per camera (for the videos).
        output_dir: write files here (``None``: no files).
        write_video: annotated videos (when frames are at hand).
        views: live views fed every tick.
        show: also open the desktop window.
        log: where messages go.
    """

    def __init__(self, camera_names: Sequence[str], fps: Sequence[float], output_dir: str | None = None,
                 write_video: bool = True, views: Sequence[View] = (), show: bool = False,
                 log: Callable[[str], None] = print):
        self.camera_names = list(camera_names)
        self.recorder = RunRecorder(output_dir, self.camera_names, fps, write_video) if output_dir else None
        self.write_video = write_video
        self.views = LiveViews(list(views), self.camera_names, log)
        if show:
            from mlfn_keras.tracking.view.window import WindowView

            self.views.views.append(WindowView(log))
        self._images: list[np.ndarray | None] = [None] * len(self.camera_names)
        self._objects: list[list[TrackedObject]] = [[] for _ in self.camera_names]

    @property
    def wants_images(self) -> bool:
        """Whether annotated frames are needed now (videos, or a view someone watches)."""
        return (self.recorder is not None and self.write_video) or self.views.wants_images

    def events(self, events: Sequence[Any]) -> None:
        """Appends events to ``events.jsonl``."""
        if self.recorder is not None and events:
            self.recorder.events(events)

    def frame(self, camera: int, frame_index: int, objects: list[TrackedObject], image: np.ndarray | None = None,
              fps: float | None = None) -> None:
        """Records one camera frame (MOT rows; the annotated image when ``image`` is given)."""
        annotated = annotate(image, objects, self.camera_names[camera], fps or None) if image is not None else None
        if self.recorder is not None:
            self.recorder.frame(camera, frame_index, objects, annotated)
        if self.views:
            self._images[camera], self._objects[camera] = annotated, objects

    def show(self, events: Sequence[Any], fps: Sequence[float]) -> bool:
        """Feeds the tick to the views; ``False`` when one asks to stop (``q`` in the window)."""
        if not self.views:
            return True
        return self.views.update(self._images, self._objects, events, fps)

    def close_views(self) -> None:
        self.views.close()

    def close(self, summary: dict[str, Any]) -> None:
        """Closes the files and writes ``summary.json``."""
        self.views.close()
        if self.recorder is not None:
            self.recorder.close(summary)


def finish_offline(central: CentralAssociator, outputs: RunOutputs, now: float,
                   log: Callable[[str], None]) -> FinalIdentities:
    """Re-clusters a recorded run, logs how, and rewrites ``mot/`` with the final ids."""
    final = central.finalize(now)
    cal = final.calibration
    log(f"offline association: threshold {cal.threshold:.3f} ({cal.source}; {cal.same_pairs} same-person and "
        f"{cal.different_pairs} different-person pairs measured); {final.event.global_ids} global ids "
        f"for {final.event.tracklets} tracklets")
    for o in final.overlaps:
        log(f"overlapping views: cameras {o.cameras[0]} and {o.cameras[1]} see the same ground "
            f"({o.support} of {o.candidates} co-visible tracklet pairs agree); {o.links} tracklet pairs linked by where the person stood")
    if outputs.recorder is not None:
        outputs.recorder.events([calibration_event(cal, now), final.event])
        outputs.recorder.final_ids(final.ids)
    return final
