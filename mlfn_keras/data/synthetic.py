"""Generated identities: synthetic people seen by synthetic cameras.

No re-id data set can be downloaded on the machines this project is built
on, so the project draws its own people. An identity is a set of ground-truth
attributes (body shape, skin, hair, upper-body colour and pattern, sleeves,
lower-body colour and type, shoes, bag, hat); :func:`render_person` draws it
with OpenCV primitives from the front, back or side, and
:func:`apply_camera` composites it onto a camera's background with that
camera's illumination, colour cast, scale, blur, noise and occlusions.
Because views hide or show parts (a backpack from the back, a logo only from
the front) and cameras change colours, identity has to be learned
view-invariantly, which is what the paper's re-id setting asks for.

:func:`generate_market_layout` writes a folder in the Market-1501 layout
(``bounding_box_train/``, ``bounding_box_test/``, ``query/`` and optionally
``gt_bbox/``) plus ``attributes.json`` (ground truth for the paper's
attribute analysis, Sec. 4.4.2) and ``meta.json``. Everything is
deterministic from the seed, and rendering is fast (thousands of crops in
seconds), so tests, benchmarks and the demo's scene generator all reuse it.

Example:

    python -m mlfn_keras.data.synthetic --out /tmp/synth --identities 200 --cameras 4
    python -m mlfn_keras.data.synthetic --out /tmp/synth_small --identities 40 \\
        --cameras 2 --images-per-camera 3 --height 128 --width 64

From Python:

    import numpy as np
    from mlfn_keras.data import synthetic

    rng = np.random.default_rng(0)
    person = synthetic.sample_identity(pid=1, rng=rng)
    rgb, alpha = synthetic.render_person(person, "back", rng)
    camera = synthetic.sample_camera(1, rng)
    crop = synthetic.apply_camera(rgb, alpha, camera, rng)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
from pathlib import Path
from typing import Any, ClassVar, Sequence

import cv2
import numpy as np

__all__ = [
    "COLOURS",
    "VIEWS",
    "CameraStyle",
    "IdentityAttributes",
    "apply_camera",
    "generate_market_layout",
    "render_crop",
    "render_person",
    "sample_camera",
    "sample_identity",
]

GENERATOR_VERSION = 1

#: Views a person can be rendered from.
VIEWS: tuple[str, ...] = ("front", "back", "side")

#: Named clothing colours (RGB). Identities jitter around these shades, so two
#: "red" shirts are similar but not identical, as in real data.
COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (28, 28, 30),
    "white": (232, 232, 228),
    "grey": (128, 128, 132),
    "red": (196, 32, 36),
    "blue": (36, 66, 186),
    "green": (44, 138, 64),
    "yellow": (228, 196, 44),
    "purple": (118, 52, 148),
    "pink": (236, 146, 178),
    "brown": (118, 76, 42),
    "orange": (236, 128, 32),
}
_LOWER_COLOURS = ("black", "grey", "blue", "brown", "white", "green", "red")
_SHOE_COLOURS = ("black", "white", "brown", "grey", "red", "blue")
_SKIN = {
    "light": (242, 206, 180),
    "fair": (224, 180, 146),
    "medium": (196, 146, 108),
    "tan": (160, 110, 74),
    "dark": (104, 68, 46),
}
_HAIR = {
    "black": (24, 20, 18),
    "brown": (92, 60, 34),
    "blonde": (214, 182, 110),
    "grey": (160, 158, 156),
    "auburn": (140, 56, 30),
}
_PATTERNS = ("plain", "stripes", "checks", "logo")
_BAGS = ("none", "backpack", "handbag", "shoulder")


def _jitter(rgb: Sequence[int], rng: np.random.Generator, amount: float = 14.0) -> tuple[int, int, int]:
    values = np.asarray(rgb, np.float64) + rng.normal(0.0, amount, 3)
    return tuple(int(v) for v in np.clip(values, 0, 255))


@dataclasses.dataclass
class IdentityAttributes:
    """Ground-truth appearance of one generated identity.

    Categorical fields hold names (``upper_color="red"``); the matching
    ``*_rgb`` fields hold the identity's exact shade used for drawing.

    Attributes:
        pid: Person id (Market-1501 style, starting at 1).
        gender: ``"male"`` or ``"female"`` (correlates with hair and skirts).
        height: ``"short"``, ``"medium"`` or ``"tall"`` (bins of ``height_scale``).
        build: ``"slim"``, ``"average"`` or ``"broad"`` (bins of ``width_scale``).
        height_scale: Fraction of the crop height the body fills, in [0.80, 0.98].
        width_scale: Body width multiplier, in [0.80, 1.25].
        skin_tone: One of ``light, fair, medium, tan, dark``.
        skin_rgb: Drawn skin colour.
        hair_color: One of ``black, brown, blonde, grey, auburn``.
        hair_rgb: Drawn hair colour.
        hair_length: ``"short"`` or ``"long"``.
        upper_color: Name from :data:`COLOURS`.
        upper_rgb: Drawn upper-body colour.
        upper_pattern: ``plain``, ``stripes``, ``checks`` or ``logo`` (a logo
            is on the front only).
        pattern_rgb: Colour of stripes, checks or logo.
        sleeve: ``"short"`` or ``"long"``.
        lower_color: Name from :data:`COLOURS`.
        lower_rgb: Drawn lower-body colour.
        lower_type: ``trousers``, ``shorts`` or ``skirt``.
        shoes_color: Name from :data:`COLOURS`.
        shoes_rgb: Drawn shoe colour.
        bag: ``none``, ``backpack`` (visible from the back and side, only
            straps from the front), ``handbag`` or ``shoulder``.
        bag_rgb: Drawn bag colour.
        hat: Whether the person wears a cap.
        hat_rgb: Drawn cap colour.
    """

    pid: int
    gender: str
    height: str
    build: str
    height_scale: float
    width_scale: float
    skin_tone: str
    skin_rgb: tuple[int, int, int]
    hair_color: str
    hair_rgb: tuple[int, int, int]
    hair_length: str
    upper_color: str
    upper_rgb: tuple[int, int, int]
    upper_pattern: str
    pattern_rgb: tuple[int, int, int]
    sleeve: str
    lower_color: str
    lower_rgb: tuple[int, int, int]
    lower_type: str
    shoes_color: str
    shoes_rgb: tuple[int, int, int]
    bag: str
    bag_rgb: tuple[int, int, int]
    hat: bool
    hat_rgb: tuple[int, int, int]

    #: Keys of :meth:`to_dict`, i.e. the attributes an SVM can be asked to predict.
    ATTRIBUTE_NAMES: ClassVar[tuple[str, ...]] = (
        "gender", "height", "build", "skin_tone", "hair_color", "hair_length",
        "hat", "upper_color", "upper_pattern", "sleeve", "lower_color",
        "lower_type", "shoes_color", "bag",
    )

    def to_dict(self) -> dict[str, str | int]:
        """Flat categorical/binary attributes (no pid, no exact colours).

        Returns:
            ``{name: value}`` with string categories and 0/1 for binary
            attributes (``hat``), suitable as SVM targets (paper Sec. 4.4.2).
        """
        out: dict[str, str | int] = {}
        for name in self.ATTRIBUTE_NAMES:
            value = getattr(self, name)
            out[name] = int(value) if isinstance(value, bool) else value
        return out

    def to_json(self) -> dict[str, Any]:
        """Every field (exact colours included), JSON-serialisable."""
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "IdentityAttributes":
        """Inverse of :meth:`to_json`."""
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)


def sample_identity(pid: int, rng: np.random.Generator) -> IdentityAttributes:
    """Draws a random identity.

    Args:
        pid: Person id stored in the result.
        rng: Source of randomness; the result depends only on its state.

    Returns:
        The identity's attributes.
    """
    gender = "female" if rng.random() < 0.5 else "male"
    female = gender == "female"
    height_scale = float(rng.uniform(0.80, 0.98))
    width_scale = float(rng.uniform(0.80, 1.10) if female else rng.uniform(0.90, 1.25))
    height = "short" if height_scale < 0.86 else ("medium" if height_scale < 0.92 else "tall")
    build = "slim" if width_scale < 0.95 else ("average" if width_scale < 1.10 else "broad")
    skin_tone = str(rng.choice(list(_SKIN)))
    hair_color = str(rng.choice(list(_HAIR), p=[0.4, 0.25, 0.15, 0.1, 0.1]))
    hair_length = "long" if rng.random() < (0.75 if female else 0.1) else "short"
    upper_color = str(rng.choice(list(COLOURS)))
    upper_pattern = str(rng.choice(_PATTERNS, p=[0.45, 0.2, 0.15, 0.2]))
    pattern_choices = [c for c in COLOURS if c != upper_color]
    pattern_color = str(rng.choice(pattern_choices))
    sleeve = "short" if rng.random() < 0.45 else "long"
    lower_color = str(rng.choice(_LOWER_COLOURS))
    lower_type = str(
        rng.choice(("trousers", "shorts", "skirt"), p=[0.55, 0.2, 0.25] if female else [0.75, 0.25, 0.0])
    )
    shoes_color = str(rng.choice(_SHOE_COLOURS))
    bag = str(rng.choice(_BAGS, p=[0.4, 0.25, 0.15, 0.2]))
    bag_color = str(rng.choice(list(COLOURS)))
    hat = bool(rng.random() < 0.2)
    hat_color = str(rng.choice(list(COLOURS)))
    return IdentityAttributes(
        pid=int(pid),
        gender=gender,
        height=height,
        build=build,
        height_scale=height_scale,
        width_scale=width_scale,
        skin_tone=skin_tone,
        skin_rgb=_jitter(_SKIN[skin_tone], rng, 8),
        hair_color=hair_color,
        hair_rgb=_jitter(_HAIR[hair_color], rng, 10),
        hair_length=hair_length,
        upper_color=upper_color,
        upper_rgb=_jitter(COLOURS[upper_color], rng),
        upper_pattern=upper_pattern,
        pattern_rgb=_jitter(COLOURS[pattern_color], rng),
        sleeve=sleeve,
        lower_color=lower_color,
        lower_rgb=_jitter(COLOURS[lower_color], rng),
        lower_type=lower_type,
        shoes_color=shoes_color,
        shoes_rgb=_jitter(COLOURS[shoes_color], rng, 10),
        bag=bag,
        bag_rgb=_jitter(COLOURS[bag_color], rng),
        hat=hat,
        hat_rgb=_jitter(COLOURS[hat_color], rng),
    )


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


class _Canvas:
    """RGB image and alpha mask drawn together, so shapes never disagree."""

    def __init__(self, height: int, width: int):
        self.rgb = np.zeros((height, width, 3), np.uint8)
        self.alpha = np.zeros((height, width), np.uint8)

    @staticmethod
    def _pts(points: Sequence[tuple[float, float]]) -> np.ndarray:
        # Sub-pixel precision (shift=4) keeps small renders from looking jagged.
        return (np.asarray(points, np.float64) * 16).round().astype(np.int32).reshape(-1, 1, 2)

    def poly(self, points: Sequence[tuple[float, float]], colour: Sequence[int]) -> None:
        pts = self._pts(points)
        cv2.fillPoly(self.rgb, [pts], tuple(int(c) for c in colour), cv2.LINE_AA, 4)
        cv2.fillPoly(self.alpha, [pts], 255, cv2.LINE_AA, 4)

    def ellipse(self, centre: tuple[float, float], axes: tuple[float, float], colour: Sequence[int],
                start: float = 0.0, end: float = 360.0) -> None:
        c = tuple(int(round(v * 16)) for v in centre)
        a = tuple(max(1, int(round(v * 16))) for v in axes)
        cv2.ellipse(self.rgb, c, a, 0, start, end, tuple(int(v) for v in colour), -1, cv2.LINE_AA, 4)
        cv2.ellipse(self.alpha, c, a, 0, start, end, 255, -1, cv2.LINE_AA, 4)

    def line(self, p0: tuple[float, float], p1: tuple[float, float], colour: Sequence[int], thickness: float) -> None:
        a = tuple(int(round(v * 16)) for v in p0)
        b = tuple(int(round(v * 16)) for v in p1)
        t = max(1, int(round(thickness)))
        cv2.line(self.rgb, a, b, tuple(int(v) for v in colour), t, cv2.LINE_AA, 4)
        cv2.line(self.alpha, a, b, 255, t, cv2.LINE_AA, 4)

    def limb(self, p0: tuple[float, float], p1: tuple[float, float], w0: float, w1: float,
             colour: Sequence[int]) -> None:
        """A tapered quad from ``p0`` (width ``w0``) to ``p1`` (width ``w1``)."""
        dx, dy = p1[0] - p0[0], p1[1] - p0[1]
        n = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / n, dx / n
        self.poly(
            [
                (p0[0] + nx * w0 / 2, p0[1] + ny * w0 / 2),
                (p1[0] + nx * w1 / 2, p1[1] + ny * w1 / 2),
                (p1[0] - nx * w1 / 2, p1[1] - ny * w1 / 2),
                (p0[0] - nx * w0 / 2, p0[1] - ny * w0 / 2),
            ],
            colour,
        )


def _shade(rgb: Sequence[int], factor: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * factor, 0, 255)) for c in rgb)


def _torso_pattern(canvas: _Canvas, polygon: list[tuple[float, float]], person: IdentityAttributes,
                   u: float, view: str, chest: tuple[float, float]) -> None:
    """Stripes/checks over the torso polygon; a logo on the chest (front only)."""
    if person.upper_pattern == "plain":
        return
    if person.upper_pattern == "logo":
        if view == "front":
            canvas.ellipse(chest, (0.22 * u, 0.18 * u), person.pattern_rgb)
        return
    h, w = canvas.alpha.shape
    region = np.zeros((h, w), np.uint8)
    cv2.fillPoly(region, [_Canvas._pts(polygon)], 1, cv2.LINE_8, 4)
    period = max(2, int(round(0.36 * u)))
    band = max(1, period // 2)
    ys = (np.arange(h) % period) < band
    marks = np.broadcast_to(ys[:, None], (h, w))
    if person.upper_pattern == "checks":
        xs = (np.arange(w) % period) < band
        marks = marks ^ xs[None, :]
    sel = (region > 0) & marks
    canvas.rgb[sel] = person.pattern_rgb


def render_person(
    identity: IdentityAttributes,
    view: str,
    rng: np.random.Generator,
    height: int = 256,
    width: int = 128,
    walk_phase: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws a person on a transparent background.

    Args:
        identity: What to draw.
        view: ``"front"``, ``"back"`` or ``"side"``. Views change what is
            visible: a backpack shows from the back and side (only straps from
            the front), a logo and the face only from the front.
        rng: Randomness for small pose details (which way a side view faces,
            slight posture jitter).
        height: Output height in pixels.
        width: Output width in pixels.
        walk_phase: Gait phase in cycles (0..1 is one stride); legs and arms
            swing with ``sin(2π·walk_phase)``. The demo animates it.

    Returns:
        ``(rgb, alpha)``: uint8 arrays of shape ``(height, width, 3)`` (RGB)
        and ``(height, width)`` (255 where the person is).

    Raises:
        ValueError: If ``view`` is not one of :data:`VIEWS`.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, received {view!r}")
    p = identity
    cv = _Canvas(height, width)
    body_h = height * p.height_scale * 0.96
    u = body_h / 8.0  # classic 8-head figure proportions
    base = height * 0.985
    top = base - body_h
    cx = width / 2.0 + rng.normal(0.0, 0.015 * width)
    wscale = p.width_scale * (0.55 if view == "side" else 1.0)
    sw = 0.95 * u * wscale  # half shoulder width

    def Y(k: float) -> float:
        return top + k * u

    swing = math.sin(2.0 * math.pi * walk_phase)
    skin, hair = p.skin_rgb, p.hair_rgb
    female_shape = 0.9 if p.gender == "female" else 1.0

    # Legs and lower garment -------------------------------------------------
    hip_y, knee_y, ankle_y = Y(3.85), Y(5.8), Y(7.72)
    legs: list[tuple[tuple[float, float], tuple[float, float], tuple[float, float], float]] = []
    if view == "side":
        for sgn, dim in ((-1.0, 0.82), (1.0, 1.0)):  # far leg first, darker
            knee = (cx + sgn * swing * 0.45 * u, knee_y)
            ankle = (cx + sgn * swing * 0.95 * u, ankle_y - max(0.0, sgn * swing) * 0.15 * u)
            legs.append(((cx, hip_y), knee, ankle, dim))
    else:
        for sgn in (-1.0, 1.0):
            lift = max(0.0, sgn * swing) * 0.22 * u
            x = cx + sgn * 0.36 * u * wscale
            legs.append(((x, hip_y), (x + sgn * 0.02 * u, knee_y - lift / 2), (x + sgn * 0.03 * u, ankle_y - lift), 1.0))

    leg_w0, leg_w1 = 0.62 * u * min(wscale / 0.55 if view == "side" else wscale, 1.2), 0.34 * u
    if view == "side":
        leg_w0 = 0.6 * u
    for hip, knee, ankle, dim in legs:
        lower = _shade(p.lower_rgb, dim)
        sk = _shade(skin, dim)
        if p.lower_type == "trousers":
            cv.limb(hip, knee, leg_w0, 0.45 * u, lower)
            cv.limb(knee, ankle, 0.45 * u, leg_w1, lower)
        else:
            cv.limb(hip, knee, leg_w0, 0.4 * u, sk)
            cv.limb(knee, ankle, 0.4 * u, 0.28 * u, sk)
            if p.lower_type == "shorts":
                mid = (hip[0] + 0.55 * (knee[0] - hip[0]), hip[1] + 0.55 * (knee[1] - hip[1]))
                cv.limb(hip, mid, leg_w0 * 1.05, 0.5 * u, lower)
        forward = 1.0 if view == "side" else 0.0
        cv.ellipse((ankle[0] + forward * 0.18 * u, ankle[1] + 0.05 * u),
                   ((0.34 if view == "side" else 0.22) * u, 0.14 * u), _shade(p.shoes_rgb, dim))

    waist_half = 0.78 * sw * female_shape
    if view == "side":
        cv.poly([(cx - 0.55 * u, Y(3.5)), (cx + 0.5 * u, Y(3.5)), (cx + 0.45 * u, hip_y + 0.25 * u),
                 (cx - 0.5 * u, hip_y + 0.25 * u)], p.lower_rgb)
    else:
        cv.poly([(cx - waist_half, Y(3.5)), (cx + waist_half, Y(3.5)), (cx + waist_half * 1.05, hip_y + 0.3 * u),
                 (cx - waist_half * 1.05, hip_y + 0.3 * u)], p.lower_rgb)
    if p.lower_type == "skirt":
        flare = (1.0 if view != "side" else 0.8) * u * max(wscale, 0.75)
        cv.poly([(cx - waist_half * (0.9 if view != "side" else 0.7), Y(3.5)),
                 (cx + waist_half * (0.9 if view != "side" else 0.7), Y(3.5)),
                 (cx + flare, Y(5.55)), (cx - flare, Y(5.55))], p.lower_rgb)

    # Backpack behind the body (side view shows it sticking out) -------------
    # The side view is drawn facing +x and mirrored at the end half of the time.
    if p.bag == "backpack" and view == "side":
        cv.poly([(cx - 0.45 * u, Y(1.55)), (cx - 1.15 * u, Y(1.7)), (cx - 1.2 * u, Y(3.3)), (cx - 0.45 * u, Y(3.4))],
                p.bag_rgb)

    # Arms behind the torso in the side view (far arm) ------------------------
    shoulder_y, wrist_y = Y(1.35), Y(3.95)

    def draw_arm(shoulder: tuple[float, float], hand: tuple[float, float], dim: float) -> None:
        elbow = ((shoulder[0] + hand[0]) / 2 + (hand[0] - shoulder[0]) * 0.1, (shoulder[1] + hand[1]) / 2)
        sleeve_c = _shade(p.upper_rgb, dim)
        sk = _shade(skin, dim)
        if p.sleeve == "long":
            cv.limb(shoulder, elbow, 0.42 * u, 0.34 * u, sleeve_c)
            cv.limb(elbow, hand, 0.34 * u, 0.28 * u, sleeve_c)
        else:
            cv.limb(shoulder, elbow, 0.36 * u, 0.28 * u, sk)
            cv.limb(elbow, hand, 0.28 * u, 0.24 * u, sk)
            mid = (shoulder[0] + 0.45 * (elbow[0] - shoulder[0]) * 2, shoulder[1] + 0.45 * (elbow[1] - shoulder[1]) * 2)
            cv.limb(shoulder, mid, 0.46 * u, 0.4 * u, sleeve_c)
        cv.ellipse((hand[0], hand[1] + 0.1 * u), (0.15 * u, 0.19 * u), sk)

    if view == "side":
        draw_arm((cx, shoulder_y), (cx - swing * 0.75 * u, wrist_y), 0.82)

    # Torso ---------------------------------------------------------------------
    if view == "side":
        torso = [(cx - 0.5 * u, Y(1.2)), (cx + 0.42 * u, Y(1.2)), (cx + 0.5 * u * (1.1 if p.gender == "female" else 1.0), Y(2.2)),
                 (cx + 0.42 * u, Y(3.65)), (cx - 0.5 * u, Y(3.65))]
    else:
        torso = [(cx - sw, Y(1.25)), (cx + sw, Y(1.25)), (cx + waist_half, Y(3.65)), (cx - waist_half, Y(3.65))]
    cv.poly(torso, p.upper_rgb)
    _torso_pattern(cv, torso, p, u, view, (cx + (0.15 * u if view == "side" else 0.0), Y(2.1)))

    # Bags over the torso -------------------------------------------------------
    strap = max(1.0, 0.09 * u)
    if p.bag == "backpack":
        if view == "back":
            cv.poly([(cx - 0.72 * sw, Y(1.55)), (cx + 0.72 * sw, Y(1.55)), (cx + 0.78 * sw, Y(3.35)),
                     (cx - 0.78 * sw, Y(3.35))], p.bag_rgb)
            cv.line((cx - 0.6 * sw, Y(2.3)), (cx + 0.6 * sw, Y(2.3)), _shade(p.bag_rgb, 0.7), strap)
        elif view == "front":
            for sgn in (-1.0, 1.0):
                cv.line((cx + sgn * 0.55 * sw, Y(1.25)), (cx + sgn * 0.6 * sw, Y(2.9)), _shade(p.bag_rgb, 0.8), strap * 1.6)
        else:
            cv.line((cx - 0.3 * u, Y(1.25)), (cx + 0.1 * u, Y(2.7)), _shade(p.bag_rgb, 0.8), strap * 1.6)
    elif p.bag == "shoulder":
        if view == "side":
            cv.line((cx, Y(1.25)), (cx - 0.1 * u, Y(3.2)), _shade(p.bag_rgb, 0.6), strap)
            cv.poly([(cx - 0.45 * u, Y(3.2)), (cx + 0.35 * u, Y(3.2)), (cx + 0.35 * u, Y(3.95)), (cx - 0.45 * u, Y(3.95))],
                    p.bag_rgb)
        else:
            cv.line((cx - 0.7 * sw, Y(1.25)), (cx + 0.85 * sw, Y(3.3)), _shade(p.bag_rgb, 0.6), strap)
            bx = cx + (0.95 if view == "front" else -0.95) * sw
            cv.poly([(bx - 0.35 * u, Y(3.2)), (bx + 0.35 * u, Y(3.2)), (bx + 0.4 * u, Y(3.95)), (bx - 0.4 * u, Y(3.95))],
                    p.bag_rgb)

    # Near arms -----------------------------------------------------------------
    if view == "side":
        hand = (cx + swing * 0.75 * u, wrist_y)
        draw_arm((cx, shoulder_y), hand, 1.0)
        hands = [hand]
    else:
        hands = []
        for sgn in (-1.0, 1.0):
            shoulder = (cx + sgn * (sw + 0.05 * u), shoulder_y)
            hand = (cx + sgn * (sw + 0.2 * u), wrist_y - abs(swing) * 0.1 * u * (1 if sgn * swing > 0 else 0))
            draw_arm(shoulder, hand, 1.0)
            hands.append(hand)
    if p.bag == "handbag":
        hx, hy = hands[-1]
        cv.line((hx, hy), (hx, hy + 0.3 * u), _shade(p.bag_rgb, 0.6), strap)
        cv.poly([(hx - 0.35 * u, hy + 0.3 * u), (hx + 0.35 * u, hy + 0.3 * u), (hx + 0.4 * u, hy + 1.0 * u),
                 (hx - 0.4 * u, hy + 1.0 * u)], p.bag_rgb)

    # Neck, head, hair, hat ----------------------------------------------------------
    cv.poly([(cx - 0.17 * u, Y(0.85)), (cx + 0.17 * u, Y(0.85)), (cx + 0.17 * u, Y(1.3)), (cx - 0.17 * u, Y(1.3))], skin)
    head_c = (cx + (0.08 * u if view == "side" else 0.0), Y(0.5))
    long_hair = p.hair_length == "long"
    if long_hair and view != "front":
        back_x = cx - 0.45 * u if view == "side" else cx - 0.42 * u
        right_x = cx + 0.1 * u if view == "side" else cx + 0.42 * u
        cv.poly([(back_x, Y(0.5)), (right_x, Y(0.5)), (right_x + 0.05 * u, Y(1.85)), (back_x - 0.05 * u, Y(1.85))], hair)
    if long_hair and view == "front":
        for sgn in (-1.0, 1.0):
            x = cx + sgn * 0.36 * u
            cv.poly([(x - 0.12 * u, Y(0.4)), (x + 0.12 * u, Y(0.4)), (x + sgn * 0.1 * u + 0.1 * u, Y(1.7)),
                     (x + sgn * 0.1 * u - 0.1 * u, Y(1.7))], hair)
    if view == "back":
        cv.ellipse(head_c, (0.4 * u, 0.5 * u), hair)
    elif view == "front":
        cv.ellipse((head_c[0], head_c[1] - 0.04 * u), (0.42 * u, 0.5 * u), hair)
        cv.ellipse((head_c[0], head_c[1] + 0.08 * u), (0.34 * u, 0.42 * u), skin)
        # Eyes: a hint of a face makes front views distinguishable from back views.
        for sgn in (-1.0, 1.0):
            cv.ellipse((head_c[0] + sgn * 0.13 * u, head_c[1] + 0.05 * u), (0.05 * u, 0.04 * u), (40, 30, 30))
    else:
        cv.ellipse(head_c, (0.38 * u, 0.48 * u), skin)
        cv.ellipse((head_c[0] - 0.1 * u, head_c[1] - 0.08 * u), (0.33 * u, 0.42 * u), hair)
        cv.ellipse((head_c[0] + 0.22 * u, head_c[1] - 0.02 * u), (0.05 * u, 0.04 * u), (40, 30, 30))
    if p.hat:
        cv.ellipse((head_c[0], head_c[1] - 0.12 * u), (0.43 * u, 0.42 * u), p.hat_rgb, 180, 360)
        if view == "front":
            cv.poly([(head_c[0] - 0.45 * u, head_c[1] - 0.14 * u), (head_c[0] + 0.45 * u, head_c[1] - 0.14 * u),
                     (head_c[0] + 0.4 * u, head_c[1] - 0.02 * u), (head_c[0] - 0.4 * u, head_c[1] - 0.02 * u)],
                    _shade(p.hat_rgb, 0.8))
        elif view == "side":
            cv.poly([(head_c[0], head_c[1] - 0.16 * u), (head_c[0] + 0.7 * u, head_c[1] - 0.12 * u),
                     (head_c[0] + 0.7 * u, head_c[1] - 0.04 * u), (head_c[0], head_c[1] - 0.06 * u)],
                    _shade(p.hat_rgb, 0.8))

    rgb, alpha = cv.rgb, cv.alpha
    if view == "side" and rng.random() < 0.5:
        rgb, alpha = rgb[:, ::-1].copy(), alpha[:, ::-1].copy()
    return rgb, alpha


# --------------------------------------------------------------------------
# Cameras
# --------------------------------------------------------------------------


@dataclasses.dataclass
class CameraStyle:
    """How one camera sees people.

    Attributes:
        cam_id: Camera id (1-based, as in Market-1501 file names).
        gain: Global brightness multiplier.
        colour_cast: Per-channel (R, G, B) multipliers (white balance).
        gamma: Tone curve exponent applied to [0, 1] intensities.
        background: ``"wall"``, ``"shopfront"``, ``"foliage"`` or ``"pavement"``.
        background_rgb: Two base colours of the background.
        texture: Amplitude (0..1) of the background's low-frequency texture.
        view_probs: Probabilities of ``("front", "back", "side")``.
        scale_range: Range of the person's height relative to the crop height
            (detector boxes are loose or tight).
        resolution: Range of down-sampling factors (1 = sharp; 0.4 = a far,
            low-resolution camera upsampled back to the crop size).
        blur_sigma: Gaussian blur sigma range in pixels at 256×128.
        noise_std: Sensor noise standard deviation in [0, 255] units.
        occlusion_prob: Probability that an object hides part of the person.
    """

    cam_id: int
    gain: float
    colour_cast: tuple[float, float, float]
    gamma: float
    background: str
    background_rgb: tuple[tuple[int, int, int], tuple[int, int, int]]
    texture: float
    view_probs: tuple[float, float, float]
    scale_range: tuple[float, float]
    resolution: tuple[float, float]
    blur_sigma: tuple[float, float]
    noise_std: float
    occlusion_prob: float

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


_BACKGROUNDS = ("wall", "shopfront", "foliage", "pavement")


def sample_camera(cam_id: int, rng: np.random.Generator) -> CameraStyle:
    """Draws a random camera style.

    Args:
        cam_id: Camera id stored in the result.
        rng: Source of randomness.

    Returns:
        The camera's style.
    """
    # Each camera prefers one viewpoint (people walk one way past it).
    main_view = int(rng.integers(0, 3))
    probs = np.full(3, 0.15)
    probs[main_view] = 0.7
    probs = probs / probs.sum()
    background = str(rng.choice(_BACKGROUNDS))
    base = rng.uniform(40, 210, 3)
    second = np.clip(base + rng.normal(0, 45, 3), 0, 255)
    res_low = float(rng.uniform(0.35, 0.9))
    blur_hi = float(rng.uniform(0.3, 1.6))
    return CameraStyle(
        cam_id=int(cam_id),
        gain=float(rng.uniform(0.65, 1.3)),
        colour_cast=tuple(float(v) for v in np.clip(rng.normal(1.0, 0.12, 3), 0.7, 1.3)),
        gamma=float(rng.uniform(0.75, 1.35)),
        background=background,
        background_rgb=(tuple(int(v) for v in base), tuple(int(v) for v in second)),
        texture=float(rng.uniform(0.05, 0.35)),
        view_probs=tuple(float(v) for v in probs),
        scale_range=(float(rng.uniform(0.78, 0.9)), 1.0),
        resolution=(res_low, 1.0),
        blur_sigma=(0.0, blur_hi),
        noise_std=float(rng.uniform(1.0, 8.0)),
        occlusion_prob=float(rng.uniform(0.05, 0.3)),
    )


def _background(camera: CameraStyle, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    c0 = np.asarray(camera.background_rgb[0], np.float32)
    c1 = np.asarray(camera.background_rgb[1], np.float32)
    # Low-frequency texture: upsampling a tiny random grid is far cheaper than
    # per-pixel noise fields and looks like uneven walls and lighting.
    grid = rng.random((4 + int(rng.integers(0, 4)), 3 + int(rng.integers(0, 3))), dtype=np.float32)
    blend = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    shade = cv2.resize(rng.random((8, 4), dtype=np.float32), (w, h))[..., None]
    img = (c0 + (c1 - c0) * blend) * (1.0 + camera.texture * (shade - 0.5))
    if camera.background == "shopfront":
        period = max(4, int(w * rng.uniform(0.2, 0.45)))
        phase = int(rng.integers(0, period))
        cols = ((np.arange(w) + phase) % period) < max(2, period // 6)
        img[:, cols] = img[:, cols] * np.float32(0.55)
    elif camera.background == "pavement":
        horizon = int(h * rng.uniform(0.45, 0.7))
        img[horizon:] = img[horizon:] * np.float32(0.6) + np.float32(60)
        period = max(4, int(h * 0.08))
        rows = (np.arange(h) % period) == 0
        rows[:horizon] = False
        img[rows] *= np.float32(0.8)
    elif camera.background == "foliage":
        blobs = cv2.resize(rng.random((16, 8), dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        leaves = blobs > 0.6
        img[leaves] = img[leaves] * np.array([0.6, 1.1, 0.6], np.float32)
    else:
        floor = int(h * rng.uniform(0.75, 0.9))
        img[floor:] *= np.float32(0.75)
    return img


def apply_camera(rgb: np.ndarray, mask: np.ndarray, camera: CameraStyle, rng: np.random.Generator) -> np.ndarray:
    """Composites a rendered person onto a camera's view.

    Applies, in order: person scale/position jitter (detector box looseness),
    background, occlusion, illumination gain, colour cast and gamma,
    resolution loss, blur and sensor noise.

    Args:
        rgb: Person, uint8 ``(H, W, 3)`` RGB, from :func:`render_person`.
        mask: Alpha, uint8 ``(H, W)``.
        camera: The camera style.
        rng: Randomness for this shot.

    Returns:
        The crop as uint8 ``(H, W, 3)`` RGB.
    """
    if rgb.shape[:2] != mask.shape:
        raise ValueError(f"rgb {rgb.shape} and mask {mask.shape} must have the same height and width")
    h, w = mask.shape
    scale = float(rng.uniform(*camera.scale_range))
    if scale < 0.999:
        nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
        small_rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_AREA)
        y0 = int(rng.integers(0, h - nh + 1))
        x0 = int(rng.integers(0, w - nw + 1))
        rgb = np.zeros_like(rgb)
        mask = np.zeros_like(mask)
        rgb[y0:y0 + nh, x0:x0 + nw] = small_rgb
        mask[y0:y0 + nh, x0:x0 + nw] = small_mask
    else:
        shift = int(rng.integers(-w // 16, w // 16 + 1))
        rgb = np.roll(rgb, shift, axis=1)
        mask = np.roll(mask, shift, axis=1)

    alpha = mask.astype(np.float32)[..., None] * np.float32(1.0 / 255.0)
    bg = _background(camera, h, w, rng)
    img = bg + (rgb.astype(np.float32) - bg) * alpha

    if rng.random() < camera.occlusion_prob:
        colour = rng.uniform(20, 230, 3).astype(np.float32)
        kind = int(rng.integers(0, 3))
        if kind == 0:  # something in front of the legs (bench, car, railing)
            y0 = int(h * rng.uniform(0.6, 0.85))
            img[y0:] = colour
        elif kind == 1:  # a pole or another pedestrian at the side
            ww = int(w * rng.uniform(0.15, 0.35))
            if rng.random() < 0.5:
                img[:, :ww] = colour
            else:
                img[:, w - ww:] = colour
        else:
            ww, hh = int(w * rng.uniform(0.25, 0.5)), int(h * rng.uniform(0.15, 0.3))
            y0, x0 = int(rng.integers(0, h - hh)), int(rng.integers(0, w - ww))
            img[y0:y0 + hh, x0:x0 + ww] = colour

    # Gamma, gain and colour cast folded into one per-channel lookup table:
    # much cheaper than float powers over the whole crop.
    gain = camera.gain * float(rng.uniform(0.9, 1.1))
    levels = (np.arange(256, dtype=np.float32) / 255.0) ** camera.gamma
    lut = np.clip(levels[:, None] * (gain * 255.0 * np.asarray(camera.colour_cast, np.float32))[None, :], 0, 255)
    img = cv2.LUT(np.clip(img, 0, 255).astype(np.uint8), lut.astype(np.uint8).reshape(256, 1, 3))

    res = float(rng.uniform(*camera.resolution))
    if res < 0.95:
        small = cv2.resize(img, (max(2, int(w * res)), max(2, int(h * res))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    sigma = float(rng.uniform(*camera.blur_sigma)) * h / 256.0
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if camera.noise_std > 0:
        noise = rng.standard_normal(img.shape, dtype=np.float32) * camera.noise_std
        img = cv2.add(img.astype(np.float32), noise)
    return np.clip(img, 0, 255).astype(np.uint8)


def render_crop(identity: IdentityAttributes, camera: CameraStyle, rng: np.random.Generator,
                height: int = 256, width: int = 128, view: str | None = None) -> tuple[np.ndarray, str]:
    """Renders one detection-like crop of ``identity`` seen by ``camera``.

    Args:
        identity: Who.
        camera: Which camera.
        rng: Randomness for the shot.
        height: Crop height.
        width: Crop width.
        view: Force a view; by default drawn from ``camera.view_probs``.

    Returns:
        ``(crop, view)``: uint8 RGB crop and the view used.
    """
    if view is None:
        view = str(rng.choice(VIEWS, p=camera.view_probs))
    rgb, mask = render_person(identity, view, rng, height, width, walk_phase=float(rng.random()))
    return apply_camera(rgb, mask, camera, rng), view


# --------------------------------------------------------------------------
# Market-1501 layout
# --------------------------------------------------------------------------

_SPLIT_DIRS = ("bounding_box_train", "bounding_box_test", "query", "gt_bbox")


def _write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"could not write image {path}")


def generate_market_layout(
    root: str | Path,
    num_identities: int = 100,
    num_cameras: int = 4,
    images_per_identity_camera: int = 4,
    num_train_identities: int | None = None,
    seed: int = 0,
    height: int = 256,
    width: int = 128,
    num_distractors: int = 0,
    num_junk: int = 0,
    multi_query_images: int = 0,
    min_cameras: int = 2,
    jpeg_quality: int = 92,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Writes generated identities as a Market-1501-layout folder.

    Identities ``1..num_train_identities`` go to ``bounding_box_train``; the
    others are test identities: per camera, the first image is a query and the
    rest go to ``bounding_box_test`` (when an identity has one image per camera,
    only its first camera gives a query so that the gallery always holds it
    from another camera). Every identity is seen by at least ``min_cameras``
    (≥ 2) cameras. File names follow Market-1501:
    ``{pid:04d}_c{cam}s1_{frame:06d}_{k:02d}.jpg``; distractors use pid
    ``0000`` and junk ``-1``, both in ``bounding_box_test``.

    If ``root/meta.json`` already records the same configuration, the folder
    is reused as is (cheap caching for training and tests).

    Args:
        root: Output folder.
        num_identities: Total identities (train + test).
        num_cameras: Number of cameras (≥ 2).
        images_per_identity_camera: Images written per identity per camera.
        num_train_identities: Training identities; defaults to half.
        seed: Everything is deterministic from this.
        height: Crop height.
        width: Crop width.
        num_distractors: Gallery images of unrelated people (pid 0).
        num_junk: Junk gallery images (pid −1), e.g. background-only crops.
        multi_query_images: Extra same-camera images per query written to
            ``gt_bbox/`` (Market-1501's multi-query setting); 0 writes none.
        min_cameras: Minimum cameras per identity.
        jpeg_quality: JPEG quality of written images.
        overwrite: Replace a folder generated with a different configuration.
        progress: Show a tqdm progress bar.

    Returns:
        ``root`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: On inconsistent arguments, or if ``root`` holds a
            different generated data set and ``overwrite`` is False.
    """
    from tqdm.auto import tqdm

    root = Path(root)
    if num_cameras < 2:
        raise ValueError(f"num_cameras must be >= 2 (test identities need two views), received {num_cameras}")
    if num_train_identities is None:
        num_train_identities = num_identities // 2
    if not 0 < num_train_identities < num_identities:
        raise ValueError(
            f"num_train_identities must be in [1, num_identities - 1] = [1, {num_identities - 1}], "
            f"received {num_train_identities}"
        )
    if images_per_identity_camera < 1:
        raise ValueError(f"images_per_identity_camera must be >= 1, received {images_per_identity_camera}")
    min_cameras = max(2, min(min_cameras, num_cameras))
    config = dict(
        generator_version=GENERATOR_VERSION, num_identities=num_identities, num_cameras=num_cameras,
        images_per_identity_camera=images_per_identity_camera, num_train_identities=num_train_identities,
        seed=seed, height=height, width=width, num_distractors=num_distractors, num_junk=num_junk,
        multi_query_images=multi_query_images, min_cameras=min_cameras, jpeg_quality=jpeg_quality,
    )
    meta_path = root / "meta.json"
    if meta_path.exists():
        try:
            existing = json.loads(meta_path.read_text()).get("config")
        except (OSError, json.JSONDecodeError):
            existing = None
        if existing == config and all((root / d).is_dir() for d in _SPLIT_DIRS[:3]):
            return root
        if not overwrite:
            raise ValueError(
                f"{root} already holds a generated data set with a different configuration "
                f"({existing}); pass overwrite=True (--overwrite) or choose another folder"
            )
    for d in _SPLIT_DIRS:
        if (root / d).exists():
            shutil.rmtree(root / d)
    for d in _SPLIT_DIRS[:3]:
        (root / d).mkdir(parents=True, exist_ok=True)
    if multi_query_images > 0:
        (root / "gt_bbox").mkdir(parents=True, exist_ok=True)

    cameras = [sample_camera(c, np.random.default_rng([seed, 2, c])) for c in range(1, num_cameras + 1)]
    identities = [sample_identity(pid, np.random.default_rng([seed, 1, pid])) for pid in range(1, num_identities + 1)]
    counts = {d: 0 for d in _SPLIT_DIRS}
    frame = np.zeros(num_cameras + 1, np.int64)
    camera_sets = {}
    for person in identities:
        rng_cams = np.random.default_rng([seed, 3, person.pid])
        n_cams = int(rng_cams.integers(min_cameras, num_cameras + 1))
        camera_sets[person.pid] = sorted(
            int(c) for c in rng_cams.choice(np.arange(1, num_cameras + 1), n_cams, replace=False)
        )
    num_queries = sum(
        len(cams) if images_per_identity_camera > 1 else 1
        for pid, cams in camera_sets.items() if pid > num_train_identities
    )
    total = (sum(len(c) for c in camera_sets.values()) * images_per_identity_camera
             + num_queries * multi_query_images + num_distractors + num_junk)
    bar = tqdm(total=total, desc="generating identities", unit="img", disable=not progress)

    def emit(split: str, pid: int, cam: int, crop: np.ndarray, k: int = 1) -> None:
        frame[cam] += int(1 + (pid * 7 + k) % 13)  # increasing, Market-like gaps
        name = f"{pid:04d}_c{cam}s1_{int(frame[cam]):06d}_{k:02d}.jpg" if pid >= 0 else \
            f"-1_c{cam}s1_{int(frame[cam]):06d}_{k:02d}.jpg"
        _write_jpeg(root / split / name, crop, jpeg_quality)
        counts[split] += 1
        bar.update(1)

    for person in identities:
        pid = person.pid
        cams = camera_sets[pid]
        is_train = pid <= num_train_identities
        for ci, cam in enumerate(cams):
            rng = np.random.default_rng([seed, 4, pid, cam])
            for k in range(images_per_identity_camera):
                crop, _ = render_crop(person, cameras[cam - 1], rng, height, width)
                if is_train:
                    split = "bounding_box_train"
                elif k == 0 and (images_per_identity_camera > 1 or ci == 0):
                    split = "query"
                else:
                    split = "bounding_box_test"
                emit(split, pid, cam, crop)
                if split == "query":
                    for m in range(multi_query_images):
                        extra, _ = render_crop(person, cameras[cam - 1], rng, height, width)
                        emit("gt_bbox", pid, cam, extra, k=m + 1)
    rng = np.random.default_rng([seed, 5])
    for i in range(num_distractors):
        person = sample_identity(0, np.random.default_rng([seed, 6, i]))
        cam = int(rng.integers(1, num_cameras + 1))
        crop, _ = render_crop(person, cameras[cam - 1], rng, height, width)
        emit("bounding_box_test", 0, cam, crop)
    for i in range(num_junk):
        cam = int(rng.integers(1, num_cameras + 1))
        empty = np.zeros((height, width, 3), np.uint8)
        crop = apply_camera(empty, np.zeros((height, width), np.uint8), cameras[cam - 1], rng)
        emit("bounding_box_test", -1, cam, crop)
    bar.close()

    (root / "attributes.json").write_text(
        json.dumps({str(p.pid): p.to_dict() for p in identities}, indent=1, sort_keys=True)
    )
    meta = dict(
        config=config,
        dataset="synthetic",
        train_pids=list(range(1, num_train_identities + 1)),
        test_pids=list(range(num_train_identities + 1, num_identities + 1)),
        counts=counts,
        cameras=[c.to_json() for c in cameras],
        identities={str(p.pid): p.to_json() for p in identities},
    )
    meta_path.write_text(json.dumps(meta, indent=1))
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m mlfn_keras.data.synthetic",
        description="Write generated identities as a Market-1501-layout folder "
                    "(bounding_box_train/, bounding_box_test/, query/, attributes.json, meta.json).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  python -m mlfn_keras.data.synthetic --out /tmp/synth --identities 200 --cameras 4\n"
            "  python -m mlfn_keras.data.synthetic --out /tmp/synth_small --identities 40 --cameras 2 \\\n"
            "      --images-per-camera 3 --height 128 --width 64 --distractors 20 --multi-query 2\n"
        ),
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--identities", type=int, default=200, help="total identities (default 200)")
    parser.add_argument("--train-identities", type=int, default=None, help="training identities (default half)")
    parser.add_argument("--cameras", type=int, default=4, help="number of cameras, >= 2 (default 4)")
    parser.add_argument("--images-per-camera", type=int, default=4,
                        help="images per identity per camera (default 4)")
    parser.add_argument("--height", type=int, default=256, help="crop height (default 256)")
    parser.add_argument("--width", type=int, default=128, help="crop width (default 128)")
    parser.add_argument("--distractors", type=int, default=0, help="pid-0 distractor gallery images")
    parser.add_argument("--junk", type=int, default=0, help="pid -1 junk gallery images")
    parser.add_argument("--multi-query", type=int, default=0, help="extra gt_bbox images per query")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace a different generated set in --out")
    args = parser.parse_args(argv)
    root = generate_market_layout(
        args.out, num_identities=args.identities, num_cameras=args.cameras,
        images_per_identity_camera=args.images_per_camera, num_train_identities=args.train_identities,
        seed=args.seed, height=args.height, width=args.width, num_distractors=args.distractors,
        num_junk=args.junk, multi_query_images=args.multi_query, overwrite=args.overwrite,
    )
    counts = json.loads((root / "meta.json").read_text())["counts"]
    print(f"wrote {root}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
