"""The time-of-week statistic of the univariate detector (anomaly_season.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import CAUSES, AnomalyBank, DetectorParams, score_series
from shugu.monitor.anomaly_season import (
    HOURS_PER_WEEK,
    SeasonParams,
    SeasonState,
    hour_of_week,
)

STEP_MIN = 15
DAY = 1440 // STEP_MIN
MONDAY = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000)


def office_weeks(
    weeks: int, holiday: int | None, step_min: int = STEP_MIN, noise: float = 0.5
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A smooth working-day bump from 06:00 to 20:00 on weekdays, idle at night and all weekend.
    On day ``holiday`` (a weekday) the series idles as on a Sunday: every value is one it has
    had before, and every step one it has made before."""
    minutes = np.arange(0, weeks * 7 * 1440, step_min)
    day = minutes // 1440
    hour = (minutes % 1440) / 60.0
    weekday = day % 7 < 5
    busy = weekday & (hour >= 6) & (hour < 20)
    if holiday is not None:
        busy &= day != holiday
    bump = np.where(busy, np.sin(np.pi * (hour - 6.0) / 14.0), 0.0)
    rng = np.random.default_rng(5)
    v = 10.0 + 8.0 * bump + rng.normal(0.0, noise, len(minutes))
    return (MONDAY + minutes * 60_000).astype(np.int64), v


def test_hour_of_week_starts_on_monday() -> None:
    ts = np.array([MONDAY, MONDAY + 3_600_000, MONDAY - 60_000], dtype=np.int64)
    assert hour_of_week(ts).tolist() == [0, 1, HOURS_PER_WEEK - 1]


def test_a_holiday_is_found_only_by_the_time_of_week() -> None:
    holiday = 4 * 7 + 2  # the fifth Wednesday
    ts, v = office_weeks(5, holiday)
    _, alarms = score_series(ts, v)
    _, without = score_series(ts, v, params=DetectorParams(season_weight=0.0))
    day_of = np.arange(len(v)) // DAY
    assert alarms[day_of == holiday].any(), "the idle Wednesday is found"
    assert not without[day_of == holiday].any(), "the other statistics see nothing odd"
    added = alarms & ~without
    assert (day_of[added] == holiday).all(), "the time of week adds no alarm on normal days"


def test_the_cause_names_the_hour_and_the_value_range() -> None:
    holiday = 4 * 7 + 2
    ts, v = office_weeks(5, holiday)
    bank = AnomalyBank(capacity=1)
    slot = np.array([bank.slot((1, 1))], dtype=np.intp)
    found: list[tuple[int, int]] = []
    for i in range(len(v)):
        _, alarm = bank.update(slot, ts[i : i + 1], v[i : i + 1])
        if alarm[0] and CAUSES[int(bank.causes[0])] == "unusual_for_time":
            hours, value_ranges = bank.season_step
            found.append((int(hours[0]), i))
            assert bank.context is not None
            low, high = bank.context.range_of(0, int(value_ranges[0]))
            assert low <= v[i] < high
    assert len(found) == 1
    hour, at = found[0]
    assert at // DAY == holiday
    assert hour == int(hour_of_week(ts[at : at + 1])[0])
    assert 2 * 24 + 6 <= hour < 2 * 24 + 20, "a Wednesday working hour"


def test_a_series_without_rhythm_is_left_alone() -> None:
    minutes = np.arange(0, 3 * 7 * 1440, STEP_MIN)
    ts = (MONDAY + minutes * 60_000).astype(np.int64)
    v = np.random.default_rng(2).normal(10.0, 1.0, len(ts))
    bank = AnomalyBank(capacity=1)
    slot = np.array([bank.slot((1, 1))], dtype=np.intp)
    for i in range(len(v)):
        bank.update(slot, ts[i : i + 1], v[i : i + 1])
        assert CAUSES[int(bank.causes[0])] != "unusual_for_time"
    assert bank.season is not None
    assert bank.season.gain[0] < bank.params.season.min_gain
    rhythm_ts, rhythm = office_weeks(3, None)
    state = AnomalyBank(capacity=1)
    for i in range(len(rhythm)):
        state.update(slot, rhythm_ts[i : i + 1], rhythm[i : i + 1])
    assert state.season is not None
    assert state.season.gain[0] >= state.params.season.min_gain, "a weekly rhythm is told"


def test_the_tables_count_minutes_not_points() -> None:
    """The same behaviour sampled every minute or every hour builds the same shares."""
    shares, minutes = [], []
    for step_min in (1, 60):
        ts = (MONDAY + np.arange(0, 2 * 7 * 1440, step_min) * 60_000).astype(np.int64)
        how = hour_of_week(ts)
        working = (how < 5 * 24) & (how % 24 >= 8) & (how % 24 < 18)
        ranges = np.where(working, 3, 1).astype(np.intp)
        state = SeasonState(1, ranges=4, params=SeasonParams(merge=1))
        slots = np.array([0], dtype=np.intp)
        for i in range(len(ts)):
            state.step(slots, ts[i : i + 1], ranges[i : i + 1], np.array([True]))
        shares.append(state.week[0] / np.maximum(state.week_total[0][:, None], 1e-12))
        minutes.append(state.overall_total[0] / state.weight[0])
    assert np.allclose(shares[0], shares[1], atol=1e-9)
    assert np.isclose(minutes[0], minutes[1], rtol=0.01), "the decayed minutes agree too"


def test_lazy_decay_equals_decaying_every_count() -> None:
    params = SeasonParams(merge=1, memory_minutes=30.0)
    state = SeasonState(1, ranges=3, params=params)
    slots = np.array([0], dtype=np.intp)
    rng = np.random.default_rng(1)
    table = np.zeros((HOURS_PER_WEEK, 3))
    for i in range(800):  # the weight passes the rescale point (1e100) on the way
        ts = np.array([MONDAY + i * 600_000], dtype=np.int64)
        r = rng.integers(0, 3, 1).astype(np.intp)
        state.step(slots, ts, r, np.array([True]))
        if i:
            table *= np.exp(-10.0 / params.memory_minutes)
            table[int(hour_of_week(ts)[0]), int(r[0])] += 10.0
    # The weight has already grown for the next point: one step of decay beyond the table.
    keep = np.exp(-10.0 / params.memory_minutes)
    assert np.allclose(state.week[0] / state.weight[0] / keep, table, rtol=1e-9, atol=0.0)
    assert np.allclose(state.week_total[0], state.week[0].sum(axis=1), rtol=1e-9, atol=0.0)


def test_invalid_points_change_nothing() -> None:
    state = SeasonState(2, ranges=16)
    slots = np.array([0, 1], dtype=np.intp)
    ts = np.array([MONDAY, MONDAY], dtype=np.int64)
    state.step(slots, ts, np.array([3, 3], dtype=np.intp), np.array([True, False]))
    state.step(slots, ts + 60_000, np.array([3, 3], dtype=np.intp), np.array([True, False]))
    assert state.n.tolist() == [2.0, 0.0]
    assert state.overall_total[1] == 0.0 and state.overall_total[0] > 0.0
