"""The plant detector (fitted on a normal period), and sampling intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from shugu.cli import app
from shugu.monitor.anomaly import score_series
from shugu.monitor.anomaly_plant import PlantDetector, PlantParams, score_plant

T0 = 1_700_000_000_000
FIT = 400


def pump(rows: int, seed: int) -> npt.NDArray[np.float64]:
    """Four sensors: three correlated through a shared load, one visibly wandering (thermal)."""
    rng = np.random.default_rng(seed)
    load = rng.normal(0, 1, rows)
    flow = 30 + 0.5 * load + rng.normal(0, 0.4, rows)
    current = 2 + 0.1 * load + rng.normal(0, 0.05, rows)
    pressure = 1 + 0.05 * load + rng.normal(0, 0.05, rows)
    thermal = 70 + np.cumsum(rng.normal(0, 0.1, rows)) + rng.normal(0, 0.1, rows)
    return np.stack([flow, current, pressure, thermal], axis=1)


def stamps(rows: int, step_s: float) -> npt.NDArray[np.int64]:
    return (T0 + np.arange(rows) * step_s * 1000).astype(np.int64)


def test_quiet_on_normal_running_including_a_wandering_sensor() -> None:
    # Seed 3: the thermal sensor's wander shows within the fit period. (With a fit period in
    # which a random walk happens to sit still, e.g. seed 1, its later wander does alarm: the
    # detector can only allow for drift that the normal period showed.)
    table = pump(1500, seed=3)
    det = PlantDetector(4)
    for i in range(FIT):
        det.update(T0 + i * 1000, table[i])
    assert det.drift_rate[3] > 0 and (det.drift_rate[:3] == 0).all()
    _, alarms, _ = score_plant(stamps(1500, 1), table)
    assert not alarms[:FIT].any(), "nothing is judged during the fit period"
    assert alarms.mean() < 0.02


@pytest.mark.parametrize("sensor", [0, 2])
def test_a_shift_in_one_sensor_is_flagged_and_named(sensor: int) -> None:
    table = pump(1200, seed=2)
    at = 800
    table[at:, sensor] += 4 * table[:FIT, sensor].std()
    scores, alarms, drivers = score_plant(stamps(1200, 1), table)
    assert not alarms[FIT:at].any()
    first = np.flatnonzero(alarms[at:])
    assert len(first) and first[0] <= 15, "seen within a few smoothing spans"
    assert alarms[at + 30 :].mean() > 0.95, "the state lasts while the fault does"
    assert (drivers[at + 30 :] == sensor).all(), "the shifted sensor is the one named"
    assert scores[at + 30 :].min() > scores[FIT:at].max()


def test_causal_a_prefix_scores_the_same_whatever_follows() -> None:
    table = pump(1000, seed=3)
    later = table.copy()
    later[700:] += 50.0
    head = score_plant(stamps(700, 1), table[:700])
    full = score_plant(stamps(1000, 1), later)
    for part, whole in zip(head, full, strict=True):
        np.testing.assert_array_equal(part, whole[:700])


@pytest.mark.parametrize("step_s", [1.0, 60.0, 3600.0])
def test_plant_scores_do_not_depend_on_the_sampling_interval(step_s: float) -> None:
    table = pump(900, seed=4)
    table[700:, 1] += 1.0
    reference = score_plant(stamps(900, 1), table)
    scored = score_plant(stamps(900, step_s), table)
    for a, b in zip(reference, scored, strict=True):
        np.testing.assert_array_equal(a, b)
    assert scored[1][720:].all()


@pytest.mark.parametrize("step_s", [1.0, 60.0, 3600.0])
def test_univariate_spike_fires_at_any_sampling_interval(step_s: float) -> None:
    rng = np.random.default_rng(5)
    values = 10 + rng.normal(0, 1, 3000)
    at = 2500
    values[at] += 12.0
    _, alarms = score_series(stamps(3000, step_s), values)
    assert alarms[at], f"a 12-sigma spike is alarmed at {step_s} s sampling"
    assert alarms[:at].sum() <= 2


def test_missing_readings_and_repeated_stamps_are_skipped() -> None:
    table = pump(700, seed=6)
    table[600, 2] = np.nan
    det = PlantDetector(4)
    ts = stamps(700, 1)
    for i in range(600):
        det.update(int(ts[i]), table[i])
    out = det.update(int(ts[600]), table[600])
    assert np.isfinite(out.score)
    again = det.update(int(ts[600]), table[601])
    assert (again.score, again.alarm, again.driver) == (0.0, False, -1)
    with pytest.raises(ValueError):
        det.update(int(ts[602]), table[602, :3])
    with pytest.raises(ValueError):
        PlantDetector(0)


def test_cross_sensor_estimate_also_flags_the_shift() -> None:
    table = pump(1200, seed=7)
    table[800:, 0] += 4 * table[:FIT, 0].std()
    _, alarms, drivers = score_plant(stamps(1200, 1), table, params=PlantParams(cross_sensor=True))
    assert alarms[830:].mean() > 0.9
    assert drivers[830] == 0


def write(path: Path, table: npt.NDArray[np.float64], names: list[str]) -> None:
    lines = ["timestamp," + ",".join(names)]
    lines += [
        f"{T0 + i * 1000}," + ",".join(f"{v:.5f}" for v in row) for i, row in enumerate(table)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_cli_columns_uses_the_plant_detector_and_explains(tmp_path: Path) -> None:
    table = pump(1000, seed=8)
    table[800:, 2] += 4 * table[:FIT, 2].std()
    names = ["flow", "current", "pressure", "temp"]
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write(src, table, names)
    runner = CliRunner()
    answer = runner.invoke(
        app, ["anomaly", "score", str(src), str(out), "--columns", "pressure,flow"]
    )
    assert answer.exit_code == 0, answer.output
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,pressure,flow,anomaly_score,alarm"
    assert len(lines) == 1001
    assert [line.split(",")[4] for line in lines[1:]][850] == "1"
    answer = runner.invoke(
        app,
        ["anomaly", "score", str(src), str(out), "--columns", "flow,pressure", "--explain",
         "--fit-rows", "300"],
    )  # fmt: skip
    assert answer.exit_code == 0, answer.output
    rows = [line.split(",") for line in out.read_text().splitlines()]
    assert rows[0] == ["timestamp", "flow", "pressure", "anomaly_score", "alarm", "driver"]
    assert rows[1][5] == "" and rows[900][5] == "pressure"


def test_a_brief_excursion_is_not_a_fault_a_lasting_one_is() -> None:
    table = pump(1300, seed=2)
    spread = table[:FIT, 1].std()
    # Two odd readings: the smoothed residual stays over the threshold for fewer than entry_rows.
    table[700:702, 1] += 10 * spread
    table[1000:, 1] += 8 * spread
    scores, alarms, _ = score_plant(stamps(1300, 1), table)
    threshold = 1.0 - 0.4
    assert (scores[700:720] >= threshold).sum() >= 3, "the excursion does cross the threshold"
    assert not alarms[FIT:1000].any(), "but it is too brief to be a fault"
    over = np.flatnonzero(scores[1000:] >= threshold)
    first = np.flatnonzero(alarms[1000:])
    entry = PlantParams().entry_rows
    assert len(first) and first[0] == over[0] + entry - 1, "the state starts once it persisted"
    _, eager, _ = score_plant(stamps(1300, 1), table, params=PlantParams(entry_rows=1))
    assert eager[700:720].any(), "without the persistence the excursion alarms"


def test_cli_conditions_judge_the_columns_against_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = 1200
    load = 50 + 10 * np.sin(np.arange(rows) / 40.0)
    # The load climbs in 200 rows to 4 times its fit period's, and stays there.
    load[FIT:] += np.minimum(np.arange(rows - FIT) / 200, 1.0) * 150
    current = 1.6 * load + rng.normal(0, 0.3, rows)
    volts = 400 + rng.normal(0, 2, rows)
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write(src, np.stack([current, volts, load], axis=1), ["current", "volts", "load"])
    runner = CliRunner()
    judged = ["anomaly", "score", str(src), str(out), "--columns", "current,volts,load"]
    assert runner.invoke(app, judged).exit_code == 0
    assert any(line.endswith(",1") for line in out.read_text().splitlines()[1:])
    given = ["anomaly", "score", str(src), str(out), "--columns", "current,volts"]
    answer = runner.invoke(app, [*given, "--conditions", "load", "--explain"])
    assert answer.exit_code == 0, answer.output
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,current,volts,load,anomaly_score,alarm,driver"
    assert not [line for line in lines[1:] if line.split(",")[5] == "1"]
    assert {line.split(",")[6] for line in lines[FIT + 2 :]} <= {"current", "volts"}
    for bad in (["--conditions", "current"], ["--conditions", ","]):
        refused = runner.invoke(app, [*given, *bad])
        assert refused.exit_code == 2 and "--conditions" in refused.output
    alone = runner.invoke(app, ["anomaly", "score", str(src), str(out), "--conditions", "load"])
    assert alone.exit_code == 2 and "--conditions" in alone.output
