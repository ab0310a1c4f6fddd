"""Unsupervised site adaptation: rounds of (pseudo-label, train) on mined tracklets.

One round (TAUDL / UTAL tracklet discrimination, refined by clustering as in
SpCL-style loops):

1. embed every tracklet crop with the current model; per tracklet, the mean
   feature and the features of its two halves in time;
2. and 3. :func:`~mlfn_keras.adapt.pseudo_labels.pseudo_identities`: the
   association's ``calibrate(method="balanced_error")`` (same tracklet vs
   cannot-link pairs, no labels) and ``cluster_tracklets(method="average")``
   under cannot-link constraints;
4. ``steps_per_round`` steps on P×K batches of pseudo-identities (the data
   pipeline's :class:`~mlfn_keras.data.pipeline.PKSampler`), where half of
   the P identities are drawn as cannot-link partners of the other half
   (people seen together: the hardest in-batch negatives the footage proves),
   with a cosine classifier over the pseudo-identities (weights initialised at
   the cluster centroids; temperature ``scale``; the losses module's
   label-smoothed :class:`~mlfn_keras.losses.IdentityCrossEntropy`) plus the
   batch-hard triplet loss, plus (``anchor_weight``) a feature anchor to the
   starting model; BatchNorm runs in training mode, so its statistics move to
   the site.

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

from mlfn_keras.adapt.config import AdaptConfig
from mlfn_keras.adapt.pseudo_labels import pseudo_identities, violations, with_features
from mlfn_keras.tracking.core.association.tracklets import Tracklet, cannot_link


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


@dataclass(frozen=True)
class CropIndex:
    """Every crop of every tracklet as one flat index (what the P×K sampler draws from)."""

    owner: np.ndarray  # tracklet of each crop
    within: np.ndarray  # position of each crop in its tracklet

    @classmethod
    def of(cls, tracklets: Sequence[Tracklet]) -> "CropIndex":
        lens = [len(t.crops) for t in tracklets]
        return cls(np.repeat(np.arange(len(lens)), lens),
                   np.concatenate([np.arange(n) for n in lens]) if lens else np.zeros(0, int))

    def gather(self, per_tracklet: Sequence[np.ndarray], indices: np.ndarray) -> np.ndarray:
        """``per_tracklet[owner][within]`` of each index, stacked."""
        return np.stack([per_tracklet[self.owner[i]][self.within[i]] for i in indices])


def partner_ids(labels: np.ndarray, cannot: np.ndarray) -> dict[int, list[int]]:
    """Pseudo-identity → the pseudo-identities one of its tracklets cannot-links (people seen together)."""
    k = int(labels.max()) + 1
    block = np.zeros((k, k), bool)
    ii, jj = np.nonzero(cannot)
    block[labels[ii], labels[jj]] = True
    return {c: np.flatnonzero(block[c]).tolist() for c in range(k)}


def make_sampler(labels: np.ndarray, cannot: np.ndarray, crops: CropIndex, config: AdaptConfig):
    """The data pipeline's P×K sampler over the crops of pseudo-identities, cannot-link partners side by side."""
    from mlfn_keras.data.pipeline import PKSampler

    return PKSampler(labels[crops.owner], min(config.num_ids, int(labels.max()) + 1), config.num_instances,
                     partners=partner_ids(labels, cannot))


def _make_step(model, optimizer, config: AdaptConfig):
    import tensorflow as tf

    from mlfn_keras.losses import BatchHardTripletLoss, IdentityCrossEntropy

    triplet = BatchHardTripletLoss(margin=config.triplet_margin)
    cross_entropy = IdentityCrossEntropy(label_smoothing=config.label_smoothing)

    @tf.function(reduce_retracing=True)
    def step(x, y, weights, anchors):
        with tf.GradientTape() as tape:
            emb = model(x, training=True)["embedding"]
            f = tf.math.l2_normalize(emb, axis=1)
            w = tf.math.l2_normalize(weights, axis=0)
            logits = config.scale * tf.matmul(f, w)
            ce = tf.reduce_mean(cross_entropy.call(y, logits))
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
        h.update(f"{t.camera}:{t.track_id}:{t.span}:{len(t.crops)}".encode())
        h.update(t.crops[:: max(1, len(t.crops) // 4)].tobytes()[:4096])
    return h.hexdigest()[:16]


def save_tracklets(path: Path, tracklets: Sequence[Tracklet]) -> None:
    """Saves tracklets as one ``.npz`` (so a resumed run skips detection and tracking)."""
    from mlfn_keras.fileio import atomic_output

    arrays = {}
    for i, t in enumerate(tracklets):
        arrays[f"crops_{i}"] = t.crops
        arrays[f"frames_{i}"] = t.crop_frames
        arrays[f"seen_{i}"] = np.array(sorted(t.seen), np.int64)
        arrays[f"meta_{i}"] = np.array([t.camera, t.track_id, t.span[0], t.span[1]], np.int64)
        arrays[f"times_{i}"] = np.array([t.first_time, t.last_time], np.float64)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, count=np.array(len(tracklets)), **arrays)


def load_tracklets(path: Path) -> list[Tracklet]:
    """Reads what :func:`save_tracklets` wrote."""
    data = np.load(path)
    out = []
    for i in range(int(data["count"])):
        cam, tid, a, b = (int(v) for v in data[f"meta_{i}"])
        t0, t1 = (float(v) for v in data[f"times_{i}"]) if f"times_{i}" in data else (float(a), float(b))
        out.append(Tracklet((cam, tid, 0), a, b, t0, t1, seen=frozenset(int(v) for v in data[f"seen_{i}"]),
                            crops=data[f"crops_{i}"], crop_frames=data[f"frames_{i}"]))
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


@dataclass
class _Clock:
    """Adaptation minutes: this run's wall time plus an interrupted run's, less the caller's evaluation time."""

    start: float = field(default_factory=time.monotonic)
    before: float = 0.0  # seconds done by the interrupted run this one resumes
    excluded: float = 0.0  # seconds spent in on_round (the caller's measurement)

    def minutes(self) -> float:
        return (self.before + time.monotonic() - self.start - self.excluded) / 60.0


def _check_config(config: AdaptConfig) -> None:
    if config.lr_decay not in ("constant", "cosine"):
        raise ValueError(f"lr_decay must be 'constant' or 'cosine'; received {config.lr_decay!r}")
    if config.cluster_features not in ("model", "model+hist"):
        raise ValueError(f"cluster_features must be 'model' or 'model+hist'; received {config.cluster_features!r}")


def _resume(model, checkpoint: Checkpoint | None, fingerprint: str, config: AdaptConfig,
            log: Callable[[str], None]) -> tuple[list[RoundRecord], float]:
    """Loads a matching checkpoint into ``model``: ``(rounds done, seconds done)``; nothing to resume: ``([], 0)``."""
    state = checkpoint.load_state() if checkpoint is not None else None
    if not state:
        return [], 0.0
    if state.get("fingerprint") != fingerprint or resumable_config(state.get("config")) != resumable_config(
            dataclasses.asdict(config)):
        log(f"Checkpoint in {checkpoint.folder} is for other footage or settings; starting over")
        return [], 0.0
    model.set_weights(checkpoint.load_weights())
    with checkpoint._reading(checkpoint.state_path):
        history = [RoundRecord(**r) for r in state["rounds"]]
        seconds = float(state["minutes"]) * 60.0
    log(f"Resuming from the checkpoint in {checkpoint.folder} after round {history[-1].round if history else 0} "
        f"({state['minutes']:.1f} min done)")
    return history, seconds


def _pseudo_labels(model, tracklets: Sequence[Tracklet], hist: list[np.ndarray] | None):
    """Embeds every crop, calibrates, clusters: ``(model-space tracklet means, calibration, labels)``."""
    feats = [embed_crops(model, t.crops) for t in tracklets]
    # The classifier lives in the model's space.
    model_means = np.stack([t.feature() for t in with_features(tracklets, feats)])
    if hist is not None:
        feats = [np.concatenate([f, h], axis=1) / np.sqrt(2.0) for f, h in zip(feats, hist)]
    cal, labels = pseudo_identities(tracklets, feats)
    return model_means, cal, labels


def train_round(model, tracklets: Sequence[Tracklet], labels: np.ndarray, means: np.ndarray, cannot: np.ndarray,
                anchors: list[np.ndarray] | None, config: AdaptConfig, rng: np.random.Generator, learning_rate: float,
                out_of_time: Callable[[], bool], description: str = "round", progress: bool = True) -> list[float]:
    """``config.steps_per_round`` steps (fewer when ``out_of_time()``) on P×K batches; returns the losses.

    A fresh cosine classifier over the pseudo-identities starts at their
    centroids (``means`` in the model's space) and a fresh Adam at
    ``learning_rate``, since the labels changed since the last round.
    """
    import keras
    import tensorflow as tf
    from mlfn_keras.progress import tqdm

    crops = CropIndex.of(tracklets)
    sampler = make_sampler(labels, cannot, crops, config)
    centroids = np.stack([means[labels == k].mean(0) for k in range(int(labels.max()) + 1)]).T
    weights = tf.Variable(centroids.astype("float32"), name="pseudo_id_weights")
    step = _make_step(model, keras.optimizers.Adam(learning_rate), config)
    images = [t.crops for t in tracklets]
    losses: list[float] = []
    bar = tqdm(range(config.steps_per_round), desc=description, unit="step", disable=not progress, leave=False)
    for _ in bar:
        batch = sampler.sample(rng)
        x = crops.gather(images, batch)
        a = crops.gather(anchors, batch) if anchors is not None else np.zeros((len(batch), 1), np.float32)
        loss = float(step(tf.constant(_augment(x, rng, config.random_erasing)), tf.constant(labels[crops.owner[batch]]),
                          weights, tf.constant(a)))
        losses.append(loss)
        bar.set_postfix(loss=f"{loss:.3f}")
        if out_of_time():  # the budget ends mid-round: re-label and stop
            break
    bar.close()
    return losses


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
    _check_config(config)
    clock = _Clock()
    cannot = cannot_link(tracklets)
    fingerprint = footage_fingerprint(tracklets)
    # The starting model's features, before a checkpoint may replace its weights.
    anchors = [embed_crops(model, t.crops) for t in tracklets] if config.anchor_weight else None
    history, clock.before = _resume(model, checkpoint, fingerprint, config, log)
    resumed_from = history[-1].round if history else 0
    rng = np.random.default_rng([config.seed, resumed_from] if history else config.seed)
    hist = None
    if config.cluster_features == "model+hist":
        from mlfn_keras.runtime.histogram import ColourHistogramEmbedder

        colour = ColourHistogramEmbedder()
        hist = [colour(list(t.crops)) for t in tracklets]

    def record(rnd: int, steps: int, cal, labels, loss: float | None) -> RoundRecord:
        k = int(labels.max()) + 1
        rec = RoundRecord(rnd, steps, round(clock.minutes(), 3), cal.threshold, _or_nan(cal.same_median),
                          _or_nan(cal.different_median), _or_nan(cal.balanced_error), k, len(tracklets) - k,
                          violations(labels, cannot), loss)
        if on_round is not None:
            t0 = time.monotonic()
            rec.extra = dict(on_round(rec, model) or {})
            clock.excluded += time.monotonic() - t0
        _log_round(rec, len(tracklets), log)
        return rec

    means, cal, labels = _pseudo_labels(model, tracklets, hist)
    if not history:
        history.append(record(0, 0, cal, labels, None))
    rnd, steps_done = history[-1].round, history[-1].steps
    while clock.minutes() < config.minutes and (config.max_rounds is None or rnd < config.max_rounds):
        rnd += 1
        losses = train_round(model, tracklets, labels, means, cannot, anchors, config, rng,
                             round_learning_rate(config, clock.minutes()),
                             lambda: clock.minutes() >= config.minutes, f"round {rnd}", progress)
        steps_done += len(losses)
        means, cal, labels = _pseudo_labels(model, tracklets, hist)
        history.append(record(rnd, steps_done, cal, labels, float(np.mean(losses))))
        if checkpoint is not None:
            checkpoint.save(model, {"fingerprint": fingerprint, "config": dataclasses.asdict(config),
                                    "minutes": clock.minutes(), "rounds": [dataclasses.asdict(r) for r in history]})
    return AdaptResult(
        model=model, rounds=history, tracklets=len(tracklets), crops=int(sum(len(t.crops) for t in tracklets)),
        cannot_link_pairs=int(np.triu(cannot, 1).sum()), initial_threshold=history[0].threshold,
        final_threshold=history[-1].threshold, pseudo_identities=history[-1].pseudo_identities,
        resumed_from=resumed_from, minutes=clock.minutes(),
    )


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _log_round(rec: RoundRecord, num_tracklets: int, log: Callable[[str], None]) -> None:
    extra = "  " + "  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.extra.items())
    log(f"round {rec.round}: {rec.minutes:5.1f} min, threshold {rec.threshold:.3f} "
        f"(same tracklet {rec.positive_median:.2f}, seen together {rec.negative_median:.2f}), "
        f"{rec.pseudo_identities} pseudo-identities from {num_tracklets} tracklets, "
        f"loss {'-' if rec.loss is None else f'{rec.loss:.3f}'}{extra if rec.extra else ''}")
