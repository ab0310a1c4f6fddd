"""Tests for mlfn_keras.data.synthetic (generated identities)."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import numpy as np
import pytest

from mlfn_keras.data import synthetic
from mlfn_keras.data.synthetic import cli as synthetic_cli

MARKET_NAME = re.compile(r"^(-1|\d{4})_c(\d+)s1_(\d{6})_(\d{2})\.jpg$")


def _person(pid: int = 1, **overrides) -> synthetic.IdentityAttributes:
    person = synthetic.sample_identity(pid, np.random.default_rng(pid))
    for key, value in overrides.items():
        setattr(person, key, value)
    return person


def test_sample_identity_deterministic_and_varied():
    a = synthetic.sample_identity(3, np.random.default_rng(7))
    b = synthetic.sample_identity(3, np.random.default_rng(7))
    assert a == b
    people = [synthetic.sample_identity(i, np.random.default_rng(i)) for i in range(60)]
    assert len({p.upper_color for p in people}) >= 6
    assert {p.bag for p in people} == set(synthetic.BAGS)


def test_to_dict_is_flat_and_categorical():
    d = _person(hat=True).to_dict()
    assert set(d) == set(synthetic.IdentityAttributes.ATTRIBUTE_NAMES)
    assert "pid" not in d
    assert d["hat"] == 1
    assert all(isinstance(v, (str, int)) for v in d.values())
    json.dumps(d)


def test_json_round_trip():
    p = _person(5)
    assert synthetic.IdentityAttributes.from_json(json.loads(json.dumps(p.to_json()))) == p


@pytest.mark.parametrize("view", synthetic.VIEWS)
def test_render_person_shapes(view):
    rgb, alpha = synthetic.render_person(_person(), view, np.random.default_rng(0), height=128, width=64)
    assert rgb.shape == (128, 64, 3) and rgb.dtype == np.uint8
    assert alpha.shape == (128, 64) and alpha.dtype == np.uint8
    coverage = (alpha > 127).mean()
    assert 0.1 < coverage < 0.6
    # Transparent pixels carry no colour, so compositing never leaks black edges.
    assert rgb[alpha == 0].max(initial=0) == 0


def test_render_person_rejects_unknown_view():
    with pytest.raises(ValueError, match="view must be one of"):
        synthetic.render_person(_person(), "top", np.random.default_rng(0))


def test_views_change_visibility():
    """A backpack covers the back but only shows straps from the front."""
    plain = _person(2, bag="none", upper_pattern="plain")
    packed = _person(2, bag="backpack", upper_pattern="plain", bag_rgb=(250, 0, 250))
    differences = {}
    for view in ("front", "back"):
        a, _ = synthetic.render_person(plain, view, np.random.default_rng(1))
        b, _ = synthetic.render_person(packed, view, np.random.default_rng(1))
        differences[view] = (np.abs(a.astype(int) - b.astype(int)).sum(-1) > 30).mean()
    assert differences["back"] > 3 * differences["front"] > 0

    logo = _person(2, bag="none", upper_pattern="logo", pattern_rgb=(0, 250, 0))
    front_diff, back_diff = [
        (np.abs(synthetic.render_person(logo, v, np.random.default_rng(1))[0].astype(int)
                - synthetic.render_person(plain, v, np.random.default_rng(1))[0].astype(int)).sum() > 0)
        for v in ("front", "back")
    ]
    assert front_diff and not back_diff


def test_render_person_is_articulated():
    """Yaw turns the body (narrower from the side) and the gait moves the legs apart."""
    p = _person(4, bag="none")
    widths = {}
    for yaw in (0.0, 90.0):
        _, alpha = synthetic.render_person(p, "front", np.random.default_rng(0), 128, 64, yaw=yaw,
                                           walk_phase=0.0, stride=0.0)
        cols = np.nonzero((alpha[30:70] > 0).any(axis=0))[0]  # torso rows: arms and torso
        widths[yaw] = cols.max() - cols.min()
    assert widths[90.0] < 0.8 * widths[0.0]
    still = synthetic.render_person(p, "side", np.random.default_rng(0), 128, 64, yaw=90, stride=0.0)[1]
    stride = synthetic.render_person(p, "side", np.random.default_rng(0), 128, 64, yaw=90, stride=1.0,
                                     walk_phase=0.25)[1]
    feet = lambda a: np.ptp(np.nonzero(a[110:] > 0)[1])  # noqa: E731  horizontal spread of the feet
    assert feet(stride) > feet(still) + 5


def test_identities_have_varied_clothes_and_shapes():
    people = [synthetic.sample_identity(i, np.random.default_rng(i)) for i in range(200)]
    assert {p.upper_pattern for p in people} == set(synthetic.PATTERNS)
    assert {p.hair_style for p in people} >= {"short", "long", "ponytail", "bald"}
    assert {p.upper_type for p in people} == {"tshirt", "jacket", "coat"}
    assert any(p.open_front for p in people)
    # Named colours are the nearest names of the drawn shades.
    assert all(synthetic.colour_name(p.upper_rgb) == p.upper_color for p in people)
    assert len({p.upper_rgb for p in people}) >= 190  # shades, not a few named colours


def test_walk_phase_moves_limbs():
    p = _person(4)
    a, _ = synthetic.render_person(p, "side", np.random.default_rng(0), walk_phase=0.0)
    b, _ = synthetic.render_person(p, "side", np.random.default_rng(0), walk_phase=0.25)
    assert not np.array_equal(a, b)


def test_apply_camera_composites_and_changes_photometry():
    rng = np.random.default_rng(0)
    rgb, alpha = synthetic.render_person(_person(), "front", rng, 128, 64)
    cam_a = synthetic.sample_camera(1, np.random.default_rng(10))
    cam_b = synthetic.sample_camera(2, np.random.default_rng(20))
    out_a = synthetic.apply_camera(rgb, alpha, cam_a, np.random.default_rng(0))
    out_b = synthetic.apply_camera(rgb, alpha, cam_b, np.random.default_rng(0))
    assert out_a.shape == (128, 64, 3) and out_a.dtype == np.uint8
    # The background is filled in (no transparent black corners).
    assert out_a[:5, :5].mean() > 5
    assert np.abs(out_a.astype(int) - out_b.astype(int)).mean() > 5
    assert abs(sum(cam_a.view_probs) - 1) < 1e-6
    with pytest.raises(ValueError, match="same height and width"):
        synthetic.apply_camera(rgb, alpha[:10], cam_a, rng)


def _parse(folder):
    out = []
    for path in sorted(folder.iterdir()):
        m = MARKET_NAME.match(path.name)
        assert m, f"not a Market-1501 name: {path.name}"
        out.append((int(m.group(1)), int(m.group(2))))
    return out


def test_generate_market_layout(tmp_path):
    root = synthetic.generate_market_layout(
        tmp_path / "synth", num_identities=12, num_cameras=3, images_per_identity_camera=2,
        num_train_identities=6, seed=3, height=64, width=32, num_distractors=3, num_junk=2,
        multi_query_images=1, progress=False,
    )
    train = _parse(root / "bounding_box_train")
    gallery = _parse(root / "bounding_box_test")
    query = _parse(root / "query")
    gt = _parse(root / "gt_bbox")
    train_ids = {p for p, _ in train}
    test_ids = {p for p, _ in query}
    assert train_ids == set(range(1, 7))
    assert test_ids == set(range(7, 13))
    assert not train_ids & {p for p, _ in gallery}
    assert sum(p == 0 for p, _ in gallery) == 3 and sum(p == -1 for p, _ in gallery) == 2
    assert len(gt) == len(query)
    cams = defaultdict(set)
    for p, c in train + gallery + query:
        cams[p].add(c)
    assert all(len(cams[p]) >= 2 for p in train_ids | test_ids)
    # Every query can be matched in the gallery from another camera.
    for p, c in query:
        assert any(gp == p and gc != c for gp, gc in gallery)
    attrs = json.loads((root / "attributes.json").read_text())
    assert set(attrs) == {str(i) for i in range(1, 13)}
    meta = json.loads((root / "meta.json").read_text())
    assert meta["counts"]["query"] == len(query)
    assert meta["test_pids"] == list(range(7, 13))

    from PIL import Image

    with Image.open(next((root / "query").iterdir())) as im:
        assert im.size == (32, 64) and im.mode == "RGB"


def test_generate_is_deterministic_and_cached(tmp_path):
    kwargs = dict(num_identities=4, num_cameras=2, images_per_identity_camera=1, seed=1,
                  height=32, width=16, progress=False)
    a = synthetic.generate_market_layout(tmp_path / "a", **kwargs)
    b = synthetic.generate_market_layout(tmp_path / "b", **kwargs)
    names = sorted(p.name for p in (a / "bounding_box_train").iterdir())
    assert names == sorted(p.name for p in (b / "bounding_box_train").iterdir())
    for name in names:
        assert (a / "bounding_box_train" / name).read_bytes() == (b / "bounding_box_train" / name).read_bytes()
    # Same config: reused without rewriting.
    stamp = (a / "meta.json").stat().st_mtime_ns
    synthetic.generate_market_layout(tmp_path / "a", **kwargs)
    assert (a / "meta.json").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="different configuration"):
        synthetic.generate_market_layout(tmp_path / "a", **{**kwargs, "seed": 2})
    synthetic.generate_market_layout(tmp_path / "a", overwrite=True, **{**kwargs, "seed": 2})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_cameras=1), "num_cameras must be >= 2"),
        (dict(num_train_identities=10), "num_train_identities"),
        (dict(images_per_identity_camera=0), "images_per_identity_camera"),
    ],
)
def test_generate_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic.generate_market_layout(tmp_path, num_identities=10, progress=False, **kwargs)


def test_cli(tmp_path, capsys):
    rc = synthetic_cli.main(["--output", str(tmp_path / "cli"), "--identities", "4", "--cameras", "2",
                         "--images-per-camera", "1", "--height", "32", "--width", "16"])
    assert rc == 0
    assert "bounding_box_train" in capsys.readouterr().out
    assert (tmp_path / "cli" / "attributes.json").exists()
