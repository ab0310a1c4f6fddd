"""Training steps per second on one worker, two logical devices and two local workers (the overhead's shape).

Each setting trains the same preset on the same generated identities with the
same **global** batch, in its own processes, through ``mlfn_keras.training.train``:

* ``1 worker`` — ``--strategy default``, one device;
* ``2 logical devices`` — ``--strategy mirrored`` over the CPU split into two
  logical devices (one process);
* ``2 local workers`` — ``--strategy multiworker``, two processes on
  127.0.0.1 (``--workers``), gradients all-reduced over gRPC.

Steps per second are measured after ``--warmup`` steps (tracing) to the last
step, on the chief. On one CPU the two-replica settings share the same cores,
so they show the cost of synchronising, not a speed-up; on several GPUs or
machines each replica brings its own.

Examples:

    python benchmarks/train_distributed.py                      # mlfn_tiny, global batch 16, 40 steps
    python benchmarks/train_distributed.py --preset mlfn_small --batch-size 32 --steps 30 --warmup 5
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlfn_keras.errors import cli_entry

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ("1 worker", "2 logical devices", "2 local workers")


def _child(args: argparse.Namespace) -> None:
    if args.child == "mirrored":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from mlfn_keras.training import TrainConfig, train

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.marks: list[tuple[int, float]] = []

        def on_train_batch_end(self, batch, logs=None):
            self.marks.append((int(self.model.optimizer.iterations.numpy()), time.perf_counter()))

    clock = Clock()
    strategy = {"single": "default", "mirrored": "mirrored", "multiworker": "multiworker"}[args.child]
    config = TrainConfig(dataset="synthetic", data_root=args.data_root, preset=args.preset, output=args.output,
                         steps=args.steps, batch_size=args.batch_size, checkpoint_every=args.steps, verbose=0,
                         strategy=strategy, workers=args.workers, worker_index=args.worker_index, seed=0,
                         synthetic=dict(num_identities=args.identities, num_cameras=2, images_per_identity_camera=4))
    result = train(config, callbacks=[clock])
    (n0, t0), (n1, t1) = clock.marks[args.warmup - 1], clock.marks[-1]
    print("RESULT " + json.dumps({"steps_per_s": (n1 - n0) / (t1 - t0), "replicas": result.num_replicas,
                                  "chief": result.is_chief}), flush=True)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _run(children: list[list[str]], timeout: float) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    # Output to files, not pipes: a worker blocked on a full pipe would stall the other's collectives.
    logs = [tempfile.TemporaryFile("w+") for _ in children]
    procs = [subprocess.Popen([sys.executable, __file__, *c], env=env, stdout=log, stderr=subprocess.STDOUT,
                              text=True) for c, log in zip(children, logs)]
    results = []
    try:
        deadline = time.monotonic() + timeout
        for p, log in zip(procs, logs):
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
            log.seek(0)
            out = log.read()
            lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
            if p.returncode != 0 or not lines:
                raise SystemExit(f"a benchmark process failed (exit {p.returncode}):\n{out[-3000:]}")
            results.append(json.loads(lines[-1][len("RESULT "):]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for log in logs:
            log.close()
    return results


@cli_entry
def main(argv=None) -> int:
    from mlfn_keras.cli_args import parser_from_doc

    parser = parser_from_doc(__doc__, prog="benchmarks/train_distributed.py")
    parser.add_argument("--preset", default="mlfn_tiny")
    parser.add_argument("--batch-size", type=int, default=16, help="global batch (default 16)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5, help="steps before the clock starts (default 5)")
    parser.add_argument("--identities", type=int, default=32, help="generated identities (default 32)")
    parser.add_argument("--data-root", help="generated data set folder (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per setting (default 1800)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--child", choices=("single", "mirrored", "multiworker"), help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--workers", help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 < args.warmup < args.steps:
        parser.error(f"--warmup got {args.warmup}; expected 1 to --steps - 1 ({args.steps - 1})")
    if args.child:
        _child(args)
        return 0

    with tempfile.TemporaryDirectory(prefix="mlfn-train-bench-") as tmp:
        data_root = args.data_root or str(Path(tmp) / "data")
        common = ["--preset", args.preset, "--batch-size", str(args.batch_size), "--steps", str(args.steps),
                  "--warmup", str(args.warmup), "--identities", str(args.identities), "--data-root", data_root]
        # Generate the data once, outside the timed runs.
        _run([[*common, "--child", "single", "--output", str(Path(tmp) / "warm")]], args.timeout)
        rows = {}
        rows["1 worker"] = _run([[*common, "--child", "single", "--output", str(Path(tmp) / "one")]],
                                args.timeout)[0]
        rows["2 logical devices"] = _run([[*common, "--child", "mirrored", "--output", str(Path(tmp) / "mir")]],
                                         args.timeout)[0]
        workers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(2))
        results = _run([[*common, "--child", "multiworker", "--output", str(Path(tmp) / "mw"), "--workers", workers,
                         "--worker-index", str(i)] for i in range(2)], args.timeout)
        rows["2 local workers"] = next(r for r in results if r["chief"])

    base = rows["1 worker"]["steps_per_s"]
    print(f"\nTraining speed, {args.preset}, global batch {args.batch_size}, steps {args.warmup + 1}-{args.steps} "
          f"timed ({os.cpu_count()} CPU cores)\n")
    print("| setting | replicas | images per replica | steps/s | images/s | vs 1 worker |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in SETTINGS:
        r = rows[name]
        print(f"| {name} | {r['replicas']} | {args.batch_size // r['replicas']} | {r['steps_per_s']:.2f} | "
              f"{r['steps_per_s'] * args.batch_size:.1f} | {r['steps_per_s'] / base:.2f}x |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
