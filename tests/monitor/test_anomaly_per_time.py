"""The range-based statistics judge rarity per time, not per point (decision 0066): on a series
sampled faster than every 5 minutes their decades are lowered by log10(5 min / step), while the
spike statistic and 5-minute series score exactly as before."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import (
    CAUSES,
    PATTERN_SENSITIVITY,
    WITH_PATTERN,
    AnomalyBank,
    DetectorParams,
    explain_series,
)
from tests.monitor.test_anomaly_pattern import stairs_then_zigzag

T0 = 1_700_000_000_000
DAY_S = 86_400.0
PER_POINT = dataclasses.replace(WITH_PATTERN, reference_step_minutes=0.0)


def slow_daily_curve(
    step_s: float, days: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A cooling-tower fan speed's kind of day: a daily swing whose height changes from day to
    day, and a little sensor noise."""
    rng = np.random.default_rng(seed)
    n = int(days * DAY_S / step_s)
    t = np.arange(n) * step_s
    height = np.repeat(1.0 + 0.2 * rng.normal(size=int(days) + 1), int(DAY_S / step_s))[:n]
    x = 60.0 + 25.0 * height * np.sin(2 * np.pi * t / DAY_S) + rng.normal(0, 0.3, n)
    return (T0 + (t * 1000).astype(np.int64)).astype(np.int64), x


def alarms(ts: npt.NDArray[np.int64], x: npt.NDArray[np.float64], params: DetectorParams) -> int:
    _, alarm, _ = explain_series(ts, x, PATTERN_SENSITIVITY, params)
    return int(alarm.sum())


def test_a_smooth_daily_curve_at_30_seconds_is_quiet() -> None:
    """Judged per point, the crossings between value ranges that a slow curve makes a few times
    a day (with sensor noise jittering across the edge) look far rarer than they are."""
    found = []
    for seed in (0, 1):
        ts, x = slow_daily_curve(30.0, 7, seed)
        for name, params in (("per point", PER_POINT), ("per time", WITH_PATTERN)):
            _, alarm, causes = explain_series(ts, x, PATTERN_SENSITIVITY, params)
            found.append((name, Counter(CAUSES[c] for c in causes[alarm])))
    per_point = [c for name, c in found if name == "per point"]
    per_time = [c for name, c in found if name == "per time"]
    assert all(c["unusual_sequence"] >= 10 for c in per_point), per_point
    # What is left is at most the week's one new extreme.
    assert all(set(c) <= {"spike"} and c.total() <= 1 for c in per_time), per_time


def test_a_pattern_change_at_30_seconds_is_judged_per_time() -> None:
    """The pattern statistic's score alone alarms on a 5-minute series; every 30 seconds the
    same points are ten times as many chances a week, and the same score stays below it."""
    x = stairs_then_zigzag()
    found = {}
    for step_s in (30, 300):
        ts = (T0 + np.arange(len(x)) * step_s * 1000).astype(np.int64)
        for name, params in (("per point", PER_POINT), ("per time", WITH_PATTERN)):
            scores, alarm, causes = explain_series(ts, x, PATTERN_SENSITIVITY, params)
            first = [CAUSES[c] for c in causes[alarm]][:1]
            found[step_s, name] = (first, round(float(scores[2400:2450].max()), 3))
    assert found[300, "per point"] == found[300, "per time"] == (["unusual_pattern"], 1.0)
    assert found[30, "per point"][0] == ["unusual_pattern"]
    assert found[30, "per time"][0] == []
    # One decade lower (log10(5 min / 30 s)): still the zigzag's score, not nothing.
    assert found[30, "per time"][1] >= 0.5


def test_five_minute_series_score_exactly_as_before() -> None:
    ts, x = slow_daily_curve(300.0, 14, seed=4)
    x[3000] += 40.0
    before, alarm_before, _ = explain_series(ts, x, PATTERN_SENSITIVITY, PER_POINT)
    now, alarm_now, _ = explain_series(ts, x, PATTERN_SENSITIVITY, WITH_PATTERN)
    assert np.array_equal(before, now)
    assert np.array_equal(alarm_before, alarm_now)
    assert alarm_now[3000]


def test_a_spike_at_30_seconds_still_alarms() -> None:
    """The spike and level statistics are not lowered: twelve standard deviations in 30-second
    noise alarm as they did."""
    rng = np.random.default_rng(5)
    n = 2 * 2880
    ts = (T0 + np.arange(n) * 30_000).astype(np.int64)
    x = 10.0 + rng.normal(size=n)
    at = n - 500
    x[at] += 12.0
    _, alarm, causes = explain_series(ts, x, PATTERN_SENSITIVITY, WITH_PATTERN)
    assert alarm[at]
    assert CAUSES[causes[at]] == "spike"
    assert not alarm[:at].any()


def test_the_stretch_follows_the_sampling_interval() -> None:
    bank = AnomalyBank(PATTERN_SENSITIVITY, params=WITH_PATTERN)
    for step_s, expected in ((1.0, 300.0), (30.0, 10.0), (300.0, 1.0), (3600.0, 1.0)):
        slot = bank.slot((int(step_s), 0))
        for i in range(60):
            bank.update(np.array([slot]), np.array([T0 + int(i * step_s * 1000)]), np.array([1.0]))
        stretch = bank.reference_stretch(np.array([slot], dtype=np.intp))
        assert abs(float(stretch[0]) - expected) < 1e-9, step_s
    # A burst of points a millisecond apart counts as one a second.
    slot = bank.slot((0, 1))
    for i in range(60):
        bank.update(np.array([slot]), np.array([T0 + i]), np.array([1.0]))
    assert float(bank.reference_stretch(np.array([slot], dtype=np.intp))[0]) == 300.0
