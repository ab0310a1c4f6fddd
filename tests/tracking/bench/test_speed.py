"""The throughput benchmark's settings, table and plot (the runs themselves need PETS09; see benchmarks/throughput.py)."""

import pytest

from mlfn_keras.errors import UserError
from mlfn_keras.tracking.bench.speed import (
    ThroughputRow,
    format_throughput,
    parse_setting,
    plot_throughput,
)


def test_settings_parse_into_a_schedule_and_a_precision():
    s = parse_setting("every:3+motion+int8")
    assert (s.schedule.every, s.schedule.motion, s.precision) == (3, True, "int8")
    full = parse_setting("full")
    assert (full.schedule.every, full.schedule.motion, full.precision) == (1, False, "fp32")
    for bad in ("every:0", "fast", "every:x+motion"):
        with pytest.raises(UserError, match="setting"):
            parse_setting(bad)


def _row(setting, cameras, fps, cpu, idf1, footage="offset", cross=None):
    s = parse_setting(setting)
    return ThroughputRow(setting, s.schedule.label, footage, cameras, 100 * cameras, fps, cpu,
                         {"decode": 1.0, "detect": cpu - 3, "track": 1.0, "embed": 1.0, "associate": 0.0, "output": 0.0},
                         0.5, 0.1, 0.05, idf1 - 0.2, idf1, [idf1] * cameras, cross)


def test_table_puts_quality_deltas_beside_speed_and_plots(tmp_path):
    rows = [_row("full", 1, 12.0, 80.0, 0.60), _row("full", 8, 2.0, 90.0, 0.58), _row("full", 2, 9.0, 0.0 + 85, 0.6, "lr", 0.55),
            _row("every:2", 1, 20.0, 45.0, 0.61), _row("every:2", 8, 4.0, 50.0, 0.57), _row("every:2", 2, 16.0, 47, 0.6, "lr", 0.54)]
    table = format_throughput(rows, load=3.0)
    assert "| every 2nd frame | fp32 | 8 | 4.0 | 50.0 |" in table
    assert "57.0 (-1.0)" in table and "54.0 (-1.0)" in table  # per-camera and lr cross-camera Δ against full rate
    assert "≈ cameras at 10 FPS" in table and "load average 3.0" in table
    assert rows[4].cameras_at(10, cores=2) == pytest.approx(4.0)
    assert plot_throughput(rows, tmp_path / "t.png").stat().st_size > 1000
