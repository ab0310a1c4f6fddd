"""Ablation runner (paper Sec. 4.4.1, Table 6).

Trains ResNet, ResNeXt, MLFN-Fusion (factor selection, no Ŝ fusion) and MLFN
on one data set with one recipe (`mlfn_keras.training.train`), evaluates each
with the same protocols and prints Table 6's layout.

The paper's models are the presets ``resnet50``, ``resnext50``,
``mlfn_no_fusion`` and ``mlfn``. On a CPU, ``--base mlfn_small`` (or
``mlfn_tiny``) derives the same four variants from a small MLFN preset:
``<base>_resnet`` (holistic bottleneck, one factor), ``<base>_resnext`` (all
factors always on), ``<base>_no_fusion`` and ``<base>`` itself.

Command line:

    mlfn synthetic --output /tmp/synth --identities 200 --multi-query 2 \\
        --height 128 --width 64
    python -m mlfn_keras.analysis.ablation --base mlfn_small --dataset synthetic \\
        --data-root /tmp/synth --minutes 5 --output runs/ablation
    # the paper's models, on Market-1501 with the paper's recipe
    python -m mlfn_keras.analysis.ablation --dataset market1501 \\
        --data-root ~/data/Market-1501-v15.09.15 --init-weights init.keras --output runs/table6
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry

#: Table 6's rows, bottom-up, and the paper's presets for them.
PAPER_VARIANTS: dict[str, str] = {
    "ResNet": "resnet50",
    "ResNeXt": "resnext50",
    "MLFN-Fusion": "mlfn_no_fusion",
    "MLFN": "mlfn",
}


def derived_variants(base: str) -> dict[str, str]:
    """Names of Table 6's four variants of an MLFN preset.

    ``resnet`` uses holistic bottlenecks, ``resnext`` keeps the factor modules
    without selection, and ``no_fusion`` keeps selection but drops Ŝ from R
    (Eq. 6), exactly as the paper's ``resnet50`` / ``resnext50`` /
    ``mlfn_no_fusion`` relate to ``mlfn`` (see
    `mlfn_keras.presets.table6_variants`).

    Args:
        base: An MLFN preset with ablation presets, e.g. ``"mlfn_small"``.

    Returns:
        ``{"ResNet": "<base>_resnet", ..., "MLFN": base}``.

    Raises:
        ValueError: if ``base`` has no ablation presets.
    """
    from mlfn_keras.presets import PRESETS

    if base == "mlfn":
        return dict(PAPER_VARIANTS)
    names = {"ResNet": f"{base}_resnet", "ResNeXt": f"{base}_resnext",
             "MLFN-Fusion": f"{base}_no_fusion", "MLFN": base}
    missing = [name for name in names.values() if name not in PRESETS]
    if missing:
        with_variants = sorted(n[: -len("_no_fusion")] for n in PRESETS if n.endswith("_no_fusion"))
        raise ValueError(
            f"--base {base!r} has no ablation presets (missing {', '.join(missing)}); "
            f"expected one of: {', '.join(with_variants)}."
        )
    return names


def _synthetic_options(root: Path) -> dict[str, Any]:
    """Generation settings of an existing generated folder (so training reuses it)."""
    meta = root / "meta.json"
    if not meta.exists():
        return {}
    config = dict(json.loads(meta.read_text()).get("config", {}))
    config.pop("generator_version", None)
    return config


def run_ablation(
    variants: dict[str, str],
    dataset: str,
    root: str,
    output: str,
    *,
    protocols: Sequence[str] = ("single_query", "multi_query"),
    steps: int | None = None,
    minutes: float | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    init_weights: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, dict[str, dict[str, float]]]:
    """Trains and evaluates each variant with the same recipe.

    Args:
        variants: ``{row label: preset}``.
        dataset: Evaluation data set name (`mlfn_keras.evaluation.splits.DATASETS`).
        root: Data set folder.
        output: Run folder; each variant trains into ``output/<preset>``.
        protocols: Evaluation protocols.
        steps: Training steps (default: the data set's paper recipe).
        minutes: Wall-clock budget per variant.
        batch_size: Batch size (default: recipe).
        learning_rate: Learning rate (default: recipe).
        init_weights: ``.keras`` weights to initialise from (e.g. ImageNet).
        seed: Seed of training and evaluation.
        progress: Progress bars / Keras output.

    Returns:
        ``{row label: {"<protocol label>": metrics}}``.
    """
    import keras

    from mlfn_keras.data.registry import get_dataset
    from mlfn_keras.evaluation.evaluator import (
        evaluate_features,
        extract_split_features,
    )
    from mlfn_keras.evaluation.protocols import PROTOCOLS
    from mlfn_keras.evaluation.splits import load_eval_split
    from mlfn_keras.training import TrainConfig, train

    split = load_eval_split(dataset, root)
    synthetic = _synthetic_options(Path(split.root)) if get_dataset(dataset).generated else {}
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for label, preset in variants.items():
        # `synthetic` repeats the folder's generation settings so that training
        # reuses it rather than generating another one at the preset's size.
        result = train(TrainConfig(
            dataset=get_dataset(dataset).name, data_root=split.root, preset=preset,
            output=str(Path(output) / preset), steps=steps, minutes=minutes,
            batch_size=batch_size, learning_rate=learning_rate,
            init_weights=init_weights, seed=seed,
            synthetic=synthetic, verbose=2 if progress else 0,
        ))
        model = keras.models.load_model(result.model_path, compile=False)
        feats = extract_split_features(
            model, split, multi_query=any(PROTOCOLS[p].multi_query for p in protocols),
            progress=progress,
        )
        rows[label] = {
            PROTOCOLS[p].label: evaluate_features(feats, protocol=p, seed=seed).metrics.to_dict()
            for p in protocols
        }
        rows[label]["_run"] = {"preset": preset, "steps": result.steps,
                               "train_seconds": result.seconds, "model_path": result.model_path}
    return rows


_EPILOG = """examples:
  mlfn synthetic --output /tmp/synth --identities 200 --multi-query 2 \\
      --height 128 --width 64
  python -m mlfn_keras.analysis.ablation --base mlfn_small --dataset synthetic \\
      --data-root /tmp/synth --minutes 5 --output runs/ablation
  python -m mlfn_keras.analysis.ablation --base mlfn_tiny --dataset synthetic --data-root /tmp/synth \\
      --minutes 3 --batch-size 64 --lr 1e-3 --output runs/ablation_tiny
  python -m mlfn_keras.analysis.ablation --dataset market1501 \\
      --data-root ~/data/Market-1501-v15.09.15 --init-weights init.keras --output runs/table6
"""


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    from mlfn_keras.data.registry import dataset_title
    from mlfn_keras.evaluation.protocols import PROTOCOLS
    from mlfn_keras.evaluation.report import format_table, write_json

    parser = cli_args.make_parser(
        "python -m mlfn_keras.analysis.ablation",
        "Train and evaluate ResNet / ResNeXt / MLFN-Fusion / MLFN with one recipe (paper Table 6).",
        _EPILOG,
    )
    parser.add_argument("--base", default="mlfn",
                        help="MLFN preset the variants derive from (mlfn = the paper's presets; "
                             "mlfn_small / mlfn_tiny for CPUs)")
    parser.add_argument("--presets", nargs=4, metavar=("RESNET", "RESNEXT", "MLFN_FUSION", "MLFN"),
                        help="explicit presets for the four rows instead of --base")
    cli_args.add_dataset_arguments(parser)
    parser.add_argument("--protocol", nargs="+", default=["single_query", "multi_query"],
                        choices=tuple(PROTOCOLS))
    parser.add_argument("--steps", type=int,
                        help="training steps per variant (default: paper recipe); equal steps = a fair table")
    parser.add_argument("--minutes", type=float,
                        help="wall-clock budget per variant (variants then see different numbers of steps)")
    cli_args.add_batch_size(parser, default=None)
    parser.add_argument("--lr", type=float, help="learning rate for every row (default: paper recipe)")
    parser.add_argument("--init-weights", help=".keras weights to initialise from (e.g. ImageNet ResNeXt)")
    cli_args.add_output(parser, required=True, help="run folder")
    cli_args.add_seed(parser)
    args = parser.parse_args(argv)
    with cli_args.user_errors():
        variants = (dict(zip(PAPER_VARIANTS, args.presets)) if args.presets
                    else derived_variants(args.base))
        rows = run_ablation(
            variants, args.dataset, args.data_root, args.output, protocols=args.protocol,
            steps=args.steps, minutes=args.minutes, batch_size=args.batch_size,
            learning_rate=args.lr, init_weights=args.init_weights, seed=args.seed, progress=not args.quiet,
        )
    title = dataset_title(args.dataset)
    runs = {label: r.pop("_run") for label, r in rows.items()}
    table = {f"{label} ({runs[label]['preset']})": {f"{title} {k}": v for k, v in r.items()}
             for label, r in rows.items()}
    print(format_table(table, metrics=("R1", "mAP"),
                       title=f"Ablation results (%) on {title} (cf. paper Table 6); "
                       f"same recipe for every row."))
    path = write_json({"dataset": args.dataset, "root": args.data_root, "rows": rows, "runs": runs},
                      Path(args.output) / "ablation.json")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
