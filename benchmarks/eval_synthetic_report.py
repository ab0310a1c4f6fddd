"""The paper's evaluation and analyses on generated identities, end to end.

1. generates identities in the Market-1501 layout (with ``gt_bbox`` for
   multi-query, distractors and attributes) unless ``--data-root`` already holds them;
2. trains a preset with the project's training function
   (`mlfn_keras.training.train`, paper recipe, time budget) unless ``--model`` is given;
3. runs ``mlfn-eval`` (SQ, MQ, CUHK03-style single-shot; table, JSON, CMC and
   ranked-list PNGs), FS-only matching (Table 7), attribute prediction
   (Sec. 4.4.2) and factor grids (Fig. 3), all written into ``--output``.

Examples:

    python benchmarks/eval_synthetic_report.py --output runs/synth_report --minutes 8
    python benchmarks/eval_synthetic_report.py --model runs/synth_report/train/model.keras \\
        --data-root /tmp/synth_eval --output runs/synth_report
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry


@cli_entry
def main(argv=None) -> int:
    parser = cli_args.make_parser(
        description=__doc__.split("\n\n")[0],
        epilog="examples:" + __doc__.split("Examples:")[1],
    )
    parser.add_argument("--data-root", dest="root", default="/tmp/synth_eval", help="generated data set folder")
    parser.add_argument("--identities", type=int, default=300)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--preset", default="mlfn_small")
    parser.add_argument("--model", help="skip training and evaluate this .keras model")
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3,
                        help="Adam learning rate (paper: 3.5e-4 when fine-tuning from ImageNet; "
                             "from scratch on a CPU budget a larger one learns faster)")
    parser.add_argument("--output", default="runs/synth_report")
    args = parser.parse_args(argv)

    import mlfn_keras
    from mlfn_keras.analysis import attributes, factor_grid, fs_matching
    from mlfn_keras.data.synthetic import generate_market_layout
    from mlfn_keras.evaluation import cli as eval_cli

    out = Path(args.output)
    h, w = mlfn_keras.get_preset(args.preset)["image_shape"][:2]
    t0 = time.perf_counter()
    root = generate_market_layout(
        args.root, num_identities=args.identities, num_cameras=args.cameras,
        height=h, width=w, num_distractors=100, multi_query_images=2,
    )
    print(f"data: {root} ({time.perf_counter() - t0:.1f} s)")
    model_path = args.model
    if model_path is None:
        from mlfn_keras.training import TrainConfig, train

        config = json.loads((root / "meta.json").read_text())["config"]
        config.pop("generator_version")
        result = train(TrainConfig(
            dataset="synthetic", data_root=str(root), preset=args.preset,
            output=str(out / "train"), steps=100000, minutes=args.minutes,
            batch_size=args.batch_size, learning_rate=args.lr, checkpoint_every=50,
            synthetic=config, verbose=2,
        ))
        model_path = result.model_path
        print(f"trained {args.preset}: {result.steps} steps in {result.seconds:.0f} s -> {model_path}")
    common = ["--model", str(model_path), "--dataset", "synthetic", "--data-root", str(root), "--quiet"]
    print("\n$ mlfn-eval ... --protocol single_query multi_query single_shot")
    eval_cli.main(common + ["--protocol", "single_query", "multi_query", "single_shot",
                            "--output", str(out / "eval")])
    print("\n$ mlfn-eval ... --rerank")
    eval_cli.main(common + ["--protocol", "single_query", "--rerank", "--name", "re-ranked",
                            "--output", str(out / "eval_rerank")])
    print("\n$ python -m mlfn_keras.analysis.fs_matching ...")
    fs_matching.main(common + ["--output", str(out / "fs_only")])
    print("\n$ python -m mlfn_keras.analysis.attributes ...")
    attributes.main(common + ["--output", str(out / "attributes")])
    print("\n$ python -m mlfn_keras.analysis.factor_grid ...")
    factor_grid.main(common + ["--auto", "4", "--output", str(out / "factors")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
