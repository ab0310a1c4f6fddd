"""mlfn-adapt on PETS 2009 S2.L1 under the honest protocol, with its curve.

Adapts on frames 0-399 only, no ground truth read by the adaptation: with
``--footage lr`` (default) the ``lr_first`` split's two pseudo-cameras (left /
right 416 px, 64 px overlap, same clock: the cameras the demo is measured on,
so cross-camera pseudo-labels exist), with ``--footage full`` the full view of
those frames as one video (``time`` split, camera ``first``). Then it
scores re-id on the ground-truth crops of held-out frames 400-794 (12 people,
220 queries, 229 gallery crops) after every round. Also printed per round:
the ``dev`` split (ground-truth crops of frames 0-399, split in time), the only
figures any setting may be chosen on. The held-out scores are measured, never
fed back.

Writes ``OUT/site.keras``, its ONNX export, ``OUT/curve.json`` and
``OUT/curve.png`` (R1/mAP vs adaptation minutes, evaluation time excluded).

Examples:

    export MLFN_KERAS_CACHE=~/.cache/mlfn_keras
    python benchmarks/adapt_pets09.py --output runs/adapt_pets09 --minutes 30
    python benchmarks/adapt_pets09.py --output runs/try --minutes 8 --anchor-weight 0 --eval-every 2
    python benchmarks/adapt_pets09.py --output runs/steps240 --steps 240 --lr-decay constant --eval-every 2
    python benchmarks/real_reid.py --models runs/adapt_pets09/site.keras runs/adapt_pets09/site.onnx --fuse-hist
    python benchmarks/real_video.py --splits lr_second --scene-seeds --reid runs/adapt_pets09/site.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import cli_entry


@cli_entry
def main(argv=None) -> int:
    parser = parser_from_doc(__doc__)
    parser.add_argument("--output", required=True, help="run folder")
    parser.add_argument("--video", help="PETS09 vtest.avi (default: cached, else fetched with apt-get)")
    parser.add_argument("--minutes", type=float, default=30.0, help="adaptation budget")
    parser.add_argument("--init", help="starting .keras (default: shipped weights)")
    parser.add_argument("--export", default="onnx", choices=("onnx", "tflite", "none"))
    parser.add_argument("--footage", default="lr", choices=("lr", "full"),
                        help="frames 0-399 as the lr pseudo-cameras (two videos) or the full view (one)")
    parser.add_argument("--cluster-features", default="model", choices=("model", "model+hist"))
    parser.add_argument("--max-crops", type=int, default=32, help="crops kept per tracklet")
    parser.add_argument("--min-crops", type=int, default=4, help="shortest tracklet kept, in good boxes")
    parser.add_argument("--anchor-weight", type=float, default=None, help="feature anchor (default: AdaptConfig's)")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: AdaptConfig's)")
    parser.add_argument("--lr-decay", default=None, choices=("constant", "cosine"), help="default: AdaptConfig's")
    parser.add_argument("--steps-per-round", type=int, default=None, help="default: AdaptConfig's")
    parser.add_argument("--steps", type=int, default=None,
                        help="fixed training budget in optimiser steps (whole rounds) instead of --minutes, so runs on "
                             "machines under different load compare; use with --lr-decay constant (cosine follows minutes)")
    parser.add_argument("--eval-every", type=int, default=1,
                        help="score dev/held-out every N rounds (and round 0 and the last); saves wall time")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)

    from mlfn_keras.fileio import check_output_dir, legacy_listing, run_lock

    with run_lock(args.output, "--output"):  # one run per folder; a foreign folder is refused before any work
        claim = check_output_dir(args.output, "mlfn_keras.adapt_pets09", force=args.force, writes=OUTPUT_NAMES,
                                 legacy=legacy_listing(OUTPUT_NAMES, "curve.json"))
        claim.write_manifest(OUTPUT_NAMES)
        return run(args)


#: What the benchmark writes into --output.
OUTPUT_NAMES = ("site.keras", "site.onnx", "site.tflite", "site.adapt.json", "site.adapt-checkpoint", "curve.json",
                "curve.png")


def run(args) -> int:
    """The benchmark for parsed arguments (the output folder already checked and locked by `main`)."""
    from mlfn_keras.adapt import AdaptConfig, AdaptRequest, run_adaptation
    from mlfn_keras.adapt.trainer import embed_crops
    from mlfn_keras.data.pets09 import prepare_split, reid_crops
    from mlfn_keras.data.pets09_reid import ADAPT_FRAMES, PROTOCOLS, Protocol, protocol_crops, to_rgb
    from mlfn_keras.evaluation.pets09 import score_embeddings
    from mlfn_keras.fileio import atomic_output, write_json
    from mlfn_keras.preprocessing import resize_crops, to_uint8

    out = Path(args.output)
    files = prepare_split("lr_first" if args.footage == "lr" else "time", video=args.video)
    files = files if args.footage == "lr" else files[:1]
    assert all((f.camera.start, f.camera.stop) == ADAPT_FRAMES for f in files)
    crops = reid_crops(args.video)
    protocols = {"dev": Protocol("dev", ADAPT_FRAMES, "frames 0-399 (tuning only)"), "heldout": PROTOCOLS["heldout"]}
    sets = {}

    def prep(cs):
        return to_uint8(resize_crops(to_rgb(cs), (128, 64)))

    for name, p in protocols.items():
        q, g = protocol_crops(crops, p)
        sets[name] = (prep(q), prep(g), [c.pid for c in q], [c.pid for c in g])

    def on_round(record, model):
        last = minutes_left(record) <= 0 or (max_rounds is not None and record.round >= max_rounds)
        if record.round % args.eval_every and not last:
            return {}
        scores = {}
        for name, (q, g, qp, gp) in sets.items():
            s = score_embeddings(embed_crops(model, q), embed_crops(model, g), qp, gp)
            scores[f"{name}_R1"], scores[f"{name}_mAP"] = round(s.r1, 1), round(s.mAP, 1)
        return scores

    def minutes_left(record):
        return args.minutes - record.minutes

    defaults = AdaptConfig()
    steps_per_round = args.steps_per_round or defaults.steps_per_round
    if args.steps is not None:  # a step budget: no time limit, whole rounds
        args.minutes, max_rounds = 1e6, max(1, -(-args.steps // steps_per_round))
    else:
        max_rounds = None
    config = AdaptConfig(minutes=args.minutes, max_rounds=max_rounds, cluster_features=args.cluster_features,
                         anchor_weight=defaults.anchor_weight if args.anchor_weight is None else args.anchor_weight,
                         learning_rate=args.lr or defaults.learning_rate, lr_decay=args.lr_decay or defaults.lr_decay,
                         steps_per_round=steps_per_round)
    request = AdaptRequest(sources=[str(f.video) for f in files], out=out / "site.keras", init=args.init,
                           export=args.export, force=args.force, min_crops=args.min_crops, max_crops=args.max_crops,
                           config=config, progress=not args.quiet)
    print(f"footage: {', '.join(str(f.video) for f in files)}; {config}")
    summary = run_adaptation(request, on_round=on_round)
    print("\n".join(summary.lines()))
    rounds = summary.result.rounds
    curve = [{"round": r.round, "minutes": r.minutes, "steps": r.steps, "threshold": r.threshold,
              "pseudo_identities": r.pseudo_identities, **r.extra} for r in rounds]
    write_json(out / "curve.json", curve)
    print("\n| round | minutes | steps | pseudo-ids | threshold | dev R1 | dev mAP | held-out R1 | held-out mAP |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in curve:
        if "dev_R1" not in c:
            continue
        print(f"| {c['round']} | {c['minutes']:.1f} | {c['steps']} | {c['pseudo_identities']} | {c['threshold']:.3f} | "
              f"{c['dev_R1']:.1f} | {c['dev_mAP']:.1f} | {c['heldout_R1']:.1f} | {c['heldout_mAP']:.1f} |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    curve = [c for c in curve if "dev_R1" in c]
    m = [c["minutes"] for c in curve]
    ax.plot(m, [c["heldout_R1"] for c in curve], "o-", label="held-out R1")
    ax.plot(m, [c["heldout_mAP"] for c in curve], "s-", label="held-out mAP")
    ax.plot(m, [c["dev_R1"] for c in curve], "o--", alpha=0.5, label="dev (frames 0-399) R1")
    ax.axhline(80, color="grey", lw=0.8, ls=":")
    ax.axhline(65, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("adaptation minutes (2-core CPU, shared)")
    ax.set_ylabel("%")
    ax.set_title("mlfn-adapt on PETS09 frames 0-399, scored on 400-794")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_output(out / "curve.png") as tmp:
        fig.savefig(tmp, dpi=120)
    print(f"curve: {out / 'curve.json'}, {out / 'curve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
