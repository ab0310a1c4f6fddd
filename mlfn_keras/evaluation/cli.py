"""``mlfn-eval``: evaluate a re-id model on a test set, like the paper does.

Extracts features once, scores every requested protocol, prints a table laid
out like the paper's Tables 1-4, and writes next to each other in
``--output``: ``metrics.json`` (model, preset, dataset, protocol, metrics,
time), ``cmc.png`` and ``ranked_<protocol>.png`` (queries and their top-10,
green = same identity, red = different).

Examples:

    # generated identities (Market-1501 layout) and a trained model
    mlfn synthetic --output /tmp/synth --identities 200 --multi-query 2
    mlfn-eval --model runs/mlfn_small/model.keras --dataset synthetic --data-root /tmp/synth \\
        --protocol single_query multi_query --output runs/eval

    # Market-1501 SQ + MQ with flip TTA and re-ranking
    mlfn-eval --model mlfn_market.keras --dataset market1501 \\
        --data-root ~/data/Market-1501-v15.09.15 --protocol single_query multi_query \\
        --flip --rerank --output runs/market_eval

    # an untrained preset (sanity check of the pipeline, chance-level numbers)
    %(prog)s --preset mlfn_tiny --dataset synthetic --data-root /tmp/synth
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlfn_keras import cli_args
from mlfn_keras.data.registry import dataset_title
from mlfn_keras.errors import cli_entry
from mlfn_keras.evaluation.distance import METRICS
from mlfn_keras.evaluation.models import load_model
from mlfn_keras.evaluation.protocols import PROTOCOLS

_EPILOG = """examples:
  mlfn synthetic --output /tmp/synth --identities 200 --multi-query 2
  %(prog)s --model runs/mlfn_small/model.keras --dataset synthetic --data-root /tmp/synth \\
      --protocol single_query multi_query --output runs/eval
  %(prog)s --model mlfn_market.keras --dataset market1501 \\
      --data-root ~/data/Market-1501-v15.09.15 --protocol single_query multi_query --flip --rerank
  %(prog)s --model model.onnx --dataset dukemtmcreid --data-root ~/data/DukeMTMC-reID --metric cosine
  %(prog)s --preset mlfn_tiny --dataset synthetic --data-root /tmp/synth
"""


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of ``mlfn-eval``."""
    parser = cli_args.make_parser(
        "mlfn-eval", "Evaluate a re-id model (CMC R1/5/10/20, mAP, mINP) on a test set.", _EPILOG
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="trained model: .keras file (or any file mlfn_keras.runtime loads)")
    src.add_argument("--preset", help="evaluate an untrained preset (pipeline sanity check)")
    cli_args.add_dataset_arguments(parser, root_help="data set folder (Market layout for synthetic)")
    parser.add_argument(
        "--protocol", nargs="+", default=["single_query"], choices=tuple(PROTOCOLS),
        help="one or more protocols (features are extracted once); default single_query",
    )
    parser.add_argument("--metric", default="euclidean", choices=METRICS,
                        help="distance (paper: euclidean)")
    parser.add_argument("--flip", action="store_true", help="flip test-time augmentation")
    parser.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (Zhong et al. 2017)")
    cli_args.add_batch_size(parser)
    parser.add_argument("--max-rank", type=int, default=50, help="CMC length (default 50)")
    parser.add_argument("--name", help="method name in the table (default: model file stem or preset)")
    cli_args.add_output(parser, help="folder for metrics.json and PNGs (default: none written)")
    parser.add_argument("--force", action="store_true",
                        help="write into an --output folder holding files mlfn-eval did not write (they are kept)")
    parser.add_argument("--num-ranked", type=int, default=8, help="queries drawn in the ranked-list PNG (0: no ranked-list PNG)")
    cli_args.add_seed(parser)
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs an evaluation from parsed arguments; returns the JSON record."""
    from mlfn_keras.evaluation.evaluator import (
        evaluate_features,
        extract_split_features,
    )
    from mlfn_keras.evaluation.plots import plot_cmc, plot_ranked_lists
    from mlfn_keras.evaluation.report import format_table, write_json
    from mlfn_keras.evaluation.splits import load_eval_split

    start = time.perf_counter()
    split = load_eval_split(args.dataset, args.data_root)
    model, preset = load_model(args.model, args.preset)
    name = args.name or (Path(args.model).stem if args.model else args.preset)
    need_mq = any(PROTOCOLS[p].multi_query for p in args.protocol)
    feats = extract_split_features(
        model, split, flip=args.flip, multi_query=need_mq,
        batch_size=args.batch_size, progress=not args.quiet,
    )
    title = dataset_title(args.dataset)
    results, table, per_protocol = {}, {}, {}
    for protocol in args.protocol:
        result = evaluate_features(
            feats, protocol=protocol, metric=args.metric, rerank=args.rerank,
            max_rank=args.max_rank, seed=args.seed,
        )
        results[protocol] = result
        summary = result.metrics.to_dict()
        table[f"{title} {PROTOCOLS[protocol].label}"] = summary
        per_protocol[protocol] = {
            **summary,
            "cmc": [round(float(c), 6) for c in result.metrics.cmc],
            "timings_s": result.timings,
        }
    print(format_table(
        {name: table}, metrics=("R1", "R5", "R10", "R20", "mAP", "mINP"),
        title=f"Results (%) on {title}: {len(split.query)} queries, "
        f"{len(split.gallery)} gallery images, metric {args.metric}"
        + (", flip TTA" if args.flip else "") + (", re-ranked" if args.rerank else "") + ".",
    ))
    record = {
        "name": name,
        "model": str(args.model) if args.model else None,
        "preset": preset,
        "dataset": args.dataset,
        "root": split.root,
        "protocols": list(args.protocol),
        "metric": args.metric,
        "flip": args.flip,
        "rerank": args.rerank,
        "num_query": len(split.query),
        "num_gallery": len(split.gallery),
        "num_multi_query": len(split.multi_query),
        "metrics": per_protocol,
        "time_s": round(time.perf_counter() - start, 3),
    }
    if args.output:
        out = Path(args.output)
        claim = check_eval_output(args.output, getattr(args, "force", False))
        ranked = list(results) if args.num_ranked > 0 else []
        names = ["metrics.json", "cmc.png"] + [f"ranked_{p}.png" for p in ranked]
        claim.remove_previous(keep=names)  # no stale ranked_*.png of other protocols; the rest is replaced atomically
        claim.write_manifest(names)
        write_json(record, out / "metrics.json")
        plot_cmc(
            {f"{name} {PROTOCOLS[p].label}": r.metrics.cmc for p, r in results.items()},
            out / "cmc.png", max_rank=min(20, args.max_rank), title=f"CMC on {title}",
        )
        for p in ranked:
            plot_ranked_lists(
                results[p].distmat, results[p].query, results[p].gallery, out / f"ranked_{p}.png",
                num_queries=args.num_ranked, seed=args.seed,
            )
        print(f"wrote {out / 'metrics.json'}, {out / 'cmc.png'}"
              + "".join(f", {out / f'ranked_{p}.png'}" for p in ranked))
    return record


#: The manifest kind of an ``mlfn-eval --output`` folder (see `mlfn_keras.fileio`).
OUTPUT_KIND = "mlfn_keras.eval"
_OUTPUT_NAMES = ("metrics.json", "cmc.png", "ranked_*.png")


def check_eval_output(output: str, force: bool = False):
    """Refuses an ``--output`` that is a file or holds files mlfn-eval did not write (before any work)."""
    from mlfn_keras.fileio import check_output_dir, legacy_listing

    return check_output_dir(output, OUTPUT_KIND, force=force, what="--output folder",
                            writes=("metrics.json", "cmc.png"), legacy=legacy_listing(_OUTPUT_NAMES, "metrics.json"),
                            create=False)


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mlfn-eval`` / ``python -m mlfn_keras.evaluation``."""
    from mlfn_keras.fileio import run_lock

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.num_ranked < 0:
        parser.error(f"--num-ranked must be 0 or more, received {args.num_ranked}")
    with contextlib.ExitStack() as outputs:
        if args.output:  # one run per folder; a wrong --output fails before the evaluation, not after
            outputs.enter_context(run_lock(args.output, "--output"))
            check_eval_output(args.output, args.force)
        with cli_args.user_errors():
            run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
