"""``mlfn-synthetic``: write generated identities as a Market-1501-layout folder."""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from mlfn_keras import cli_args
from mlfn_keras.errors import UserError, cli_entry

EPILOG = """examples:
  %(prog)s --output /tmp/synth --identities 200 --cameras 4
  %(prog)s --output /tmp/synth_small --identities 40 --cameras 2 \\
      --images-per-camera 3 --height 128 --width 64 --distractors 20 --multi-query 2
  # real photographs behind the people (Debian's mate-backgrounds, GPL-2+, fetched into the cache)
  %(prog)s --output /tmp/synth_photo --identities 2000 --train-identities 1900 \\
      --height 128 --width 64 --fetch-backgrounds mate-backgrounds
  %(prog)s --output /tmp/synth_mine --backgrounds ~/Pictures/streets

A folder that is not empty and was not written by mlfn-synthetic is refused
(--force adds the data set beside its files, never replacing any); a folder
generated with other settings needs --overwrite.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = cli_args.make_parser(
        "mlfn-synthetic",
        description="Write generated identities as a Market-1501-layout folder "
                    "(bounding_box_train/, bounding_box_test/, query/, attributes.json, meta.json).",
        epilog=EPILOG,
        quiet_help="no progress bar or progress lines",
    )
    cli_args.add_output(parser, required=True, dest="out", help="output folder (new, empty, or generated before)")
    parser.add_argument("--identities", type=int, default=200, help="total identities (default 200)")
    parser.add_argument("--train-identities", type=int, default=None, help="training identities (default half)")
    parser.add_argument("--cameras", type=int, default=4, help="number of cameras, >= 2 (default 4)")
    parser.add_argument("--images-per-camera", type=int, default=4,
                        help="images per identity per camera (default 4)")
    parser.add_argument("--height", type=int, default=256, help="crop height (default 256)")
    parser.add_argument("--width", type=int, default=128, help="crop width (default 128)")
    parser.add_argument("--distractors", type=int, default=0, help="pid-0 distractor gallery images")
    parser.add_argument("--junk", type=int, default=0, help="pid -1 junk gallery images")
    parser.add_argument("--multi-query", type=int, default=0, help="extra gt_bbox images per query")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bg = parser.add_mutually_exclusive_group()
    bg.add_argument("--backgrounds", metavar="DIR", help="folder of photographs to cut backgrounds from")
    bg.add_argument("--fetch-backgrounds", metavar="PACKAGE", nargs="?", const="mate-backgrounds",
                    help="apt-get download a Debian package of photographs into the cache and use it "
                         "(default package: mate-backgrounds)")
    parser.add_argument("--overwrite", action="store_true", help="replace a different generated set in --out")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty folder not written by mlfn-synthetic (adds, never replaces)")
    return parser


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see ``--help``)."""
    from mlfn_keras.fileio import run_lock

    args = build_parser().parse_args(argv)
    with run_lock(args.out, "--output"):  # one mlfn synthetic per folder at a time
        return _generate(args)


def _generate(args: argparse.Namespace) -> int:
    from mlfn_keras.data.synthetic.backgrounds import fetch_debian_backgrounds
    from mlfn_keras.data.synthetic.layout import generate_market_layout

    backgrounds = args.backgrounds
    if args.fetch_backgrounds:
        backgrounds = fetch_debian_backgrounds(args.fetch_backgrounds)
    try:
        root = generate_market_layout(
            args.out, num_identities=args.identities, num_cameras=args.cameras,
            images_per_identity_camera=args.images_per_camera, num_train_identities=args.train_identities,
            seed=args.seed, height=args.height, width=args.width, num_distractors=args.distractors,
            num_junk=args.junk, multi_query_images=args.multi_query, overwrite=args.overwrite,
            backgrounds=backgrounds, force=args.force, progress=not args.quiet,
        )
    except ValueError as error:  # argument checks of the library
        if isinstance(error, UserError):
            raise
        raise UserError(str(error)) from error
    counts = json.loads((root / "meta.json").read_text())["counts"]
    print(f"wrote {root}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return 0
