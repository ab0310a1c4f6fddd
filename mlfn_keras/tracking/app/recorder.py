"""Writing a run: annotated videos, events JSONL, MOT files, summary.

:class:`RunRecorder` writes into ``--output DIR``:

* ``cam{i}.mp4``: each camera's frames with boxes labelled by global id;
* ``events.jsonl``: one JSON object per event (``track_start``, ``track_end``,
  ``global_id_assigned``, ``handoff``, ``reentry``, ``camera_message``);
* ``mot/cam{i}.txt``: MOT rows with **global** ids (what the demo shows;
  scored per camera and across cameras by ``demo/evaluate.py``); in offline
  mode rewritten at the end with the re-clustered final ids
  (:meth:`RunRecorder.final_ids`), every track included;
* ``mot_local/cam{i}.txt``: MOT rows with the per-camera tracker ids;
* ``summary.json``: counts, timings and FPS, written by :meth:`close`;
* ``manifest.json``: every file this run writes (including ``gt/cam{i}.txt``
  and ``scores.json``, which the demo adds), written first.

Every file is flushed as it goes, so an interrupted run leaves usable output.

A reused output folder is cleared by :func:`prepare_output_dir` before a run:
it removes only the files the previous run listed in its manifest (or, for
runs older than the manifest, in its ``summary.json``) and refuses a folder
holding anything else unless ``force`` is set, so a run never mixes its files
with an earlier run's and never deletes what it did not write.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlfn_keras.errors import OutputExistsError
from mlfn_keras.fileio import atomic_output, check_output_dir
from mlfn_keras.tracking.core.events import as_dict
from mlfn_keras.tracking.core.pipeline import TrackedObject

MANIFEST = "manifest.json"
#: Marks a manifest as this project's (a foreign ``manifest.json`` is not trusted).
MANIFEST_KIND = "mlfn_keras.multicam_run"
_SUBFOLDERS = ("mot", "mot_local", "gt")


def run_files(camera_names: Sequence[str], write_video: bool = True) -> list[str]:
    """Every path (relative to the output folder) a run with these cameras may write."""
    files = [MANIFEST, "events.jsonl", "summary.json", "scores.json"]
    for i, name in enumerate(camera_names):
        files += [f"mot/cam{i}.txt", f"mot_local/cam{i}.txt", f"gt/cam{i}.txt"]
        if write_video:
            files.append(f"{name}.mp4")
    return files


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def previous_run_files(out_dir: str | os.PathLike) -> list[str]:
    """The files an earlier run of this project listed in ``out_dir`` (relative paths)."""
    folder = Path(out_dir)
    manifest = _read_json(folder / MANIFEST)
    if isinstance(manifest, dict) and manifest.get("kind") == MANIFEST_KIND:
        return [str(f) for f in manifest.get("files", [])]
    summary = _read_json(folder / "summary.json")
    if isinstance(summary, dict) and isinstance(summary.get("cameras"), list) and "ticks" in summary:
        # A run from before the manifest: its summary names its cameras.
        names = [str(c.get("name", f"cam{i}")) for i, c in enumerate(summary["cameras"]) if isinstance(c, dict)]
        return run_files(names, write_video=True)
    return []


def prepare_output_dir(out_dir: str | os.PathLike, force: bool = False) -> list[str]:
    """Makes ``out_dir`` ready for a new run without losing anything foreign.

    Removes the files the previous run of this project listed (so none of its
    cameras' files outlive it), then refuses the folder if anything else is
    left, unless ``force``, which writes beside those files and keeps them.

    Args:
        out_dir: the ``--output`` folder (created if missing).
        force: write into a folder holding files this project did not write.

    Returns:
        The relative paths removed.

    Raises:
        OutputExistsError: the folder holds foreign files and ``force`` is off.
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"--output {str(folder)!r} is a file; expected a folder (or a new path)")
    removed = []
    root = folder.resolve() if folder.exists() else None
    for rel in previous_run_files(folder) if root is not None else []:
        path = (folder / rel).resolve()
        if root not in path.parents or not path.is_file():
            continue  # never follow a listed path out of the folder
        path.unlink()
        removed.append(rel)
    for sub in _SUBFOLDERS:
        with contextlib.suppress(OSError):
            (folder / sub).rmdir()  # only when empty
    check_output_dir(folder, force=force, what="--output folder")
    return removed


class RunRecorder:
    """Writes a run's outputs under ``out_dir``.

    Args:
        out_dir: output folder (created).
        camera_names: one name per camera.
        fps: frame rate per camera for the videos.
        write_video: write annotated ``.mp4`` files.
    """

    def __init__(self, out_dir: str, camera_names: Sequence[str], fps: Sequence[float], write_video: bool = True):
        self.out_dir = out_dir
        self.camera_names = list(camera_names)
        self.fps = [float(f) if f else 15.0 for f in fps]
        os.makedirs(os.path.join(out_dir, "mot"), exist_ok=True)
        os.makedirs(os.path.join(out_dir, "mot_local"), exist_ok=True)
        # The manifest comes first, so even a killed run's files are known.
        self.files = run_files(self.camera_names, write_video)
        with atomic_output(os.path.join(out_dir, MANIFEST)) as tmp:
            tmp.write_text(json.dumps({"kind": MANIFEST_KIND, "files": self.files}, indent=1))
        self._events = open(os.path.join(out_dir, "events.jsonl"), "w")
        self._mot = [open(os.path.join(out_dir, "mot", f"cam{i}.txt"), "w") for i in range(len(camera_names))]
        self._mot_local = [open(os.path.join(out_dir, "mot_local", f"cam{i}.txt"), "w") for i in range(len(camera_names))]
        self._write_video = write_video
        self._videos: list[Any] = [None] * len(camera_names)
        # (frame, track, segment, MOT row tail) per camera, for final_ids.
        self._rows: list[list[tuple[int, int, int, str]]] = [[] for _ in camera_names]
        self.closed = False

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
        """Rewrites ``mot/cam{i}.txt`` with final ids per tracklet ``(camera, track, segment)``.

        Every recorded row is written, so a track that never had an online
        global id is in the final output too; a tracklet missing from ``ids``
        keeps a fresh id of its own (nothing is dropped).
        """
        next_id = max(ids.values(), default=0) + 1
        extra: dict[tuple[int, int, int], int] = {}
        for camera, rows in enumerate(self._rows):
            self._mot[camera].close()
            path = os.path.join(self.out_dir, "mot", f"cam{camera}.txt")
            with open(path + ".tmp", "w") as f:
                for frame_index, track, segment, tail in rows:
                    key = (camera, track, segment)
                    gid = ids.get(key)
                    if gid is None:
                        gid = extra.setdefault(key, next_id + len(extra))
                    f.write(f"{frame_index + 1},{gid},{tail}")
            os.replace(path + ".tmp", path)
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
        with open(path, "w") as f:
            json.dump(summary, f, indent=1)
        self.closed = True
        return path
