"""Identities: what a generated person looks like, as ground-truth attributes.

An identity is sampled once and rendered many times (other poses, views,
cameras). Colours are drawn the way real clothing is distributed (mostly
muted and dark, some saturated), and each one is also given the nearest
colour *name*, so that the attribute analysis (paper Sec. 4.4.2) has
categorical targets. Two "blue" jackets are therefore different shades, and
a re-id model has to learn fine colour differences, as on real people.
"""

from __future__ import annotations

import colorsys
import dataclasses
from typing import Any, ClassVar, Sequence

import numpy as np

__all__ = ["COLOURS", "IdentityAttributes", "sample_identity"]

#: Named clothing colours (RGB); names are the categorical attribute values.
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
_OUTER_COLOURS = ("black", "black", "black", "grey", "brown", "blue", "white", "red", "green", "purple")
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
#: Upper-body patterns. ``logo`` shows on the chest only (front views).
PATTERNS = ("plain", "stripes", "checks", "logo", "print", "two_tone")
BAGS = ("none", "backpack", "handbag", "shoulder")
#: Upper garments: a coat reaches the thighs; an open jacket shows the shirt under it.
_UPPER_TYPES = ("tshirt", "jacket", "coat")
_HAIR_STYLES = ("short", "long", "ponytail", "bald")

_NAMES = list(COLOURS)
_NAMED_RGB = np.asarray([COLOURS[n] for n in _NAMES], np.float64)


def _jitter(rgb: Sequence[int], rng: np.random.Generator, amount: float = 14.0) -> tuple[int, int, int]:
    values = np.asarray(rgb, np.float64) + rng.normal(0.0, amount, 3)
    return tuple(int(v) for v in np.clip(values, 0, 255))


def colour_name(rgb: Sequence[int]) -> str:
    """The name in :data:`COLOURS` nearest to ``rgb`` (Euclidean in RGB)."""
    d = ((_NAMED_RGB - np.asarray(rgb, np.float64)) ** 2).sum(1)
    return _NAMES[int(np.argmin(d))]


def _clothing_colour(rng: np.random.Generator, dark_bias: float = 0.0,
                     names: Sequence[str] | None = None) -> tuple[str, tuple[int, int, int]]:
    """A clothing colour and its name.

    Half the time a shade of a named colour; otherwise a free HSV draw with
    low saturation most of the time (real clothing is mostly muted) and
    brightness skewed dark by ``dark_bias``.
    """
    if rng.random() < 0.5:
        name = str(rng.choice(list(names or _NAMES)))
        rgb = _jitter(COLOURS[name], rng, 22.0)
        return colour_name(rgb), rgb
    hue = rng.random()
    sat = float(rng.beta(1.1, 2.2))
    val = float(np.clip(rng.beta(2.0 - dark_bias, 2.0 + dark_bias), 0.06, 0.97))
    rgb = tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, sat, val))
    return colour_name(rgb), rgb


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
        upper_color: Name from :data:`COLOURS` nearest to ``upper_rgb``.
        upper_rgb: Drawn upper-body colour.
        upper_pattern: ``plain``, ``stripes``, ``checks``, ``logo`` (front
            only), ``print`` (scattered motifs) or ``two_tone`` (colour block).
        pattern_rgb: Colour of stripes, checks, logo, print or second block.
        sleeve: ``"short"`` or ``"long"``.
        lower_color: Name from :data:`COLOURS`.
        lower_rgb: Drawn lower-body colour.
        lower_type: ``trousers``, ``shorts`` or ``skirt``.
        shoes_color: Name from :data:`COLOURS`.
        shoes_rgb: Drawn shoe colour.
        bag: ``none``, ``backpack`` (on the back: hidden from the front
            except its straps), ``handbag`` or ``shoulder``.
        bag_rgb: Drawn bag colour.
        hat: Whether the person wears a cap.
        hat_rgb: Drawn cap colour.
        upper_type: ``tshirt``, ``jacket`` or ``coat`` (reaches the thighs).
        open_front: An open jacket/coat shows ``inner_rgb`` down the front.
        inner_rgb: Colour of the shirt under an open jacket or coat.
        hair_style: ``short``, ``long``, ``ponytail`` or ``bald``.
        leg_ratio: Leg length relative to the average (0.92..1.08).
        head_ratio: Head size relative to the average (0.9..1.1).
        texture_seed: Seed of the identity's fabric texture and print motifs.
        pattern_scale: Period of stripes/checks in head units (0.2..0.55).
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
    upper_type: str = "tshirt"
    open_front: bool = False
    inner_rgb: tuple[int, int, int] = (200, 200, 200)
    hair_style: str = "short"
    leg_ratio: float = 1.0
    head_ratio: float = 1.0
    texture_seed: int = 0
    pattern_scale: float = 0.36

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
    if female:
        hair_style = str(rng.choice(_HAIR_STYLES, p=[0.2, 0.55, 0.25, 0.0]))
    else:
        hair_style = str(rng.choice(_HAIR_STYLES, p=[0.82, 0.06, 0.02, 0.10]))
    hair_length = "long" if hair_style in ("long", "ponytail") else "short"
    upper_type = str(rng.choice(_UPPER_TYPES, p=[0.4, 0.38, 0.22]))
    if upper_type == "tshirt":
        upper_color, upper_rgb = _clothing_colour(rng, dark_bias=0.3)
    else:  # jackets and coats: mostly dark, as in street footage
        upper_color, upper_rgb = _clothing_colour(rng, dark_bias=0.9, names=_OUTER_COLOURS)
    upper_pattern = str(rng.choice(PATTERNS, p=[0.4, 0.14, 0.1, 0.12, 0.12, 0.12]))
    _, pattern_rgb = _clothing_colour(rng)
    if np.abs(np.subtract(pattern_rgb, upper_rgb)).sum() < 90:  # a pattern must show
        pattern_rgb = tuple(int(255 - c) if sum(upper_rgb) < 380 else int(c * 0.35) for c in pattern_rgb)
    _, inner_rgb = _clothing_colour(rng)
    open_front = bool(upper_type != "tshirt" and rng.random() < 0.45)
    sleeve = "long" if upper_type != "tshirt" else ("short" if rng.random() < 0.7 else "long")
    lower_type = str(
        rng.choice(("trousers", "shorts", "skirt"), p=[0.55, 0.15, 0.3] if female else [0.82, 0.18, 0.0])
    )
    if rng.random() < 0.45:  # jeans, black or grey trousers are the common case
        base = [(50, 70, 110), (30, 30, 34), (90, 90, 96), (150, 130, 100)][int(rng.integers(0, 4))]
        lower_rgb = _jitter(base, rng, 14)
        lower_color = colour_name(lower_rgb)
    else:
        lower_color, lower_rgb = _clothing_colour(rng, dark_bias=0.5, names=_LOWER_COLOURS)
    shoes_color = str(rng.choice(_SHOE_COLOURS))
    bag = str(rng.choice(BAGS, p=[0.4, 0.25, 0.15, 0.2]))
    _, bag_rgb = _clothing_colour(rng, dark_bias=0.4)
    hat = bool(rng.random() < 0.15)
    _, hat_rgb = _clothing_colour(rng)
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
        upper_rgb=upper_rgb,
        upper_pattern=upper_pattern,
        pattern_rgb=pattern_rgb,
        sleeve=sleeve,
        lower_color=lower_color,
        lower_rgb=lower_rgb,
        lower_type=lower_type,
        shoes_color=shoes_color,
        shoes_rgb=_jitter(COLOURS[shoes_color], rng, 10),
        bag=bag,
        bag_rgb=bag_rgb,
        hat=hat,
        hat_rgb=hat_rgb,
        upper_type=upper_type,
        open_front=open_front,
        inner_rgb=inner_rgb,
        hair_style=hair_style,
        leg_ratio=float(rng.uniform(0.92, 1.08)),
        head_ratio=float(rng.uniform(0.9, 1.1)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        pattern_scale=float(rng.uniform(0.2, 0.55)),
    )
