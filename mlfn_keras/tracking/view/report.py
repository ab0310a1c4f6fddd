"""``report.html``: one self-contained page per run, and the live page's HTML.

Both pages are built from the same assets (``assets/page.html``,
``style.css``, ``app.js``), so the report shows exactly what the live page
shows, frozen at the end of the run: the final identities with their crops
per camera, each person's path across cameras with times and their timeline,
the camera transitions, the events, the run's settings and, when the run was
scored, its scores.

:func:`write_report` writes ``report.html`` (CSS, JS and data inline: it opens
from disk with no server and no internet) and the thumbnails as files beside
it in ``report_files/`` (none with ``--no-thumbnails``).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlfn_keras.tracking.view.feed import IdentityFeed

ASSETS = Path(__file__).resolve().parent / "assets"
REPORT = "report.html"
REPORT_FILES = "report_files"


def render_page(data: Mapping[str, Any] | None, title: str) -> str:
    """The page: live (``data`` is ``None``: it polls ``/api/``) or a report (``data`` embedded)."""
    page = (ASSETS / "page.html").read_text()
    payload = "null" if data is None else json.dumps(data, separators=(",", ":"))
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\!--")  # cannot close the script tag
    for key, value in (
        ("{{STYLE}}", (ASSETS / "style.css").read_text()),
        ("{{SCRIPT}}", (ASSETS / "app.js").read_text()),
        ("{{TITLE}}", html.escape(title)),
        ("{{MODE}}", "live" if data is None else "report"),
        ("{{DATA}}", payload),
    ):
        page = page.replace(key, value)
    return page


def report_data(feed: IdentityFeed, files_dir: str = REPORT_FILES) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The report's data (thumbnail links pointing at ``files_dir/``) and the thumbnails to write there.

    Returns:
        ``(data, files)``: ``files`` maps a name inside ``files_dir`` to JPEG bytes.
    """
    data = feed.snapshot()
    files: dict[str, bytes] = {}
    for card in data["identities"]:
        gid = card["id"]
        for cam in list(card["thumbnails"]):
            jpeg = feed.thumbnail(gid, cam)
            if jpeg is None:
                del card["thumbnails"][cam]
                continue
            name = f"id{gid}_{cam}.jpg"
            files[name] = jpeg
            card["thumbnails"][cam] = f"{files_dir}/{name}"
        for app in card.get("appearances", []):
            if "thumbnail" in app:
                jpeg = feed.appearance_thumbnail(app["n"])
                if jpeg is None:
                    del app["thumbnail"]
                    continue
                name = f"a{app['n']}.jpg"
                files[name] = jpeg
                app["thumbnail"] = f"{files_dir}/{name}"
    for cam in data["cameras"]:
        cam["objects"], cam["people_now"] = [], []
    return data, files


def report_files(feed: IdentityFeed) -> list[str]:
    """The paths (relative to the output folder) :func:`write_report` will write."""
    _, files = report_data(feed)
    return [REPORT] + [f"{REPORT_FILES}/{name}" for name in sorted(files)]


def write_report(out_dir: str | os.PathLike, feed: IdentityFeed, title: str = "mlfn-keras run report") -> list[str]:
    """Writes ``report.html`` and ``report_files/`` into ``out_dir``.

    Returns:
        The paths written, relative to ``out_dir``.
    """
    from mlfn_keras.fileio import atomic_output

    out = Path(out_dir)
    data, files = report_data(feed)
    written = []
    if files:
        (out / REPORT_FILES).mkdir(exist_ok=True)
    for name, jpeg in sorted(files.items()):
        (out / REPORT_FILES / name).write_bytes(jpeg)
        written.append(f"{REPORT_FILES}/{name}")
    with atomic_output(out / REPORT) as tmp:
        tmp.write_text(render_page(data, title))
    return [REPORT, *written]


def scores_table(scores: Any, camera_names: list[str]) -> dict[str, Any]:
    """A :class:`~mlfn_keras.tracking.eval.scoring.RunScores` as the table the pages show (percent)."""

    def pct(v: float | None) -> str:
        return "" if v is None or v != v else f"{100 * v:.1f}"

    cams = {c.name: c for c in scores.cameras}
    row = ["this run: HOTA / IDF1 per camera; cross-camera IDF1"]
    row += [f"{pct(cams[n].hota)} / {pct(cams[n].idf1)}" if n in cams else "" for n in camera_names]
    rows = [
        row + [pct(scores.cross_camera)],
        ["no re-id (each camera's tracks kept apart)"] + [""] * len(camera_names) + [pct(scores.no_reid)],
        ["oracle re-id (each track given its true id)"] + [""] * len(camera_names) + [pct(scores.oracle)],
    ]
    return {
        "columns": ["", *camera_names, "cross-camera IDF1"],
        "rows": rows,
        "note": f"{scores.global_ids} identities for {scores.people} people in the ground truth.",
    }
