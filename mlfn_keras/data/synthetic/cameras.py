"""Cameras: how a surveillance camera turns a rendered person into a detection crop.

:func:`apply_camera` composites a person onto the camera's background (a
patch of a real photograph from a :class:`~mlfn_keras.data.synthetic.backgrounds.BackgroundBank`
when one is given, procedural walls, shopfronts, foliage and pavements
otherwise) and then degrades it the way real footage does, in this order:

1. detector box: the person's scale and position in the box jitter, and the
   frame edge sometimes cuts the person (the clipped box is resized to the crop);
2. a soft shadow on the ground, other pedestrians behind and in front
   (people overlap in crowds), objects in front;
3. illumination: gain, colour cast and gamma (per camera, jittered per shot);
4. the sensor: the crop is shrunk to the camera's real pixel height (e.g. a
   pedestrian 50–110 px tall at a distance, as in PETS 2009), blurred by
   motion and optics, given sensor noise and video-codec (JPEG) artefacts at
   that size, then resized back to the crop size as a detector pipeline does.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from mlfn_keras.preprocessing import bgr_to_rgb

if TYPE_CHECKING:
    from mlfn_keras.data.synthetic.backgrounds import BackgroundBank

__all__ = ["CameraStyle", "apply_camera", "sample_camera"]

_BACKGROUNDS = ("wall", "shopfront", "foliage", "pavement")


@dataclasses.dataclass
class CameraStyle:
    """How one camera sees people.

    Attributes:
        cam_id: Camera id (1-based, as in Market-1501 file names).
        gain: Global brightness multiplier.
        colour_cast: Per-channel (R, G, B) multipliers (white balance).
        gamma: Tone curve exponent applied to [0, 1] intensities.
        background: ``"wall"``, ``"shopfront"``, ``"foliage"`` or ``"pavement"``
            (procedural backgrounds, used without photographs).
        background_rgb: Two base colours of the procedural background.
        texture: Amplitude (0..1) of the background's low-frequency texture.
        view_probs: Probabilities of ``("front", "back", "side")``.
        scale_range: Range of the person's height relative to the crop height
            (detector boxes are loose or tight).
        resolution: Range of the camera's pixel height of a person relative
            to the crop height (0.4 at a 128 px crop = a 51 px pedestrian,
            upsampled back to the crop size).
        blur_sigma: Gaussian blur sigma range in pixels at 256×128.
        noise_std: Sensor noise standard deviation in [0, 255] units.
        occlusion_prob: Probability that an object hides part of the person.
        crowd_prob: Probability of another pedestrian behind or in front.
        edge_prob: Probability that the frame edge cuts the person.
        jpeg_quality: Range of codec quality applied at the camera's resolution.
        motion_blur: Largest horizontal motion-blur length in camera pixels.
        photo_prob: Probability of a photographic background (when a bank is given).
        aspect_range: Range of the detector box's height/width. Real boxes
            are narrow (PETS 2009: 2.8 on average) and are stretched to the
            crop's 2:1, which makes people look wider than they are.
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
    crowd_prob: float = 0.0
    edge_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (95, 95)
    motion_blur: float = 0.0
    photo_prob: float = 0.8
    aspect_range: tuple[float, float] = (2.0, 2.0)

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


#: Colours of what is behind pedestrians outdoors: pavement, asphalt, concrete, grass, soil, brick.
_GROUND_RGB = np.asarray([(128, 128, 126), (92, 94, 96), (176, 174, 168), (86, 112, 58), (120, 100, 76),
                          (140, 88, 70)], np.float32)


def sample_camera(cam_id: int, rng: np.random.Generator) -> CameraStyle:
    """Draws a random camera style.

    Colour casts are moderate (real cameras are white-balanced); what varies
    most between shots is what varies in real footage: viewpoint, scale,
    resolution, background, crowding and compression.

    Args:
        cam_id: Camera id stored in the result.
        rng: Source of randomness.

    Returns:
        The camera's style.
    """
    # Each camera prefers one viewpoint (people walk one way past it), weakly.
    main_view = int(rng.integers(0, 3))
    probs = np.full(3, 0.25)
    probs[main_view] = 0.5
    probs = probs / probs.sum()
    background = str(rng.choice(_BACKGROUNDS))
    if rng.random() < 0.7:  # pavement, asphalt, concrete, grass, soil, brick
        base = _GROUND_RGB[int(rng.integers(0, len(_GROUND_RGB)))] * rng.uniform(0.8, 1.2)
    else:
        base = rng.uniform(40, 210, 3)
        base = base.mean() + (base - base.mean()) * 0.4  # streets and walls are mostly greyish
    second = np.clip(base + rng.normal(0, 30, 3), 0, 255)
    res_low = float(rng.uniform(0.3, 0.5))
    blur_hi = float(rng.uniform(0.3, 1.4))
    q_low = int(rng.integers(25, 60))
    return CameraStyle(
        cam_id=int(cam_id),
        gain=float(rng.uniform(0.75, 1.2)),
        colour_cast=tuple(float(v) for v in np.clip(rng.normal(1.0, 0.05, 3), 0.88, 1.12)),
        gamma=float(rng.uniform(0.8, 1.25)),
        background=background,
        background_rgb=(tuple(int(v) for v in base), tuple(int(v) for v in second)),
        texture=float(rng.uniform(0.05, 0.35)),
        view_probs=tuple(float(v) for v in probs),
        scale_range=(float(rng.uniform(0.88, 0.95)), 1.0),
        resolution=(res_low, float(rng.uniform(0.65, 0.95))),
        blur_sigma=(0.0, blur_hi),
        noise_std=float(rng.uniform(1.0, 6.0)),
        occlusion_prob=float(rng.uniform(0.05, 0.2)),
        crowd_prob=float(rng.uniform(0.2, 0.45)),
        edge_prob=float(rng.uniform(0.03, 0.1)),
        jpeg_quality=(q_low, int(rng.integers(q_low + 10, 92))),
        motion_blur=float(rng.uniform(0.0, 3.0)),
        photo_prob=float(rng.uniform(0.6, 0.95)),
        aspect_range=(float(rng.uniform(2.1, 2.6)), float(rng.uniform(2.9, 3.4))),
    )


def procedural_background(camera: CameraStyle, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A textured wall/shopfront/foliage/pavement backdrop, float32 ``(h, w, 3)`` RGB."""
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


# Kept for callers of the former single-module API.
_background = procedural_background


def _recolour_as_ground(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keeps a photograph's texture but gives it the colours of streets and lawns.

    Desktop photographs are flowers and leaves; their *texture* is what real
    scenes have, their colours are not. Sometimes two grounds meet (a lawn
    beside a path) or a painted road line crosses the patch.
    """
    h, w = patch.shape[:2]
    lum = patch.mean(axis=2)
    lum = lum / max(float(lum.mean()), 1.0)
    lum = 1.0 + (lum - 1.0) * np.float32(rng.uniform(0.2, 0.7))
    colours = _GROUND_RGB[rng.integers(0, len(_GROUND_RGB), 2)] * rng.uniform(0.8, 1.2, (2, 1)).astype(np.float32)
    base = np.empty((h, w, 3), np.float32)
    base[:] = colours[0]
    if rng.random() < 0.35:
        y = h * rng.uniform(0.2, 0.8) + (np.arange(w) - w / 2) * rng.uniform(-0.3, 0.3)
        below = np.arange(h)[:, None] > y[None, :]
        base[below] = colours[1]
    img = base * lum[..., None]
    if rng.random() < 0.2:
        y0 = int(rng.integers(0, h))
        thick = max(1, h // 40)
        img[y0:y0 + thick] = (220, 200, 80) if rng.random() < 0.5 else (225, 225, 220)
    return img


def _place(rgb: np.ndarray, mask: np.ndarray, scale: float, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
    """Scales a sprite about its bottom centre and shifts it, on a same-size canvas."""
    h, w = mask.shape
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    if (nh, nw) != (h, w):
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_AREA)
    out_rgb = np.zeros((h, w, 3), np.uint8)
    out_mask = np.zeros((h, w), np.uint8)
    y0 = h - nh + dy
    x0 = (w - nw) // 2 + dx
    sy0, sx0 = max(0, -y0), max(0, -x0)
    ty0, tx0 = max(0, y0), max(0, x0)
    ty1, tx1 = min(h, y0 + nh), min(w, x0 + nw)
    if ty1 > ty0 and tx1 > tx0:
        out_rgb[ty0:ty1, tx0:tx1] = rgb[sy0:sy0 + ty1 - ty0, sx0:sx0 + tx1 - tx0]
        out_mask[ty0:ty1, tx0:tx1] = mask[sy0:sy0 + ty1 - ty0, sx0:sx0 + tx1 - tx0]
    return out_rgb, out_mask


def _composite(img: np.ndarray, rgb: np.ndarray, mask: np.ndarray) -> None:
    alpha = mask.astype(np.float32)[..., None] * np.float32(1.0 / 255.0)
    img += (rgb.astype(np.float32) - img) * alpha


def _shadow(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Darkens the ground under (and to one side of) the feet."""
    h, w = mask.shape
    rows = np.nonzero(mask.max(axis=1) > 0)[0]
    cols = np.nonzero(mask.max(axis=0) > 0)[0]
    if len(rows) == 0:
        return
    foot_y, cx = int(rows[-1]), int((cols[0] + cols[-1]) / 2)
    half = max(2, int((cols[-1] - cols[0]) * rng.uniform(0.5, 0.9)))
    shadow = np.zeros((h, w), np.float32)
    lean = int(rng.uniform(-1.0, 1.0) * half)
    cv2.ellipse(shadow, (cx + lean, foot_y), (half + abs(lean), max(2, h // 40)), 0, 0, 360, 1.0, -1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, h / 80))
    img *= (1.0 - float(rng.uniform(0.25, 0.5)) * shadow)[..., None]


def apply_camera(
    rgb: np.ndarray,
    mask: np.ndarray,
    camera: CameraStyle,
    rng: np.random.Generator,
    backgrounds: "BackgroundBank | None" = None,
    bystanders: tuple[tuple[np.ndarray, np.ndarray], ...] = (),
    output_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Composites a rendered person onto a camera's view and degrades it like real footage.

    Args:
        rgb: Person, uint8 ``(H, W, 3)`` RGB, from :func:`render_person`.
        mask: Alpha, uint8 ``(H, W)``.
        camera: The camera style.
        rng: Randomness for this shot.
        backgrounds: Photographs to cut backgrounds from; procedural
            backgrounds without it (or when the camera's ``photo_prob`` draw fails).
        bystanders: Other rendered people ``(rgb, alpha)`` (same size), placed
            beside the person, partly behind or in front of them
            (:func:`render_crop` adds one with probability ``camera.crowd_prob``).
        output_shape: ``(height, width)`` of the returned crop; default the
            input's. :func:`render_crop` renders into a box of the camera's
            aspect and stretches it to the crop, as a detector pipeline does.

    Returns:
        The crop as uint8 RGB, ``output_shape`` or ``(H, W)``.

    Raises:
        ValueError: If ``rgb`` and ``mask`` differ in size.
    """
    if rgb.shape[:2] != mask.shape:
        raise ValueError(f"rgb {rgb.shape} and mask {mask.shape} must have the same height and width")
    h, w = mask.shape

    # 1. Detector box: scale and position jitter.
    scale = float(rng.uniform(*camera.scale_range))
    dx = int(round(rng.normal(0.0, 0.06) * w))
    dy = -int(round(rng.uniform(0.0, 1.0 - scale) * h * 0.5))
    rgb, mask = _place(rgb, mask, scale, dx, dy)
    # 2. Scene: background, shadow, bystanders, objects; the frame edge may cut the person.
    img = _scene(rgb, mask, scale, camera, rng, backgrounds, bystanders)
    img = _occlude(img, camera, rng, backgrounds)
    img = _cut_by_frame_edge(img, camera, rng)
    # 3. Illumination, 4. sensor.
    img = _illuminate(img, camera, rng)
    return _sensor(img, camera, rng, output_shape if output_shape is not None else (h, w))


def _scene(rgb: np.ndarray, mask: np.ndarray, scale: float, camera: CameraStyle, rng: np.random.Generator,
           backgrounds: "BackgroundBank | None", bystanders) -> np.ndarray:
    """The placed person over a background with a shadow, bystanders behind or in front."""
    h, w = mask.shape
    if backgrounds is not None and len(backgrounds) and rng.random() < camera.photo_prob:
        img = backgrounds.patch(h, w, rng)
        if rng.random() < 0.6:
            img = _recolour_as_ground(img, rng)
    else:
        img = procedural_background(camera, h, w, rng)
    _shadow(img, mask, rng)
    front = []
    for other_rgb, other_mask in bystanders:
        side = 1 if rng.random() < 0.5 else -1
        s = float(rng.uniform(0.8, 1.15)) * scale
        placed = _place(other_rgb, other_mask, min(s, 1.2), side * int(w * rng.uniform(0.45, 0.85)),
                        int(h * rng.uniform(-0.08, 0.05)))
        if rng.random() < 0.4:
            front.append(placed)
        else:
            _composite(img, *placed)
    _composite(img, rgb, mask)
    for placed in front:
        _composite(img, *placed)
    return img


def _occlude(img: np.ndarray, camera: CameraStyle, rng: np.random.Generator,
             backgrounds: "BackgroundBank | None") -> np.ndarray:
    """With ``camera.occlusion_prob``: something in front of the legs, a pole at the side, or a block."""
    h, w = img.shape[:2]
    if rng.random() < camera.occlusion_prob:
        if backgrounds is not None and len(backgrounds):
            colour = backgrounds.patch(h, w, rng)
        else:
            colour = np.empty((h, w, 3), np.float32)
            colour[:] = rng.uniform(20, 230, 3).astype(np.float32)
        kind = int(rng.integers(0, 3))
        if kind == 0:  # something in front of the legs (bench, car, railing)
            y0 = int(h * rng.uniform(0.65, 0.88))
            img[y0:] = colour[y0:]
        elif kind == 1:  # a pole at the side
            ww = int(w * rng.uniform(0.08, 0.25))
            x0 = 0 if rng.random() < 0.5 else w - ww
            img[:, x0:x0 + ww] = colour[:, x0:x0 + ww]
        else:
            ww, hh = int(w * rng.uniform(0.2, 0.4)), int(h * rng.uniform(0.1, 0.25))
            y0, x0 = int(rng.integers(0, h - hh)), int(rng.integers(0, w - ww))
            img[y0:y0 + hh, x0:x0 + ww] = colour[y0:y0 + hh, x0:x0 + ww]
    return img


def _cut_by_frame_edge(img: np.ndarray, camera: CameraStyle, rng: np.random.Generator) -> np.ndarray:
    """With ``camera.edge_prob`` the frame edge cuts the person: the visible part of the box fills the crop."""
    h, w = img.shape[:2]
    if rng.random() < camera.edge_prob:
        cut = float(rng.uniform(0.15, 0.4))
        where = int(rng.integers(0, 3))
        if where == 0:
            img = img[:, int(w * cut):]
        elif where == 1:
            img = img[:, : w - int(w * cut)]
        else:
            img = img[: h - int(h * cut * 0.8)]
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    return img


def _illuminate(img: np.ndarray, camera: CameraStyle, rng: np.random.Generator) -> np.ndarray:
    """Gamma, gain and colour cast folded into one lookup table."""
    gain = camera.gain * float(rng.uniform(0.85, 1.15))
    cast = np.asarray(camera.colour_cast, np.float32) * rng.normal(1.0, 0.02, 3).astype(np.float32)
    gamma = camera.gamma * float(rng.uniform(0.92, 1.08))
    levels = (np.arange(256, dtype=np.float32) / 255.0) ** gamma
    lut = np.clip(levels[:, None] * (gain * 255.0 * cast)[None, :], 0, 255)
    return cv2.LUT(np.clip(img, 0, 255).astype(np.uint8), lut.astype(np.uint8).reshape(256, 1, 3))


def _sensor(img: np.ndarray, camera: CameraStyle, rng: np.random.Generator,
            output_shape: tuple[int, int]) -> np.ndarray:
    """Shrink to the camera's pixel size, blur, noise, codec, back up to ``output_shape``."""
    h, w = img.shape[:2]
    res = float(rng.uniform(*camera.resolution))
    sh, sw = max(8, int(round(h * res))), max(4, int(round(w * res)))
    small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA) if res < 0.97 else img
    sigma = float(rng.uniform(*camera.blur_sigma)) * sh / 256.0
    if sigma > 0.3:
        small = cv2.GaussianBlur(small, (0, 0), sigma)
    length = float(rng.uniform(0.0, camera.motion_blur))
    if length >= 1.5:
        k = int(round(length))
        kernel = np.zeros((1, k), np.float32)
        kernel[:] = 1.0 / k
        small = cv2.filter2D(small, -1, kernel)
    if camera.noise_std > 0:
        noise = rng.standard_normal(small.shape, dtype=np.float32) * np.float32(camera.noise_std)
        small = np.clip(small.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    quality = int(rng.integers(camera.jpeg_quality[0], camera.jpeg_quality[1] + 1))
    if quality < 95:
        # OpenCV's codec expects BGR: flip so chroma subsampling treats colours as it would.
        ok, buf = cv2.imencode(".jpg", bgr_to_rgb(small), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            small = bgr_to_rgb(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    out_h, out_w = output_shape
    if small.shape[:2] != (out_h, out_w):
        small = cv2.resize(small, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(small, dtype=np.uint8)
