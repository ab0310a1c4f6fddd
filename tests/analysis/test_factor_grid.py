"""Fig. 3 factor grids: ranking by S_{n,i} and the PNG."""

import cv2
import numpy as np
import pytest

from mlfn_keras.analysis.factor_grid import (
    draw_factor_grid,
    most_variable_factors,
    top_bottom,
)


def test_top_bottom():
    high, low = top_bottom(np.array([0.5, 0.9, 0.1, 0.7, 0.3]), k=2)
    assert list(high) == [1, 3] and list(low) == [2, 4]


def test_grid_png_orders_images_by_factor(tmp_path):
    n = 12
    paths = []
    for i in range(n):
        # Image brightness encodes the image index so the grid can be checked.
        img = np.full((40, 20, 3), 20 * i, np.uint8)
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), img)
        paths.append(str(p))
    s2 = np.zeros((n, 3), np.float32)
    s2[:, 1] = np.arange(n) / n  # factor 2 of block 2 increases with the index
    sel = {"selection_1": np.random.RandomState(0).rand(n, 4), "selection_2": s2}
    out = draw_factor_grid(sel, paths, block=2, factor=2, path=tmp_path / "g.png", k=3, tile_size=(40, 20))
    img = cv2.imread(str(out))
    assert img.shape[1] == 90 + 3 * (20 + 4)
    header, h = 22, 40
    top_first = img[header + h // 2, 90 + 10, 0]
    bottom_first = img[header + (h + 18) + h // 2, 90 + 10, 0]
    assert top_first == 20 * (n - 1) and bottom_first == 0
    with pytest.raises(ValueError, match="blocks 1..2"):
        draw_factor_grid(sel, paths, block=3, factor=1, path=tmp_path / "x.png")
    with pytest.raises(ValueError, match="expected 1..3"):
        draw_factor_grid(sel, paths, block=2, factor=4, path=tmp_path / "x.png")


def test_most_variable_factors_spread_over_blocks():
    rs = np.random.RandomState(0)
    sel = {f"selection_{b}": rs.rand(50, 6) * 0.01 for b in range(1, 7)}
    sel["selection_6"][:, 4] = rs.rand(50)
    picks = most_variable_factors(sel, 3)
    blocks = [b for b, _ in picks]
    assert len(picks) == 3 and blocks[0] == 1 and blocks[1] in (3, 4) and picks[-1] == (6, 5)


def test_cli_writes_grids(tmp_path, capsys):
    import mlfn_keras
    from mlfn_keras.analysis import factor_grid
    from mlfn_keras.data.synthetic import generate_market_layout

    root = generate_market_layout(tmp_path / "s", num_identities=8, num_cameras=2,
                                  images_per_identity_camera=2, height=64, width=32, progress=False)
    mlfn_keras.MLFN.from_preset("mlfn_tiny").save(tmp_path / "m.keras")
    args = ["--model", str(tmp_path / "m.keras"), "--dataset", "synthetic", "--data-root", str(root),
            "--quiet", "--top", "5", "--output", str(tmp_path / "o")]
    assert factor_grid.main(args + ["--factors", "2:3"]) == 0
    assert (tmp_path / "o" / "factor_2_3.png").stat().st_size > 1000
    assert factor_grid.main(args) == 0  # automatic choice: one factor per block
    assert len(list((tmp_path / "o").glob("factor_1_*.png"))) == 1
    assert factor_grid.main(args + ["--factors", "9:1"]) == 2
    assert "out of range" in capsys.readouterr().err
