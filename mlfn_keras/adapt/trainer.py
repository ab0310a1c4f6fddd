"""Unsupervised site adaptation: rounds of (pseudo-label, train) on mined tracklets.

One round (TAUDL / UTAL tracklet discrimination, refined by clustering as in
SpCL-style loops):

1. embed every tracklet crop with the current model; per tracklet, the mean
   feature and the features of its two halves in time;
2. :func:`~mlfn_keras.adapt.pseudo_labels.calibrate` the similarity threshold
   (same tracklet vs cannot-link pairs, no labels);
3. :func:`~mlfn_keras.adapt.pseudo_labels.cluster_tracklets` under cannot-link
   constraints: the pseudo-identities;
4. ``steps_per_round`` steps on P×K batches of pseudo-identities, where half
   of the P identities are drawn as cannot-link partners of the other half
   (people seen together: the hardest in-batch negatives the footage proves),
   with a cosine classifier over the pseudo-identities (weights initialised at
   the cluster centroids; temperature ``scale``) plus the batch-hard triplet
   loss, plus (``anchor_weight``) a feature anchor to the starting model;
   BatchNorm runs in training mode, so its statistics move to the site.

After every round the backbone and the round history go to a checkpoint folder
(atomically), so a killed run resumes at the last finished round. The whole
run is bounded by ``minutes``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlfn_keras.adapt.config import AdaptConfig  # noqa: F401  (re-exported)
from mlfn_keras.adapt.pseudo_labels import (
    calibrate,
    cluster_tracklets,
    tracklet_features,
    violations,
)
from mlfn_keras.adapt.tracklets import Tracklet, cannot_link


@dataclass
class RoundRecord:
    """What one round did (one row of the summary and the curve)."""

    round: int
    steps: int
    minutes: float
    threshold: float
    positive_median: float
    negative_median: float
    balanced_error: float
    pseudo_identities: int
    merged_tracklets: int
    violations: int
    loss: float | None  # mean training loss of the round; None before any training (round 0)
    extra: dict = field(default_factory=dict)


@dataclass
class AdaptResult:
    """The adapted model and how the run went."""

    model: object
    rounds: list[RoundRecord]
    tracklets: int
    crops: int
    cannot_link_pairs: int
    initial_threshold: float
    final_threshold: float
    pseudo_identities: int
    resumed_from: int
    minutes: float


# ---------------------------------------------------------------------------- helpers
def embed_crops(model, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Unit embeddings of uint8 ``(n, H, W, 3)`` RGB crops (inference mode)."""
    out = []
    for i in range(0, len(crops), batch_size):
        x = crops[i : i + batch_size].astype("float32")
        out.append(np.asarray(model(x, training=False)["embedding"]))
    f = np.concatenate(out) if out else np.zeros((0, 1), np.float32)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def _augment(batch: np.ndarray, rng: np.random.Generator, erasing: float) -> np.ndarray:
    """Flip, pad-and-crop (8 % of the size) and random erasing, in numpy."""
    n, h, w, _ = batch.shape
    out = batch.astype("float32")
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, ::-1]
    ph, pw = max(1, h // 12), max(1, w // 12)
    padded = np.pad(out, ((0, 0), (ph, ph), (pw, pw), (0, 0)), mode="edge")
    for i in range(n):
        dy, dx = rng.integers(0, 2 * ph + 1), rng.integers(0, 2 * pw + 1)
        out[i] = padded[i, dy : dy + h, dx : dx + w]
        if rng.random() < erasing:
            area = rng.uniform(0.02, 0.3) * h * w
            ratio = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
            eh, ew = int(np.sqrt(area * ratio)), int(np.sqrt(area / ratio))
            if 0 < eh < h and 0 < ew < w:
                y, x = rng.integers(0, h - eh), rng.integers(0, w - ew)
                out[i, y : y + eh, x : x + ew] = rng.uniform(0, 255, (eh, ew, 3))
    return out


class PKSampler:
    """P pseudo-identities × K crops per batch; half the identities are cannot-link partners of the others."""

    def __init__(self, labels: np.ndarray, tracklets: Sequence[Tracklet], cannot: np.ndarray,
                 num_ids: int, num_instances: int, rng: np.random.Generator):
        self.rng = rng
        self.p, self.k = num_ids, num_instances
        self.num_classes = int(labels.max()) + 1
        # Crop pool of each pseudo-identity: (tracklet, crop) index pairs.
        self.pool = [[(t, c) for t in np.flatnonzero(labels == k) for c in range(len(tracklets[t]))]
                     for k in range(self.num_classes)]
        block = np.zeros((self.num_classes, self.num_classes), bool)
        ii, jj = np.nonzero(cannot)
        block[labels[ii], labels[jj]] = True
        self.partners = [np.flatnonzero(block[k]) for k in range(self.num_classes)]

    def sample(self) -> tuple[list[tuple[int, int]], np.ndarray]:
        p = min(self.p, self.num_classes)
        chosen: list[int] = []
        order = self.rng.permutation(self.num_classes)
        for k in order:
            if len(chosen) >= p:
                break
            if k in chosen:
                continue
            chosen.append(int(k))
            partners = [q for q in self.partners[k] if q not in chosen]
            if partners and len(chosen) < p:
                chosen.append(int(self.rng.choice(partners)))
        items, labels = [], []
        for k in chosen:
            pool = self.pool[k]
            pick = self.rng.choice(len(pool), self.k, replace=len(pool) < self.k)
            items += [pool[i] for i in pick]
            labels += [k] * self.k
        return items, np.array(labels, np.int32)


def _make_step(model, optimizer, config: AdaptConfig):
    import tensorflow as tf

    from mlfn_keras.losses import BatchHardTripletLoss

    triplet = BatchHardTripletLoss(margin=config.triplet_margin)

    @tf.function(reduce_retracing=True)
    def step(x, y, weights, anchors):
        with tf.GradientTape() as tape:
            emb = model(x, training=True)["embedding"]
            f = tf.math.l2_normalize(emb, axis=1)
            w = tf.math.l2_normalize(weights, axis=0)
            logits = config.scale * tf.matmul(f, w)
            onehot = tf.one_hot(y, tf.shape(weights)[1])
            c = tf.cast(tf.shape(weights)[1], tf.float32)
            target = onehot * (1.0 - config.label_smoothing) + config.label_smoothing / c
            ce = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(target, logits))
            tri = tf.reduce_mean(triplet.call(y, f))
            loss = ce + config.triplet_weight * tri
            if config.anchor_weight:
                loss += config.anchor_weight * tf.reduce_mean(1.0 - tf.reduce_sum(f * anchors, axis=1))
        variables = model.trainable_variables + [weights]
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    return step


# ---------------------------------------------------------------------------- checkpoint
def footage_fingerprint(tracklets: Sequence[Tracklet]) -> str:
    """A hash of the mined tracklets (a checkpoint only resumes on the same footage)."""
    h = hashlib.sha256()
    for t in tracklets:
        h.update(f"{t.camera}:{t.track_id}:{t.span}:{len(t)}".encode())
        h.update(t.crops[:: max(1, len(t) // 4)].tobytes()[:4096])
    return h.hexdigest()[:16]


def save_tracklets(path: Path, tracklets: Sequence[Tracklet]) -> None:
    """Saves tracklets as one ``.npz`` (so a resumed run skips detection and tracking)."""
    from mlfn_keras.fileio import atomic_output

    arrays = {}
    for i, t in enumerate(tracklets):
        arrays[f"crops_{i}"] = t.crops
        arrays[f"frames_{i}"] = t.frames
        arrays[f"seen_{i}"] = np.array(sorted(t.seen), np.int64)
        arrays[f"meta_{i}"] = np.array([t.camera, t.track_id, t.span[0], t.span[1]], np.int64)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, count=np.array(len(tracklets)), **arrays)


def load_tracklets(path: Path) -> list[Tracklet]:
    """Reads what :func:`save_tracklets` wrote."""
    data = np.load(path)
    out = []
    for i in range(int(data["count"])):
        cam, tid, a, b = (int(v) for v in data[f"meta_{i}"])
        out.append(Tracklet(cam, tid, data[f"frames_{i}"], data[f"crops_{i}"], (a, b),
                            frozenset(int(v) for v in data[f"seen_{i}"])))
    return out


@dataclass
class Checkpoint:
    """The checkpoint folder of one adaptation run.

    ``run.json`` (what defines the run, written first), ``cameras.json`` and
    ``tracklets.npz`` (the mined footage), ``state.json`` and ``model.keras``
    (the last finished round); every file is written atomically. A file that
    cannot be read raises a one-line `DamagedFileError` suggesting ``--fresh``.
    """

    folder: Path

    @property
    def run_path(self) -> Path:
        return self.folder / "run.json"

    @property
    def cameras_path(self) -> Path:
        return self.folder / "cameras.json"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.json"

    @property
    def model_path(self) -> Path:
        return self.folder / "model.keras"

    @property
    def tracklets_path(self) -> Path:
        return self.folder / "tracklets.npz"

    @contextlib.contextmanager
    def _reading(self, path: Path):
        from mlfn_keras.errors import UserError
        from mlfn_keras.fileio import damaged

        try:
            yield
        except UserError as error:
            raise damaged(self.folder, "checkpoint of an interrupted run", f"{path.name}: {error}") from error
        except Exception as error:  # numpy, zipfile, json and Keras each have their own errors for a bad file
            raise damaged(self.folder, "checkpoint of an interrupted run",
                          f"{path.name}: {type(error).__name__}: {error}") from error

    def load_mined(self):
        """``(tracklets, camera reports)`` the interrupted run mined."""
        from mlfn_keras.adapt.tracklets import CameraReport

        with self._reading(self.tracklets_path):
            tracklets = load_tracklets(self.tracklets_path)
        with self._reading(self.cameras_path):
            reports = [CameraReport(**c) for c in json.loads(self.cameras_path.read_text())]
        return tracklets, reports

    def load_state(self) -> dict | None:
        if not (self.state_path.is_file() and self.model_path.is_file()):
            return None
        with self._reading(self.state_path):
            state = json.loads(self.state_path.read_text())
            if not isinstance(state, dict) or not isinstance(state.get("rounds"), list):
                raise ValueError("not a round record")
            return state

    def load_weights(self):
        """The weights of the last finished round."""
        from mlfn_keras.modelfile import load_mlfn_keras

        with self._reading(self.model_path):
            return load_mlfn_keras(self.model_path, what="checkpoint model").get_weights()

    def save(self, model, state: dict) -> None:
        from mlfn_keras.fileio import atomic_output, ensure_free_space, write_json

        self.folder.mkdir(parents=True, exist_ok=True)
        ensure_free_space(self.folder, int(4.4 * model.count_params()) + (1 << 20), "the checkpoint")
        with atomic_output(self.model_path) as tmp:
            model.save(tmp)
        write_json(self.state_path, state)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def resumable_config(config: dict | None) -> dict | None:
    """The settings a checkpoint must match to be resumed (the time budget may grow between runs)."""
    return None if config is None else {k: v for k, v in config.items() if k not in ("minutes", "max_rounds")}


# ---------------------------------------------------------------------------- the loop
def round_learning_rate(config: AdaptConfig, minutes_done: float) -> float:
    """The learning rate of a round starting after ``minutes_done`` minutes (see ``AdaptConfig.lr_decay``)."""
    if config.lr_decay == "constant" or config.minutes <= 0:
        return config.learning_rate
    return float(config.learning_rate * 0.5 * (1.0 + np.cos(np.pi * min(max(minutes_done, 0.0) / config.minutes, 1.0))))


def adapt(model, tracklets: Sequence[Tracklet], config: AdaptConfig, checkpoint: Checkpoint | None = None,
          on_round: Callable[[RoundRecord, object], dict] | None = None, progress: bool = True,
          log: Callable[[str], None] = print) -> AdaptResult:
    """Adapts ``model`` (an `MLFN`, changed in place) to the tracklets' site without labels.

    Args:
        model: the backbone to adapt (trained weights, e.g. the shipped ones).
        tracklets: mined tracklets (see `mlfn_keras.adapt.tracklets`).
        config: the loop's knobs.
        checkpoint: where rounds are saved; a matching saved state is resumed.
        on_round: called after round 0 (before training) and every round with
            the record and the model; the dict it returns is stored in
            ``record.extra`` (benchmarks use it for held-out scores; the
            adaptation itself never sees them).
        progress: tqdm bar over training steps.
        log: where progress lines go.
    """
    import keras
    import tensorflow as tf
    from mlfn_keras.progress import tqdm

    start = time.monotonic()
    rng = np.random.default_rng(config.seed)
    cannot = cannot_link(tracklets)
    fingerprint = footage_fingerprint(tracklets)
    # The starting model's features, before a checkpoint may replace its weights.
    anchors = [embed_crops(model, t.crops) for t in tracklets] if config.anchor_weight else None
    history: list[RoundRecord] = []
    resumed_from = 0
    elapsed_before = 0.0
    if checkpoint is not None:
        state = checkpoint.load_state()
        if state and state.get("fingerprint") == fingerprint and resumable_config(
                state.get("config")) == resumable_config(dataclasses.asdict(config)):
            model.set_weights(checkpoint.load_weights())
            with checkpoint._reading(checkpoint.state_path):
                history = [RoundRecord(**r) for r in state["rounds"]]
                float(state["minutes"])
            resumed_from = history[-1].round if history else 0
            elapsed_before = float(state["minutes"]) * 60.0
            rng = np.random.default_rng([config.seed, resumed_from])
            log(f"Resuming from the checkpoint in {checkpoint.folder} after round {resumed_from} "
                f"({state['minutes']:.1f} min done)")
        elif state:
            log(f"Checkpoint in {checkpoint.folder} is for other footage or settings; starting over")

    evaluation = [0.0]  # seconds spent in on_round: the caller's measurement, not adaptation time

    def minutes() -> float:
        return (elapsed_before + time.monotonic() - start - evaluation[0]) / 60.0

    if config.lr_decay not in ("constant", "cosine"):
        raise ValueError(f"lr_decay must be 'constant' or 'cosine'; received {config.lr_decay!r}")

    if config.cluster_features not in ("model", "model+hist"):
        raise ValueError(f"cluster_features must be 'model' or 'model+hist'; received {config.cluster_features!r}")
    hist = None
    if config.cluster_features == "model+hist":
        from mlfn_keras.colour_histogram import ColourHistogramEmbedder

        colour = ColourHistogramEmbedder()
        hist = [colour(list(t.crops)) for t in tracklets]

    def labels_now():
        feats = [embed_crops(model, t.crops) for t in tracklets]
        model_means = tracklet_features(feats)[0]  # the classifier lives in the model's space
        if hist is not None:
            feats = [np.concatenate([f, h], axis=1) / np.sqrt(2.0) for f, h in zip(feats, hist)]
        means, first, second = tracklet_features(feats)
        cal = calibrate(first, second, means, cannot)
        labels = cluster_tracklets(means, cannot, cal.threshold)
        return model_means, cal, labels

    def record(rnd: int, steps: int, cal, labels, loss: float | None) -> RoundRecord:
        k = int(labels.max()) + 1
        rec = RoundRecord(rnd, steps, round(minutes(), 3), cal.threshold, cal.positive_median, cal.negative_median,
                          cal.balanced_error, k, len(tracklets) - k, violations(labels, cannot), loss)
        if on_round is not None:
            t0 = time.monotonic()
            rec.extra = dict(on_round(rec, model) or {})
            evaluation[0] += time.monotonic() - t0
        extra = "  " + "  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.extra.items())
        log(f"round {rnd}: {minutes():5.1f} min, threshold {cal.threshold:.3f} (same tracklet {cal.positive_median:.2f}, "
            f"seen together {cal.negative_median:.2f}), {k} pseudo-identities from {len(tracklets)} tracklets, "
            f"loss {'-' if loss is None else f'{loss:.3f}'}{extra if rec.extra else ''}")
        return rec

    means, cal, labels = labels_now()
    if not history:
        history.append(record(0, 0, cal, labels, None))
    rnd = history[-1].round
    steps_done = history[-1].steps
    while minutes() < config.minutes and (config.max_rounds is None or rnd < config.max_rounds):
        rnd += 1
        sampler = PKSampler(labels, tracklets, cannot, config.num_ids, config.num_instances, rng)
        centroids = np.stack([means[labels == k].mean(0) for k in range(sampler.num_classes)]).T
        weights = tf.Variable(centroids.astype("float32"), name="pseudo_id_weights")
        optimizer = keras.optimizers.Adam(round_learning_rate(config, minutes()))
        step = _make_step(model, optimizer, config)
        losses = []
        bar = tqdm(range(config.steps_per_round), desc=f"round {rnd}", unit="step", disable=not progress, leave=False)
        for _ in bar:
            items, y = sampler.sample()
            x = np.stack([tracklets[t].crops[c] for t, c in items])
            a = (np.stack([anchors[t][c] for t, c in items]) if anchors is not None
                 else np.zeros((len(items), 1), np.float32))
            loss = float(step(tf.constant(_augment(x, rng, config.random_erasing)), tf.constant(y), weights,
                              tf.constant(a)))
            losses.append(loss)
            bar.set_postfix(loss=f"{loss:.3f}")
            if minutes() >= config.minutes:  # the budget ends mid-round: re-label and stop
                break
        bar.close()
        steps_done += len(losses)
        means, cal, labels = labels_now()
        history.append(record(rnd, steps_done, cal, labels, float(np.mean(losses))))
        if checkpoint is not None:
            checkpoint.save(model, {"fingerprint": fingerprint, "config": dataclasses.asdict(config),
                                    "minutes": minutes(), "rounds": [dataclasses.asdict(r) for r in history]})
    return AdaptResult(
        model=model, rounds=history, tracklets=len(tracklets), crops=int(sum(len(t) for t in tracklets)),
        cannot_link_pairs=int(np.triu(cannot, 1).sum()), initial_threshold=history[0].threshold,
        final_threshold=history[-1].threshold, pseudo_identities=history[-1].pseudo_identities,
        resumed_from=resumed_from, minutes=minutes(),
    )
