"""Tables laid out like the paper's Tables 1-4, 6 and 7, and JSON records.

The paper's tables group columns by data set / setting (``Market-1501 SQ``,
``MQ``, ``CUHK03 Labelled``, ...) with ``R1`` and ``mAP`` under each group,
one row per method. `format_table` prints that layout for any rows.

`main` merges the ``metrics.json`` records that ``mlfn-eval`` writes (one
per model and data set) into one such table:

    python -m mlfn_keras.evaluation.report runs/*/metrics.json
    python -m mlfn_keras.evaluation.report runs/market/metrics.json \
        runs/duke/metrics.json --metrics R1 mAP mINP

Example:

```python
from mlfn_keras.evaluation.report import format_table

print(format_table(
    {"MLFN": {"Market-1501 SQ": {"R1": 90.0, "mAP": 74.3}}},
    metrics=("R1", "mAP"),
))
```
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlfn_keras.errors import UserError, cli_entry

Rows = Mapping[str, Mapping[str, Mapping[str, float]]]


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.1f}" if isinstance(value, (int, float)) else str(value)


def format_table(
    rows: Rows,
    groups: Sequence[str] | None = None,
    metrics: Sequence[str] = ("R1", "mAP"),
    title: str | None = None,
    row_header: str = "Method",
) -> str:
    """Formats results as a grouped table like the paper's (values in %).

    Args:
        rows: ``{method: {group: {metric: value}}}``; missing values print
            ``-`` as in the paper.
        groups: Column groups in order; defaults to the order first seen.
        metrics: Metrics under each group.
        title: Optional caption printed under the table (as the paper does).
        row_header: Header of the first column.

    Returns:
        A plain-text table (Markdown-compatible).
    """
    if groups is None:
        groups = []
        for per_group in rows.values():
            groups.extend(g for g in per_group if g not in groups)
    method_w = max([len(row_header)] + [len(m) for m in rows])
    cell_w = max([6] + [len(m) for m in metrics])
    group_w = [max(len(g), len(metrics) * (cell_w + 3) - 3) for g in groups]

    def line(first: str, cells: Sequence[str], widths: Sequence[int]) -> str:
        return "| " + first.ljust(method_w) + " | " + " | ".join(
            c.center(w) for c, w in zip(cells, widths)
        ) + " |"

    sub_w = []
    for gw in group_w:
        base = (gw - 3 * (len(metrics) - 1)) // len(metrics)
        extra = gw - 3 * (len(metrics) - 1) - base * len(metrics)
        sub_w.extend([base + (1 if i < extra else 0) for i in range(len(metrics))])
    out = [
        line("", list(groups), group_w),
        line(row_header, [m for _ in groups for m in metrics], sub_w),
        "|" + "-" * (method_w + 2) + "|" + "|".join("-" * (w + 2) for w in sub_w) + "|",
    ]
    for method, per_group in rows.items():
        cells = [
            _fmt(per_group.get(g, {}).get(m)) for g in groups for m in metrics
        ]
        out.append(line(method, cells, sub_w))
    if title:
        out.append("")
        out.append(title)
    return "\n".join(out)


def write_json(record: Mapping[str, Any], path: str | Path) -> Path:
    """Writes a JSON record (adds a UTC timestamp if absent)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(record)
    data.setdefault(
        "created_utc", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    )
    from mlfn_keras.fileio import write_text

    write_text(path, json.dumps(data, indent=2, default=_json_default))  # atomic: never half a record
    return path


def _json_default(obj: Any):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")


def merge_records(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Rows ``{name: {"<dataset> <protocol label>": metrics}}`` from mlfn-eval records."""
    from mlfn_keras.data.registry import dataset_title
    from mlfn_keras.evaluation.protocols import PROTOCOLS

    rows: dict[str, dict[str, dict[str, float]]] = {}
    for rec in records:
        name = rec.get("name") or rec.get("preset") or str(rec.get("model"))
        title = dataset_title(rec.get("dataset"))
        for protocol, metrics in rec.get("metrics", {}).items():
            label = PROTOCOLS[protocol].label if protocol in PROTOCOLS else protocol
            rows.setdefault(name, {})[f"{title} {label}"] = metrics
    return rows


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    """Prints one paper-style table from several ``metrics.json`` files."""
    from mlfn_keras import cli_args

    parser = cli_args.make_parser(
        "python -m mlfn_keras.evaluation.report",
        "Merge mlfn-eval metrics.json records into one table like the paper's.",
        "examples:\n  python -m mlfn_keras.evaluation.report runs/*/metrics.json\n"
        "  python -m mlfn_keras.evaluation.report a/metrics.json b/metrics.json --metrics R1 mAP mINP\n",
    )
    parser.add_argument("records", nargs="+", help="metrics.json files written by mlfn-eval")
    parser.add_argument("--metrics", nargs="+", default=["R1", "mAP"], help="columns per group")
    args = parser.parse_args(argv)
    records = []
    for path in args.records:
        try:
            records.append(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"cannot read {path} as a metrics.json record written by mlfn-eval: {err}") from err
    print(format_table(merge_records(records), metrics=tuple(args.metrics)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
