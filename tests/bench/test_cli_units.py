"""`shugu bench` prints every figure with its unit; its JSON keys name the unit."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from shugu.cli import app

START = datetime(2026, 1, 1)


def _nab_folder(root: Path) -> Path:
    """Four NAB-style series of 600 five-minute values, each with one step and its window."""
    folder = root / "nab"
    folder.mkdir()
    windows = {}
    for index in range(4):
        name = f"series_{index}.csv"
        lines = ["timestamp,value"]
        for row in range(600):
            stamp = (START + timedelta(minutes=5 * row)).isoformat(sep=" ")
            value = 10.0 + math.sin(row / 7.0) + (25.0 if 400 <= row < 420 else 0.0)
            lines.append(f"{stamp},{value}")
        (folder / name).write_text("\n".join(lines) + "\n")
        windows[name] = [["2026-01-02 08:00:00", "2026-01-02 12:00:00"]]
    (folder / "windows.json").write_text(json.dumps(windows))
    return folder


def test_bench_anomaly_prints_units_and_names_them_in_json(tmp_path: Path) -> None:
    folder = _nab_folder(tmp_path)
    runner = CliRunner()
    answer = runner.invoke(app, ["bench", "anomaly", "--data", str(folder), "--json"])
    assert answer.exit_code == 0, answer.output
    result = json.loads(answer.stdout)
    assert "nab_score" in result["test_shugu"] and "nab" not in result["test_shugu"]
    answer = runner.invoke(app, ["bench", "anomaly", "--data", str(folder)])
    assert answer.exit_code == 0, answer.output
    lines = {line.split()[0]: line for line in answer.stdout.splitlines() if line.strip()}
    assert lines["nab_score"].endswith(" /100")
    assert lines["fp_per_series_week"].endswith(" fp/series week")
    assert lines["shugu_points_per_s"].endswith(" points/s")
    assert lines["shugu_seconds_per_run"].endswith(" s/run")
    assert lines["gaussian_seconds"].endswith(" s")
    assert lines["test_shugu:"] == "test_shugu:"


def test_bench_fuzz_prints_each_codec_s_time_in_seconds() -> None:
    answer = CliRunner().invoke(
        app, ["bench", "fuzz", "--cases", "2", "--codec", "anomaly_csv", "--seed", "1"]
    )
    assert answer.exit_code == 0, answer.output
    header, row = answer.stdout.splitlines()[:2]
    assert header.split()[-1] == "time" and row.split()[-1] == "s"
