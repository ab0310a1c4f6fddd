"""Multi-box benchmark: a site of edge processes and a central on a private redis-server, every figure as a table.

Prints, as markdown tables:

* global-id latency p50/p95/p99 by hop and messages/s, MB/s per camera
  (two edges playing the short built-in scene at its frame rate);
* recovery time and late / duplicate / dropped counts for each fault
  (redis, an edge and the central SIGKILLed and restarted; a central slowed to
  50 ms per tick for 10 s; 10 % duplicated and reordered deliveries), with
  whether the output equals the uninterrupted run's;
* cameras per central: the recorded messages replayed as 8, 32 and 128
  virtual cameras; central tick time, whether it keeps up at 15 ticks/s,
  Redis memory;
* a simulated 8-hour day at 32 cameras: the central's RSS and tick time per hour;
* the same day recorded: the final re-clustering by 30-minute windows against
  all tracklets at once (time, peak memory, pairwise precision / recall);
* cross-camera IDF1, multi-box against single box on PETS09 `lr` and the
  built-in scene with the shipped re-id model, beside the colour histogram,
  no-re-id and oracle rows of the same runs.

The fault, latency and capacity parts use the colour-histogram stand-in
embedder (no TensorFlow in the edges); the IDF1 part uses the shipped model
and SSDLite on PETS09 (a few minutes per setting).

Examples:

    # everything (about 30-40 minutes on a 2-core machine)
    python benchmarks/multibox.py

    # only the faults and the latency, keeping the runs
    python benchmarks/multibox.py --parts latency faults --output runs/multibox

    # a shorter simulated day, live and recorded
    python benchmarks/multibox.py --parts day final --day-hours 2
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import cli_entry

PARTS = ("latency", "faults", "capacity", "day", "final", "idf1")


def build_parser() -> argparse.ArgumentParser:
    parser = parser_from_doc(__doc__, prog="benchmarks/multibox.py")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="what to run (default: all)")
    parser.add_argument("--cameras", nargs="+", type=int, default=[8, 16, 32, 64, 128], metavar="N",
                        help="capacity: virtual cameras (default: 8 16 32 64 128)")
    parser.add_argument("--day-cameras", type=int, default=32, help="simulated day: cameras (default: 32)")
    parser.add_argument("--day-hours", type=float, default=8.0, help="simulated day: hours (default: 8)")
    parser.add_argument("--final-hours", type=float, nargs="+", default=[2.0, 8.0], metavar="H",
                        help="recorded day: hours, one run each (default: 2 8)")
    parser.add_argument("--splits", nargs="*", default=["lr"], help="IDF1: PETS09 splits (default: lr)")
    parser.add_argument("--scene-seeds", nargs="*", type=int, default=[0], help="IDF1: built-in scene seeds (default: 0)")
    parser.add_argument("--video", default=None, metavar="PATH", help="PETS09 vtest.avi (default: cached, else apt-get download opencv-doc)")
    parser.add_argument("--output", default=None, metavar="DIR", help="keep every run here (default: a temporary folder)")
    return parser


def _log(quiet: bool):
    return (lambda line: None) if quiet else (lambda line: print(line, file=sys.stderr, flush=True))


def _f(v: float, fmt: str = ".1f") -> str:
    return "–" if v != v else format(v, fmt)


def part_latency(root: Path, log) -> str:
    from mlfn_keras.tracking.bench.multibox import latency_rows, run_fault_realtime, short_scene_files, traffic_rows

    log("latency: two edges playing the short scene at its frame rate ...")
    r = run_fault_realtime(short_scene_files()[0], root / "latency")
    lines = ["### Global-id latency (ms) from the capture of the frame where a track became ready to the id at its edge",
             "", "| hop | p50 | p95 | p99 |", "|---|---:|---:|---:|"]
    lines += [f"| {hop} | {_f(p50)} | {_f(p95)} | {_f(p99)} |" for hop, (p50, p95, p99) in latency_rows(r.edges)]
    lines += ["", "### Traffic per camera (one camera per edge)", "", "| edge | messages/s | MB/s | ids received |",
              "|---|---:|---:|---:|"]
    lines += [f"| {e} | {m:.1f} | {mb:.4f} | {n} |" for e, m, mb, n in traffic_rows(r.edges)]
    return "\n".join(lines)


def part_faults(root: Path, log) -> str:
    from mlfn_keras.tracking.bench.multibox import (
        DuplicateAndReorder,
        run_fault,
        run_in_process,
        same_mot,
        short_scene_files,
        single_box,
    )

    specs = short_scene_files()[0]
    log("faults: the single-box reference ...")
    reference = single_box(specs, root / "single")
    rows = []
    for fault, label in (("none", "none (reference site run)"), ("redis", "redis SIGKILLed, restarted"),
                         ("edge", "edge SIGKILLed, restarted"), ("central", "central SIGKILLed, restarted"),
                         ("slow", "central 50 ms per tick for 10 s")):
        log(f"faults: {label} ...")
        r = run_fault(fault, specs, root / f"fault_{fault}")
        site = r.central["site"]
        dropped = sum(e["publisher"]["dropped_boxes"] + e["publisher"]["dropped_other"] for e in r.edges)
        kinds = ("mot_local",) if fault == "edge" else ("mot", "mot_local")
        names = ("cam0",) if fault == "edge" else ("cam0", "cam1")
        same = "yes" if not same_mot(reference, r.output, names, kinds) else "**no**"
        if fault == "edge":
            same += " (cam0's tracks; cam1 restarted)"
        recovery = f"{r.recovery_seconds:.1f}" if r.recovery_seconds is not None else (
            f"lag drained {r.notes['drain_seconds']:.1f} s after the edges finished" if fault == "slow" else "–")
        rows.append(f"| {label} | {recovery} | {site['late']} | {site['duplicates']} | {dropped} | {site['gaps']} | {same} |")
    log("faults: 10 % duplicated and reordered deliveries ...")
    summary, edges = run_in_process(specs, root / "fault_dup", deliveries=DuplicateAndReorder(0.1, seed=1))
    same = "yes" if not same_mot(reference, root / "fault_dup") else "**no**"
    dropped = sum(e.publisher.dropped_boxes + e.publisher.dropped_other for e in edges.values())
    rows.append(f"| 10 % duplicated + reordered deliveries (fakeredis) | – | {summary.late} | {summary.duplicates} | "
                f"{dropped} | {summary.gaps} | {same} |")
    head = ["### Faults (two edges on the short scene, colour-histogram stand-in embedder)", "",
            "Recovery: from the fault until the part is working again (the broker answers and the edges publish; the "
            "restarted edge publishes; the restarted central writes).", "",
            "| fault | recovery (s) | late | duplicates | dropped | holes skipped | output equals the uninterrupted run |",
            "|---|---:|---:|---:|---:|---:|---|"]
    return "\n".join(head + rows)


def part_capacity(root: Path, cameras, log) -> str:
    from mlfn_keras.tracking.bench.multibox import record_messages, replay_capacity, short_scene_files

    log("capacity: recording the short scene's edge messages ...")
    recording = record_messages(short_scene_files()[0])
    lines = ["### Cameras per central (recorded messages replayed as virtual cameras, central online, as fast as it reads)",
             "", ("| cameras | ticks | tick p50 (ms) | tick p95 (ms) | tick p99 (ms) | ticks/s | keeps up at 15 ticks/s "
                  "| revisions | revision lands after (s of footage) | Redis memory (MB) |"),
             "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for n in cameras:
        log(f"capacity: {n} virtual cameras ...")
        r = replay_capacity(recording, n, log=log)
        p50, p95, p99 = r.tick_ms
        lines.append(f"| {n} | {r.ticks} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {r.ticks_per_second:.1f} | "
                     f"{'yes' if r.keeps_up else 'no'} | {r.revisions} | {r.revision_seconds:.2f} | {r.redis_mb:.1f} |")
    return "\n".join(lines)


def part_day(cameras: int, hours: float, log) -> str:
    from mlfn_keras.tracking.bench.multibox import simulate_day

    log(f"day: {hours:g} simulated hours at {cameras} cameras ...")
    rows = simulate_day(cameras=cameras, hours=hours, log=log)
    lines = [f"### A simulated day: {cameras} cameras, 300 people an hour, 1 tick per simulated second, revision every 30 s",
             "", "| hour | central RSS (MB) | tick p50 (ms) | tick p99 (ms) | tracklets held | identities | global ids so far |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.hour} | {r.rss_mb:.0f} | {r.tick_ms[0]:.2f} | {r.tick_ms[2]:.1f} | {r.tracklets} | {r.identities} | {r.global_ids} |"
              for r in rows]
    return "\n".join(lines)


def part_final(cameras: int, hours: list[float], log) -> str:
    from mlfn_keras.tracking.bench.multibox import finalize_day

    lines = [f"### A recorded day's final ids: {cameras} cameras, 300 people an hour, grouped by 30-minute windows or at once",
             "", ("| hours | tracklets | grouping | most tracklets grouped at once | time (s) | peak memory (MB) | "
                  "identities | pair precision | pair recall |"), "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for h in hours:
        log(f"final: {h:g} recorded hours at {cameras} cameras ...")
        for r in finalize_day(cameras=cameras, hours=h, log=log):
            way = "at once" if r.window_seconds is None else f"{r.window_seconds / 60:g}-minute windows"
            lines.append(f"| {h:g} | {r.tracklets} | {way} | {r.largest_group} | {r.seconds:.1f} | {r.peak_mb:.0f} | "
                         f"{r.identities} | {r.pair_precision * 100:.1f} | {r.pair_recall * 100:.1f} |")
    return "\n".join(lines)


def part_idf1(root: Path, splits, seeds, video, log) -> str:
    from mlfn_keras.tracking.bench.multibox import LocalSite
    from mlfn_keras.tracking.bench.realvideo import (
        AUTO_DETECTOR,
        HIST,
        SHIPPED_REID,
        load_embedder,
        pets09_setting,
        run_setting,
        scene_setting,
        score_run_dir,
    )

    settings = [scene_setting(s, progress=False) for s in seeds] + [pets09_setting(s, video, log) for s in splits]
    lines = ["### Cross-camera IDF1: multi-box (two edge processes + central) against the single box, same files",
             "", "| setting | multi-box, shipped | single box, shipped | difference | single box, colour histogram | no re-id | oracle |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    shipped, hist = load_embedder(SHIPPED_REID), load_embedder(HIST)
    for s in settings:
        log(f"idf1: {s.name}, single box ...")
        one = run_setting(s, SHIPPED_REID, shipped, str(root / f"{s.slug}_single"), progress=False)
        h = run_setting(s, HIST, hist, str(root / f"{s.slug}_hist"), progress=False)
        log(f"idf1: {s.name}, multi-box ...")
        with LocalSite(s.specs, root / f"{s.slug}_site", reid=SHIPPED_REID, detector=AUTO_DETECTOR[s.kind]) as site:
            site.start()
            site.wait(3600)
        multi = score_run_dir(root / f"{s.slug}_site" / "central", s.gt_paths, [c.name for c in s.specs])
        d = (multi.cross_camera - one.scores.cross_camera) * 100
        lines.append(f"| {s.name} | {multi.cross_camera * 100:.1f} | {one.scores.cross_camera * 100:.1f} | {d:+.1f} | "
                     f"{h.scores.cross_camera * 100:.1f} | {one.scores.no_reid * 100:.1f} | {one.scores.oracle * 100:.1f} |")
    return "\n".join(lines)


@cli_entry
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from mlfn_keras.tracking.site.local import LocalRedis

    LocalRedis()  # fails with a clear message when redis-server is missing
    log = _log(args.quiet)
    root = Path(args.output) if args.output else Path(tempfile.mkdtemp(prefix="mlfn-multibox-"))
    root.mkdir(parents=True, exist_ok=True)
    import os
    import platform

    print(f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}", flush=True)
    parts = {
        "latency": lambda: part_latency(root, log),
        "faults": lambda: part_faults(root, log),
        "capacity": lambda: part_capacity(root, args.cameras, log),
        "day": lambda: part_day(args.day_cameras, args.day_hours, log),
        "final": lambda: part_final(args.day_cameras, args.final_hours, log),
        "idf1": lambda: part_idf1(root, args.splits, args.scene_seeds, args.video, log),
    }
    try:
        for name in PARTS:
            if name in args.parts:
                print("\n" + parts[name](), flush=True)  # each table as soon as it is measured
    finally:
        if not args.output:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
