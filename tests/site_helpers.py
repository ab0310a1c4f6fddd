"""Shared pieces of the multi-box tests: the short scene, its single-box answer, in-process site runs."""

from __future__ import annotations

from pathlib import Path

from mlfn_keras.tracking.bench import multibox
from mlfn_keras.tracking.bench.multibox import same_mot  # noqa: F401 (re-exported for the tests)


def scene_files():
    """``(specs, gt_paths)`` of the short scene (rendered once, cached)."""
    return multibox.short_scene_files()


def single_box(out: Path) -> Path:
    """The single-box answer on the short scene with the deterministic stand-in embedder (colour histogram)."""
    return multibox.single_box(scene_files()[0], out)


def run_site_in_process(out: Path, deliveries=None, **central):
    """Two edges (threads, one camera each) and a central on fakeredis; returns their summaries."""
    return multibox.run_in_process(scene_files()[0], out, deliveries, **central)
