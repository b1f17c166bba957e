"""Calibration by hour of the day in the univariate detector (anomaly_hourly.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import CAUSES, DetectorParams, explain_series
from shugu.monitor.anomaly_hourly import HOURS, HourlyCounts, hour_of_day

STEP_MIN = 5
DAY = 1440 // STEP_MIN
T0 = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000)


def nightly_job(days: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Noise around 10, and every night at 03:00 a job that lifts one point to about 16."""
    minutes = np.arange(0, days * 1440, STEP_MIN)
    rng = np.random.default_rng(4)
    v = rng.normal(10.0, 0.5, len(minutes))
    at = minutes % 1440 == 180
    v[at] = rng.normal(16.0, 1.0, int(at.sum()))
    return (T0 + minutes * 60_000).astype(np.int64), v


def test_hour_of_day_in_the_timestamps_clock() -> None:
    ts = np.array([T0, T0 + 3 * 3_600_000, T0 - 60_000], dtype=np.int64)
    assert hour_of_day(ts).tolist() == [0, 3, HOURS - 1]


def test_a_nightly_job_is_usual_at_its_hour_unless_it_grows() -> None:
    ts, v = nightly_job(14)
    big = 12 * DAY + 36  # the job on day 12, lifting three times as far as usual
    v[big] = 30.0
    spike = CAUSES.index("spike")
    _, with_hours, why = explain_series(ts, v, params=DetectorParams(hourly_calibration=True))
    _, without, why_not = explain_series(ts, v, params=DetectorParams(hourly_calibration=False))
    i = np.arange(len(v))
    at_job = (i >= 5 * DAY) & (i % DAY >= 36) & (i % DAY < 42) & (i // DAY != 12)
    assert (without & at_job & (why_not == spike)).sum() >= 3, "the job alarms as a spike"
    assert not (with_hours & at_job & (why == spike)).any(), "known at its hour, it does not"
    assert with_hours[big] and why[big] == spike, "a job three times its size is news even then"


def test_an_hour_without_history_falls_back_to_the_overall_rates() -> None:
    hourly = HourlyCounts(2, levels=3, prior_points=30.0)
    slots = np.array([0, 1], dtype=np.intp)
    hours = np.array([5, 5], dtype=np.intp)
    overall = np.array([[50.0, 10.0, 0.0], [20.0, 0.0, 0.0], [8.0, 1.0, 0.0], [4.0, 0.0, 0.0]])
    n_overall = np.array([100.0, 0.0])
    counts, points = hourly.prior_counts(slots, hours, overall, n_overall)
    # Slot 0 has overall history: 30 pseudo-points at its rates; slot 1 none: nothing.
    assert np.allclose(counts[0], [15.0, 3.0, 0.0]) and np.allclose(counts[2], [2.4, 0.3, 0.0])
    assert np.allclose(counts[1], 0.0) and points.tolist() == [30.0, 0.0, 30.0, 0.0]


def test_each_hour_learns_only_its_own_points() -> None:
    hourly = HourlyCounts(1, levels=2, prior_points=0.0)
    slots = np.array([0], dtype=np.intp)
    exceeded = np.array([[True, False], [True, True]])
    for hour in (3, 3, 4):
        hourly.learn(
            slots, np.array([hour]), exceeded, np.array([0.5]), np.array([True], dtype=np.bool_)
        )
    assert hourly.n[0, 3] == 1.5 and hourly.n[0, 4] == 1.0 and hourly.n[0].sum() == 2.5
    assert hourly.counts[0, 3, 0].tolist() == [1.5, 0.0]
    assert hourly.counts[0, 3, 1].tolist() == [1.5, 1.5]
    hourly.learn(slots, np.array([4]), exceeded, np.array([0.5]), np.array([False]))
    assert hourly.n[0, 4] == 1.0, "a point not scored changes nothing"
