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
    """A data folder: four NAB-style series of 600 five-minute values under nab-aws/, each with
    one step and its window, and four SKAB-style runs of 600 rows under skab-dev/valve1/."""
    data = root / "data"
    folder = data / "nab-aws"
    folder.mkdir(parents=True)
    valve = data / "skab-dev" / "valve1"
    valve.mkdir(parents=True)
    for index in range(4):
        lines = ["datetime;a;b;anomaly;changepoint"]
        for row in range(600):
            stamp = (START + timedelta(seconds=row)).isoformat(sep=" ")
            fault = 450 <= row < 550
            a = 1.0 + 0.1 * math.sin(row * 1.3) + (2.0 if fault else 0.0)
            lines.append(f"{stamp};{a};{2.0 + 0.1 * math.cos(row * 0.7)};{int(fault)};0")
        (valve / f"{index}.csv").write_text("\n".join(lines) + "\n")
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
    return data


def test_bench_anomaly_prints_units_and_names_them_in_json(tmp_path: Path) -> None:
    folder = _nab_folder(tmp_path)
    runner = CliRunner()
    answer = runner.invoke(app, ["bench", "anomaly", "--data", str(folder), "--json"])
    assert answer.exit_code == 0, answer.output
    result = json.loads(answer.stdout)
    reporting = result["nab"]["reporting_shugu"]
    assert "nab_score" in reporting and "nab" not in reporting
    # Calling every row anomalous would give 0.67 here.
    assert result["skab"]["reporting_plant"]["f1"] > 0.75
    answer = runner.invoke(app, ["bench", "anomaly", "--data", str(folder)])
    assert answer.exit_code == 0, answer.output
    lines = {line.split()[0]: line for line in answer.stdout.splitlines() if line.strip()}
    assert lines["nab_score"].endswith(" /100")
    assert lines["fp_per_series_week"].endswith(" fp/series week")
    assert lines["shugu_points_per_s"].endswith(" points/s")
    assert lines["shugu_seconds"].endswith(" s")
    assert lines["gaussian_seconds"].endswith(" s")
    assert lines["plant_rows_per_s"].endswith(" rows/s")
    assert lines["reporting_shugu:"] == "  reporting_shugu:", "nested under nab:"


def test_bench_fuzz_prints_each_codec_s_time_in_seconds() -> None:
    answer = CliRunner().invoke(
        app, ["bench", "fuzz", "--cases", "2", "--codec", "anomaly_csv", "--seed", "1"]
    )
    assert answer.exit_code == 0, answer.output
    header, row = answer.stdout.splitlines()[:2]
    assert header.split()[-1] == "time" and row.split()[-1] == "s"
