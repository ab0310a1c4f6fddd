"""Shared pieces of the multi-box tests: a short scene, a single-box reference, in-process site runs."""

from __future__ import annotations

import filecmp
import os
import random
import sys
import threading
from pathlib import Path

from mlfn_keras.tracking.app.scene import SceneConfig

ROOT = Path(__file__).resolve().parents[1]
# 6 people, 200 frames per camera at 15 FPS, 384x288: a few hand-offs in ~13 s.
SCENE = SceneConfig(num_people=6, num_frames=200, width=384, height=288, seed=0, pass_seconds=(2.5, 4.0),
                    transit_seconds=(0.5, 1.5))


def scene_files():
    """``(specs, gt_paths)`` of the short scene (rendered once, cached)."""
    from mlfn_keras.tracking.app.demo import scene_specs

    return scene_specs(SCENE, progress=False)


def single_box(out: Path) -> Path:
    """The single-box answer on the scene with the deterministic stand-in embedder (colour histogram)."""
    from mlfn_keras.tracking.app.runner import RunOptions, run_multicam
    from mlfn_keras.tracking.core.reid import load_reid
    from mlfn_keras.tracking.detection.detectors import build_detector

    specs, _ = scene_files()
    run_multicam(specs, build_detector("bgsub"), load_reid("hist"), None,
                 RunOptions(output_dir=str(out), write_video=False, progress=False, log=lambda line: None))
    return out


def same_mot(a: Path, b: Path, names=("cam0", "cam1"), kinds=("mot", "mot_local")) -> list[str]:
    """The MOT files that differ between two run folders (empty: identical)."""
    return [f"{k}/{n}.txt" for k in kinds for n in names
            if not filecmp.cmp(a / k / f"{n}.txt", b / k / f"{n}.txt", shallow=False)]


def run_site_in_process(out: Path, make_broker, deliveries=None, edges_kw=None, central_kw=None):
    """Two edges (threads, one camera each) and a central on one broker; returns the central's summary."""
    from mlfn_keras.tracking.core.reid import load_reid
    from mlfn_keras.tracking.detection.detectors import build_detector
    from mlfn_keras.tracking.site.central import CentralConfig, run_central
    from mlfn_keras.tracking.site.edge import EdgeConfig, run_edge

    specs, _ = scene_files()
    embedder = load_reid("hist")
    quiet = lambda line: None  # noqa: E731
    results, threads = {}, []
    for i, spec in enumerate(specs):
        cfg = EdgeConfig(specs=[spec], edge=f"box{i}", log=quiet, **(edges_kw or {}))

        def work(cfg=cfg, i=i):
            results[i] = run_edge(cfg, build_detector("bgsub"), embedder, make_broker())

        threads.append(threading.Thread(target=work, daemon=True))
    for t in threads:
        t.start()
    config = CentralConfig(output_dir=str(out), edges=2, log=quiet, deliveries=deliveries, **(central_kw or {}))
    summary = run_central(config, make_broker())
    for t in threads:
        t.join(60)
    return summary, results


class DuplicateAndReorder:
    """A delivery shim: repeats ``share`` of the entries and shuffles each batch (as a flaky network would)."""

    def __init__(self, share: float = 0.1, seed: int = 0):
        self.share, self.rng = share, random.Random(seed)
        self.duplicated = 0
        self._held: list = []

    def __call__(self, entries: list) -> list:
        out = list(entries)
        for e in entries:
            if self.rng.random() < self.share:
                out.append(e)
                self.duplicated += 1
        # hold some entries back to the next read (reordering across reads too)
        held, self._held = self._held, [e for e in out if self.rng.random() < self.share]
        out = [e for e in out if e not in self._held] + held
        self.rng.shuffle(out)
        return out


def cli(*args: str) -> list[str]:
    """A command line running one of the site CLIs in a fresh interpreter."""
    return [sys.executable, "-c", "import sys; from mlfn_keras.tracking.site.cli import %s as m; sys.exit(m(sys.argv[1:]))"
            % args[0], *args[1:]]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return e
