"""What each latent factor captures (paper Fig. 3).

For a factor ``i`` of block ``n`` (both 1-based, as the paper's
``S_{n,i}``), rank test images by the Factor Selection Module output
``S_{n,i}`` (Eq. 2) and draw the 20 images with the highest values (first
row) and the 20 with the lowest (second row).

Command line:

    python -m mlfn_keras.analysis.factor_grid --model runs/synth/model.keras \\
        --dataset synthetic --data-root /tmp/synth --factors 1:3 2:7 --output runs/factors
    python -m mlfn_keras.analysis.factor_grid --model mlfn_market.keras --dataset market1501 \\
        --data-root ~/data/Market-1501-v15.09.15 --factors 2:29 7:31 10:23 15:29 --output figs
    # no --factors: one factor per block, the one whose output varies most
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry


def top_bottom(values: np.ndarray, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` highest (descending) and ``k`` lowest (ascending) values."""
    order = np.argsort(np.asarray(values), kind="stable")
    k = min(k, len(order))
    return order[::-1][:k], order[:k]


def _selection(selections: Mapping[str, np.ndarray], block: int) -> np.ndarray:
    key = f"selection_{block}"
    if key not in selections:
        raise ValueError(
            f"block {block} is out of range: the model has blocks 1..{len(selections)} "
            f"(outputs {sorted(selections)})."
        )
    return np.asarray(selections[key])


def most_variable_factors(
    selections: Mapping[str, np.ndarray], num: int | None = None
) -> list[tuple[int, int]]:
    """Picks ``(block, factor)`` pairs (1-based) worth drawing.

    One factor per block, the one with the largest variance over the images,
    for ``num`` blocks spread evenly from the bottom to the top of the
    network (as Fig. 3 shows factors "from bottom to top level").
    """
    blocks = sorted(int(k.split("_")[1]) for k in selections)
    if num is not None and num < len(blocks):
        blocks = [blocks[int(round(i))] for i in np.linspace(0, len(blocks) - 1, num)]
    return [(b, int(np.argmax(_selection(selections, b).var(axis=0))) + 1) for b in blocks]


def draw_factor_grid(
    selections: Mapping[str, np.ndarray],
    paths: Sequence[str],
    block: int,
    factor: int,
    path: str | Path,
    k: int = 20,
    tile_size: tuple[int, int] = (128, 64),
) -> Path:
    """Writes the Fig. 3 grid of one factor to a PNG.

    Args:
        selections: ``{"selection_n": (N, K_n)}`` per-block S_n of the images.
        paths: The ``N`` image files.
        block: Block ``n`` (1-based).
        factor: Factor ``i`` within the block (1-based).
        path: Output PNG.
        k: Images per row.
        tile_size: ``(height, width)`` of each tile.

    Returns:
        The written path.

    Raises:
        ValueError: If ``block`` or ``factor`` is out of range.
    """
    import cv2

    from mlfn_keras.evaluation.features import read_image

    s = _selection(selections, block)
    if len(s) != len(paths):
        raise ValueError(f"{len(paths)} paths for {len(s)} rows of selections.")
    if not 1 <= factor <= s.shape[1]:
        raise ValueError(f"factor {factor} is out of range for block {block}: expected 1..{s.shape[1]}.")
    values = s[:, factor - 1]
    high, low = top_bottom(values, k)
    h, w = tile_size
    pad, label_w, header = 4, 90, 22
    width = label_w + k * (w + pad)
    canvas = np.full((header + 2 * (h + 18), width, 3), 255, np.uint8)
    cv2.putText(canvas, f"S_{{{block},{factor}}}: highest (top) / lowest (bottom) of {len(values)} images",
                (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for row, (idx, name) in enumerate(((high, "highest"), (low, "lowest"))):
        y = header + row * (h + 18)
        cv2.putText(canvas, name, (4, y + h // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for j, i in enumerate(idx):
            x = label_w + j * (w + pad)
            canvas[y : y + h, x : x + w] = cv2.resize(read_image(paths[i]), (w, h))
            cv2.putText(canvas, f"{values[i]:.2f}", (x + 2, y + h + 13), cv2.FONT_HERSHEY_SIMPLEX,
                        0.35, (0, 0, 0), 1, cv2.LINE_AA)
    from mlfn_keras.fileio import atomic_output

    path = Path(path)
    with atomic_output(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write the image {path}")
    return path


def _parse_factor(text: str) -> tuple[int, int]:
    try:
        block, factor = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected BLOCK:FACTOR with 1-based integers (e.g. 2:29), got {text!r}"
        ) from None
    return block, factor


_EPILOG = """examples:
  python -m mlfn_keras.analysis.factor_grid --model runs/synth/model.keras \\
      --dataset synthetic --data-root /tmp/synth --factors 1:3 2:7 --output runs/factors
  python -m mlfn_keras.analysis.factor_grid --model mlfn_market.keras --dataset market1501 \\
      --data-root ~/data/Market-1501-v15.09.15 --factors 2:29 7:31 10:23 15:29 --output figs
  python -m mlfn_keras.analysis.factor_grid --model m.keras --dataset synthetic --data-root /tmp/synth \\
      --auto 4 --output figs        # 4 blocks bottom to top, most variable factor of each
"""


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    from mlfn_keras.evaluation.features import extract_features
    from mlfn_keras.evaluation.models import load_model
    from mlfn_keras.evaluation.splits import load_eval_split

    parser = cli_args.make_parser(
        "python -m mlfn_keras.analysis.factor_grid",
        "Draw the images with the highest / lowest factor selection S_{n,i} (paper Fig. 3).",
        _EPILOG,
    )
    cli_args.add_model_argument(parser)
    cli_args.add_dataset_arguments(parser, root_help="data set folder (its test images are ranked)")
    parser.add_argument("--factors", nargs="+", type=_parse_factor, help="BLOCK:FACTOR pairs, 1-based")
    parser.add_argument("--auto", type=int, default=4, help="without --factors: number of blocks drawn")
    parser.add_argument("--top", type=int, default=20, help="images per row (default 20)")
    cli_args.add_batch_size(parser)
    cli_args.add_output(parser, required=True, help="folder for factor_<n>_<i>.png")
    args = parser.parse_args(argv)
    with cli_args.user_errors():
        split = load_eval_split(args.dataset, args.data_root)
        model, _ = load_model(args.model, None)
        paths = [r[0] for r in list(split.query) + list(split.gallery)]
        feats = extract_features(model, paths, batch_size=args.batch_size,
                                 progress=not args.quiet, desc="test images")
        if not feats.selections:
            raise ValueError("the model has no factor selection outputs (selection_n).")
        factors = args.factors or most_variable_factors(feats.selections, args.auto)
        for block, factor in factors:
            out = draw_factor_grid(feats.selections, paths, block, factor,
                                   Path(args.output) / f"factor_{block}_{factor}.png", k=args.top)
            print(f"S_{block},{factor}: wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
