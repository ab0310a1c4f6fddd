"""Rendering: an articulated, clothed person drawn from any viewpoint.

A person is a small 3-D skeleton (pelvis, spine, head, shoulders, elbows,
hands, hips, knees, ankles, toes) posed by a walking cycle: thighs swing
with ``sin(2π·phase)``, knees bend in the swing phase and arms swing
against the legs. The skeleton is turned by a yaw angle (0° faces the
camera, 180° walks away, ±90° crosses the view) and projected
orthographically with a slight downward camera pitch; body parts are drawn
far-to-near (painter's order), so a backpack hides behind the torso when the
person faces the camera and covers it from behind, the far arm disappears
behind the body from the side, and so on.

Parts are drawn into a *label map* (skin, hair, upper garment, shirt under
an open jacket, lower garment, shoes, bag, cap, print) and a *shade map*
(far limbs darker); the label map is then coloured with the identity's
fabric textures (stripes, checks, prints, colour blocks, denim-like noise)
and lit (top light, one-sided light, darker silhouette edges that make
limbs look round). Everything is plain OpenCV/NumPy on a canvas the size of
the output, so a 128×64 person takes about a millisecond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from mlfn_keras.data.synthetic.identities import IdentityAttributes

__all__ = ["VIEWS", "VIEW_YAW", "render_person"]

#: Views a person can be rendered from (coarse; the yaw is jittered around them).
VIEWS: tuple[str, ...] = ("front", "back", "side")
#: Yaw (degrees) of each view; ``side`` is +90 or -90 at random.
VIEW_YAW: dict[str, float] = {"front": 0.0, "back": 180.0, "side": 90.0}

# Labels of the label map.
_BG, _SKIN, _HAIR, _UPPER, _INNER, _LOWER, _SHOES, _BAG, _HAT, _PRINT, _STRAP = range(11)


class _Painter:
    """Label and shade maps drawn together with sub-pixel polygons."""

    def __init__(self, height: int, width: int):
        self.labels = np.zeros((height, width), np.uint8)
        self.shade = np.ones((height, width), np.float32)

    @staticmethod
    def _pts(points) -> np.ndarray:
        return (np.asarray(points, np.float64) * 16).round().astype(np.int32).reshape(-1, 1, 2)

    def poly(self, points, label: int, shade: float = 1.0) -> None:
        pts = self._pts(points)
        cv2.fillPoly(self.labels, [pts], int(label), cv2.LINE_8, 4)
        cv2.fillPoly(self.shade, [pts], float(shade), cv2.LINE_8, 4)

    def ellipse(self, centre, axes, label: int, shade: float = 1.0, start: float = 0.0, end: float = 360.0,
                angle: float = 0.0) -> None:
        c = tuple(int(round(v * 16)) for v in centre)
        a = tuple(max(1, int(round(v * 16))) for v in axes)
        cv2.ellipse(self.labels, c, a, angle, start, end, int(label), -1, cv2.LINE_8, 4)
        cv2.ellipse(self.shade, c, a, angle, start, end, float(shade), -1, cv2.LINE_8, 4)

    def limb(self, p0, p1, w0: float, w1: float, label: int, shade: float = 1.0, round_ends: bool = True) -> None:
        """A tapered capsule from ``p0`` (width ``w0``) to ``p1`` (width ``w1``)."""
        dx, dy = p1[0] - p0[0], p1[1] - p0[1]
        n = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / n, dx / n
        self.poly([(p0[0] + nx * w0 / 2, p0[1] + ny * w0 / 2), (p1[0] + nx * w1 / 2, p1[1] + ny * w1 / 2),
                   (p1[0] - nx * w1 / 2, p1[1] - ny * w1 / 2), (p0[0] - nx * w0 / 2, p0[1] - ny * w0 / 2)],
                  label, shade)
        if round_ends:
            self.ellipse(p0, (w0 / 2, w0 / 2), label, shade)
            self.ellipse(p1, (w1 / 2, w1 / 2), label, shade)

    def line(self, p0, p1, label: int, thickness: float, shade: float = 1.0) -> None:
        self.limb(p0, p1, thickness, thickness, label, shade, round_ends=False)


def _fabric(person: IdentityAttributes, labels: np.ndarray, box: tuple[float, float, float, float], u: float,
            facing: float, rng: np.random.Generator) -> np.ndarray:
    """Upper-garment colours over the canvas: base colour plus the identity's pattern.

    ``box`` is the torso's screen box ``(x0, y0, x1, y1)``: patterns are
    anchored to it so that they move with the body, and prints are placed in
    the box's normalised coordinates from the identity's own seed, so the
    same motifs appear in every image of that identity.
    """
    h, w = labels.shape
    tex = np.empty((h, w, 3), np.float32)
    tex[:] = person.upper_rgb
    pattern = np.asarray(person.pattern_rgb, np.float32)
    x0, y0, x1, y1 = box
    period = max(2.0, person.pattern_scale * u)
    kind = person.upper_pattern
    if kind in ("stripes", "checks"):
        ys = ((np.arange(h) - y0) % period) < period / 2
        marks = np.broadcast_to(ys[:, None], (h, w))
        if kind == "checks":
            xs = ((np.arange(w) - (x0 + x1) / 2) % period) < period / 2
            marks = marks ^ xs[None, :]
        tex[marks] = pattern
    elif kind == "two_tone":
        split = int(round(y0 + (y1 - y0) * 0.38))
        tex[: max(0, split)] = pattern
    elif kind == "print":
        motif = np.random.default_rng(person.texture_seed)
        mask = np.zeros((h, w), np.uint8)
        for _ in range(10):
            fx, fy = motif.random(2)
            r = max(1, int(round(u * motif.uniform(0.08, 0.16))))
            # Motifs wrap around the body: their x follows the torso's turn.
            sx = x0 + (x1 - x0) * (0.5 + (fx - 0.5) * 1.1)
            cv2.circle(mask, (int(round(sx)), int(round(y0 + (y1 - y0) * fy))), r, 1, -1)
        tex[mask > 0] = pattern
    # Fabric: low-frequency folds and fine weave noise.
    folds = cv2.resize(rng.random((6, 4), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    tex *= (0.92 + 0.16 * folds)[..., None]
    return tex


def _yaw_for(view: str, rng: np.random.Generator) -> float:
    yaw = VIEW_YAW[view]
    if view == "side" and rng.random() < 0.5:
        yaw = -yaw
    return yaw + float(rng.normal(0.0, 18.0))


def render_person(
    identity: IdentityAttributes,
    view: str,
    rng: np.random.Generator,
    height: int = 256,
    width: int = 128,
    walk_phase: float = 0.0,
    yaw: float | None = None,
    stride: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws a person on a transparent background.

    Args:
        identity: What to draw.
        view: ``"front"``, ``"back"`` or ``"side"``: the coarse viewpoint;
            the yaw is drawn around it (±18°) unless ``yaw`` is given. Views
            change what is visible: a backpack covers the back but shows
            only straps from the front, a logo and face show from the front.
        rng: Randomness for small pose and lighting details.
        height: Output height in pixels.
        width: Output width in pixels.
        walk_phase: Gait phase in cycles (0..1 is one stride).
        yaw: Exact body yaw in degrees (0 faces the camera); overrides ``view``.
        stride: Gait amplitude (0 stands still, 1 is a brisk walk); random
            in [0.5, 1.1] by default.

    Returns:
        ``(rgb, alpha)``: uint8 arrays of shape ``(height, width, 3)`` (RGB)
        and ``(height, width)`` (255 where the person is, 0 elsewhere, where
        ``rgb`` is 0 too).

    Raises:
        ValueError: If ``view`` is not one of :data:`VIEWS`.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, received {view!r}")
    f = _pose(identity, view, rng, height, width, walk_phase, yaw, stride)
    _add_legs(f)
    hands = _add_arms(f)
    torso = _add_torso(f)
    _add_bag(f, hands)
    _add_head(f, torso)
    for _, fn in sorted(f.draws, key=lambda item: item[0]):
        fn()
    return _colour_and_light(f, torso, rng)


@dataclass
class _Figure:
    """One person being drawn: who, how the camera sees them, the skeleton's heights, the parts to paint."""

    p: IdentityAttributes
    pt: _Painter
    u: float  # one head: a figure is 8 heads tall
    base: float  # the ground line, in pixels
    cx: float  # the body's axis, in pixels
    cos_y: float
    sin_y: float
    pitch: float  # the camera looks down a little
    stride: float
    theta: float  # gait phase, radians
    hip_h: float = 0.0
    knee_h: float = 0.0
    ankle_h: float = 0.0
    thigh: float = 0.0
    shin: float = 0.0
    shoulder_h: float = 0.0
    head_h: float = 0.0
    sh: float = 0.0  # half shoulder width
    waist: float = 0.0
    hips: float = 0.0
    depth_half: float = 0.0
    draws: list[tuple[float, Callable[[], None]]] = field(default_factory=list)  # (depth, draw), far-to-near

    @property
    def ws(self) -> float:
        return self.p.width_scale

    def project(self, x: float, hgt: float, z: float) -> tuple[float, float, float]:
        """Body point (lateral x, height above ground, forward z) -> (sx, sy, depth)."""
        d = z * self.cos_y - x * self.sin_y
        return self.cx + x * self.cos_y + z * self.sin_y, self.base - hgt + d * self.pitch, d

    def half_width(self, a: float, b: float) -> float:
        """Projected half-width of a horizontal ellipse with half-axes a (lateral), b (depth)."""
        return math.sqrt((a * self.cos_y) ** 2 + (b * self.sin_y) ** 2)

    def add(self, depth: float, fn: Callable[[], None]) -> None:
        self.draws.append((depth, fn))


@dataclass(frozen=True)
class _Torso:
    """Where the torso landed on screen (the head and the fabric pattern follow it)."""

    tx: float
    y_sh: float
    box: tuple[float, float, float, float]


def _pose(p: IdentityAttributes, view: str, rng: np.random.Generator, height: int, width: int, walk_phase: float,
          yaw: float | None, stride: float | None) -> _Figure:
    """The view, the gait and the skeleton's heights and widths."""
    psi = math.radians(_yaw_for(view, rng) if yaw is None else float(yaw))
    stride = float(rng.uniform(0.5, 1.1)) if stride is None else float(stride)
    pitch = float(rng.uniform(0.0, 0.25))
    # A detector box is fitted to the person, so everyone fills about the same
    # height of a crop; body height shows only as a little more or less headroom.
    body_h = height * (0.95 + 0.25 * (p.height_scale - 0.89))
    u = body_h / 8.0  # classic 8-head figure proportions
    cx = width / 2.0 + rng.normal(0.0, 0.015 * width)
    f = _Figure(p, _Painter(height, width), u, height * 0.99, cx, math.cos(psi), math.sin(psi), pitch, stride,
                2.0 * math.pi * walk_phase)
    ws, hr, female = p.width_scale, p.head_ratio, p.gender == "female"
    # Skeleton ---------------------------------------------------------------
    f.hip_h = 4.0 * u * p.leg_ratio
    f.knee_h = f.hip_h * 0.52
    f.ankle_h = 0.28 * u
    f.shoulder_h = 8.0 * u - 1.45 * u * hr
    f.head_h = 8.0 * u - 0.5 * u * hr
    f.sh = 1.08 * u * ws * (0.88 if female else 1.0)
    f.waist = 0.82 * u * ws * (0.88 if female else 1.0)
    f.hips = 0.9 * u * ws * (1.06 if female else 1.0)
    f.depth_half = 0.5 * u * ws
    f.thigh, f.shin = f.hip_h - f.knee_h, f.knee_h - f.ankle_h
    bob = 0.06 * u * stride * math.cos(2 * f.theta)  # the body bobs twice a stride; the legs keep their length
    f.hip_h += bob
    f.knee_h += bob
    f.shoulder_h += bob
    f.head_h += bob
    return f


def _add_legs(f: _Figure) -> None:
    p, pt, u, ws = f.p, f.pt, f.u, f.ws
    thigh, shin = f.thigh, f.shin
    amp = 0.42 * f.stride
    lower_label = _LOWER
    legs_shade = 0.9
    for side in (1.0, -1.0):
        phase = f.theta + (0.0 if side > 0 else math.pi)
        a = amp * math.sin(phase)
        k = 0.1 + 0.85 * f.stride * max(0.0, math.cos(phase)) ** 2
        x = side * 0.45 * u * ws
        hip3 = (x, f.hip_h, 0.0)
        knee3 = (x, f.hip_h - thigh * math.cos(a), thigh * math.sin(a))
        ankle3 = (x, knee3[1] - shin * math.cos(a - k), knee3[2] + shin * math.sin(a - k))
        ankle3 = (x, max(ankle3[1], f.ankle_h * 0.6), ankle3[2])
        toe3 = (x, ankle3[1] - 0.2 * u, ankle3[2] + 0.45 * u)
        hip2, knee2, ankle2, toe2 = (f.project(*q) for q in (hip3, knee3, ankle3, toe3))
        depth = (hip2[2] + knee2[2] + ankle2[2]) / 3.0
        dim = 1.0 - 0.12 * max(0.0, -side * f.sin_y) * 1.0  # far leg a little darker

        def draw_leg(hip2=hip2, knee2=knee2, ankle2=ankle2, toe2=toe2, dim=dim * legs_shade):
            covered = p.lower_type == "trousers"
            upper_label = lower_label if covered or p.lower_type == "shorts" else _SKIN
            pt.limb(hip2[:2], knee2[:2], 0.78 * u * ws, 0.52 * u, upper_label, dim)
            if p.lower_type == "shorts":
                mid = (hip2[0] + 0.45 * (knee2[0] - hip2[0]), hip2[1] + 0.45 * (knee2[1] - hip2[1]))
                pt.limb(mid, knee2[:2], 0.52 * u, 0.4 * u, _SKIN, dim)
            pt.limb(knee2[:2], ankle2[:2], 0.52 * u if covered else 0.4 * u, 0.34 * u,
                    lower_label if covered else _SKIN, dim)
            pt.limb(ankle2[:2], toe2[:2], 0.3 * u, 0.24 * u, _SHOES, dim)

        f.add(depth, draw_leg)


def _add_arms(f: _Figure) -> dict[float, tuple[float, float, float]]:
    """Arms swing against the legs; returns each hand's screen point (a handbag hangs from one)."""
    p, pt, u, ws, sh = f.p, f.pt, f.u, f.ws, f.sh
    amp = 0.42 * f.stride
    hands: dict[float, tuple[float, float, float]] = {}
    for side in (1.0, -1.0):
        phase = f.theta + (math.pi if side > 0 else 0.0)
        b = 0.75 * amp * math.sin(phase)
        e = 0.25 + 0.3 * f.stride * max(0.0, math.sin(phase))
        x_s, x_h = side * (sh + 0.05 * u), side * (sh + 0.18 * u)
        s3 = (x_s, f.shoulder_h - 0.15 * u, 0.0)
        e3 = (0.5 * (x_s + x_h), s3[1] - 1.45 * u * math.cos(b), 1.45 * u * math.sin(b))
        h3 = (x_h, e3[1] - 1.3 * u * math.cos(b + e), e3[2] + 1.3 * u * math.sin(b + e))
        s2, e2, h2 = (f.project(*q) for q in (s3, e3, h3))
        hands[side] = h2
        depth = (s2[2] + e2[2] + h2[2]) / 3.0 + 0.02 * u
        dim = 1.0 - 0.15 * max(0.0, -side * f.sin_y)

        def draw_arm(s2=s2, e2=e2, h2=h2, dim=dim):
            sleeve = _UPPER
            if p.sleeve == "long":
                pt.limb(s2[:2], e2[:2], 0.5 * u * ws, 0.42 * u, sleeve, dim)
                pt.limb(e2[:2], h2[:2], 0.42 * u, 0.32 * u, sleeve, dim)
            else:
                pt.limb(s2[:2], e2[:2], 0.34 * u, 0.28 * u, _SKIN, dim)
                pt.limb(e2[:2], h2[:2], 0.28 * u, 0.24 * u, _SKIN, dim)
                mid = (s2[0] + 0.55 * (e2[0] - s2[0]), s2[1] + 0.55 * (e2[1] - s2[1]))
                pt.limb(s2[:2], mid, 0.48 * u * ws, 0.4 * u, sleeve, dim)
            pt.ellipse((h2[0], h2[1] + 0.08 * u), (0.14 * u, 0.18 * u), _SKIN, dim)

        f.add(depth, draw_arm)
    return hands


def _add_torso(f: _Figure) -> _Torso:
    """Torso, pelvis, coat, skirt."""
    p, pt, u, base = f.p, f.pt, f.u, f.base
    cos_y, sin_y, depth_half, hip_h = f.cos_y, f.sin_y, f.depth_half, f.hip_h
    top3 = f.project(0.0, f.shoulder_h + 0.05 * u, 0.0)
    w_sh, w_w, w_h = (f.half_width(f.sh, depth_half), f.half_width(f.waist, depth_half * 0.9),
                      f.half_width(f.hips, depth_half))
    waist_h = hip_h + 0.75 * u
    coat = p.upper_type == "coat"
    bottom_h = f.knee_h + 0.35 * u if coat else hip_h + 0.2 * u
    tx = top3[0]
    y_sh, y_w, y_b = top3[1], base - waist_h, base - bottom_h
    knee_h = f.knee_h

    def draw_pelvis():
        pt.poly([(tx - w_w, y_w), (tx + w_w, y_w), (tx + w_h, base - hip_h + 0.25 * u),
                 (tx - w_h, base - hip_h + 0.25 * u)], _LOWER)
        if p.lower_type == "skirt":
            flare = w_h + 0.35 * u
            pt.poly([(tx - w_w, y_w), (tx + w_w, y_w), (tx + flare, base - knee_h + 0.1 * u),
                     (tx - flare, base - knee_h + 0.1 * u)], _LOWER)

    f.add(0.0, draw_pelvis)

    def draw_torso():
        pts = [(tx - w_sh * 0.75, y_sh - 0.05 * u), (tx + w_sh * 0.75, y_sh - 0.05 * u),
               (tx + w_sh, y_sh + 0.35 * u), (tx + w_w * 1.02, y_w), (tx + w_h * (1.12 if coat else 1.0), y_b),
               (tx - w_h * (1.12 if coat else 1.0), y_b), (tx - w_w * 1.02, y_w), (tx - w_sh, y_sh + 0.35 * u)]
        pt.poly(pts, _UPPER)
        front_x, front_vis = tx + depth_half * sin_y, cos_y
        if p.open_front and front_vis > 0.15:
            half = 0.22 * u * front_vis
            pt.poly([(front_x - half, y_sh), (front_x + half, y_sh), (front_x + half * 0.8, y_b),
                     (front_x - half * 0.8, y_b)], _INNER)
        if p.upper_pattern == "logo" and front_vis > 0.35:
            pt.ellipse((front_x, y_sh + 1.0 * u), (0.26 * u * front_vis, 0.22 * u), _PRINT)
        if p.bag == "backpack" and front_vis > 0.2:  # straps over the shoulders
            for sgn in (-1.0, 1.0):
                sx = tx + sgn * 0.55 * w_sh
                pt.line((sx, y_sh), (sx + sgn * 0.05 * u, y_sh + 1.6 * u), _STRAP, max(1.0, 0.14 * u))
        if p.bag == "shoulder":
            pt.line((tx - 0.8 * w_sh, y_sh + 0.1 * u), (tx + w_h, base - hip_h - 0.1 * u), _STRAP,
                    max(1.0, 0.1 * u), 0.8)

    f.add(0.01 * u, draw_torso)
    return _Torso(tx, y_sh, (tx - w_sh, y_sh, tx + w_sh, y_b))


def _add_bag(f: _Figure, hands: dict[float, tuple[float, float, float]]) -> None:
    """A backpack, a shoulder bag or a handbag (in the right hand)."""
    p, pt, u, ws = f.p, f.pt, f.u, f.ws
    half_width = f.half_width
    if p.bag == "backpack":
        c2 = f.project(0.0, f.shoulder_h - 1.0 * u, -(f.depth_half + 0.3 * u))
        bw = half_width(0.62 * u * ws, 0.32 * u)

        def draw_backpack(c2=c2, bw=bw):
            pt.poly([(c2[0] - bw * 0.92, c2[1] - 0.95 * u), (c2[0] + bw * 0.92, c2[1] - 0.95 * u),
                     (c2[0] + bw, c2[1] + 0.95 * u), (c2[0] - bw, c2[1] + 0.95 * u)], _BAG, 0.95)

        f.add(c2[2], draw_backpack)
    elif p.bag == "shoulder":
        c2 = f.project(f.hips + 0.15 * u, f.hip_h + 0.15 * u, 0.1 * u)

        def draw_shoulder_bag(c2=c2):
            bw = half_width(0.22 * u, 0.45 * u)
            pt.poly([(c2[0] - bw, c2[1] - 0.35 * u), (c2[0] + bw, c2[1] - 0.35 * u),
                     (c2[0] + bw * 1.1, c2[1] + 0.4 * u), (c2[0] - bw * 1.1, c2[1] + 0.4 * u)], _BAG)

        f.add(c2[2] + 0.03 * u, draw_shoulder_bag)
    elif p.bag == "handbag":
        h2 = hands[1.0]

        def draw_handbag(h2=h2):
            bw = half_width(0.22 * u, 0.4 * u)
            pt.line((h2[0], h2[1]), (h2[0], h2[1] + 0.3 * u), _STRAP, max(1.0, 0.08 * u))
            pt.poly([(h2[0] - bw, h2[1] + 0.3 * u), (h2[0] + bw, h2[1] + 0.3 * u),
                     (h2[0] + bw * 1.1, h2[1] + 1.0 * u), (h2[0] - bw * 1.1, h2[1] + 1.0 * u)], _BAG)

        f.add(h2[2] + 0.03 * u, draw_handbag)


def _add_head(f: _Figure, torso: _Torso) -> None:
    """Head, hair, cap; the neck joins the torso."""
    p, pt, u, hr = f.p, f.pt, f.u, f.p.head_ratio
    cos_y, sin_y, head_h = f.cos_y, f.sin_y, f.head_h
    tx, y_sh = torso.tx, torso.y_sh
    rx, ry = 0.36 * u * hr, 0.48 * u * hr
    head2 = f.project(0.0, head_h, 0.05 * u)
    if p.hair_style == "long":
        hair_back = f.project(0.0, head_h - 0.9 * u, -0.25 * u)

        def draw_long_hair(hb=hair_back):
            hw = rx * 1.12
            pt.poly([(head2[0] - hw, head2[1]), (head2[0] + hw, head2[1]), (hb[0] + hw * 0.95, hb[1] + 0.7 * u),
                     (hb[0] - hw * 0.95, hb[1] + 0.7 * u)], _HAIR)

        f.add(hair_back[2], draw_long_hair)
    elif p.hair_style == "ponytail":
        tail = f.project(0.0, head_h - 0.45 * u, -0.5 * u)
        f.add(tail[2], lambda t=tail: pt.ellipse((t[0], t[1]), (0.16 * u, 0.42 * u), _HAIR))

    def draw_head():
        neck = (head2[0], head2[1] + ry * 0.9)
        pt.limb((neck[0], neck[1] - 0.1 * u), (tx, y_sh + 0.05 * u), 0.32 * u, 0.36 * u, _SKIN)
        bald = p.hair_style == "bald"
        pt.ellipse(head2[:2], (rx, ry), _SKIN if bald else _HAIR)
        face_vis = cos_y
        if face_vis > -0.25 or bald:
            fx = head2[0] + 0.16 * u * sin_y
            frx = rx * (0.5 + 0.38 * max(0.0, face_vis)) if not bald else rx
            fry = ry * (0.78 if not bald else 1.0)
            pt.ellipse((fx, head2[1] + (0.1 * u if not bald else 0.0)), (frx, fry), _SKIN)
        if p.hat:
            pt.ellipse((head2[0], head2[1] - 0.08 * u), (rx * 1.12, ry * 0.95), _HAT, 1.0, 180, 360)
            bx = head2[0] + 0.45 * u * sin_y
            pt.ellipse((bx, head2[1] - 0.1 * u), (0.3 * u * (0.4 + 0.6 * abs(sin_y)) + 0.1 * u, 0.09 * u),
                       _HAT, 0.85)

    f.add(0.03 * u, draw_head)


def _colour_and_light(f: _Figure, torso: _Torso, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Colours the label map with the identity's fabrics and lights it; returns ``(rgb, alpha)``."""
    p, u = f.p, f.u
    labels = f.pt.labels
    height, width = labels.shape
    palette = np.zeros((11, 3), np.float32)
    palette[_SKIN] = p.skin_rgb
    palette[_HAIR] = p.hair_rgb
    palette[_INNER] = p.inner_rgb
    palette[_LOWER] = p.lower_rgb
    palette[_SHOES] = p.shoes_rgb
    palette[_BAG] = p.bag_rgb
    palette[_HAT] = p.hat_rgb
    palette[_PRINT] = p.pattern_rgb
    palette[_STRAP] = np.asarray(p.bag_rgb, np.float32) * 0.7
    img = palette[labels]
    upper = labels == _UPPER
    if upper.any():
        img[upper] = _fabric(p, labels, torso.box, u, f.cos_y, rng)[upper]
    lower = labels == _LOWER
    if lower.any():  # denim-like weave and creases
        grain = cv2.resize(rng.random((24, 8), dtype=np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        img[lower] *= (0.9 + 0.2 * grain[lower])[:, None]
    alpha = (labels > 0).astype(np.uint8) * 255
    shade = f.pt.shade
    # Silhouette edges darker (round limbs), light from above, light from one side.
    sigma = max(0.6, 0.3 * u)
    inner = cv2.GaussianBlur(alpha.astype(np.float32) * (1.0 / 255.0), (0, 0), sigma)
    shade *= 0.7 + 0.3 * np.clip(inner * 2.0, 0.0, 1.0)
    shade *= np.linspace(1.08, 0.86, height, dtype=np.float32)[:, None]
    side_light = float(rng.uniform(-0.18, 0.18))
    shade *= 1.0 + side_light * np.clip((np.arange(width, dtype=np.float32) - f.cx) / (2.0 * u), -1.0, 1.0)[None, :]
    img *= shade[..., None]
    rgb = np.clip(img, 0, 255).astype(np.uint8)
    rgb[alpha == 0] = 0
    return rgb, alpha
