"""Writing a run: annotated videos, events JSONL, MOT files, summary.

:class:`RunRecorder` writes into ``--output DIR``:

* ``cam{i}.mp4``: each camera's frames with boxes labelled by global id;
* ``events.jsonl``: one JSON object per event (``track_start``, ``track_end``,
  ``global_id_assigned``, ``handoff``, ``reentry``, ``camera_message``);
* ``mot/NAME.txt`` (``NAME``: the camera's name, ``cam{i}`` by default): MOT
  rows with **global** ids (what the demo shows; scored per camera and across
  cameras by ``demo/evaluate.py``); in offline mode rewritten at the end with
  the re-clustered final ids (:meth:`RunRecorder.final_ids`), every track included;
* ``mot_local/NAME.txt``: MOT rows with the per-camera tracker ids;
* ``summary.json``: counts, timings and FPS, written by :meth:`close`;
* ``manifest.json``: every file this run writes (including ``gt/cam{i}.txt``
  and ``scores.json``, which the demo adds), written first.

Every file is flushed as it goes, so an interrupted run leaves usable output.

A reused output folder is cleared by :func:`prepare_output_dir` before a run,
under the rules of :mod:`mlfn_keras.fileio`: the folder is checked first
(anything its manifest does not list, dot-files included, is refused unless
``force``), and only then are the files the previous run listed removed, so a
run never mixes its files with an earlier run's and never deletes what it did
not write. Final files (``summary.json``, the re-clustered MOT files) are
written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
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


def run_files(camera_names: Sequence[str], write_video: bool = True) -> list[str]:
    """Every path (relative to the output folder) a run with these cameras may write."""
    files = [MANIFEST, "events.jsonl", "summary.json", "scores.json"]
    for name in camera_names:
        files += [f"mot/{name}.txt", f"mot_local/{name}.txt", f"gt/{name}.txt"]
        if write_video:
            files.append(f"{name}.mp4")
    return files


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
                             writes=[MANIFEST, "events.jsonl", "summary.json", "scores.json", "mot", "mot_local", "gt"],
                             legacy=_legacy_files)
    return claim.remove_previous()


class RunRecorder:
    """Writes a run's outputs under ``out_dir``.

    Args:
        out_dir: output folder (created).
        camera_names: one name per camera.
        fps: frame rate per camera for the videos.
        write_video: write annotated ``.mp4`` files.
        keep_rows: keep every MOT row in memory for :meth:`final_ids` (a
            live run that is never re-clustered does not need them).
        resume: a :meth:`checkpoint` to continue from: the files are cut
            back to what it covered and appended to (a restarted central).
    """

    def __init__(self, out_dir: str, camera_names: Sequence[str], fps: Sequence[float], write_video: bool = True,
                 keep_rows: bool = True, resume: dict[str, Any] | None = None):
        self.out_dir = out_dir
        self.camera_names = list(camera_names)
        self.fps = [float(f) if f else 15.0 for f in fps]
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
        write_manifest(out_dir, MANIFEST_KIND, self.files)
        if resume is not None:  # a restarted central: cut the files back to its checkpoint, then append
            for rel, size in resume["sizes"].items():
                with open(os.path.join(out_dir, rel), "a") as f:
                    f.truncate(size)
        mode = "a" if resume is not None else "w"
        self._events = open(os.path.join(out_dir, "events.jsonl"), mode)
        self._mot = [open(self._mot_path("mot", n), mode) for n in self.camera_names]
        self._mot_local = [open(self._mot_path("mot_local", n), mode) for n in self.camera_names]
        self._write_video = write_video
        self._videos: list[Any] = [None] * len(camera_names)
        # (frame, track, segment, MOT row tail) per camera, for final_ids.
        self._keep_rows = keep_rows
        self._rows: list[list[tuple[int, int, int, str]]] = (
            [list(r) for r in resume["rows"]] if resume is not None else [[] for _ in camera_names])
        self.closed = False

    def _mot_path(self, kind: str, name: str) -> str:
        return os.path.join(self.out_dir, kind, f"{name}.txt")

    def checkpoint(self) -> dict[str, Any]:
        """Flushes everything and returns what :class:`RunRecorder` needs to resume here (``resume=``)."""
        sizes = {}
        for f in [self._events, *self._mot, *self._mot_local]:
            f.flush()
            sizes[os.path.relpath(f.name, self.out_dir)] = f.tell()
        return {"sizes": sizes, "rows": [list(r) for r in self._rows]}

    def events(self, events: Sequence[Any]) -> None:
        """Appends events (typed :mod:`~mlfn_keras.tracking.core.events` or dicts) to ``events.jsonl``."""
        for e in events:
            self._events.write(json.dumps(as_dict(e)) + "\n")
        if events:
            self._events.flush()

    def frame(self, camera: int, frame_index: int, objects: Sequence[TrackedObject], annotated: np.ndarray | None) -> None:
        """Records one camera frame: MOT rows and (optionally) the annotated image."""
        for obj in objects:
            x1, y1, x2, y2 = (float(v) for v in obj.xyxy)
            tail = f"{x1:.1f},{y1:.1f},{x2 - x1:.1f},{y2 - y1:.1f},{obj.score:.3f},-1,-1,-1\n"
            row = f"{frame_index + 1},{{}},{tail}"
            if self._keep_rows:
                self._rows[camera].append((frame_index, obj.track_id, obj.segment, tail))
            self._mot_local[camera].write(row.format(obj.track_id))
            if obj.global_id is not None:
                self._mot[camera].write(row.format(obj.global_id))
        if self._write_video and annotated is not None:
            import cv2

            if self._videos[camera] is None:
                h, w = annotated.shape[:2]
                path = os.path.join(self.out_dir, f"{self.camera_names[camera]}.mp4")
                self._videos[camera] = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), self.fps[camera], (w, h))
            self._videos[camera].write(annotated)

    def final_ids(self, ids: dict[tuple[int, int, int], int]) -> None:
        """Rewrites ``mot/NAME.txt`` with final ids per tracklet ``(camera, track, segment)``.

        Every recorded row is written, so a track that never had an online
        global id is in the final output too; a tracklet missing from ``ids``
        keeps a fresh id of its own (nothing is dropped).
        """
        next_id = max(ids.values(), default=0) + 1
        extra: dict[tuple[int, int, int], int] = {}
        for camera, rows in enumerate(self._rows):
            self._mot[camera].close()
            path = self._mot_path("mot", self.camera_names[camera])
            with atomic_output(path) as tmp, open(tmp, "w") as f:
                for frame_index, track, segment, tail in rows:
                    key = (camera, track, segment)
                    gid = ids.get(key)
                    if gid is None:
                        gid = extra.setdefault(key, next_id + len(extra))
                    f.write(f"{frame_index + 1},{gid},{tail}")
            self._mot[camera] = open(path, "a")

    def close(self, summary: dict[str, Any]) -> str:
        """Flushes and closes everything and writes ``summary.json``; returns its path."""
        if self.closed:
            return os.path.join(self.out_dir, "summary.json")
        for f in self._mot + self._mot_local + [self._events]:
            f.close()
        for v in self._videos:
            if v is not None:
                v.release()
        path = os.path.join(self.out_dir, "summary.json")
        write_json(path, summary, indent=1)
        self.closed = True
        return path
