"""Real-person re-id on PETS 2009 S2.L1: one table, every embedding, two protocols.

Rows: the colour-histogram baseline, an untrained ``mlfn_small`` (seed 0), the
shipped demo weights and every ``--models`` entry (anything
``mlfn_keras.runtime.load_embedder`` accepts). Columns: R1/R5/mAP on the
whole video (19 people) and on held-out frames 400-794 (12 people; the frames
``mlfn-adapt`` never sees when it adapts on frames 0-399). Ground-truth crops
of every 5th frame, each person's crops split in time into query and gallery
(`mlfn_keras.data.pets09_reid`), scored by `mlfn_keras.evaluation.pets09`.

With ``--market-dir`` it also writes the crops as a Market-1501-layout folder
(train = frames 0-399, query/gallery = held-out time split) for
``mlfn-train --dataset market1501`` and ``mlfn-eval``. ``--fuse-hist`` adds,
for the shipped weights and every ``--models`` entry, a row of that model fused
with the colour histogram (unit embeddings concatenated, equal weights): a
measured option, not what the demo uses by default. A ``--models`` entry may
also be written ``PATH+hist`` directly.

Examples:

    export MLFN_KERAS_CACHE=~/.cache/mlfn_keras      # vtest.avi is fetched with apt-get if missing
    python benchmarks/real_reid.py
    python benchmarks/real_reid.py --models runs/site/site.keras runs/site/site.onnx --json out.json
    python benchmarks/real_reid.py --models runs/site/site.keras --fuse-hist     # + "model + colour histogram" rows
    python benchmarks/real_reid.py --market-dir /tmp/pets09_market --no-default-rows
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from pathlib import Path

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import cli_entry
from mlfn_keras.weights import SHIPPED_REID

SHIPPED = SHIPPED_REID


@cli_entry
def main(argv=None) -> int:
    parser = parser_from_doc(__doc__)
    parser.add_argument("--video", help="PETS09 vtest.avi (default: the cached copy, else fetched with apt-get)")
    parser.add_argument("--models", nargs="*", default=[], metavar="SPEC",
                        help="more rows: any embedder spec (a .keras/.onnx/.tflite/SavedModel path, hist, "
                             "untrained[:PRESET], A+B); see docs/models.md")
    parser.add_argument("--no-default-rows", action="store_true", help="skip histogram, untrained and shipped rows")
    parser.add_argument("--every", type=int, default=5, help="crop every N-th frame")
    parser.add_argument("--market-dir", help="also write the crops as a Market-1501-layout folder here")
    parser.add_argument("--force", action="store_true",
                        help="write --market-dir beside files it did not write (they are kept, never replaced)")
    parser.add_argument("--fuse-hist", action="store_true",
                        help="also a 'model + colour histogram' row for the shipped weights and every --models entry")
    parser.add_argument("--json", help="write the figures as JSON here")
    args = parser.parse_args(argv)

    from mlfn_keras.data.pets09_reid import check_market_layout_output
    from mlfn_keras.fileio import run_lock

    with contextlib.ExitStack() as outputs:
        if args.market_dir:  # refused before any work; one run per folder
            outputs.enter_context(run_lock(args.market_dir, "--market-dir"))
            check_market_layout_output(args.market_dir, force=args.force)
        return run(args)


def run(args) -> int:
    """The benchmark for parsed arguments (outputs already checked and locked by `main`)."""
    from mlfn_keras.data.pets09 import reid_crops
    from mlfn_keras.data.pets09_reid import write_market_layout
    from mlfn_keras.evaluation.pets09 import score_models, score_table
    from mlfn_keras.runtime import load_embedder
    from mlfn_keras.fileio import write_json

    start = time.time()
    crops = reid_crops(args.video, every=args.every)
    print(f"{len(crops)} ground-truth crops of {len({c.pid for c in crops})} people ({time.time() - start:.0f} s)")
    if args.market_dir:
        out = write_market_layout(crops, args.market_dir, force=args.force)
        print(f"Market-1501 layout written to {out}")
    rows = {} if args.no_default_rows else {"colour histogram (6 stripes x HSV 8x4x4)": "hist",
                                            "mlfn_small, untrained (seed 0)": "untrained:mlfn_small",
                                            f"shipped {SHIPPED.name}": str(SHIPPED)}
    rows.update({m: m for m in args.models})
    if args.fuse_hist:
        for spec in [s for s in rows.values() if s not in ("hist", "untrained:mlfn_small")]:
            rows[f"{Path(spec).name} + colour histogram (equal weights)"] = spec + "+hist"
    if not rows:
        return 0
    models = {name: load_embedder(spec, what="--models entry") for name, spec in rows.items()}
    results = score_models(models, crops)
    print()
    print(score_table(results))
    if args.json:
        write_json(args.json, {name: {p: dataclasses.asdict(s) for p, s in per.items()} for name, per in results.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
