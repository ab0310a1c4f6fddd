"""mlfn-adapt on PETS 2009 S2.L1 under the honest protocol, with its curve.

Adapts on frames 0-399 only (``time`` split, camera ``first``: the full view of
those frames as one video; no ground truth is read by the adaptation), then
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
    python benchmarks/real_reid.py --models runs/adapt_pets09/site.keras runs/adapt_pets09/site.onnx
"""

from __future__ import annotations

import json
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
    parser.add_argument("--cluster-features", default="model", choices=("model", "model+hist"))
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    import numpy as np

    from mlfn_keras.adapt import AdaptConfig, AdaptRequest, run_adaptation
    from mlfn_keras.adapt.trainer import embed_crops
    from mlfn_keras.data.pets09 import prepare_split, reid_crops
    from mlfn_keras.data.pets09_reid import ADAPT_FRAMES, PROTOCOLS, Protocol, protocol_crops, score_embeddings
    from mlfn_keras.preprocessing import resize_crops

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    first = prepare_split("time", video=args.video)[0]
    assert (first.camera.start, first.camera.stop) == ADAPT_FRAMES
    crops = reid_crops(args.video)
    protocols = {"dev": Protocol("dev", ADAPT_FRAMES, "frames 0-399 (tuning only)"), "heldout": PROTOCOLS["heldout"]}
    sets = {}

    def prep(cs):
        return np.clip(np.rint(resize_crops([c.image[:, :, ::-1] for c in cs], (128, 64))), 0, 255).astype(np.uint8)

    for name, p in protocols.items():
        q, g = protocol_crops(crops, p)
        sets[name] = (prep(q), prep(g), [c.pid for c in q], [c.pid for c in g])

    def on_round(record, model):
        scores = {}
        for name, (q, g, qp, gp) in sets.items():
            s = score_embeddings(embed_crops(model, q), embed_crops(model, g), qp, gp)
            scores[f"{name}_R1"], scores[f"{name}_mAP"] = round(s.r1, 1), round(s.mAP, 1)
        return scores

    request = AdaptRequest(sources=[str(first.video)], out=out / "site.keras", init=args.init, export=args.export,
                           force=args.force, config=AdaptConfig(minutes=args.minutes, cluster_features=args.cluster_features), progress=not args.no_progress)
    summary = run_adaptation(request, on_round=on_round)
    print("\n".join(summary.lines()))
    rounds = summary.result.rounds
    curve = [{"round": r.round, "minutes": r.minutes, "steps": r.steps, "threshold": r.threshold,
              "pseudo_identities": r.pseudo_identities, **r.extra} for r in rounds]
    (out / "curve.json").write_text(json.dumps(curve, indent=2))
    print("\n| round | minutes | steps | pseudo-ids | threshold | dev R1 | dev mAP | held-out R1 | held-out mAP |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in curve:
        print(f"| {c['round']} | {c['minutes']:.1f} | {c['steps']} | {c['pseudo_identities']} | {c['threshold']:.3f} | "
              f"{c['dev_R1']:.1f} | {c['dev_mAP']:.1f} | {c['heldout_R1']:.1f} | {c['heldout_mAP']:.1f} |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
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
    fig.savefig(out / "curve.png", dpi=120)
    print(f"curve: {out / 'curve.json'}, {out / 'curve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
