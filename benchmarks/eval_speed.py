"""Times Market-1501-size evaluation: ours vs torchreid's pure-Python evaluator.

Builds a random distance matrix of Market-1501's test size (3,368 queries x
15,913 gallery images, 750 identities over 6 cameras plus distractors and
junk), times `mlfn_keras.evaluation.evaluate_rank` on all of it, and
torchreid 0.2.5's ``evaluate_py`` (the loop evaluator it falls back to
without Cython) on the first ``--torchreid-queries`` queries (all of them
with ``--torchreid-queries 0``), checking that both give the same numbers on
that subset. Optionally also times distances at d=1024 and re-ranking.

Examples:

    python benchmarks/eval_speed.py
    python benchmarks/eval_speed.py --torchreid-queries 0          # full torchreid run (slow)
    python benchmarks/eval_speed.py --distance --rerank --queries 1000 --gallery 5000
"""

from __future__ import annotations

import time

import numpy as np

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry


def market_like_ids(num_query: int, num_gallery: int, seed: int = 0):
    """Random ids/cameras with Market-1501's proportions."""
    rs = np.random.RandomState(seed)
    q_pids = rs.randint(1, 751, num_query)
    g_pids = rs.randint(1, 751, num_gallery)
    n_distractors = int(num_gallery * 2793 / 15913)
    n_junk = int(num_gallery * 3819 / 15913)
    g_pids[:n_distractors] = 0
    g_pids[n_distractors : n_distractors + n_junk] = -1
    rs.shuffle(g_pids)
    return q_pids, g_pids, rs.randint(1, 7, num_query), rs.randint(1, 7, num_gallery)


@cli_entry
def main(argv=None) -> int:
    parser = cli_args.make_parser(
        description=__doc__.split("\n\n")[0],
        epilog="\n".join(__doc__.split("Examples:")[1:]).join(["examples:", ""]),
    )
    parser.add_argument("--queries", type=int, default=3368)
    parser.add_argument("--gallery", type=int, default=15913)
    parser.add_argument("--torchreid-queries", type=int, default=500,
                        help="queries given to torchreid's evaluator (0 = all)")
    parser.add_argument("--distance", action="store_true", help="also time 1024-d Euclidean distances")
    parser.add_argument("--rerank", action="store_true", help="also time k-reciprocal re-ranking")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from mlfn_keras.evaluation import evaluate_rank, pairwise_distance, re_ranking
    from mlfn_keras.evaluation._torchreid import load_torchreid_rank

    nq, ng = args.queries, args.gallery
    q_pids, g_pids, q_cams, g_cams = market_like_ids(nq, ng, args.seed)
    # float64: float32 uniforms tie within a row at this size, and ties may be
    # broken differently once junk columns are dropped for torchreid.
    dist = np.random.RandomState(args.seed + 1).rand(nq, ng)
    print(f"distance matrix {nq} x {ng} (random, Market-1501 id/camera layout)")

    t0 = time.perf_counter()
    ours = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=50)
    t_ours = time.perf_counter() - t0
    print(f"mlfn_keras evaluate_rank (all {nq} queries): {t_ours:.2f} s "
          f"(R1 {100 * ours.rank(1):.3f}%, mAP {100 * ours.mAP:.3f}%)")

    tr = load_torchreid_rank()
    sub = nq if args.torchreid_queries <= 0 else min(nq, args.torchreid_queries)
    # torchreid's loaders drop junk (-1) images, so it sees the gallery without them.
    keep = g_pids != -1
    d_sub = dist[:sub][:, keep]
    t0 = time.perf_counter()
    ref_cmc, ref_map = tr.evaluate_py(
        d_sub, q_pids[:sub], g_pids[keep], q_cams[:sub], g_cams[keep], 50, False
    )
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours_sub = evaluate_rank(dist[:sub], q_pids[:sub], g_pids, q_cams[:sub], g_cams, max_rank=50)
    t_ours_sub = time.perf_counter() - t0
    same = np.array_equal(ours_sub.cmc, ref_cmc) and abs(ours_sub.mAP - ref_map) < 1e-12
    print(f"  max |CMC diff| {np.abs(ours_sub.cmc - ref_cmc).max():.2e}, |mAP diff| {abs(ours_sub.mAP - ref_map):.2e}")
    print(f"torchreid evaluate_py ({sub} queries): {t_ref:.2f} s; ours on the same "
          f"{sub} queries: {t_ours_sub:.2f} s; identical CMC and mAP: {same}")
    if sub < nq:
        print(f"torchreid extrapolated linearly to {nq} queries: ~{t_ref * nq / sub:.0f} s "
              f"(estimate, not measured) -> speed-up ~{t_ref * nq / sub / t_ours:.0f}x")
    else:
        print(f"speed-up: {t_ref / t_ours:.1f}x")

    if args.distance:
        rs = np.random.RandomState(2)
        q = rs.randn(nq, 1024).astype(np.float32)
        g = rs.randn(ng, 1024).astype(np.float32)
        t0 = time.perf_counter()
        pairwise_distance(q, g)
        print(f"pairwise_distance {nq} x {ng} x 1024 euclidean: {time.perf_counter() - t0:.2f} s")
    if args.rerank:
        rs = np.random.RandomState(3)
        centres = rs.randn(800, 64).astype(np.float32)
        q = centres[np.maximum(q_pids, 0) % 800] + rs.randn(nq, 64).astype(np.float32)
        g = centres[np.maximum(g_pids, 0) % 800] + rs.randn(ng, 64).astype(np.float32)
        t0 = time.perf_counter()
        qg, qq, gg = pairwise_distance(q, g), pairwise_distance(q, q), pairwise_distance(g, g)
        rr = re_ranking(qg, qq, gg)
        t_rr = time.perf_counter() - t0
        before = evaluate_rank(qg, q_pids, g_pids, q_cams, g_cams)
        after = evaluate_rank(rr, q_pids, g_pids, q_cams, g_cams)
        print(f"re_ranking {nq} x {ng} (k1=20, k2=6): {t_rr:.1f} s; mAP "
              f"{100 * before.mAP:.2f}% -> {100 * after.mAP:.2f}% on clustered random features")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
