"""tf.data input pipelines for training and feature extraction.

The contract shared with the model and exports (:mod:`mlfn_keras.preprocessing`):
batches are float32 ``(B, H, W, 3)`` **RGB pixel values in [0, 255]** at the
preset's ``image_shape``. Nothing here normalises; the model's first layer
does, so training, evaluation and exported models see identical inputs.

Training pipeline (paper Sec. 4.1): decode → bilinear resize to H×W →
random left-right flip (the paper's only augmentation) → optional random
erasing (Zhong et al., AAAI 2020; opt-in, "bag of tricks"). Batches are either
shuffled images or identity-balanced P×K batches (P identities × K images,
for triplet loss; Hermans et al., 2017). Decoding runs with AUTOTUNE
parallelism and batches are prefetched.

Corrupt images never stop an epoch: :func:`validate_images` decodes each file
once up front (in threads) and the pipeline leaves out and counts the ones
that fail, and ``ignore_errors`` guards anything that breaks later.

Randomness comes from stateless ops seeded per element, so with
``deterministic=True`` two runs with the same seed yield identical batches.

Example:

    from mlfn_keras.data import load_dataset
    from mlfn_keras.data.pipeline import make_train_dataset

    ds = load_dataset("market1501", "/data/Market-1501-v15.09.15")
    paths, labels, _ = ds.train_labels()
    train = make_train_dataset(paths, labels, image_shape=(256, 128), batch_size=64)
    images, labels = next(iter(train.dataset))
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf

from mlfn_keras.preprocessing import IMAGENET_MEAN

__all__ = [
    "PKSampler",
    "TrainData",
    "decode_and_resize",
    "make_cifar_dataset",
    "make_inference_dataset",
    "make_train_dataset",
    "random_erasing",
    "validate_images",
]

logger = logging.getLogger(__name__)
AUTOTUNE = tf.data.AUTOTUNE


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _decodes(path: str) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()  # full decode: truncated files raise here, as they would in TensorFlow
            return im.width > 0 and im.height > 0
    except Exception:  # any unreadable file counts as corrupt
        return False


def validate_images(paths: Sequence[str], num_threads: int = 8, progress: bool = True) -> np.ndarray:
    """Decodes every image once and reports which ones are readable.

    Args:
        paths: Image files.
        num_threads: Decoder threads (PIL releases the GIL while decoding).
        progress: Show a tqdm progress bar.

    Returns:
        Boolean mask, True where the file decodes.
    """
    from mlfn_keras.progress import tqdm

    with ThreadPoolExecutor(max_workers=num_threads) as pool:
        ok = list(tqdm(pool.map(_decodes, paths, chunksize=64), total=len(paths), desc="checking images",
                       unit="img", disable=not progress))
    return np.asarray(ok, bool)


# --------------------------------------------------------------------------
# Per-image ops
# --------------------------------------------------------------------------


def decode_and_resize(path: tf.Tensor, image_shape: Sequence[int]) -> tf.Tensor:
    """Reads an image file into float32 ``(H, W, 3)`` RGB in [0, 255].

    Args:
        path: Scalar string tensor.
        image_shape: ``(H, W)`` or ``(H, W, 3)``.

    Returns:
        The resized image (bilinear, as :func:`mlfn_keras.preprocessing.resize_crops`).
    """
    height, width = int(image_shape[0]), int(image_shape[1])
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(tf.cast(image, tf.float32), (height, width), method="bilinear")
    return tf.ensure_shape(image, (height, width, 3))


def random_erasing(
    image: tf.Tensor,
    seed: tf.Tensor,
    probability: float = 0.5,
    area: tuple[float, float] = (0.02, 0.4),
    aspect: tuple[float, float] = (0.3, 3.33),
) -> tf.Tensor:
    """Random erasing (Zhong et al., AAAI 2020) with the ImageNet mean colour.

    Erasing with the mean pixel (in [0, 255]) makes the region zero after the
    model's normalisation, as fast-reid does after its own normalisation.

    Args:
        image: float32 ``(H, W, 3)`` in [0, 255].
        seed: Shape ``(2,)`` int seed for stateless randomness.
        probability: Chance of erasing one rectangle.
        area: Range of the erased fraction of the image area.
        aspect: Range of the rectangle's height/width ratio.

    Returns:
        The image, possibly with one rectangle replaced.
    """
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    seeds = tf.random.experimental.stateless_split(seed, 5)
    u = tf.random.stateless_uniform([], seeds[0])
    target = tf.random.stateless_uniform([], seeds[1], area[0], area[1]) * h * w
    log_r = tf.random.stateless_uniform([], seeds[2], float(np.log(aspect[0])), float(np.log(aspect[1])))
    ratio = tf.exp(log_r)
    eh = tf.minimum(tf.round(tf.sqrt(target * ratio)), h - 1.0)
    ew = tf.minimum(tf.round(tf.sqrt(target / ratio)), w - 1.0)
    y0 = tf.floor(tf.random.stateless_uniform([], seeds[3]) * (h - eh))
    x0 = tf.floor(tf.random.stateless_uniform([], seeds[4]) * (w - ew))
    ys = tf.range(h)[:, None]
    xs = tf.range(w)[None, :]
    inside = (ys >= y0) & (ys < y0 + eh) & (xs >= x0) & (xs < x0 + ew) & (u < probability)
    mean = tf.constant(IMAGENET_MEAN, tf.float32)
    return tf.where(inside[..., None], mean, image)


def _augment(image: tf.Tensor, seed: tf.Tensor, flip: bool, erasing: float) -> tf.Tensor:
    seeds = tf.random.experimental.stateless_split(seed, 2)
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, seeds[0])
    if erasing > 0:
        image = random_erasing(image, seeds[1], probability=erasing)
    return image


# --------------------------------------------------------------------------
# Identity-balanced sampling
# --------------------------------------------------------------------------


class PKSampler:
    """Identity-balanced index stream: batches of P identities × K images.

    Each epoch visits every identity once in random order; an identity with
    fewer than K images is sampled with replacement (as torchreid's
    ``RandomIdentitySampler``), so every P×K block holds exactly P distinct
    identities, which batch-hard triplet mining needs.

    :meth:`sample` draws one batch on its own instead (a loop whose labels
    change between rounds, as ``mlfn-adapt``'s). With ``partners`` (for
    pseudo-identities: the identities each one *cannot* be, such as two
    people one camera saw at the same time), every identity drawn brings one
    of its partners into the batch while there is room: the hardest
    negatives the data proves, side by side for the triplet loss.

    Args:
        labels: Class index of each image.
        num_identities: P, identities per batch.
        num_instances: K, images per identity.
        seed: Seed; epoch ``e`` uses ``(seed, e)``.
        partners: optional class → classes to draw beside it (for :meth:`sample`).
    """

    def __init__(self, labels: Sequence[int], num_identities: int, num_instances: int, seed: int = 0,
                 partners: dict[int, Sequence[int]] | None = None):
        self.labels = np.asarray(labels)
        self.p, self.k, self.seed = int(num_identities), int(num_instances), int(seed)
        self.partners = {int(c): [int(q) for q in qs] for c, qs in (partners or {}).items()}
        classes = np.unique(self.labels)
        if self.p < 1 or self.k < 1:
            raise ValueError(f"P and K must be >= 1, received P={self.p}, K={self.k}")
        if len(classes) < self.p:
            raise ValueError(
                f"P×K sampling needs at least P={self.p} identities, the training set has {len(classes)}"
            )
        self.index = {c: np.flatnonzero(self.labels == c) for c in classes}

    @property
    def batch_size(self) -> int:
        """P×K."""
        return self.p * self.k

    def epoch(self, epoch: int) -> np.ndarray:
        """Indices of one epoch; its length is a multiple of P×K."""
        rng = np.random.default_rng([self.seed, epoch])
        chunks: list[np.ndarray] = []
        for c in rng.permutation(list(self.index)):
            idx = self.index[c]
            idx = rng.choice(idx, self.k, replace=len(idx) < self.k)
            chunks.append(idx)
        usable = (len(chunks) // self.p) * self.p
        return np.concatenate(chunks[:usable]) if usable else np.zeros(0, np.int64)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One batch drawn on its own: indices of P identities × K images, identity by identity.

        Identities come in random order, each followed by one of its
        ``partners`` not yet drawn (chosen at random) while fewer than P are
        in the batch; K images of each, with replacement for an identity with
        fewer than K.
        """
        chosen: list[int] = []
        for c in rng.permutation(list(self.index)):
            if len(chosen) >= self.p:
                break
            if c in chosen:
                continue
            chosen.append(int(c))
            partners = [q for q in self.partners.get(int(c), ()) if q not in chosen]
            if partners and len(chosen) < self.p:
                chosen.append(int(rng.choice(partners)))
        return np.concatenate([rng.choice(self.index[c], self.k, replace=len(self.index[c]) < self.k)
                               for c in chosen])

    def __iter__(self) -> Iterator[int]:
        epoch = 0
        while True:
            yield from self.epoch(epoch).tolist()
            epoch += 1

    def steps_per_epoch(self) -> int:
        """Batches per pass over all identities."""
        return len(self.index) // self.p


# --------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------


@dataclasses.dataclass
class TrainData:
    """A training dataset and what went into it.

    Attributes:
        dataset: Infinite (when ``repeat``) dataset of ``(images, labels)``
            batches; images float32 ``(B, H, W, 3)`` in [0, 255], labels int32.
        num_images: Images used (corrupt ones left out).
        num_classes: Number of distinct labels.
        batch_size: Images per batch.
        steps_per_epoch: Batches per pass over the data.
        skipped: Paths of images that failed to decode and were left out.
    """

    dataset: tf.data.Dataset
    num_images: int
    num_classes: int
    batch_size: int
    steps_per_epoch: int
    skipped: list[str]


def _options(deterministic: bool) -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = deterministic
    options.experimental_optimization.map_parallelization = True
    # Several workers/devices shard by data so tf.distribute does not try to
    # shard by files (there is only one list).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def make_train_dataset(
    paths: Sequence[str],
    labels: Sequence[int],
    image_shape: Sequence[int],
    batch_size: int = 64,
    *,
    num_instances: int | None = None,
    flip: bool = True,
    random_erasing_prob: float = 0.0,
    seed: int = 0,
    deterministic: bool = False,
    validate: bool = True,
    repeat: bool = True,
    cache: bool = False,
    progress: bool = True,
) -> TrainData:
    """Builds the training pipeline.

    Args:
        paths: Image files.
        labels: Class index (0..C-1) of each image.
        image_shape: Model input ``(H, W)`` or ``(H, W, 3)``.
        batch_size: Images per batch (P×K when ``num_instances`` is set).
        num_instances: K for identity-balanced P×K batches
            (P = ``batch_size // K``); None shuffles images uniformly.
        flip: Random left-right flip (paper Sec. 4.1).
        random_erasing_prob: Probability of random erasing; 0 disables it.
        seed: Seed for shuffling and augmentation.
        deterministic: Keep element order fixed despite parallel decoding.
        validate: Decode every file once first and leave out corrupt ones.
        repeat: Repeat forever (``fit`` with ``steps_per_epoch``).
        cache: Keep decoded, resized images in memory (small data sets; not
            with P×K sampling).
        progress: Progress bar for validation.

    Returns:
        The dataset and its bookkeeping.

    Raises:
        ValueError: On empty input, mismatched lengths or bad P×K settings.
    """
    paths, labels, skipped = _checked_inputs(paths, labels, validate, progress)
    if num_instances:
        if batch_size % num_instances:
            raise ValueError(
                f"batch_size must be a multiple of num_instances (K) for P×K sampling; "
                f"received batch_size={batch_size}, K={num_instances}"
            )
        # P×K batches are consecutive runs of K images per identity: parallel
        # decoding must keep element order, or a batch can mix identities.
        deterministic = True
        images, steps = _pk_images(paths, labels, image_shape, batch_size, num_instances, seed, repeat)
    else:
        images, steps = _shuffled_images(paths, labels, image_shape, batch_size, seed, repeat, cache)
    images = images.ignore_errors()

    # One stateless seed pair per element keeps augmentation reproducible
    # regardless of how many parallel calls run.
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    augmented = tf.data.Dataset.zip((images, seeds)).map(
        lambda xy, s: (_augment(xy[0], s, flip, random_erasing_prob), xy[1]), num_parallel_calls=AUTOTUNE
    )
    dataset = augmented.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)
    return TrainData(
        dataset=dataset.with_options(_options(deterministic)),
        num_images=len(paths),
        num_classes=int(len(np.unique(labels))),
        batch_size=batch_size,
        steps_per_epoch=steps,
        skipped=skipped,
    )


def _checked_inputs(paths: Sequence[str], labels: Sequence[int], validate: bool,
                    progress: bool) -> tuple[list[str], np.ndarray, list[str]]:
    """``(paths, labels, skipped)``: lengths checked, corrupt files left out (when ``validate``)."""
    paths = [str(p) for p in paths]
    labels = np.asarray(labels, np.int32)
    if len(paths) != len(labels):
        raise ValueError(f"paths and labels differ in length: {len(paths)} vs {len(labels)}")
    if not paths:
        raise ValueError("no training images were given")
    skipped: list[str] = []
    if validate:
        ok = validate_images(paths, progress=progress)
        skipped = [p for p, good in zip(paths, ok) if not good]
        if skipped:
            logger.warning("left out %d corrupt image(s), e.g. %s", len(skipped), skipped[:3])
        paths = [p for p, good in zip(paths, ok) if good]
        labels = labels[ok]
        if not paths:
            raise ValueError(f"none of the {len(skipped)} training images could be decoded")
    return paths, labels, skipped


def _pk_images(paths: list[str], labels: np.ndarray, image_shape: Sequence[int], batch_size: int,
               num_instances: int, seed: int, repeat: bool) -> tuple[tf.data.Dataset, int]:
    """Decoded ``(image, label)`` elements in P×K order (:class:`PKSampler`), and steps per epoch."""
    path_t, label_t = tf.constant(paths), tf.constant(labels)
    sampler = PKSampler(labels, batch_size // num_instances, num_instances, seed)
    steps = sampler.steps_per_epoch()
    indices = tf.data.Dataset.from_generator(lambda: iter(sampler), output_signature=tf.TensorSpec((), tf.int64))
    if not repeat:
        indices = indices.take(steps * batch_size)
    elements = indices.map(lambda i: (tf.gather(path_t, i), tf.gather(label_t, i)))
    return elements.map(lambda p, y: (decode_and_resize(p, image_shape), y), num_parallel_calls=AUTOTUNE), steps


def _shuffled_images(paths: list[str], labels: np.ndarray, image_shape: Sequence[int], batch_size: int, seed: int,
                     repeat: bool, cache: bool) -> tuple[tf.data.Dataset, int]:
    """Decoded ``(image, label)`` elements in shuffled order (decoded once when ``cache``), and steps per epoch."""
    steps = max(1, len(paths) // batch_size)
    images = tf.data.Dataset.from_tensor_slices((tf.constant(paths), tf.constant(labels)))
    if cache:
        images = images.map(lambda p, y: (decode_and_resize(p, image_shape), y), num_parallel_calls=AUTOTUNE)
        images = images.ignore_errors().cache()
    images = images.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        images = images.repeat()
    if not cache:
        images = images.map(lambda p, y: (decode_and_resize(p, image_shape), y), num_parallel_calls=AUTOTUNE)
    return images, steps


def make_inference_dataset(paths: Sequence[str], image_shape: Sequence[int], batch_size: int = 128) -> tf.data.Dataset:
    """Batches of images for feature extraction (no augmentation, order kept).

    Args:
        paths: Image files.
        image_shape: Model input ``(H, W)`` or ``(H, W, 3)``.
        batch_size: Images per batch.

    Returns:
        Dataset of float32 ``(B, H, W, 3)`` batches in [0, 255], in ``paths`` order.
    """
    ds = tf.data.Dataset.from_tensor_slices(tf.constant([str(p) for p in paths]))
    ds = ds.map(lambda p: decode_and_resize(p, image_shape), num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size).prefetch(AUTOTUNE).with_options(_options(True))


def make_cifar_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 256,
    training: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """CIFAR-100 batches; training uses He et al.'s augmentation (paper Sec. 4.1, [9]).

    Training images are padded by 4 pixels, randomly cropped back to 32×32
    and randomly flipped.

    Args:
        images: uint8 ``(N, 32, 32, 3)``.
        labels: int ``(N,)``.
        batch_size: Images per batch.
        training: Shuffle, augment and repeat.
        seed: Seed for shuffling and augmentation.

    Returns:
        Dataset of ``(float32 images in [0, 255], int32 labels)``.
    """
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    if not training:
        return ds.map(lambda x, y: (tf.cast(x, tf.float32), y)).batch(batch_size).prefetch(AUTOTUNE)

    def augment(xy, s):
        x, y = xy
        seeds = tf.random.experimental.stateless_split(s, 2)
        x = tf.pad(tf.cast(x, tf.float32), [[4, 4], [4, 4], [0, 0]])
        x = tf.image.stateless_random_crop(x, (32, 32, 3), seeds[0])
        return tf.image.stateless_random_flip_left_right(x, seeds[1]), y

    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = tf.data.Dataset.zip((ds, tf.data.Dataset.random(seed=seed).batch(2))).map(augment, num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)
