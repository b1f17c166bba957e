"""Planned production time from shift calendars, computed by hand: a shift crossing midnight,
breaks, a holiday, a make-up day, a maintenance window, a version change mid-month, hours in no
shift."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from shugu.analytics.calendar import (
    DAY_MS,
    DEFAULT_CALENDAR,
    Break,
    CalendarVersion,
    CalendarVersions,
    Downtime,
    PlannedClock,
    Shift,
    ShiftCalendar,
    day_plans,
    planned_intervals,
    version_on,
)
from shugu.domain.timeutil import CHINA_TZ

HOUR_MS = 3_600_000


def at(day: str, hhmm: str = "00:00") -> int:
    """Milliseconds of a local time."""
    moment = datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=CHINA_TZ)
    return int(moment.timestamp()) * 1000


def hours(ms: int) -> float:
    return ms / HOUR_MS


def shift(name: str, start: str, end: str) -> Shift:
    return Shift(name, _minutes(start), _minutes(end))


def rest(name: str, start: str, end: str) -> Break:
    return Break(name, _minutes(start), _minutes(end))


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def version(day: str, calendar: ShiftCalendar, version_id: int = 1) -> CalendarVersion:
    return CalendarVersion(date.fromisoformat(day), calendar, id=version_id)


def test_the_default_calendar_plans_every_hour_in_two_shifts() -> None:
    clock = PlannedClock([], at("2026-12-01"), at("2026-12-03"))
    assert hours(clock.total_ms) == 48
    assert clock.shift_names == ("白班", "夜班")
    days, shifts = clock.shift_of(
        np.array([at("2026-12-01", "07:00"), at("2026-12-01", "08:00"), at("2026-12-02", "23:00")])
    )
    # 07:00 belongs to the night shift that began the evening before.
    assert days.tolist() == [at("2026-11-30"), at("2026-12-01"), at("2026-12-02")]
    assert shifts.tolist() == [1, 0, 1]


def test_a_shift_crossing_midnight_belongs_to_the_day_it_started() -> None:
    night = ShiftCalendar(shifts=(shift("夜班", "22:00", "06:00"),))
    versions = [version("2026-01-01", night)]
    starts, ends = planned_intervals(versions, at("2026-12-01"), at("2026-12-03"))
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [
        (at("2026-12-01"), at("2026-12-01", "06:00")),
        (at("2026-12-01", "22:00"), at("2026-12-02", "06:00")),
        (at("2026-12-02", "22:00"), at("2026-12-03")),
    ]
    clock = PlannedClock(versions, at("2026-12-01"), at("2026-12-03"))
    assert hours(clock.total_ms) == 6 + 8 + 2
    days, shifts = clock.shift_of(np.array([at("2026-12-02", "03:00"), at("2026-12-01", "12:00")]))
    assert days.tolist() == [at("2026-12-01"), at("2026-12-01")]
    assert shifts.tolist() == [0, -1]


def test_breaks_are_planned_downtime_even_across_midnight() -> None:
    calendar = ShiftCalendar(
        shifts=(shift("早班", "08:00", "16:00"), shift("夜班", "20:00", "08:00")),
        breaks=(rest("午餐", "12:00", "12:30"), rest("夜宵", "23:45", "00:15")),
    )
    clock = PlannedClock([version("2026-01-01", calendar)], at("2026-12-02"), at("2026-12-03"))
    # 00:00–00:15 is the meal of the night shift that began the evening before; its 08:00 end
    # and the day shift's start join.
    assert list(zip(clock.starts.tolist(), clock.ends.tolist(), strict=True)) == [
        (at("2026-12-02", "00:15"), at("2026-12-02", "12:00")),
        (at("2026-12-02", "12:30"), at("2026-12-02", "16:00")),
        (at("2026-12-02", "20:00"), at("2026-12-02", "23:45")),
    ]
    assert clock.total_ms == (11 * 60 + 45 + 3 * 60 + 30 + 3 * 60 + 45) * 60_000
    # A break is still inside its shift.
    _, shifts = clock.shift_of(np.array([at("2026-12-02", "12:00"), at("2026-12-02", "00:00")]))
    assert shifts.tolist() == [0, 1]
    plan = day_plans([version("2026-01-01", calendar)], date(2026, 12, 2), 1)[0]
    assert [(s.name, s.planned_ms / 60_000) for s in plan.shifts] == [
        ("早班", 8 * 60 - 30),
        ("夜班", 12 * 60 - 30),
    ]


def test_a_holiday_removes_the_shifts_that_start_on_it() -> None:
    calendar = ShiftCalendar(
        shifts=DEFAULT_CALENDAR.shifts, holidays=frozenset({date(2026, 10, 1)})
    )
    versions = [version("2026-01-01", calendar)]
    clock = PlannedClock(versions, at("2026-10-01"), at("2026-10-03"))
    # 10-01: only the night shift of 09-30 until 08:00; 10-02: from 08:00 on.
    assert clock.planned_ms(at("2026-10-01"), at("2026-10-02")) == 8 * HOUR_MS
    assert clock.planned_ms(at("2026-10-02"), at("2026-10-03")) == 16 * HOUR_MS
    _, shifts = clock.shift_of(np.array([at("2026-10-01", "09:00"), at("2026-10-02", "03:00")]))
    assert shifts.tolist() == [-1, -1]
    plans = day_plans(versions, date(2026, 9, 30), 3)
    assert [(p.kind, p.planned_hours) for p in plans] == [
        ("work", 24.0),
        ("holiday", 0.0),
        ("work", 24.0),
    ]


def test_a_make_up_day_works_on_a_rest_day() -> None:
    calendar = ShiftCalendar(
        shifts=(shift("白班", "08:00", "17:00"),),
        rest_days=frozenset({6, 7}),
        makeup_days=frozenset({date(2026, 10, 10)}),  # a Saturday
    )
    versions = [version("2026-01-01", calendar)]
    week = PlannedClock(versions, at("2026-10-05"), at("2026-10-12"))  # Monday to Sunday
    assert hours(week.total_ms) == 6 * 9
    plans = day_plans(versions, date(2026, 10, 9), 3)
    assert [(p.kind, p.planned_hours) for p in plans] == [
        ("work", 9.0),
        ("makeup", 9.0),
        ("rest", 0.0),
    ]


def test_a_maintenance_window_is_planned_downtime() -> None:
    calendar = ShiftCalendar(
        shifts=DEFAULT_CALENDAR.shifts,
        downtime=(Downtime(at("2026-12-10", "06:00"), at("2026-12-10", "10:00"), "检修"),),
    )
    clock = PlannedClock([version("2026-01-01", calendar)], at("2026-12-10"), at("2026-12-11"))
    assert hours(clock.total_ms) == 20
    assert clock.planned_ms(at("2026-12-10", "05:00"), at("2026-12-10", "11:00")) == 2 * HOUR_MS
    # The window does not change which shift an hour is in.
    _, shifts = clock.shift_of(np.array([at("2026-12-10", "07:00"), at("2026-12-10", "09:00")]))
    assert shifts.tolist() == [1, 0]


def test_a_version_holds_from_its_date_and_the_past_keeps_its_own() -> None:
    day_only = ShiftCalendar(shifts=(shift("白班", "08:00", "16:00"),), rest_days=frozenset({7}))
    versions = [version("2026-12-15", day_only)]
    clock = PlannedClock(versions, at("2026-12-01"), at("2027-01-01"))
    # 12-01 … 12-14 the default, around the clock; from 12-15 (at midnight: the night shift of
    # 12-14 stops there) eight hours a day but the Sundays 12-20 and 12-27.
    assert clock.planned_ms(at("2026-12-01"), at("2026-12-15")) == 14 * 24 * HOUR_MS
    assert clock.planned_ms(at("2026-12-15"), at("2027-01-01")) == 15 * 8 * HOUR_MS
    assert hours(clock.total_ms) == 336 + 120
    assert clock.shift_names == ("白班", "夜班")
    _, shifts = clock.shift_of(np.array([at("2026-12-14", "23:00"), at("2026-12-15", "03:00")]))
    assert shifts.tolist() == [1, -1]
    assert version_on(versions, date(2026, 12, 14)).is_default
    assert version_on(versions, date(2026, 12, 15)).calendar == day_only


def test_of_two_versions_from_one_date_the_later_saved_holds() -> None:
    first = ShiftCalendar(shifts=(shift("白班", "08:00", "16:00"),))
    second = ShiftCalendar(shifts=(shift("早班", "06:00", "18:00"),))
    saved = CalendarVersions(7, (version("2026-12-01", first, 1), version("2026-12-01", second, 2)))
    assert saved.in_force(date(2026, 12, 3)).id == 2
    assert [v.id for v in saved.timeline()] == [None, 2]
    assert hours(saved.clock(at("2026-12-03"), at("2026-12-04")).total_ms) == 12


def test_hours_in_no_shift_keep_their_own_day() -> None:
    calendar = ShiftCalendar(shifts=(shift("白班", "08:00", "16:00"),))
    clock = PlannedClock([version("2026-01-01", calendar)], at("2026-12-01"), at("2026-12-02"))
    hour_starts = at("2026-12-01") + np.arange(24, dtype=np.int64) * HOUR_MS
    days, shifts = clock.shift_of(hour_starts)
    assert shifts.tolist() == [-1] * 8 + [0] * 8 + [-1] * 8
    assert set(days.tolist()) == {at("2026-12-01")}


def test_cumulative_counts_from_the_span_start_and_stops_at_its_end() -> None:
    calendar = ShiftCalendar(shifts=(shift("白班", "08:00", "16:00"),))
    clock = PlannedClock([version("2026-01-01", calendar)], at("2026-12-01"), at("2026-12-03"))
    probes = np.array(
        [
            at("2026-11-30"),
            at("2026-12-01", "09:00") + 1,
            at("2026-12-01", "20:00"),
            at("2026-12-02", "08:00"),
            at("2026-12-05"),
        ]
    )
    assert clock.cumulative(probes).tolist() == [
        0,
        HOUR_MS + 1,
        8 * HOUR_MS,
        8 * HOUR_MS,
        16 * HOUR_MS,
    ]
    assert clock.planned_seconds(at("2026-12-01", "15:30"), at("2026-12-02", "08:30")) == 3600.0


def test_a_calendar_without_shifts_plans_nothing() -> None:
    clock = PlannedClock(
        [version("2026-01-01", ShiftCalendar(shifts=()))], at("2026-12-01"), at("2026-12-02")
    )
    assert clock.total_ms == 0
    assert clock.cumulative(np.array([at("2026-12-01", "12:00")])).tolist() == [0]
    assert clock.shift_of(np.array([at("2026-12-01")]))[1].tolist() == [-1]


def test_a_clock_refuses_a_span_backwards_or_beyond_ten_years() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        PlannedClock([], at("2026-12-02"), at("2026-12-01"))
    with pytest.raises(ValueError, match="at most"):
        PlannedClock([], at("2026-12-01"), at("2026-12-01") + 4000 * DAY_MS)
