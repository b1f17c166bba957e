"""The streaming anomaly detector, its multivariate form and `shugu anomaly score`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from shugu.cli import app
from shugu.monitor.anomaly import (
    DEFAULT_PARAMS,
    WITH_PATTERN,
    AnomalyBank,
    DetectorParams,
    score_many,
    score_series,
)
from shugu.monitor.anomaly_multi import score_frame

DAY = 288  # 5-minute points
WEEK = 7 * DAY
T0 = 1_700_000_000_000
STEP = 300_000


def seasonal(days: int, seed: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A daily sine plus Gaussian noise, one point every 5 minutes."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * DAY)
    ts = T0 + t * STEP
    return ts.astype(np.int64), 10 + 3 * np.sin(2 * np.pi * t / DAY) + rng.normal(0, 0.5, len(t))


@pytest.fixture(scope="module")
def clean() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    return seasonal(12, seed=1)


def test_quiet_on_clean_seasonal_noise(clean: tuple[npt.NDArray[np.int64], ...]) -> None:
    ts, v = clean
    scores, alarms = score_series(ts, v)
    assert ((scores >= 0) & (scores <= 1)).all()
    weeks = (len(v) - DAY) / WEEK
    assert alarms[DAY:].sum() / weeks <= 1.0


def test_fires_on_level_shift_and_spike(clean: tuple[npt.NDArray[np.int64], ...]) -> None:
    ts, v = clean
    at = 9 * DAY + 37
    shifted = v.copy()
    shifted[at:] += 3.0  # six noise standard deviations
    _, alarms = score_series(ts, shifted)
    first = np.flatnonzero(alarms[at:])
    assert len(first) and first[0] <= 6, "a level shift is seen within half an hour"
    assert alarms[at:].sum() <= 2, "a lasting shift is one alarm, not one per hold-off"

    spiked = v.copy()
    spiked[at] += 8.0
    scores, alarms = score_series(ts, spiked)
    assert alarms[at]
    assert scores[at] > 0.9


def test_causal_future_points_do_not_change_the_past(
    clean: tuple[npt.NDArray[np.int64], ...],
) -> None:
    ts, v = clean
    cut = 6 * DAY
    head_scores, head_alarms = score_series(ts[:cut], v[:cut])
    full_scores, full_alarms = score_series(ts, v)
    np.testing.assert_array_equal(head_scores, full_scores[:cut])
    np.testing.assert_array_equal(head_alarms, full_alarms[:cut])


def test_bank_matches_single_series_path() -> None:
    series = [seasonal(3, seed) for seed in (2, 3, 4)]
    # Different lengths and a level shift in one, so the slots diverge.
    series[1] = (series[1][0][:700], series[1][1][:700])
    ts, v = series[2]
    series[2] = (ts, np.where(np.arange(len(v)) > 500, v + 4.0, v))
    together = score_many(series)
    for (ts, v), (scores, alarms) in zip(series, together, strict=True):
        alone_scores, alone_alarms = score_series(ts, v)
        np.testing.assert_array_equal(scores, alone_scores)
        np.testing.assert_array_equal(alarms, alone_alarms)


def test_bank_slots_grow_and_are_stable() -> None:
    bank = AnomalyBank(capacity=2)
    keys = [(d, m) for d in range(3) for m in range(2)]
    slots = [bank.slot(k) for k in keys]
    assert slots == list(range(6))
    assert bank.slot((1, 1)) == 3
    ts = np.full(6, T0, dtype=np.int64)
    scores, alarms = bank.update(np.array(slots, dtype=np.intp), ts, np.arange(6.0))
    assert scores.shape == alarms.shape == (6,)


def test_nan_changes_nothing(clean: tuple[npt.NDArray[np.int64], ...]) -> None:
    ts, v = clean
    n = 4 * DAY
    holes = v[:n].copy()
    holes[[500, 501, 900]] = np.nan
    scores, alarms = score_series(ts[:n], holes)
    assert scores[[500, 501, 900]].tolist() == [0.0, 0.0, 0.0]
    assert not alarms[[500, 501, 900]].any()
    # Dropping the NaN rows altogether gives the same scores for the rest.
    keep = ~np.isnan(holes)
    dropped_scores, _ = score_series(ts[:n][keep], holes[keep])
    np.testing.assert_array_equal(scores[keep], dropped_scores)


@pytest.mark.parametrize("params", [DEFAULT_PARAMS, WITH_PATTERN], ids=["default", "pattern"])
def test_values_no_reading_could_have_change_nothing(
    clean: tuple[npt.NDArray[np.int64], ...], params: DetectorParams
) -> None:
    """Values near the float limits would overflow the slot's state into NaN for good."""
    ts, v = clean
    n = 3 * DAY
    wild = v[:n].copy()
    at = [300, 301, 700]
    wild[at] = [1.7e308, -1.7e308, 1e101]
    scores, alarms = score_series(ts[:n], wild, params=params)
    assert np.isfinite(scores).all()
    assert scores[at].tolist() == [0.0, 0.0, 0.0] and not alarms[at].any()
    keep = np.ones(n, dtype=np.bool_)
    keep[at] = False
    dropped_scores, _ = score_series(ts[:n][keep], wild[keep], params=params)
    np.testing.assert_array_equal(scores[keep], dropped_scores)


def test_gap_in_timestamps_is_survived(clean: tuple[npt.NDArray[np.int64], ...]) -> None:
    ts, v = clean
    n = 6 * DAY
    gapped = ts[:n].copy()
    gapped[3 * DAY :] += 2 * 86_400_000  # two days without data
    scores, alarms = score_series(gapped, v[:n])
    assert np.isfinite(scores).all()
    assert alarms[3 * DAY :].sum() <= 1


def test_multivariate_quiet_then_fires_on_joint_shift() -> None:
    ts, a = seasonal(10, seed=5)
    rng = np.random.default_rng(6)
    b = 0.5 * a + rng.normal(0, 0.3, len(a))
    table = np.stack([a, b], axis=1)
    _, alarms = score_frame(ts, table)
    assert alarms[DAY:].sum() <= 1
    # Three noise standard deviations in both columns; after a week of calibration.
    at = 8 * DAY
    table[at:] += [1.5, 0.9]
    _, alarms = score_frame(ts, table)
    first = np.flatnonzero(alarms[at:])
    assert len(first) and first[0] <= 12


def write_csv(path: Path, ts: npt.NDArray[np.int64], v: npt.NDArray[np.float64]) -> None:
    stamps = np.asarray(ts, dtype="datetime64[ms]").astype("datetime64[s]")
    lines = ["timestamp,value"]
    lines += [f"{str(t).replace('T', ' ')},{x:.4f}" for t, x in zip(stamps, v, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_cli_scores_a_csv(tmp_path: Path) -> None:
    ts, v = seasonal(2, seed=7)
    v[400] += 10.0
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, ts, v)
    result = CliRunner().invoke(app, ["anomaly", "score", str(src), str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,value,anomaly_score,alarm"
    assert len(lines) == len(v) + 1
    rows = [line.split(",") for line in lines[1:]]
    assert rows[400][3] == "1"
    assert all(0.0 <= float(r[2]) <= 1.0 for r in rows)


def test_cli_explain_names_the_cause_of_one_column(tmp_path: Path) -> None:
    ts, v = seasonal(2, seed=7)
    v[400] += 10.0
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, ts, v)
    result = CliRunner().invoke(app, ["anomaly", "score", str(src), str(out), "--explain"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,value,anomaly_score,alarm,cause"
    rows = [line.split(",") for line in lines[1:]]
    assert rows[400][3] == "1" and rows[400][4] == "spike"
    assert all((r[4] == "") == (float(r[2]) == 0.0) for r in rows)


def test_cli_multivariate_columns(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(
        "timestamp,a,note,b\n" + "".join(f"{T0 + i * STEP},{i % 7},x,{i % 5}\n" for i in range(300))
    )
    result = CliRunner().invoke(
        app, ["anomaly", "score", str(src), str(out), "--columns", "a,b", "--sensitivity", "0.3"]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "timestamp,a,b,anomaly_score,alarm"


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        ("timestamp,value\n2014-02-14 14:30:00,1\nnot-a-time,2\n", [], "line 3"),
        ("timestamp,value\n2014-02-14T14:30:00Z,1\n2014-02-14 14:35:00,abc\n", [], "line 3"),
        ("timestamp,value\n1,1\n", ["--columns", "a,b"], "missing column(s) a, b"),
        ("time,value\n1,1\n", [], "missing column(s) timestamp"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(
    tmp_path: Path, body: str, args: list[str], message: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(body)
    result = CliRunner().invoke(app, ["anomaly", "score", str(src), str(tmp_path / "o.csv"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
