"""``mlfn-train``: parse the command line into a :class:`TrainConfig` and call :func:`train`."""

from __future__ import annotations

import argparse
from typing import Sequence

from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry
from mlfn_keras.training.recipes import TrainConfig

__all__ = ["config_from_args", "main"]

_EPILOG = """examples:
  # no data needed: generated identities, 5 minutes on a CPU
  %(prog)s --dataset synthetic --preset mlfn_small --minutes 5 --output runs/synthetic

  # the paper's Market-1501 setting (Adam 3.5e-4, batch 64, 100k steps) from ImageNet weights
  %(prog)s --dataset market1501 --data-root ~/data/Market-1501-v15.09.15 \\
      --preset mlfn --init-weights init.keras --output runs/market

  # CUHK03 767/700, detected boxes (lr 5e-4, 75k steps chosen automatically)
  %(prog)s --dataset cuhk03 --data-root ~/data/cuhk03 --init-weights init.keras

  # CIFAR-100 recipe (SGD Nesterov, lr 0.1 x0.1 every 100 epochs, batch 256)
  %(prog)s --dataset cifar100 --data-root ~/data/cifar-100-python.tar.gz

  # "bag of tricks" on all local GPUs, mixed precision + XLA
  %(prog)s --dataset market1501 --data-root ~/data/market --label-smoothing 0.1 \\
      --triplet-weight 1 --bnneck --warmup-steps 2000 --schedule cosine \\
      --random-erasing 0.5 --mixed-precision --xla --strategy mirrored

  # two machines (or two processes on one): the same command on each, its own --worker-index
  %(prog)s --dataset market1501 --data-root ~/data/market --output runs/market \\
      --workers 10.0.0.1:2222,10.0.0.2:2222 --worker-index 0     # on 10.0.0.1 (the chief)
  %(prog)s --dataset market1501 --data-root ~/data/market --output runs/market \\
      --workers 10.0.0.1:2222,10.0.0.2:2222 --worker-index 1     # on 10.0.0.2

--batch-size is the global batch over all devices and workers; the learning
rate is the one for that batch, whatever the number of devices.
Re-running a command with the same --output resumes from its last checkpoint
at its exact step; a checkpoint of another run is refused (use --fresh).
Several machines: only the chief (worker 0) writes --output; re-run every
worker's command to resume. TF_CONFIG works instead of --workers.
"""


def _parser() -> argparse.ArgumentParser:
    p = cli_args.make_parser("mlfn-train", "Train an MLFN preset with model.fit (paper recipe by default).", _EPILOG,
                             quiet_help="no progress bar or progress lines (same as --verbose 0)")
    d = TrainConfig()
    p.add_argument("--dataset", default=d.dataset,
                   help="market1501, dukemtmcreid, cuhk03, cuhk03_labeled, msmt17, cifar100 or synthetic "
                        "(default: synthetic)")
    p.add_argument("--data-root", metavar="DIR", help="data set folder or archive (synthetic: where to generate; default cache)")
    p.add_argument("--preset", help="model preset (default: mlfn; mlfn_cifar for cifar100)")
    cli_args.add_output(p, default=d.output, help=f"run folder (default: {d.output})")
    budget = p.add_argument_group("budget")
    budget.add_argument("--steps", type=int, help="training iterations (default: paper's, e.g. 100000)")
    budget.add_argument("--minutes", type=float, help="stop cleanly after this many minutes")
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, help="global batch size (default: 64; 256 for cifar100)")
    opt.add_argument("--lr", dest="learning_rate", type=float, help="initial learning rate (default: paper's)")
    opt.add_argument("--optimizer", choices=("adam", "sgd"), help="default: adam (sgd for cifar100)")
    opt.add_argument("--weight-decay", type=float, help="decoupled weight decay (default 0; 1e-4 for cifar100)")
    opt.add_argument("--schedule", choices=("constant", "cosine", "step"), help="lr schedule (default: constant)")
    opt.add_argument("--decay-every", type=int, help="steps between x0.1 decays of --schedule step")
    opt.add_argument("--warmup-steps", type=int, default=0, help="linear warm-up steps (default 0)")
    tricks = p.add_argument_group("beyond the paper (opt-in)")
    tricks.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing")
    tricks.add_argument("--triplet-weight", type=float, default=0.0, help="batch-hard triplet loss weight")
    tricks.add_argument("--triplet-margin", type=float, default=d.triplet_margin, help="triplet margin (0.3)")
    tricks.add_argument("--num-instances", type=int, default=d.num_instances, help="K of PxK batches (4)")
    tricks.add_argument("--bnneck", action="store_true", help="BatchNorm neck before the classifier")
    tricks.add_argument("--random-erasing", type=float, default=0.0, help="random erasing probability")
    tricks.add_argument("--no-flip", dest="flip", action="store_false", help="disable left-right flips")
    sys_ = p.add_argument_group("system")
    cli_args.add_init_weights(sys_, help=".keras file to initialise from (e.g. converted ImageNet ResNeXt)")
    sys_.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPU)")
    sys_.add_argument("--xla", action="store_true", help="XLA-compile the train step")
    sys_.add_argument("--strategy", default="auto", choices=("auto", "default", "mirrored", "multiworker"),
                      help="tf.distribute strategy (auto: multiworker with --workers or TF_CONFIG, mirrored with "
                           ">1 GPU; mirrored without GPUs uses the logical CPU devices)")
    sys_.add_argument("--workers", metavar="HOST:PORT,...",
                      help="every worker of a multi-machine run, the chief first (same list on every worker; "
                           "implies --strategy multiworker)")
    sys_.add_argument("--worker-index", type=int, help="this worker's place in --workers (0 = the chief)")
    sys_.add_argument("--cluster-timeout", type=float, default=d.cluster_timeout,
                      help=f"seconds to wait for every worker to join (default {d.cluster_timeout:g})")
    sys_.add_argument("--fresh", action="store_true",
                      help="discard the checkpoint in --output and start over (instead of resuming or refusing)")
    sys_.add_argument("--force", action="store_true",
                      help="write into an --output folder holding files a training run did not write (kept)")
    sys_.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                      help="steps between checkpoints/log lines (default 1000)")
    sys_.add_argument("--seed", type=int, default=0)
    sys_.add_argument("--deterministic", action="store_true", help="deterministic ops (slower; the data order always follows --seed)")
    sys_.add_argument("--save-classifier", action="store_true", help="also save classifier.keras")
    sys_.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None, help="0 quiet, 1 progress (a bar on a terminal, lines in a log), 2 progress lines")
    syn = p.add_argument_group("synthetic data set")
    syn.add_argument("--synthetic-identities", type=int, help="generated identities (default 300, half for training)")
    syn.add_argument("--synthetic-cameras", type=int, help="generated cameras (default 4)")
    syn.add_argument("--synthetic-images", type=int, help="images per identity per camera (default 4)")
    return p


def _check_args(parser: argparse.ArgumentParser, args: dict) -> None:
    """Refuses values that cannot train, before any data is read (exit code 2)."""
    for flag, key in (("--steps", "steps"), ("--batch-size", "batch_size"), ("--checkpoint-every", "checkpoint_every"),
                      ("--num-instances", "num_instances"), ("--synthetic-identities", "synthetic_identities"),
                      ("--synthetic-cameras", "synthetic_cameras"), ("--synthetic-images", "synthetic_images")):
        if args.get(key) is not None and args[key] < 1:
            parser.error(f"{flag} got {args[key]}; expected a whole number of 1 or more.")
    if args.get("worker_index") is not None and args["worker_index"] < 0:
        parser.error(f"--worker-index got {args['worker_index']}; expected 0 (the chief) or more.")
    if args.get("cluster_timeout") is not None and args["cluster_timeout"] <= 0:
        parser.error(f"--cluster-timeout got {args['cluster_timeout']}; expected seconds greater than 0.")
    if args.get("minutes") is not None and args["minutes"] <= 0:
        parser.error(f"--minutes got {args['minutes']}; expected minutes greater than 0.")
    if args.get("preset") is not None:
        from mlfn_keras.presets import PRESETS

        if args["preset"] not in PRESETS:
            parser.error(f"--preset got {args['preset']!r}; expected one of {', '.join(sorted(PRESETS))}.")
    from mlfn_keras.data.registry import DATASETS

    known = sorted({*DATASETS, "cifar100"})
    if args.get("dataset") not in known:
        parser.error(f"--dataset got {args.get('dataset')!r}; expected one of {', '.join(known)}.")


def config_from_args(argv: Sequence[str] | None = None) -> TrainConfig:
    """Parses command-line arguments into a :class:`TrainConfig`."""
    parser = _parser()
    args = vars(parser.parse_args(argv))
    _check_args(parser, args)
    synthetic = {}
    for flag, key in (("synthetic_identities", "num_identities"), ("synthetic_cameras", "num_cameras"),
                      ("synthetic_images", "images_per_identity_camera")):
        value = args.pop(flag)
        if value is not None:
            synthetic[key] = value
    verbose = 0 if args.pop("quiet") else args.pop("verbose")
    args.pop("verbose", None)
    args.pop("debug", None)
    return TrainConfig(**args, synthetic=synthetic, verbose="auto" if verbose is None else verbose)


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """``mlfn-train`` entry point."""
    config = config_from_args(argv)
    from mlfn_keras.training.loop import train

    result = train(config)
    if not result.is_chief:
        print(f"done: {result.steps} steps ({result.seconds:.0f} s this run); the chief wrote {config.output}")
        return 0
    if result.stopped_by_time:
        print(f"time budget reached: {result.steps} of {config.resolved().steps} steps "
              f"({result.seconds:.0f} s this run); run the same command again to go on; "
              f"model so far: {result.model_path}")
    else:
        print(f"done: {result.steps} steps ({result.seconds:.0f} s this run); "
              f"model: {result.model_path}; config: {result.config_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
