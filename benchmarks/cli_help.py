"""Times ``--help`` of every ``mlfn`` command and lists the heavy modules it imported.

Each command runs in its own fresh process (``python -m mlfn_keras COMMAND
--help``), as a user's shell would start it; the wall time includes Python's
own start-up. A help that imports TensorFlow (seconds) or OpenCV is what makes
it slow: the table names them. Prints a markdown table; nothing is asserted
(the test ``tests/test_cli.py`` checks that no help imports TensorFlow).

Examples:

    python benchmarks/cli_help.py
    python benchmarks/cli_help.py --repeat 5 --commands demo train
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from mlfn_keras.cli import COMMANDS
from mlfn_keras.cli_args import parser_from_doc
from mlfn_keras.errors import cli_entry

#: Modules whose import a ``--help`` should not pay for.
HEAVY = ("tensorflow", "keras", "torch", "cv2", "onnxruntime", "supervision", "scipy", "matplotlib", "sklearn")

_PROBE = """
import json, sys
from mlfn_keras.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = [m for m in {heavy!r} if m in sys.modules]
sys.stderr.write("\\n@@" + json.dumps({{"code": code, "heavy": heavy}}) + "\\n")
"""


def probe(words: list[str]) -> tuple[float, dict]:
    """Runs ``mlfn WORDS`` in a fresh process; returns (wall seconds, {code, heavy modules})."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *words],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    marker = [line for line in done.stderr.splitlines() if line.startswith("@@")]
    info = json.loads(marker[-1][2:]) if marker else {"code": done.returncode, "heavy": ["?"]}
    return seconds, info


def help_commands(selected: list[str] | None = None) -> list[list[str]]:
    """``[[], ["demo"], ["export"], ["export", "onnx"], ...]``: every help a user can ask for."""
    runs: list[list[str]] = [[]]
    groups = []
    for name in COMMANDS:
        words = name.split(" ")
        if selected and words[0] not in selected:
            continue
        if len(words) > 1 and words[0] not in groups:
            groups.append(words[0])
            runs.append([words[0]])
        runs.append(words)
    return runs


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = parser_from_doc(__doc__, prog="python benchmarks/cli_help.py")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the median is shown (default 3)")
    parser.add_argument("--commands", nargs="+", help="only these commands (default: all)")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}; median of {args.repeat} fresh processes per row\n")
    print("| command | --help wall s (median) | min | exit | heavy modules imported |")
    print("|---|---:|---:|---:|---|")
    for words in help_commands(args.commands):
        times, info = [], {}
        for _ in range(args.repeat):
            seconds, info = probe([*words, "--help"])
            times.append(seconds)
        name = " ".join(["mlfn", *words, "--help"])
        print(f"| `{name}` | {statistics.median(times):.2f} | {min(times):.2f} | {info['code']} | "
              f"{', '.join(info['heavy']) or '-'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
