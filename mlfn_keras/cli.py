"""``mlfn``: one command, with subcommands, for everything the toolkit does.

The table :data:`COMMANDS` maps each subcommand to the ``module:function``
that runs it; modules are imported only when their command runs, so
``mlfn --help`` and every ``mlfn X --help`` answer without importing
TensorFlow. A subcommand of two words (``export onnx``) makes a group
(``mlfn export --help`` lists its members). Adding a command is one line in
the table (and, for a ``mlfn-X`` script, one line in ``pyproject.toml``
pointing at :func:`alias`).

The older entry points are thin aliases of the same functions:
``mlfn-train`` = ``mlfn train`` (every ``mlfn-X`` script),
``python export/to_onnx.py`` = ``mlfn export onnx``,
``python demo/multicam.py`` = ``mlfn demo``.

Before a command's module is imported, :func:`mlfn_keras.console.quiet_start`
silences TensorFlow's start-up lines (``--debug`` shows them).
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlfn_keras import __version__
from mlfn_keras.cli_args import invoked_as
from mlfn_keras.console import quiet_start

__all__ = ["COMMANDS", "Command", "alias", "main", "run_command"]


@dataclass(frozen=True)
class Command:
    """One subcommand: where it lives and what it does (one line for ``mlfn --help``)."""

    target: str
    summary: str

    def load(self) -> Callable[[Sequence[str] | None], int]:
        module, _, function = self.target.partition(":")
        return getattr(importlib.import_module(module), function)


#: Subcommand → the ``module:function(argv) -> int`` that runs it.
COMMANDS: dict[str, Command] = {
    "demo": Command("mlfn_keras.tracking.app.cli:main", "track people across cameras (built-in scene, webcams, files, RTSP)"),
    "train": Command("mlfn_keras.training.cli:main", "train an MLFN model (the paper's recipe; generated people need no data)"),
    "eval": Command("mlfn_keras.evaluation.cli:main", "score a re-id model on a test set (CMC, mAP, mINP)"),
    "adapt": Command("mlfn_keras.adapt.cli:main", "learn a site from its own unlabelled footage"),
    "export onnx": Command("mlfn_keras.export.cli:onnx_main", "ONNX file, checked in onnxruntime"),
    "export tflite": Command("mlfn_keras.export.cli:tflite_main", "TFLite fp32 / fp16 / int8, checked in LiteRT"),
    "export saved-model": Command("mlfn_keras.export.cli:saved_model_main", "TensorFlow SavedModel, checked against Keras"),
    "export tensorrt": Command("mlfn_keras.export.cli:tensorrt_main", "TensorRT engine (NVIDIA GPU), checked against Keras"),
    "convert": Command("mlfn_keras.convert:main", "torchreid MLFN or ImageNet ResNeXt-50 weights to Keras"),
    "synthetic": Command("mlfn_keras.data.synthetic.cli:main", "write generated people as a Market-1501-layout data set"),
    "edge": Command("mlfn_keras.tracking.site.cli:edge_main", "several boxes: this box's cameras, published to the broker"),
    "central": Command("mlfn_keras.tracking.site.cli:central_main", "several boxes: the central identity service of a site"),
}

_EXAMPLES = """examples:
  mlfn demo --output runs/demo --evaluate        # built-in two-camera scene, scored
  mlfn demo --cams 0 1                           # two webcams, live window
  mlfn train --dataset synthetic --preset mlfn_small --minutes 5 --output runs/synthetic
  mlfn eval --model runs/synthetic/model.keras --dataset synthetic --data-root data/synth
  mlfn export onnx runs/synthetic/model.keras --output exported/mlfn.onnx
  mlfn adapt --cams cam0.mp4 cam1.mp4 --output site.keras --minutes 30

Run "mlfn COMMAND --help" for a command's options and examples.
"""

_COMMON = """common options (every command):
  --output PATH       what the command writes
  --quiet, -q         no progress bars or progress lines
  --debug             tracebacks and TensorFlow's own log lines on error
"""


def _groups() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name in COMMANDS:
        head, _, rest = name.partition(" ")
        if rest:
            groups.setdefault(head, []).append(rest)
    return groups


def _overview() -> str:
    groups = _groups()
    rows: list[tuple[str, str]] = []
    for name, command in COMMANDS.items():
        head, _, rest = name.partition(" ")
        if not rest:
            rows.append((name, command.summary))
        elif groups[head][0] == rest:
            rows.append((f"{head} KIND", f"{head}: {', '.join(groups[head])} (mlfn {head} --help)"))
    width = max(len(name) for name, _ in rows) + 2
    lines = [
        "usage: mlfn [--version] [--help] COMMAND [options]",
        "",
        "MLFN person re-identification: train, evaluate, export, and track people across cameras.",
        "",
        "commands:",
        *(f"  {name:<{width}}{summary}" for name, summary in rows),
        "",
        _COMMON,
        _EXAMPLES,
    ]
    return "\n".join(lines)


def _group_help(head: str) -> str:
    members = _groups()[head]
    width = max(len(m) for m in members) + 2
    lines = [f"usage: mlfn {head} {{{','.join(members)}}} [options]", "", "commands:"]
    lines += [f"  {m:<{width}}{COMMANDS[f'{head} {m}'].summary}" for m in members]
    lines += ["", f'Run "mlfn {head} COMMAND --help" for its options and examples.']
    return "\n".join(lines)


def _unknown(word: str, choices: Sequence[str], prefix: str = "mlfn") -> int:
    close = difflib.get_close_matches(word, choices, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    print(f"{prefix}: error: unknown command {word!r}{hint}; expected one of: {', '.join(choices)}", file=sys.stderr)
    print(f"{prefix}: (run '{prefix} --help' for the list)", file=sys.stderr)
    return 2


def run_command(name: str, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Runs subcommand ``name`` (a key of :data:`COMMANDS`) on ``argv`` (default ``sys.argv[1:]``).

    Args:
        name: e.g. ``"train"`` or ``"export onnx"``.
        argv: the command's own arguments.
        prog: the name its ``--help`` and errors show (default ``mlfn NAME``).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_start(argv)
    with invoked_as(prog or f"mlfn {name}"):
        return COMMANDS[name].load()(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """``mlfn COMMAND [options]`` (see ``mlfn --help``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = [a for a in argv[:1] if a == "--debug"]  # `mlfn --debug train ...` as well as `mlfn train ... --debug`
    argv = argv[len(debug):]
    if not argv or argv[0] in ("-h", "--help", "help"):
        if len(argv) > 1 and argv[0] == "help":  # `mlfn help train` = `mlfn train --help`
            return main([*argv[1:], "--help"])
        print(_overview())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"mlfn-keras {__version__}")
        return 0
    head, rest = argv[0], argv[1:]
    groups = _groups()
    if head in groups:
        if not rest or rest[0] in ("-h", "--help"):
            print(_group_help(head))
            return 0 if rest else 2
        name = f"{head} {rest[0]}"
        if name not in COMMANDS:
            return _unknown(rest[0], groups[head], prefix=f"mlfn {head}")
        return run_command(name, [*rest[1:], *debug])
    if head not in COMMANDS:
        return _unknown(head, [n for n in COMMANDS if " " not in n] + list(groups))
    return run_command(head, [*rest, *debug])


def alias(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mlfn-X`` scripts: ``mlfn-train ARGS`` runs ``mlfn train ARGS``.

    The command is read from the script's name, so a new ``mlfn-X`` script
    is one line in ``pyproject.toml`` (``mlfn-X = "mlfn_keras.cli:alias"``).
    """
    prog = os.path.basename(sys.argv[0])
    name = prog.removeprefix("mlfn-").removesuffix(".exe")
    if name not in COMMANDS:
        return _unknown(name, list(COMMANDS))
    return run_command(name, argv, prog=prog)


if __name__ == "__main__":
    raise SystemExit(main())
