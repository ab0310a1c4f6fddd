"""Where a run's results go: the recorder's files, the identity feed and the live views, fed per tick.

:class:`RunOutputs` is what the single-box runner and a site's central both
feed: per camera frame the tracked objects (and, where frames are at hand, the
raw image), per tick the events, frame rates and camera health, and at the end
the final ids (:meth:`RunOutputs.finish`; :func:`finish_offline` re-clusters a
recorded run first). Every tick goes to the run's
:class:`~mlfn_keras.tracking.view.feed.IdentityFeed`, which the web page and
``report.html`` show; the final ids go to every file and to the feed (one id
everywhere). Nothing here tracks; nothing in the core writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mlfn_keras.tracking.app.recorder import RunRecorder
from mlfn_keras.tracking.core.central import CentralAssociator, FinalIdentities, TrackedObject, calibration_event
from mlfn_keras.tracking.view import CameraFrame, LiveViews, View
from mlfn_keras.tracking.view.draw import annotate
from mlfn_keras.tracking.view.feed import CameraHealth, IdentityFeed
from mlfn_keras.tracking.view.report import report_files, write_report


class RunOutputs:
    """A run's recorder (optional), identity feed and live views.

    Args:
        camera_names: one name per camera.
        fps: nominal frame rate per camera (for the videos).
        output_dir: write files here (``None``: no files).
        write_video: annotated videos (when frames are at hand).
        views: live views fed every tick.
        show: also open the desktop window.
        log: where messages go.
        feed: the identities the web page and ``report.html`` show (default: a new one).
        thumbnails: keep crops of people (``False``: ``--no-thumbnails``).
        progress: progress bar while the final videos are rendered.
    """

    def __init__(self, camera_names: Sequence[str], fps: Sequence[float], output_dir: str | None = None,
                 write_video: bool = True, views: Sequence[View] = (), show: bool = False,
                 log: Callable[[str], None] = print, feed: IdentityFeed | None = None, thumbnails: bool = True,
                 progress: bool = False):
        self.camera_names = list(camera_names)
        self.output_dir = output_dir
        self.recorder = RunRecorder(output_dir, self.camera_names, fps, write_video, progress) if output_dir else None
        self.write_video = write_video
        self.feed = feed if feed is not None else IdentityFeed(self.camera_names, thumbnails=thumbnails)
        self.views = LiveViews(list(views), self.camera_names, log, self.feed)
        if show:
            from mlfn_keras.tracking.view.window import WindowView

            self.views.views.append(WindowView(log))
        self.identities: int | None = None
        self._ids: Mapping[Any, int] | None = None
        self._images: list[np.ndarray | None] = [None] * len(self.camera_names)
        self._objects: list[list[TrackedObject]] = [[] for _ in self.camera_names]
        self._frames: list[CameraFrame] = []

    @property
    def wants_images(self) -> bool:
        """Whether frames are needed now (videos, the feed's pictures of people, a view someone watches)."""
        return (self.recorder is not None and self.write_video) or self.feed.thumbnails or self.views.wants_images

    def follow(self, ids: Mapping[Any, int]) -> None:
        """The tracker's current global id of every tracklet (a live mapping): the feed follows merges and splits."""
        self._ids = ids

    def events(self, events: Sequence[Any]) -> None:
        """Appends events to ``events.jsonl`` and files them in the feed."""
        if self.recorder is not None and events:
            self.recorder.events(events)
        if events:
            self.feed.record_events(events, self._ids)

    def frame(self, camera: int, frame_index: int, objects: list[TrackedObject], image: np.ndarray | None = None,
              fps: float | None = None, time: float | None = None) -> None:
        """Records one camera frame: MOT rows, the raw image for the final video, the feed, the views' picture."""
        if self.recorder is not None:
            self.recorder.frame(camera, frame_index, objects, image)
        self._frames.append(CameraFrame(camera, frame_index, 0.0 if time is None else float(time), objects, image))
        if self.views.views:
            want = image is not None and self.views.wants_images
            self._images[camera] = annotate(image, objects, self.camera_names[camera], fps or None) if want else None
            self._objects[camera] = objects

    def show(self, events: Sequence[Any], fps: Sequence[float], health: Sequence[CameraHealth] | None = None,
             ids: Mapping[Any, int] | None = None) -> bool:
        """Feeds the tick to the feed and the views; ``False`` when a view asks to stop (``q`` in the window).

        ``ids``: the current global id of every tracklet (the feed follows merges and splits with it).
        """
        frames, self._frames = self._frames, []
        if ids is not None:
            self._ids = ids
        # the events reached the feed through :meth:`events`
        return self.views.update(self._images, self._objects, events, fps, frames, health, ids, record_events=False)

    def close_views(self) -> None:
        self.views.close()

    def finish(self, ids: Mapping[tuple[int, int, int], int], every_box: bool, note: str | None = None) -> int:
        """One id everywhere: the final ids to every file and to the feed; returns the identity count.

        Args:
            ids: final id per tracklet ``(camera, track, segment)``.
            every_box: recorded video (every box gets its tracklet's final id);
                ``False``: live rules (only boxes that had an id live).
            note: an event line for the page (e.g. how the final ids were made).
        """
        if self.recorder is not None:
            finals = self.recorder.final_ids(ids, every_box)
            ids, self.identities = finals.tracklets, finals.identities
        else:
            self.identities = len(set(ids.values()))
        self.feed.relabel(ids, final=True, note=note)
        return self.identities

    def close(self, summary: dict[str, Any], interrupted: bool = False) -> None:
        """Closes the files, writes ``report.html`` and ``summary.json`` (one identity count: ``identities``)."""
        self.views.close()
        self.feed.finish("interrupted" if interrupted or summary.get("interrupted") else "finished")
        summary = dict(summary)
        if self.identities is not None:
            summary.pop("global_ids", None)
            summary = {"identities": self.identities, **summary}
        stats = summary.get("tracker_stats")
        if isinstance(stats, dict) and "global_ids" in stats:
            stats = dict(stats)
            stats["id_assignments"] = stats.pop("global_ids")
            summary["tracker_stats"] = stats
        if self.recorder is not None:
            self.recorder.add_files(report_files(self.feed))
            write_report(self.recorder.out_dir, self.feed)
            self.recorder.close(summary)


def finish_offline(central: CentralAssociator, outputs: RunOutputs, now: float,
                   log: Callable[[str], None]) -> FinalIdentities:
    """Re-clusters a recorded run, logs how, and gives every output the final ids."""
    final = central.finalize(now)
    cal = final.calibration
    log(f"offline association: threshold {cal.threshold:.3f} ({cal.source}; {cal.same_pairs} same-person and "
        f"{cal.different_pairs} different-person pairs measured); {final.event.global_ids} global ids "
        f"for {final.event.tracklets} tracklets")
    for o in final.overlaps:
        if not o.believed:
            log(f"overlapping views: cameras {o.cameras[0]} and {o.cameras[1]}: a mapping {o.support} co-visible tracklet "
                f"pairs agree with explains only {100 * o.explained:.0f} % of who the cameras see there; not taken as an "
                "overlap (one view recorded at two times on one clock? give --start-times)")
            continue
        log(f"overlapping views: cameras {o.cameras[0]} and {o.cameras[1]} see the same ground "
            f"({o.support} of {o.candidates} co-visible tracklet pairs agree, {100 * o.explained:.0f} % of who is seen "
            f"explained); {o.links} tracklet pairs linked by where the person stood")
    outputs.events([calibration_event(cal, now), final.event])
    outputs.finish(final.ids, every_box=True)
    return final
