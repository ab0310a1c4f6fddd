"""Writing a run: annotated videos, events, MOT files, ids, summary and report.

:class:`RunRecorder` writes into ``--output DIR``; after a run every file
names the **same final id for the same box** (one id everywhere):

* ``cam{i}.mp4``: each camera's frames with boxes labelled by final id,
  rendered at the end from the frames the run processed (recorded during the
  run as ``cam{i}.frames.avi``, removed once the video is written);
* ``events.jsonl``: one JSON object per event (``track_start``, ``track_end``,
  ``global_id_assigned``, ``handoff``, ``reentry``, ``camera_message``, ...);
  written as the run goes with the ids shown live, rewritten at the end so
  that ``global_id`` is the final id of the event's box and ``live_id`` the id
  shown live (events that only concern live ids name them ``live_*``);
* ``mot/NAME.txt`` (``NAME``: the camera's name, ``cam{i}`` by default): MOT rows with the final global ids (scored per camera
  and across cameras by ``demo/evaluate.py``). Recorded video (offline): the
  whole run re-clustered, every track included. Live cameras (online): the
  ids after the run's live merges and splits, for the boxes that had an id;
* ``mot_local/NAME.txt``: MOT rows with the per-camera tracker ids;
* ``ids.json``: every id shown live and the final id(s) of its boxes, per
  tracklet, so a person who watched live can find someone in the outputs;
* ``summary.json``: counts (``identities``: the people the run found, the
  distinct ids in ``mot/``), timings and FPS, written by :meth:`close`;
* ``report.html`` and ``report_files/``: :mod:`~mlfn_keras.tracking.view.report`;
* ``manifest.json``: every file this run writes (including ``gt/cam{i}.txt``
  and ``scores.json``, which the demo adds), written first and extended with
  the report's thumbnails before they are written.

Every file is flushed as it goes, so an interrupted run leaves usable output
(a run killed before its end keeps the live ids, and ``cam{i}.frames.avi``
instead of the annotated video).

A reused output folder is cleared by :func:`prepare_output_dir` before a run,
under the rules of :mod:`mlfn_keras.fileio`: the folder is checked first
(anything its manifest does not list, dot-files included, is refused unless
``force``), and only then are the files the previous run listed removed, so a
run never mixes its files with an earlier run's and never deletes what it did
not write. Final files (``summary.json``, ``ids.json``, ``report.html``, the
rewritten MOT and event files, the rendered videos) are written atomically.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlfn_keras.errors import OutputExistsError
from mlfn_keras.fileio import atomic_output, check_output_dir, write_json, write_manifest
from mlfn_keras.tracking.core.events import as_dict
from mlfn_keras.tracking.core.pipeline import TrackedObject

MANIFEST = "manifest.json"
#: Marks a manifest as this project's (a foreign ``manifest.json`` is not trusted).
MANIFEST_KIND = "mlfn_keras.multicam_run"
IDS = "ids.json"
#: Fields of box-less events that name live ids (renamed ``live_*`` at the end).
_LIVE_ID_FIELDS = ("global_id", "kept", "removed")

TrackletKey = tuple[int, int, int]


def run_files(camera_names: Sequence[str], write_video: bool = True) -> list[str]:
    """Every path (relative to the output folder) a run with these cameras may write (report thumbnails aside)."""
    files = [MANIFEST, "events.jsonl", "summary.json", "scores.json", IDS, "report.html"]
    for name in camera_names:
        files += [f"mot/{name}.txt", f"mot_local/{name}.txt", f"gt/{name}.txt"]
        if write_video:
            files += [f"{name}.mp4", raw_video_name(name)]
    return files


def raw_video_name(camera_name: str) -> str:
    """The camera's unannotated frames, recorded during the run to render the final video from."""
    return f"{camera_name}.frames.avi"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _legacy_files(folder: Path) -> list[str] | None:
    """The files a run from before the manifest wrote: its summary names its cameras."""
    summary = _read_json(folder / "summary.json")
    if isinstance(summary, dict) and isinstance(summary.get("cameras"), list) and "ticks" in summary:
        names = [str(c.get("name", f"cam{i}")) for i, c in enumerate(summary["cameras"]) if isinstance(c, dict)]
        return run_files(names, write_video=True)
    return None


def previous_run_files(out_dir: str | os.PathLike) -> list[str]:
    """The files an earlier run of this project listed in ``out_dir`` (relative paths)."""
    folder = Path(out_dir)
    manifest = _read_json(folder / MANIFEST)
    if isinstance(manifest, dict) and manifest.get("kind") == MANIFEST_KIND:
        return [str(f) for f in manifest.get("files", [])]
    return _legacy_files(folder) or []


def prepare_output_dir(out_dir: str | os.PathLike, force: bool = False) -> list[str]:
    """Makes ``out_dir`` ready for a new run without losing anything foreign.

    Checks the folder first (see :func:`mlfn_keras.fileio.check_output_dir`):
    anything the previous run's manifest does not list, dot-files included,
    is refused unless ``force``, and nothing has been deleted when it is.
    Then removes the files the previous run listed, so none of its cameras'
    files outlive it; with ``force`` the foreign files stay beside the new run.

    Args:
        out_dir: the ``--output`` folder (created if missing).
        force: write into a folder holding files this project did not write.

    Returns:
        The relative paths removed.

    Raises:
        OutputExistsError: the folder is a file, or holds foreign files and ``force`` is off.
    """
    claim = check_output_dir(out_dir, MANIFEST_KIND, force=force, what="--output folder",
                             writes=[MANIFEST, "events.jsonl", "summary.json", "scores.json", IDS, "report.html",
                                     "report_files", "mot", "mot_local", "gt"],
                             legacy=_legacy_files)
    return claim.remove_previous()


@dataclass
class _Row:
    """One recorded box: frame, track, segment, the id shown live, the MOT row's tail."""

    frame: int
    track: int
    segment: int
    live_id: int | None
    xyxy: tuple[float, float, float, float]
    tail: str


@dataclass
class FinalIds:
    """What :meth:`RunRecorder.final_ids` decided.

    Attributes:
        tracklets: every tracklet's final id (those without one left out).
        identities: distinct final ids in ``mot/`` (the run's identity count).
        live_to_final: each id shown live → final id → boxes (empty for an id held back for a new track
            that ended before it was committed).
    """

    tracklets: dict[TrackletKey, int] = field(default_factory=dict)
    identities: int = 0
    live_to_final: dict[int, dict[int, int]] = field(default_factory=dict)


class RunRecorder:
    """Writes a run's outputs under ``out_dir``.

    Args:
        out_dir: output folder (created).
        camera_names: one name per camera.
        fps: frame rate per camera for the videos.
        write_video: write annotated ``.mp4`` files.
        progress: show a progress bar while the final videos are rendered.
        keep_rows: keep every recorded box in memory for :meth:`final_ids` (a
            live run that is never re-clustered or relabelled does not need them).
        resume: a :meth:`checkpoint` to continue from: the files are cut
            back to what it covered and appended to (a restarted central).
    """

    def __init__(self, out_dir: str, camera_names: Sequence[str], fps: Sequence[float], write_video: bool = True,
                 progress: bool = False, keep_rows: bool = True, resume: dict[str, Any] | None = None):
        self.out_dir = out_dir
        self.camera_names = list(camera_names)
        self.fps = [float(f) if f else 15.0 for f in fps]
        self.progress = progress
        self.files = run_files(self.camera_names, write_video)
        # gt/ is copied in before the run starts; anything else already there was not written by this run.
        clashes = [f for f in self.files if f != MANIFEST and not f.startswith("gt/") and resume is None
                   and os.path.lexists(os.path.join(out_dir, f))]
        if clashes:
            raise OutputExistsError(
                f"--output folder {out_dir!r} holds {', '.join(clashes[:8])}, which this run would replace but did "
                "not write; nothing was changed; move them away or choose another --output")
        os.makedirs(os.path.join(out_dir, "mot"), exist_ok=True)
        os.makedirs(os.path.join(out_dir, "mot_local"), exist_ok=True)
        # The manifest comes first, so even a killed run's files are known.
        self._write_manifest()
        if resume is not None:  # a restarted central: cut the files back to its checkpoint, then append
            for rel, size in resume["sizes"].items():
                with open(os.path.join(out_dir, rel), "a") as f:
                    f.truncate(size)
        mode = "a" if resume is not None else "w"
        self._events = open(os.path.join(out_dir, "events.jsonl"), mode)
        self._mot = [open(self._mot_path("mot", n), mode) for n in self.camera_names]
        self._mot_local = [open(self._mot_path("mot_local", n), mode) for n in self.camera_names]
        self._write_video = write_video
        self._raw: list[Any] = [None] * len(camera_names)
        self._raw_frames: list[list[int]] = [[] for _ in camera_names]
        self._keep_rows = keep_rows
        self._rows: list[list[_Row]] = (
            [[_Row(f, t, g, live, tuple(box), tail) for f, t, g, live, box, tail in rows] for rows in resume["rows"]]
            if resume is not None else [[] for _ in camera_names])
        self.final: FinalIds | None = None
        self.closed = False

    def _write_manifest(self) -> None:
        write_manifest(self.out_dir, MANIFEST_KIND, self.files)

    def _mot_path(self, kind: str, name: str) -> str:
        return os.path.join(self.out_dir, kind, f"{name}.txt")

    def checkpoint(self) -> dict[str, Any]:
        """Flushes everything and returns what :class:`RunRecorder` needs to resume here (``resume=``)."""
        sizes = {}
        for f in [self._events, *self._mot, *self._mot_local]:
            f.flush()
            sizes[os.path.relpath(f.name, self.out_dir)] = f.tell()
        rows = [[[r.frame, r.track, r.segment, r.live_id, list(r.xyxy), r.tail] for r in cam] for cam in self._rows]
        return {"sizes": sizes, "rows": rows}

    def events(self, events: Sequence[Any]) -> None:
        """Appends events (typed :mod:`~mlfn_keras.tracking.core.events` or dicts) to ``events.jsonl``."""
        for e in events:
            self._events.write(json.dumps(as_dict(e)) + "\n")
        if events:
            self._events.flush()

    def frame(self, camera: int, frame_index: int, objects: Sequence[TrackedObject], image: np.ndarray | None) -> None:
        """Records one camera frame: MOT rows and (for the final video) the raw frame."""
        for obj in objects:
            x1, y1, x2, y2 = (float(v) for v in obj.xyxy)
            tail = f"{x1:.1f},{y1:.1f},{x2 - x1:.1f},{y2 - y1:.1f},{obj.score:.3f},-1,-1,-1\n"
            live = None if obj.global_id is None else int(obj.global_id)
            if self._keep_rows:
                self._rows[camera].append(_Row(frame_index, int(obj.track_id), int(obj.segment), live, (x1, y1, x2, y2), tail))
            self._mot_local[camera].write(f"{frame_index + 1},{obj.track_id},{tail}")
            if live is not None:
                self._mot[camera].write(f"{frame_index + 1},{live},{tail}")
        if self._write_video and image is not None:
            if self._raw[camera] is None:
                import cv2

                h, w = image.shape[:2]
                path = os.path.join(self.out_dir, raw_video_name(self.camera_names[camera]))
                self._raw[camera] = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), self.fps[camera], (w, h))
            self._raw[camera].write(image)
            self._raw_frames[camera].append(frame_index)

    # ------------------------------------------------------------ the end
    def final_ids(self, ids: Mapping[TrackletKey, int], every_box: bool = True) -> FinalIds:
        """Makes every output name the final ids; returns them.

        Rewrites ``mot/`` and ``events.jsonl``, renders the annotated videos
        and writes ``ids.json``.

        Args:
            ids: final id per tracklet ``(camera, track, segment)``.
            every_box: recorded video: every recorded box gets its
                tracklet's final id, and a tracklet missing from ``ids`` a
                fresh id of its own (nothing is dropped). ``False`` (live
                cameras): only the boxes that had an id live get one.
        """
        if not self._keep_rows:  # the boxes were not kept (a long live run): the files keep the ids written live
            self.final = FinalIds(dict(ids), len(set(ids.values())))
            return self.final
        next_id = max(ids.values(), default=0) + 1
        final: dict[TrackletKey, int] = {}
        row_ids: list[list[int | None]] = []
        for camera, rows in enumerate(self._rows):
            out: list[int | None] = []
            for r in rows:
                key = (camera, r.track, r.segment)
                gid = ids.get(key)
                if gid is None and every_box:
                    gid = final.get(key) or next_id
                    next_id += gid == next_id
                if gid is not None:
                    final[key] = int(gid)
                out.append(None if gid is None or (not every_box and r.live_id is None) else int(gid))
            row_ids.append(out)
        self._rewrite_mot(row_ids)
        self._rewrite_events(row_ids)
        result = FinalIds(final, len({g for out in row_ids for g in out if g is not None}), self._live_to_final(row_ids))
        self._write_ids(row_ids, result, every_box)
        self._render_videos(row_ids)
        self.final = result
        return result

    def _rewrite_mot(self, row_ids: list[list[int | None]]) -> None:
        for camera, rows in enumerate(self._rows):
            self._mot[camera].close()
            path = self._mot_path("mot", self.camera_names[camera])
            with atomic_output(path) as tmp, open(tmp, "w") as f:
                for r, gid in zip(rows, row_ids[camera]):
                    if gid is not None:
                        f.write(f"{r.frame + 1},{gid},{r.tail}")
            self._mot[camera] = open(path, "a")

    def _rewrite_events(self, row_ids: list[list[int | None]]) -> None:
        """``global_id`` of every box event becomes its box's final id (``live_id``: what was shown)."""
        index: dict[tuple[int, int], tuple[list[int], list[_Row], list[int | None]]] = {}
        for camera, rows in enumerate(self._rows):
            for r, gid in zip(rows, row_ids[camera]):
                frames, rs, gids = index.setdefault((camera, r.track), ([], [], []))
                frames.append(r.frame)
                rs.append(r)
                gids.append(gid)

        def final_of(camera: int, track: int, frame: int, live: int | None) -> int | None:
            found = index.get((camera, track))
            if found is None:
                return None
            frames, rs, gids = found
            upto = bisect.bisect_right(frames, frame)
            for i in range(upto - 1, -1, -1):  # the latest box of this track showing that live id
                if rs[i].live_id == live:
                    return gids[i]
            return gids[max(upto - 1, 0)]

        self._events.close()
        path = os.path.join(self.out_dir, "events.jsonl")
        with open(path) as f:
            lines = [line for line in f if line.strip()]
        with atomic_output(path) as tmp, open(tmp, "w") as f:
            for line in lines:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                f.write(json.dumps(self._final_event(e, final_of)) + "\n")
        self._events = open(path, "a")

    @staticmethod
    def _final_event(e: dict[str, Any], final_of) -> dict[str, Any]:
        cam, track = e.get("camera"), e.get("track")
        if isinstance(cam, int) and cam >= 0 and isinstance(track, int) and "global_id" in e:
            live = e["global_id"]
            out = {k: v for k, v in e.items() if k != "global_id"}
            out["global_id"] = final_of(cam, track, int(e.get("frame", 0)), live)
            out["live_id"] = live
            return out
        if e.get("event") == "final_identities":
            return e
        return {(f"live_{k}" if k in _LIVE_ID_FIELDS or (k.endswith("_id") and not k.startswith("live_")) else k): v
                for k, v in e.items()}

    def _live_to_final(self, row_ids: list[list[int | None]]) -> dict[int, dict[int, int]]:
        out: dict[int, dict[int, int]] = {}
        for camera, rows in enumerate(self._rows):
            for r, gid in zip(rows, row_ids[camera]):
                if r.live_id is not None:
                    # an id held back for a new track that ended before it was committed maps to no one
                    counts = out.setdefault(r.live_id, {})
                    if gid is not None:
                        counts[gid] = counts.get(gid, 0) + 1
        return out

    def _write_ids(self, row_ids: list[list[int | None]], result: FinalIds, every_box: bool) -> None:
        tracklets: dict[TrackletKey, dict[str, Any]] = {}
        for camera, rows in enumerate(self._rows):
            for r, gid in zip(rows, row_ids[camera]):
                key = (camera, r.track, r.segment)
                t = tracklets.setdefault(key, {
                    "camera": self.camera_names[camera], "track": r.track, "segment": r.segment,
                    "first_frame": r.frame, "last_frame": r.frame, "final_id": None, "live_ids": [],
                })
                t["last_frame"] = r.frame
                if gid is not None:
                    t["final_id"] = gid
                if r.live_id is not None:
                    if not t["live_ids"] or t["live_ids"][-1]["id"] != r.live_id:
                        t["live_ids"].append({"id": r.live_id, "from_frame": r.frame, "to_frame": r.frame})
                    t["live_ids"][-1]["to_frame"] = r.frame
        doc = {
            "about": "Each id shown live (annotated live view, web page) and the final id its boxes have in every "
                     "output (videos, mot/, events.jsonl, report.html, summary.json). Frames are 0-based.",
            "final_ids_from": "the whole run re-grouped at its end" if every_box else "the live ids after the run's merges and splits",
            "identities": result.identities,
            "live_to_final": {
                str(live): [{"final_id": g, "boxes": n} for g, n in sorted(finals.items(), key=lambda kv: -kv[1])]
                for live, finals in sorted(result.live_to_final.items())
            },
            "tracklets": [tracklets[k] for k in sorted(tracklets)],
        }
        with atomic_output(os.path.join(self.out_dir, IDS)) as tmp:
            tmp.write_text(json.dumps(doc, indent=1))

    def _render_videos(self, row_ids: list[list[int | None]]) -> None:
        """Each camera's final video: its recorded frames with the final ids drawn."""
        if not self._write_video:
            return
        import cv2

        from mlfn_keras.tracking.view.draw import annotate

        for writer in self._raw:
            if writer is not None:
                writer.release()
        total = sum(len(f) for f in self._raw_frames)
        bar = None
        if self.progress and total:
            from mlfn_keras.progress import tqdm

            bar = tqdm(total=total, desc="videos with final ids", unit="frame", file=sys.stderr)
        for camera, name in enumerate(self.camera_names):
            raw_path = os.path.join(self.out_dir, raw_video_name(name))
            if self._raw[camera] is None or not os.path.isfile(raw_path):
                continue
            by_frame: dict[int, list[TrackedObject]] = {}
            for r, gid in zip(self._rows[camera], row_ids[camera]):
                by_frame.setdefault(r.frame, []).append(
                    TrackedObject(camera, r.frame, r.track, gid, np.asarray(r.xyxy, np.float32), 1.0, r.segment))
            target = os.path.join(self.out_dir, f"{name}.mp4")
            tmp = os.path.join(self.out_dir, f".{name}.mp4.tmp-render.mp4")
            cap = cv2.VideoCapture(raw_path)
            writer = None
            try:
                for frame_index in self._raw_frames[camera]:
                    ok, image = cap.read()
                    if not ok:
                        break
                    if writer is None:
                        h, w = image.shape[:2]
                        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), self.fps[camera], (w, h))
                    writer.write(annotate(image, by_frame.get(frame_index, []), name))
                    if bar is not None:
                        bar.update(1)
            finally:
                cap.release()
                if writer is not None:
                    writer.release()
            if writer is not None:
                os.replace(tmp, target)
                os.remove(raw_path)
            self._raw[camera] = None
        if bar is not None:
            bar.close()

    def add_files(self, files: Sequence[str]) -> None:
        """Lists more files in the manifest (before writing them)."""
        new = [f for f in files if f not in self.files]
        if new:
            self.files += new
            self._write_manifest()

    def close(self, summary: dict[str, Any]) -> str:
        """Flushes and closes everything and writes ``summary.json``; returns its path.

        A run that never reached :meth:`final_ids` (no final ids) keeps its
        live ids and the recorded frames for its videos (rendered now).
        """
        if self.closed:
            return os.path.join(self.out_dir, "summary.json")
        for f in self._mot + self._mot_local + [self._events]:
            f.close()
        if any(w is not None for w in self._raw):
            self._render_videos([[r.live_id for r in rows] for rows in self._rows])
        path = os.path.join(self.out_dir, "summary.json")
        write_json(path, summary, indent=1)
        self.closed = True
        return path
