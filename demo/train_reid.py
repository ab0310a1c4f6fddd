"""Trains the demo's default re-id model on generated identities.

The demo ships ``demo/weights/mlfn_small_synthetic.keras``; this script is the
exact command that reproduces it. It renders ``--identities`` people seen by
``--cameras`` random cameras (views, lighting, background, occlusion) with
:mod:`mlfn_keras.data.synthetic` (none of them appear in the demo's scene,
whose identities come from another seed), and trains the ``mlfn_small``
preset with identity cross-entropy (label smoothing) using ``model.fit``.
The embedding backbone is saved, ready for ``--reid``.

Examples:

    # the shipped weights (about 10 minutes on a 2-core CPU)
    python demo/train_reid.py --out demo/weights/mlfn_small_synthetic.keras

    # a quick smoke run
    python demo/train_reid.py --identities 40 --epochs 1 --out /tmp/reid.keras
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mlfn_keras.tracking.training import train_reid  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__[__doc__.index("Examples:") :],
    )
    parser.add_argument("--out", default="demo/weights/mlfn_small_synthetic.keras", help="where to save the backbone (.keras)")
    parser.add_argument("--preset", default="mlfn_small", help="MLFN preset (default: mlfn_small)")
    parser.add_argument("--identities", type=int, default=400, help="training identities (default: 400)")
    parser.add_argument("--cameras", type=int, default=6, help="random cameras per identity (default: 6)")
    parser.add_argument("--images-per-camera", type=int, default=3, help="crops per identity and camera (default: 3)")
    parser.add_argument("--epochs", type=int, default=12, help="epochs (default: 12)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 1e-3)")
    parser.add_argument("--seed", type=int, default=1234, help="seed (default: 1234)")
    args = parser.parse_args(argv)
    report = train_reid(
        args.out,
        preset=args.preset,
        num_identities=args.identities,
        num_cameras=args.cameras,
        images_per_camera=args.images_per_camera,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
    )
    print(f"saved {args.out}: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
