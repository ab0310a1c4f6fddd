"""The parity gate: an export is only reported as a success if it embeds like Keras.

Converters report success on files that load wrongly or not at all, and
quantisation can silently wreck retrieval. Every exporter therefore runs the
exported file through `mlfn_keras.runtime` on labelled, real-looking crops and
compares it with the Keras model:

* the largest absolute difference of the raw embeddings R;
* the cosine similarity of each crop's embedding to Keras's (the gate uses
  the worst crop, ``min_cosine``) against the format's bound (`BOUNDS`);
* rank-1 agreement: in leave-one-out retrieval over the labelled crops, the
  fraction of queries whose nearest neighbour is the same crop as with Keras,
  and each side's rank-1 accuracy (reported for every precision, decisive
  for int8).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mlfn_keras.errors import UserError

# Minimum per-crop cosine similarity to the Keras embedding, per precision.
BOUNDS: dict[str, float] = {
    "fp32": 0.9999,
    "fp16": 0.999,
    "dynamic_int8": 0.98,
    "int8": 0.98,
}


class ParityError(UserError, RuntimeError):
    """An exported model does not reproduce the Keras embeddings within bounds.

    A `UserError`, so a command line reports it in one line (the export was
    not written; a previous file at the output path is untouched).
    """


@dataclasses.dataclass
class ParityReport:
    """How closely an exported model reproduces Keras.

    Attributes:
        precision: the precision whose bound applies.
        bound: minimum cosine similarity required.
        num_images: crops compared.
        max_abs_diff: largest absolute difference of raw embeddings.
        min_cosine: worst per-crop cosine similarity to Keras.
        mean_cosine: mean per-crop cosine similarity.
        rank1_agreement: fraction of leave-one-out queries whose top-1
            neighbour is the same crop as with Keras (``None`` without labels).
        rank1_reference: rank-1 accuracy with Keras embeddings.
        rank1_candidate: rank-1 accuracy with the exported model's.
        passed: ``min_cosine >= bound``.
    """

    precision: str
    bound: float
    num_images: int
    max_abs_diff: float
    min_cosine: float
    mean_cosine: float
    rank1_agreement: float | None = None
    rank1_reference: float | None = None
    rank1_candidate: float | None = None
    passed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        text = (
            f"parity {self.precision}: cosine min {self.min_cosine:.6f} / mean "
            f"{self.mean_cosine:.6f} (bound {self.bound}), max |diff| "
            f"{self.max_abs_diff:.3g} on {self.num_images} crops"
        )
        if self.rank1_agreement is not None:
            text += (
                f"; rank-1 agreement {self.rank1_agreement:.3f} (rank-1 Keras "
                f"{self.rank1_reference:.3f}, export {self.rank1_candidate:.3f})"
            )
        return text + (" — PASS" if self.passed else " — FAIL")

    def raise_if_failed(self, what: str = "exported model") -> None:
        """Raises `ParityError` with the figures when the gate failed."""
        if not self.passed:
            raise ParityError(
                f"The {what} does not reproduce the Keras embeddings: {self.summary()}. "
                f"Expected every crop's cosine similarity >= {self.bound}."
            )


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    # float64: the fp32 gate compares cosines to 1e-4, near float32's resolution.
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _top1_neighbours(embeddings: np.ndarray) -> np.ndarray:
    normed = _l2_normalize(embeddings)
    similarity = normed @ normed.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argmax(similarity, axis=1)


def check_parity(
    reference: np.ndarray,
    candidate: np.ndarray,
    precision: str = "fp32",
    labels: np.ndarray | None = None,
) -> ParityReport:
    """Compares an exported model's raw embeddings with Keras's.

    Args:
        reference: Keras embeddings ``(N, d)``.
        candidate: the exported model's embeddings ``(N, d)`` for the same crops.
        precision: a key of `BOUNDS`.
        labels: optional identity labels ``(N,)`` for the retrieval check.

    Returns:
        A `ParityReport`; call ``raise_if_failed()`` to gate on it.

    Raises:
        ValueError: on an unknown precision or mismatched shapes.
    """
    if precision not in BOUNDS:
        raise ValueError(f"Unknown precision {precision!r}; expected one of {sorted(BOUNDS)}.")
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape or reference.ndim != 2:
        raise ValueError(
            "Expected reference and candidate embeddings of the same (N, d) shape; "
            f"received {reference.shape} and {candidate.shape}."
        )
    cosine = np.sum(_l2_normalize(reference) * _l2_normalize(candidate), axis=1)
    report = ParityReport(
        precision=precision,
        bound=BOUNDS[precision],
        num_images=int(len(reference)),
        max_abs_diff=float(np.max(np.abs(reference - candidate))),
        min_cosine=float(np.min(cosine)),
        mean_cosine=float(np.mean(cosine)),
    )
    if labels is not None and len(reference) > 1:
        labels = np.asarray(labels)
        ref_top1 = _top1_neighbours(reference)
        cand_top1 = _top1_neighbours(candidate)
        # Only crops whose identity appears again can be retrieval queries.
        counts = {label: int(np.sum(labels == label)) for label in np.unique(labels)}
        queries = np.array([counts[label] > 1 for label in labels])
        if queries.any():
            report.rank1_agreement = float(np.mean((ref_top1 == cand_top1)[queries]))
            report.rank1_reference = float(np.mean((labels[ref_top1] == labels)[queries]))
            report.rank1_candidate = float(np.mean((labels[cand_top1] == labels)[queries]))
    report.passed = bool(report.min_cosine >= report.bound)
    return report


def keras_embeddings(model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Raw Keras embeddings R of uint8 crops, the reference side of the gate."""
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = np.asarray(images[start : start + batch_size], dtype=np.float32)
        outputs.append(np.asarray(model(batch, training=False)["embedding"]))
    return np.concatenate(outputs, axis=0)


@dataclasses.dataclass
class ExportResult:
    """What an exporter wrote and how it checked it.

    Attributes:
        path: the exported file (or SavedModel directory).
        format: ``"saved_model"``, ``"onnx"``, ``"tflite"`` or ``"tensorrt"``.
        precision: the precision of the export.
        parity: the parity gate's report.
        details: format-specific facts (graph node counts, file size, ...).
    """

    path: str
    format: str
    precision: str
    parity: ParityReport
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        facts = ", ".join(f"{k}={v}" for k, v in self.details.items())
        return f"{self.format} ({self.precision}) -> {self.path}\n  {facts}\n  {self.parity.summary()}"


def run_parity_gate(
    model,
    exported_path: str,
    images: np.ndarray,
    labels: np.ndarray | None,
    precision: str,
    **runtime_kwargs,
) -> ParityReport:
    """Loads ``exported_path`` with `mlfn_keras.runtime` and checks it against ``model``.

    Raises:
        ParityError: if the exported model is outside the precision's bound.
    """
    from mlfn_keras.runtime import load_embedder

    embedder = load_embedder(exported_path, **runtime_kwargs)
    reference = keras_embeddings(model, images)
    candidate = embedder.raw_embeddings(images)
    report = check_parity(reference, candidate, precision, labels)
    report.raise_if_failed(f"{embedder.backend} export at {exported_path}")
    return report
