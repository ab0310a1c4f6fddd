"""Pictures of an evaluation: CMC curves and ranked lists.

Example:

```python
from mlfn_keras.evaluation.plots import plot_cmc, plot_ranked_lists

plot_cmc({"mlfn": result.metrics.cmc}, "out/cmc.png")
plot_ranked_lists(result.distmat, result.query, result.gallery, "out/ranked.png")
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mlfn_keras.evaluation.splits import Record

GREEN = (40, 170, 60)
RED = (210, 40, 40)
GREY = (160, 160, 160)


def plot_cmc(
    curves: Mapping[str, np.ndarray],
    path: str | Path,
    max_rank: int = 20,
    title: str = "CMC",
) -> Path:
    """Draws CMC curves (rank 1..max_rank, in %) to a PNG.

    Args:
        curves: ``{label: cmc}`` with ``cmc[k]`` the rank-(k+1) accuracy as a
            fraction.
        path: Output PNG.
        max_rank: Last rank plotted.
        title: Figure title.

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    for label, cmc in curves.items():
        cmc = np.asarray(cmc)[:max_rank] * 100.0
        ranks = np.arange(1, len(cmc) + 1)
        ax.plot(ranks, cmc, marker="o", markersize=3, label=f"{label} (R1 {cmc[0]:.1f}%)")
    ax.set_xlabel("Rank")
    ax.set_ylabel("Matching rate (%)")
    ax.set_title(title)
    ax.set_xlim(1, max_rank)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    from mlfn_keras.fileio import atomic_output

    with atomic_output(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path


def _tile(path: str, size: tuple[int, int], colour, border: int) -> np.ndarray:
    import cv2

    from mlfn_keras.evaluation.features import read_image

    h, w = size
    img = cv2.resize(read_image(path), (w - 2 * border, h - 2 * border))
    tile = np.empty((h, w, 3), np.uint8)
    tile[:] = colour
    tile[border:-border, border:-border] = img
    return tile


def plot_ranked_lists(
    distmat: np.ndarray,
    query: Sequence[Record],
    gallery: Sequence[Record],
    path: str | Path,
    query_indices: Sequence[int] | None = None,
    num_queries: int = 8,
    top_k: int = 10,
    tile_size: tuple[int, int] = (128, 64),
    seed: int = 0,
) -> Path:
    """Draws queries and their top-k gallery matches to a PNG.

    Each row is a query (grey border) followed by its ``top_k`` nearest
    gallery images: green border for the query's identity, red otherwise.
    Gallery images the protocol ignores (same identity and camera as the
    query, junk id -1) are skipped, as the metrics skip them.

    Args:
        distmat: ``(Q, G)`` distances.
        query: Query records.
        gallery: Gallery records.
        path: Output PNG.
        query_indices: Queries to show; defaults to ``num_queries`` random
            ones (fixed by ``seed``).
        num_queries: Number of random queries when ``query_indices`` is None.
        top_k: Matches per query.
        tile_size: ``(height, width)`` of each image tile.
        seed: Seed of the random query choice.

    Returns:
        The written path.
    """
    import cv2

    distmat = np.asarray(distmat)
    if query_indices is None:
        rng = np.random.default_rng(seed)
        query_indices = sorted(
            rng.choice(len(query), size=min(num_queries, len(query)), replace=False)
        )
    g_pids = np.array([r[1] for r in gallery])
    g_cams = np.array([r[2] for r in gallery])
    h, w = tile_size
    gap, label_h = 10, 16
    rows = []
    for qi in query_indices:
        _, q_pid, q_cam = query[qi]
        order = np.argsort(distmat[qi])
        ignore = ((g_pids[order] == q_pid) & (g_cams[order] == q_cam)) | (g_pids[order] == -1)
        order = order[~ignore][:top_k]
        row = np.full((h + label_h, w * (top_k + 1) + gap * (top_k + 1), 3), 255, np.uint8)
        tiles = [(_tile(query[qi][0], tile_size, GREY, 4), f"q {q_pid}")]
        for rank, gi in enumerate(order, start=1):
            colour = GREEN if g_pids[gi] == q_pid else RED
            tiles.append((_tile(gallery[gi][0], tile_size, colour, 4), f"{rank}:{g_pids[gi]}"))
        x = 0
        for k, (tile, text) in enumerate(tiles):
            row[label_h:, x : x + w] = tile
            cv2.putText(row, text, (x + 2, label_h - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        (0, 0, 0), 1, cv2.LINE_AA)
            x += w + (2 * gap if k == 0 else gap)
        rows.append(row)
    canvas = np.concatenate(rows, axis=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from mlfn_keras.fileio import atomic_output

    with atomic_output(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write the image {path}")
    return path
