"""Re-id with the factor signature alone (paper Sec. 4.4.2, Table 7).

"For solely FS-based matching, we train a binary SVM based on the absolute
difference of paired FS to predict whether they belong to the same person or
not. SVM scores of testing pairs are then computed for recognition."

`FactorSignatureMatcher` trains a linear SVM on ``|Ŝ_a - Ŝ_b|`` (Eq. 5) of
image pairs from the training split (positives and negatives balanced) and
scores every query-gallery pair; the negated score is the distance the
standard CMC/mAP evaluation ranks. Because the SVM is linear, the score of a
pair is ``sum_k w_k |a_k - b_k| + b``, a signed weighted L1 distance, so a
whole query x gallery matrix is two ``cdist`` calls rather than Q x G
feature vectors.

Command line (prints Table 7's layout, SQ and MQ):

    python -m mlfn_keras.analysis.fs_matching --model runs/synth/model.keras \\
        --dataset synthetic --data-root /tmp/synth --output runs/fs_only
    python -m mlfn_keras.analysis.fs_matching --model mlfn_market.keras \\
        --dataset market1501 --data-root ~/data/Market-1501-v15.09.15 --pairs 100000
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry


def sample_pairs(
    pids: np.ndarray, num_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples balanced same-identity / different-identity image pairs.

    Args:
        pids: ``(N,)`` identity of each image.
        num_pairs: Total pairs; half positive, half negative.
        rng: Random generator.

    Returns:
        ``(index_a, index_b, label)`` with label 1 for same identity.

    Raises:
        ValueError: If no identity has two images or only one identity exists.
    """
    pids = np.asarray(pids)
    uniq, inverse, counts = np.unique(pids, return_inverse=True, return_counts=True)
    if len(uniq) < 2 or counts.max() < 2:
        raise ValueError(
            "FS-only matching needs at least two identities and one identity "
            f"with two images; got {len(uniq)} identities, at most {counts.max()} "
            "images each."
        )
    n_pos = num_pairs // 2
    n_neg = num_pairs - n_pos
    # Positives: an anchor from an identity with >= 2 images, then another
    # image of that identity (never the anchor itself).
    order = np.argsort(inverse, kind="stable")
    starts = np.cumsum(counts) - counts
    eligible = np.flatnonzero(counts[inverse] >= 2)
    a_pos = rng.choice(eligible, n_pos)
    grp = inverse[a_pos]
    # Offset 1..count-1 from the anchor's position within its group.
    pos_in_grp = np.empty(len(pids), np.int64)
    pos_in_grp[order] = np.arange(len(pids)) - np.repeat(starts, counts)
    shift = 1 + (rng.random(n_pos) * (counts[grp] - 1)).astype(np.int64)
    b_pos = order[starts[grp] + (pos_in_grp[a_pos] + shift) % counts[grp]]
    # Negatives: rejection-free by drawing the second identity != the first.
    a_neg = rng.integers(0, len(pids), n_neg)
    other = (inverse[a_neg] + 1 + rng.integers(0, len(uniq) - 1, n_neg)) % len(uniq)
    b_neg = order[starts[other] + (rng.random(n_neg) * counts[other]).astype(np.int64)]
    index_a = np.concatenate([a_pos, a_neg])
    index_b = np.concatenate([b_pos, b_neg])
    labels = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return index_a, index_b, labels


class FactorSignatureMatcher:
    """Linear SVM on ``|Ŝ_a - Ŝ_b|`` that scores image pairs (Table 7).

    Args:
        C: SVM regularisation (``sklearn.svm.LinearSVC``).
        num_pairs: Training pairs sampled (balanced).
        seed: Pair sampling seed.

    Example:

    ```python
    matcher = FactorSignatureMatcher().fit(train_fs, train_pids)
    dist = matcher.distance(query_fs, gallery_fs)  # rank with evaluate_rank
    ```
    """

    def __init__(self, C: float = 1.0, num_pairs: int = 20000, seed: int = 0):
        self.C = C
        self.num_pairs = num_pairs
        self.seed = seed
        self.weights: np.ndarray | None = None
        self.bias: float = 0.0
        self.train_accuracy: float | None = None

    def fit(self, signatures: np.ndarray, pids: np.ndarray) -> "FactorSignatureMatcher":
        """Trains on pairs of training images.

        Args:
            signatures: ``(N, K)`` factor signatures Ŝ.
            pids: ``(N,)`` identities.

        Returns:
            ``self``.
        """
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        x = np.asarray(signatures, dtype=np.float32)
        if x.ndim != 2 or len(x) != len(pids):
            raise ValueError(
                f"expected (N, K) signatures with one pid each, got shape {x.shape} "
                f"and {len(pids)} pids."
            )
        a, b, y = sample_pairs(np.asarray(pids), self.num_pairs, np.random.default_rng(self.seed))
        diff = np.abs(x[a] - x[b])
        scaler = StandardScaler().fit(diff)
        svm = LinearSVC(C=self.C, max_iter=5000).fit(scaler.transform(diff), y)
        self.train_accuracy = float(svm.score(scaler.transform(diff), y))
        # Fold the standardisation into the linear function of |a - b|.
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        self.weights = (svm.coef_[0] / scale).astype(np.float64)
        self.bias = float(svm.intercept_[0] - np.sum(svm.coef_[0] * scaler.mean_ / scale))
        return self

    def score(self, a: np.ndarray, b: np.ndarray, chunk_size: int = 512) -> np.ndarray:
        """SVM scores of every pair ``(a_i, b_j)``; higher means same person.

        Args:
            a: ``(Na, K)`` signatures.
            b: ``(Nb, K)`` signatures.
            chunk_size: Rows of ``a`` per ``cdist`` call.

        Returns:
            ``(Na, Nb)`` float32 scores.
        """
        if self.weights is None:
            raise RuntimeError("FactorSignatureMatcher.score called before fit().")
        a = np.asarray(a, np.float64)
        b = np.asarray(b, np.float64)
        w_pos = np.clip(self.weights, 0, None)
        w_neg = np.clip(-self.weights, 0, None)
        out = np.empty((len(a), len(b)), np.float32)
        # w|x - y| = |w x - w y| for w >= 0: a signed weighted L1 distance.
        bp, bn = b * w_pos, b * w_neg
        for s in range(0, len(a), chunk_size):
            ac = a[s : s + chunk_size]
            out[s : s + chunk_size] = (
                cdist(ac * w_pos, bp, "cityblock") - cdist(ac * w_neg, bn, "cityblock") + self.bias
            )
        return out

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Negated `score`, to rank with the standard evaluation."""
        return -self.score(a, b)


def run_fs_only(
    model,
    split,
    *,
    protocols: Sequence[str] = ("single_query", "multi_query"),
    num_pairs: int = 20000,
    C: float = 1.0,
    batch_size: int = 64,
    progress: bool = True,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, float]]]:
    """Table 7 for a model: FS-only SVM matching, with R (Eq. 6) for reference.

    Args:
        model: MLFN Keras model with factor selection.
        split: `EvalSplit` with ``train`` records.
        protocols: Protocols to score.
        num_pairs: Training pairs for the SVM.
        C: SVM regularisation.
        batch_size: Images per model call.
        progress: Progress bars.
        seed: Pair sampling seed.

    Returns:
        ``{row: {protocol label: metrics}}`` rows ``"Ŝ (FS) only"`` and
        ``"R (Euclidean)"``; also the matcher's training accuracy under
        ``"_svm"``.
    """
    from mlfn_keras.evaluation.evaluator import (
        evaluate_features,
        extract_split_features,
        score_distances,
    )
    from mlfn_keras.evaluation.features import extract_features
    from mlfn_keras.evaluation.protocols import PROTOCOLS, multi_query_features

    if not split.train:
        raise ValueError("The split has no training images; the FS SVM is trained on them.")
    feats = extract_split_features(
        model, split, multi_query=any(PROTOCOLS[p].multi_query for p in protocols),
        batch_size=batch_size, progress=progress,
    )
    if feats.query.factor_signature is None:
        raise ValueError(
            "The model has no factor signature output; FS-only matching needs an "
            "MLFN preset with factor selection (not resnet50/resnext50)."
        )
    train = extract_features(
        model, [r[0] for r in split.train], batch_size=batch_size, progress=progress, desc="train"
    )
    t0 = time.perf_counter()
    matcher = FactorSignatureMatcher(C=C, num_pairs=num_pairs, seed=seed).fit(
        train.factor_signature, np.array([r[1] for r in split.train])
    )
    fit_s = time.perf_counter() - t0
    rows: dict[str, dict[str, dict[str, float]]] = {"Ŝ (FS) only": {}, "R (Euclidean)": {}}
    for protocol in protocols:
        proto = PROTOCOLS[protocol]
        q = feats.query
        if proto.multi_query and feats.multi_query is not None:
            q = multi_query_features(split.query, q, split.multi_query, feats.multi_query)
        dist = matcher.distance(q.factor_signature, feats.gallery.factor_signature)
        rows["Ŝ (FS) only"][proto.label] = score_distances(
            dist, split.query, split.gallery, protocol, seed=seed
        ).to_dict()
        rows["R (Euclidean)"][proto.label] = evaluate_features(
            feats, protocol=protocol, seed=seed
        ).metrics.to_dict()
    rows["_svm"] = {"fit": {"train_pair_accuracy": 100.0 * matcher.train_accuracy,
                            "pairs": float(num_pairs), "seconds": fit_s}}
    return rows


_EPILOG = """examples:
  python -m mlfn_keras.analysis.fs_matching --model runs/synth/model.keras \\
      --dataset synthetic --data-root /tmp/synth --output runs/fs_only
  python -m mlfn_keras.analysis.fs_matching --model mlfn_market.keras \\
      --dataset market1501 --data-root ~/data/Market-1501-v15.09.15 --pairs 100000
"""


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    from mlfn_keras.data.registry import dataset_title
    from mlfn_keras.evaluation.models import load_model
    from mlfn_keras.evaluation.protocols import PROTOCOLS
    from mlfn_keras.evaluation.report import format_table, write_json
    from mlfn_keras.evaluation.splits import load_eval_split

    parser = cli_args.make_parser(
        "python -m mlfn_keras.analysis.fs_matching",
        "Re-id with the factor signature alone: linear SVM on |Ŝa - Ŝb| (paper Table 7).",
        _EPILOG,
    )
    cli_args.add_model_argument(parser)
    cli_args.add_dataset_arguments(parser)
    parser.add_argument("--protocol", nargs="+", default=["single_query", "multi_query"],
                        choices=("single_query", "multi_query"))
    parser.add_argument("--pairs", type=int, default=20000, help="balanced training pairs (default 20000)")
    parser.add_argument("--C", type=float, default=1.0, help="SVM regularisation (default 1)")
    cli_args.add_batch_size(parser)
    cli_args.add_output(parser, help="folder for fs_only.json")
    cli_args.add_seed(parser)
    args = parser.parse_args(argv)
    with cli_args.user_errors():
        split = load_eval_split(args.dataset, args.data_root)
        model, preset = load_model(args.model, None)
        rows = run_fs_only(model, split, protocols=args.protocol, num_pairs=args.pairs, C=args.C,
                           batch_size=args.batch_size, progress=not args.quiet, seed=args.seed)
    svm = rows.pop("_svm")["fit"]
    labels = [PROTOCOLS[p].label for p in args.protocol]
    print(format_table(
        rows, groups=labels, metrics=("R1", "R5", "mAP"),
        title=f"{dataset_title(args.dataset)} re-id performance (%) with Ŝ (FS) only "
        f"(cf. paper Table 7); R shown for reference. SVM: {int(svm['pairs'])} pairs, "
        f"train pair accuracy {svm['train_pair_accuracy']:.1f}%.",
    ))
    if args.output:
        path = write_json({"model": args.model, "preset": preset, "dataset": args.dataset,
                           "rows": rows, "svm": svm}, Path(args.output) / "fs_only.json")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
