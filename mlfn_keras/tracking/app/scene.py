"""A generated multi-camera scene with ground truth: the demo's built-in default.

People drawn by the generated-identities renderer
(:mod:`mlfn_keras.data.synthetic`) walk through two (or more) non-overlapping
camera views that differ in background, lighting, colour cast and the way
people cross them: camera 0 sees people walk across (side views), camera 1 sees
them walk towards or away from it (front and back views, growing or shrinking).
Most people leave one view and, after a transit gap, enter the other; some come
back into the same view later (re-entry) and some are only ever seen once.

Everything is deterministic from ``SceneConfig.seed``. :func:`write_scene`
writes one ``.mp4`` per camera plus MOT-format ground truth, so the rest of
the pipeline reads the scene exactly like any other video file.

Ground truth rows follow MOTChallenge: ``frame, id, x, y, w, h, 1, 1, visibility``
(1-based frames, pixel boxes clipped to the frame). A person is in the ground
truth while at least ``min_visibility`` of their body is inside the frame; ids
are global (the same person has the same id in every camera).

Example:

    from mlfn_keras.tracking.app.scene import SceneConfig, write_scene
    paths = write_scene(SceneConfig(num_people=8, num_frames=600), "/tmp/scene")
    # /tmp/scene/cam0.mp4, /tmp/scene/cam1.mp4, /tmp/scene/gt/cam0.txt, ...
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

GT_VERSION = 1  # bump when the drawing changes, so caches are rebuilt


@dataclass(frozen=True)
class SceneConfig:
    """What to generate.

    Attributes:
        num_people: identities in the scene.
        num_frames: frames per camera.
        num_cameras: cameras (views alternate between the two walking styles).
        width: frame width in pixels.
        height: frame height in pixels.
        fps: frames per second written to the videos.
        seed: everything derives from it.
        pass_seconds: (min, max) seconds a person takes to cross a view.
        transit_seconds: (min, max) seconds between leaving one view and entering the next.
        revisit_prob: probability that a person comes back to a view already visited.
        min_visibility: fraction of the body inside the frame for a ground-truth box.
    """

    num_people: int = 10
    num_frames: int = 600
    num_cameras: int = 2
    width: int = 768
    height: int = 576
    fps: float = 15.0
    seed: int = 0
    pass_seconds: tuple[float, float] = (4.0, 7.0)
    transit_seconds: tuple[float, float] = (1.0, 4.0)
    revisit_prob: float = 0.3
    min_visibility: float = 0.35

    def fingerprint(self) -> str:
        """A short hash naming this configuration (used for cache folders)."""
        blob = json.dumps({**dataclasses.asdict(self), "v": GT_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Pass:
    """One walk of one person through one camera view.

    Attributes:
        pid: person id (1-based, global across cameras).
        camera: camera index.
        start: first frame (0-based) of the walk.
        frames: frames the walk lasts.
        style: ``"across"`` (side view), ``"towards"`` (front) or ``"away"`` (back).
        direction: +1 or -1 (left→right or right→left for ``"across"``).
        lane: 0..1, depth of the walking line (0 far, 1 near) or start x for vertical walks.
    """

    pid: int
    camera: int
    start: int
    frames: int
    style: str
    direction: int
    lane: float


def plan_scene(config: SceneConfig) -> list[Pass]:
    """Draws every person's walks through the views (deterministic from the seed)."""
    if config.num_cameras < 1 or config.num_people < 1 or config.num_frames < 2:
        raise ValueError(
            f"SceneConfig needs num_cameras >= 1, num_people >= 1, num_frames >= 2; got {config}."
        )
    rng = np.random.default_rng([config.seed, 1])
    passes: list[Pass] = []
    fps = config.fps
    for k in range(config.num_people):
        pid = k + 1
        # Staggered starts so the views are never empty for long and never crowded.
        t = int((k / config.num_people) * config.num_frames * 0.55 + rng.uniform(0, fps * 2))
        cam = int(rng.integers(0, config.num_cameras))
        visits = 0
        while t < config.num_frames - fps:
            frames = int(rng.uniform(*config.pass_seconds) * fps)
            style = _style_for(cam, rng)
            passes.append(
                Pass(pid, cam, t, frames, style, int(rng.choice([-1, 1])), float(rng.uniform(0.15, 0.85)))
            )
            visits += 1
            t += frames + int(rng.uniform(*config.transit_seconds) * fps)
            if config.num_cameras > 1 and (visits % 2 == 1 or rng.random() > config.revisit_prob):
                cam = (cam + 1 + int(rng.integers(0, config.num_cameras - 1))) % config.num_cameras
            if visits >= 3:
                break
    return passes


def _style_for(camera: int, rng: np.random.Generator) -> str:
    if camera % 2 == 0:
        return "across" if rng.random() < 0.85 else str(rng.choice(["towards", "away"]))
    return str(rng.choice(["towards", "away"])) if rng.random() < 0.8 else "across"


class Scene:
    """Renders a planned scene frame by frame.

    Args:
        config: the scene to render.
    """

    def __init__(self, config: SceneConfig):
        from mlfn_keras.data import synthetic

        self.config = config
        self._synthetic = synthetic
        self.passes = plan_scene(config)
        rng = np.random.default_rng([config.seed, 2])
        self.identities = {
            pid: synthetic.sample_identity(pid, rng) for pid in sorted({p.pid for p in self.passes})
        }
        self.cameras = [synthetic.sample_camera(c + 1, np.random.default_rng([config.seed, 3, c])) for c in range(config.num_cameras)]
        self._backgrounds = [self._draw_background(c) for c in range(config.num_cameras)]
        self._luts = [self._lut(c) for c in range(config.num_cameras)]
        noise_rng = np.random.default_rng([config.seed, 4])
        self._noise = [
            noise_rng.normal(0, 1.0, (config.height, config.width, 1)).astype(np.float32) for _ in range(4)
        ]

    # ------------------------------------------------------------ appearance
    def _draw_background(self, cam: int) -> np.ndarray:
        import cv2

        cfg = self.config
        h, w = cfg.height, cfg.width
        style = self.cameras[cam]
        rng = np.random.default_rng([cfg.seed, 5, cam])
        c0 = np.asarray(style.background_rgb[0], np.float32)
        c1 = np.asarray(style.background_rgb[1], np.float32)
        horizon = int(h * (0.42 if cam % 2 == 0 else 0.3))
        img = np.empty((h, w, 3), np.float32)
        grid = cv2.resize(rng.random((5, 7), dtype=np.float32), (w, horizon), interpolation=cv2.INTER_CUBIC)
        img[:horizon] = c0 + (c1 - c0) * grid[..., None]
        # Windows / doors on the back wall give the tracker's background model texture.
        for _ in range(int(rng.integers(3, 7))):
            x0 = int(rng.uniform(0, w * 0.9))
            ww = int(rng.uniform(w * 0.05, w * 0.15))
            y0 = int(rng.uniform(horizon * 0.1, horizon * 0.5))
            img[y0:horizon - 4, x0:x0 + ww] = rng.uniform(30, 220, 3)
        floor = np.clip(c1 * 0.6 + 50, 0, 255)
        ramp = np.linspace(0.8, 1.15, h - horizon, dtype=np.float32)[:, None, None]
        img[horizon:] = floor * ramp
        # Floor tiles in perspective.
        for i in range(1, 12):
            y = horizon + int((h - horizon) * (i / 12) ** 1.6)
            img[y : y + 2] *= 0.85
        return np.clip(img, 0, 255).astype(np.uint8)

    def _lut(self, cam: int) -> np.ndarray:
        style = self.cameras[cam]
        levels = (np.arange(256, dtype=np.float32) / 255.0) ** style.gamma
        gain = style.gain * 255.0 * np.asarray(style.colour_cast, np.float32)
        return np.clip(levels[:, None] * gain[None, :], 0, 255).astype(np.uint8).reshape(256, 1, 3)

    # ---------------------------------------------------------------- motion
    def _placement(self, p: Pass, frame: int) -> tuple[float, float, float, str]:
        """Returns (foot x, foot y, person height, view) for a pass at ``frame``."""
        cfg = self.config
        w, h = cfg.width, cfg.height
        s = (frame - p.start) / max(1, p.frames - 1)  # 0..1 along the walk
        horizon = h * (0.42 if p.camera % 2 == 0 else 0.3)
        if p.style == "across":
            foot_y = horizon + (h - horizon) * (0.25 + 0.6 * p.lane)
            height = h * (0.3 + 0.35 * (foot_y - horizon) / (h - horizon))
            margin = height * 0.35
            x0, x1 = -margin, w + margin
            if p.direction < 0:
                x0, x1 = x1, x0
            return x0 + (x1 - x0) * s, foot_y, height, "side"
        # Walking along the camera axis: depth changes the size; enter/leave at a side edge.
        near, far = h + h * 0.05, horizon + (h - horizon) * 0.12
        if p.style == "towards":
            depth, view = s, "front"
        else:
            depth, view = 1.0 - s, "back"
        foot_y = far + (near - far) * depth
        height = h * (0.22 + 0.6 * depth)
        side = w * (0.1 + 0.8 * p.lane)
        drift = (w * 0.25) * p.direction * (depth - 0.5)
        return side + drift, foot_y, height, view

    # ---------------------------------------------------------------- render
    def frame(self, cam: int, index: int) -> tuple[np.ndarray, list[tuple[int, float, float, float, float, float]]]:
        """Renders one frame.

        Returns:
            ``(bgr, boxes)``: the BGR frame and ground-truth boxes as
            ``(pid, x, y, w, h, visibility)`` (pixel box clipped to the frame).
        """
        import cv2

        cfg = self.config
        img = self._backgrounds[cam].astype(np.float32)
        active = [p for p in self.passes if p.camera == cam and p.start <= index < p.start + p.frames]
        placed = [(p, *self._placement(p, index)) for p in active]
        placed.sort(key=lambda item: item[2])  # far people first (painter's order)
        boxes = []
        for p, fx, fy, ph, view in placed:
            ph_i = max(8, int(round(ph)))
            pw_i = max(4, ph_i // 2)
            # Gait phase ~ distance walked: roughly one stride per 0.55 body heights.
            phase = (index - p.start) * (0.9 / cfg.fps) * 1.8
            rgb, alpha = self._synthetic.render_person(
                self.identities[p.pid], view, np.random.default_rng([cfg.seed, 6, p.pid]), ph_i, pw_i, walk_phase=phase
            )
            if view == "side" and p.direction < 0:
                rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
            x0 = int(round(fx - pw_i / 2))
            y0 = int(round(fy - ph_i))
            ys, xs = np.nonzero(alpha > 32)
            if len(ys) == 0:
                continue
            bx0, by0, bx1, by1 = x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1
            cx0, cy0 = max(bx0, 0), max(by0, 0)
            cx1, cy1 = min(bx1, cfg.width), min(by1, cfg.height)
            if cx1 <= cx0 or cy1 <= cy0:
                continue
            visibility = (cx1 - cx0) * (cy1 - cy0) / float((bx1 - bx0) * (by1 - by0))
            # Paste the visible part of the sprite.
            px0, py0 = max(x0, 0), max(y0, 0)
            px1, py1 = min(x0 + pw_i, cfg.width), min(y0 + ph_i, cfg.height)
            a = alpha[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0, None].astype(np.float32) * (1.0 / 255.0)
            sprite = rgb[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0, ::-1].astype(np.float32)
            region = img[py0:py1, px0:px1]
            region += (sprite - region) * a
            if visibility >= cfg.min_visibility:
                boxes.append((p.pid, float(cx0), float(cy0), float(cx1 - cx0), float(cy1 - cy0), float(visibility)))
        style = self.cameras[cam]
        img += self._noise[index % len(self._noise)] * style.noise_std
        out = np.clip(img, 0, 255).astype(np.uint8)
        out = cv2.LUT(out, self._luts[cam][:, :, ::-1].copy())  # LUT was built for RGB
        return out, boxes

    def frames(self, cam: int) -> Iterator[np.ndarray]:
        """Yields the camera's BGR frames."""
        for i in range(self.config.num_frames):
            yield self.frame(cam, i)[0]


def _gt_lines(boxes: list[tuple[int, float, float, float, float, float]], frame_index: int) -> list[str]:
    return [
        f"{frame_index + 1},{pid},{x:.1f},{y:.1f},{w:.1f},{h:.1f},1,1,{vis:.3f}\n" for pid, x, y, w, h, vis in boxes
    ]


def write_scene(config: SceneConfig, out_dir: str, progress: bool = True) -> dict[str, list[str]]:
    """Renders the scene to ``cam{i}.mp4`` videos and ``gt/cam{i}.txt`` MOT ground truth.

    Args:
        config: the scene.
        out_dir: folder to write into (created).
        progress: show a progress bar.

    Returns:
        ``{"videos": [...], "gt": [...]}`` paths, camera order.
    """
    import cv2
    from mlfn_keras.progress import tqdm

    os.makedirs(os.path.join(out_dir, "gt"), exist_ok=True)
    scene = Scene(config)
    videos, gts = [], []
    bar = tqdm(total=config.num_frames * config.num_cameras, desc="rendering scene", unit="frame", disable=not progress)
    for cam in range(config.num_cameras):
        video = os.path.join(out_dir, f"cam{cam}.mp4")
        gt = os.path.join(out_dir, "gt", f"cam{cam}.txt")
        tmp = video + ".tmp.mp4"
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), config.fps, (config.width, config.height))
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write {tmp!r} (mp4v); is this OpenCV build missing video support?")
        lines: list[str] = []
        for i in range(config.num_frames):
            frame, boxes = scene.frame(cam, i)
            writer.write(frame)
            lines.extend(_gt_lines(boxes, i))
            bar.update(1)
        writer.release()
        os.replace(tmp, video)
        with open(gt, "w") as f:
            f.writelines(lines)
        videos.append(video)
        gts.append(gt)
    bar.close()
    with open(os.path.join(out_dir, "scene.json"), "w") as f:
        json.dump(
            {
                "config": dataclasses.asdict(config),
                "passes": [dataclasses.asdict(p) for p in scene.passes],
                "cameras": [c.to_json() for c in scene.cameras],
            },
            f,
            indent=1,
        )
    return {"videos": videos, "gt": gts}


def cached_scene(config: SceneConfig, cache_dir: str | None = None, progress: bool = True) -> dict[str, list[str]]:
    """Like :func:`write_scene`, but reuses an earlier render of the same config."""
    from mlfn_keras.cache import cache_root

    root = os.path.join(cache_dir or str(cache_root()), "scenes", config.fingerprint())
    videos = [os.path.join(root, f"cam{c}.mp4") for c in range(config.num_cameras)]
    gts = [os.path.join(root, "gt", f"cam{c}.txt") for c in range(config.num_cameras)]
    if all(os.path.isfile(p) for p in videos + gts) and os.path.isfile(os.path.join(root, "scene.json")):
        return {"videos": videos, "gt": gts}
    return write_scene(config, root, progress=progress)

