"""Seconds per training step of several presets at the same batch (CPU or GPU).

The paper reports 0.81 s/batch for MLFN vs 0.78 s/batch for ResNeXt-50 on a
GTX1080 (supplementary A.1): factor selection should cost under 5% over
ResNeXt. This script times one optimizer step (forward, cross-entropy over
751 identities, backward, Adam update) on random 256×128 batches, after
warm-up steps that absorb tracing/compilation.

Examples:

    python benchmarks/train_step_time.py                                  # mlfn vs resnext50, batch 8, CPU
    python benchmarks/train_step_time.py --presets mlfn resnext50 resnet50 --batch-size 16 --steps 5
    python benchmarks/train_step_time.py --presets mlfn --batch-size 64 --mixed-precision --xla   # GPU
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

import mlfn_keras
from mlfn_keras import cli_args
from mlfn_keras.errors import cli_entry
from mlfn_keras.losses import IdentityCrossEntropy


def time_preset(preset: str, batch_size: int, steps: int, warmup: int, mixed_precision: bool = False,
                xla: bool = False, num_classes: int = 751) -> dict[str, float]:
    """Median and mean seconds per ``fit`` step of ``preset``.

    Args:
        preset: Preset name.
        batch_size: Images per step.
        steps: Timed steps.
        warmup: Untimed steps first (tracing, XLA compilation, allocator warm-up).
        mixed_precision: ``mixed_float16`` policy.
        xla: ``jit_compile=True``.
        num_classes: Classifier width (Market-1501 has 751 training identities).

    Returns:
        ``{"median_s": .., "mean_s": .., "params": ..}``.
    """
    keras.utils.set_random_seed(0)
    backbone = mlfn_keras.MLFN.from_preset(preset, dtype="mixed_float16" if mixed_precision else None)
    model = mlfn_keras.MLFNClassifier(backbone, num_classes=num_classes)
    model.compile(optimizer=keras.optimizers.Adam(3.5e-4), loss={"logits": IdentityCrossEntropy()},
                  jit_compile=xla)
    h, w, _ = backbone.image_shape
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 255, (batch_size, h, w, 3)).astype("float32"))
    y = {"logits": tf.constant(rng.integers(0, num_classes, batch_size).astype("int32")),
         "embedding": tf.zeros((batch_size,), tf.int32)}
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t)
    return {"median_s": float(np.median(times)), "mean_s": float(np.mean(times)),
            "params": int(backbone.count_params())}


@cli_entry
def main(argv=None) -> int:
    parser = cli_args.make_parser(description=__doc__)
    parser.add_argument("--presets", nargs="+", default=["mlfn", "resnext50"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per preset")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--xla", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"device {device}, batch {args.batch_size}, mixed precision {args.mixed_precision}, XLA {args.xla}")
    results = {}
    for preset in args.presets:
        results[preset] = time_preset(preset, args.batch_size, args.steps, args.warmup,
                                      args.mixed_precision, args.xla)
        r = results[preset]
        print(f"{preset:<16} {r['median_s']:.3f} s/step (median of {args.steps}; mean {r['mean_s']:.3f}), "
              f"{r['params'] / 1e6:.2f}M params", flush=True)
    if "mlfn" in results and "resnext50" in results:
        ratio = results["mlfn"]["median_s"] / results["resnext50"]["median_s"]
        print(f"mlfn / resnext50 = {ratio:.3f} (paper, GTX1080: 0.81 / 0.78 = {0.81 / 0.78:.3f})")
    if args.json:
        from mlfn_keras.fileio import write_json

        write_json(args.json, {"device": device, "batch_size": args.batch_size, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
