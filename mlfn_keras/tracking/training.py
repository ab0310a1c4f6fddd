"""Training the demo's small re-id model on generated identities.

A compact stand-in for the project's full training CLI, used to produce the
demo's default weights: render identities under many random cameras with
:mod:`mlfn_keras.data.synthetic`, train an MLFN preset with identity
cross-entropy via ``model.fit``, save the embedding backbone, and report
cross-camera rank-1 on held-out identities so a run that learned nothing is
visible.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np


def render_identity_crops(
    num_identities: int,
    num_cameras: int,
    images_per_camera: int,
    height: int,
    width: int,
    seed: int,
    pid_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renders crops ``(N, H, W, 3)`` uint8 RGB with person and camera labels."""
    from tqdm import tqdm

    from mlfn_keras.data import synthetic

    rng = np.random.default_rng(seed)
    cams = [synthetic.sample_camera(c + 1, rng) for c in range(num_cameras * 4)]
    images, pids, camids = [], [], []
    for k in tqdm(range(num_identities), desc="rendering identities", unit="id"):
        person = synthetic.sample_identity(pid_offset + k, rng)
        # Each identity meets a random subset of a larger pool of cameras.
        for cam_index in rng.choice(len(cams), size=num_cameras, replace=False):
            for _ in range(images_per_camera):
                crop, _ = synthetic.render_crop(person, cams[cam_index], rng, height, width)
                images.append(crop)
                pids.append(k)
                camids.append(int(cam_index))
    return np.stack(images), np.asarray(pids, np.int32), np.asarray(camids, np.int32)


def cross_camera_rank1(features: np.ndarray, pids: np.ndarray, camids: np.ndarray) -> float:
    """Rank-1 of each image against images of other cameras (same-camera matches ignored)."""
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    sim = f @ f.T
    hits, total = 0, 0
    for i in range(len(f)):
        mask = camids != camids[i]
        if not np.any(mask & (pids == pids[i])):
            continue
        j = np.flatnonzero(mask)[np.argmax(sim[i, mask])]
        hits += int(pids[j] == pids[i])
        total += 1
    return hits / max(total, 1)


def train_reid(
    out_path: str,
    preset: str = "mlfn_small",
    num_identities: int = 400,
    num_cameras: int = 6,
    images_per_camera: int = 3,
    epochs: int = 12,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 1234,
    num_val_identities: int = 50,
) -> dict[str, float]:
    """Trains ``preset`` on generated identities and saves the backbone.

    Args:
        out_path: ``.keras`` file to write (a JSON of the settings goes beside it).
        preset: MLFN preset.
        num_identities: training identities.
        num_cameras: random cameras each identity is seen by.
        images_per_camera: crops per identity and camera.
        epochs: training epochs.
        batch_size: batch size.
        learning_rate: Adam learning rate (cosine decay to 0).
        seed: everything derives from it.
        num_val_identities: held-out identities for the rank-1 report.

    Returns:
        ``{"val_rank1_before": ..., "val_rank1": ..., "train_seconds": ...}``.
    """
    import keras

    import mlfn_keras
    from mlfn_keras import MLFN, MLFNClassifier

    keras.utils.set_random_seed(seed)
    backbone = MLFN.from_preset(preset)
    h, w = backbone.image_shape[:2]
    x, y, _ = render_identity_crops(num_identities, num_cameras, images_per_camera, h, w, seed)
    xv, yv, cv = render_identity_crops(num_val_identities, 3, 2, h, w, seed + 1, pid_offset=10**6)

    def embed(images: np.ndarray) -> np.ndarray:
        return np.asarray(backbone.predict(images.astype(np.float32), batch_size=128, verbose=0)["embedding"])

    before = cross_camera_rank1(embed(xv), yv, cv)
    model = MLFNClassifier(backbone, num_identities)
    steps = epochs * int(np.ceil(len(x) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, warmup_target=None)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss={"logits": keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)},
    )
    flipped = np.concatenate([x, x[:, :, ::-1]])  # left-right flip: the paper's augmentation
    labels = keras.utils.to_categorical(np.concatenate([y, y]), num_identities)
    t0 = time.perf_counter()
    model.fit(
        flipped.astype(np.float32),
        {"logits": labels},
        batch_size=batch_size,
        epochs=max(1, epochs // 2),  # the flipped copy doubles each epoch
        shuffle=True,
        verbose=2,
    )
    train_s = time.perf_counter() - t0
    after = cross_camera_rank1(embed(xv), yv, cv)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    backbone.save(out_path)
    report = {
        "val_rank1_before": round(before, 4),
        "val_rank1": round(after, 4),
        "val_chance": round(1.0 / num_val_identities, 4),
        "train_seconds": round(train_s, 1),
    }
    with open(os.path.splitext(out_path)[0] + ".json", "w") as f:
        json.dump(
            {
                "preset": preset,
                "num_identities": num_identities,
                "num_cameras": num_cameras,
                "images_per_camera": images_per_camera,
                "epochs": epochs,
                "batch_size": batch_size,
                "learning_rate": learning_rate,
                "seed": seed,
                "mlfn_keras_version": getattr(mlfn_keras, "__version__", "unknown"),
                **report,
            },
            f,
            indent=1,
        )
    return report
