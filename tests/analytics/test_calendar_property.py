"""The vectorised planned time agrees with a count minute by minute, straight from the calendar's
rules, on random calendars and versions (every boundary is a whole minute, so a minute is planned
or not as a whole)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shugu.analytics.calendar import (
    DAY_MS,
    DEFAULT_CALENDAR,
    MINUTE_MS,
    Break,
    CalendarVersion,
    Downtime,
    PlannedClock,
    Shift,
    ShiftCalendar,
    day_start_ms,
    local_day,
)

FIRST = date(2026, 12, 1)
#: The days the random calendars speak of: around the span.
DAYS = [FIRST + timedelta(days=k) for k in range(-2, 6)]


@st.composite
def calendars(draw: st.DrawFn) -> ShiftCalendar:
    """Shifts on whole hours around the dial, each with at most one break inside it."""
    starts = sorted(draw(st.sets(st.integers(0, 23), min_size=0, max_size=4)))
    shifts: list[Shift] = []
    breaks: list[Break] = []
    for k, start in enumerate(starts):
        room = (starts[(k + 1) % len(starts)] - start - 1) % 24 + 1
        length_h = draw(st.integers(1, room))
        shift = Shift(f"S{start}", start * 60, (start + length_h) * 60 % 1440)
        shifts.append(shift)
        if draw(st.booleans()):
            offset = draw(st.integers(0, length_h * 60 - 1))
            length = draw(st.integers(1, length_h * 60 - offset))
            lo = (shift.start_min + offset) % 1440
            breaks.append(Break("", lo, (lo + length) % 1440))
    holidays = draw(st.frozensets(st.sampled_from(DAYS), max_size=3))
    makeup = draw(st.frozensets(st.sampled_from(DAYS), max_size=2)) - holidays
    windows = []
    for _ in range(draw(st.integers(0, 2))):
        lo = day_start_ms(DAYS[0]) + draw(st.integers(0, 7 * 1440)) * MINUTE_MS
        windows.append(Downtime(lo, lo + draw(st.integers(1, 1800)) * MINUTE_MS))
    return ShiftCalendar(
        shifts=tuple(shifts),
        breaks=tuple(breaks),
        rest_days=draw(st.frozensets(st.integers(1, 7), max_size=3)),
        holidays=holidays,
        makeup_days=makeup,
        downtime=tuple(windows),
    )


versions_strategy = st.lists(
    st.builds(
        CalendarVersion,
        effective_from=st.sampled_from(DAYS),
        calendar=st.one_of(st.just(DEFAULT_CALENDAR), calendars()),
        id=st.integers(1, 1000),
    ),
    max_size=3,
)


def _in_force(versions: list[CalendarVersion], day: date) -> ShiftCalendar:
    found = DEFAULT_CALENDAR
    for version in sorted(versions, key=lambda v: v.effective_from):  # stable: later saved wins
        if version.effective_from <= day:
            found = version.calendar
    return found


def _works(calendar: ShiftCalendar, day: date) -> bool:
    if day in calendar.makeup_days:
        return True
    return day not in calendar.holidays and day.isoweekday() not in calendar.rest_days


def _shift_at(calendar: ShiftCalendar, t: int) -> tuple[date, Shift] | None:
    """The shift occurrence (by the calendar's rules) that instant ``t`` lies in."""
    today = local_day(t)
    for start_day in (today, today - timedelta(days=1)):
        if not _works(calendar, start_day):
            continue
        for shift in calendar.shifts:
            lo = day_start_ms(start_day) + shift.start_min * MINUTE_MS
            if lo <= t < lo + shift.length_min * MINUTE_MS:
                return start_day, shift
    return None


def _planned_at(versions: list[CalendarVersion], t: int) -> bool:
    calendar = _in_force(versions, local_day(t))
    found = _shift_at(calendar, t)
    if found is None:
        return False
    start_day, shift = found
    shift_lo = day_start_ms(start_day) + shift.start_min * MINUTE_MS
    for piece in calendar.breaks:
        offset = (piece.start_min - shift.start_min) % 1440
        if offset + piece.length_min > shift.length_min:
            continue
        lo = shift_lo + offset * MINUTE_MS
        if lo <= t < lo + piece.length_min * MINUTE_MS:
            return False
    return not any(w.start_ms <= t < w.end_ms for w in calendar.downtime)


@settings(max_examples=60, deadline=None)
@given(
    versions=versions_strategy,
    start_minute=st.integers(0, 2 * 1440),
    length_minutes=st.integers(0, 3 * 1440),
    probes=st.lists(st.integers(-1440 * MINUTE_MS, 6 * DAY_MS), min_size=1, max_size=20),
)
def test_cumulative_agrees_with_a_minute_by_minute_count(
    versions: list[CalendarVersion], start_minute: int, length_minutes: int, probes: list[int]
) -> None:
    base = day_start_ms(FIRST)
    start = base + start_minute * MINUTE_MS
    end = start + length_minutes * MINUTE_MS
    clock = PlannedClock(versions, start, end)
    minutes = np.array(
        [_planned_at(versions, start + k * MINUTE_MS) for k in range(length_minutes)], dtype=bool
    )
    before = np.concatenate(([0], np.cumsum(minutes))) * MINUTE_MS
    assert clock.total_ms == int(before[-1])
    instants = np.array([base + p for p in probes], dtype=np.int64)
    wanted = []
    for t in instants.tolist():
        t = min(max(t, start), end)
        k = (t - start) // MINUTE_MS
        part = (t - start) % MINUTE_MS if k < length_minutes and minutes[k] else 0
        wanted.append(int(before[k]) + part)
    assert clock.cumulative(instants).tolist() == wanted
    # The intervals are sorted, disjoint and apart.
    assert (clock.ends > clock.starts).all() and (clock.starts[1:] > clock.ends[:-1]).all()


@settings(max_examples=40, deadline=None)
@given(versions=versions_strategy, hour=st.integers(0, 3 * 24))
def test_shift_of_agrees_with_the_calendar_s_rules(
    versions: list[CalendarVersion], hour: int
) -> None:
    start = day_start_ms(FIRST)
    clock = PlannedClock(versions, start, start + 4 * DAY_MS)
    t = start + hour * 3_600_000
    days, shifts = clock.shift_of(np.array([t], dtype=np.int64))
    found = _shift_at(_in_force(versions, local_day(t)), t)
    if found is None:
        assert shifts.tolist() == [-1]
        assert days.tolist() == [day_start_ms(local_day(t))]
    else:
        start_day, shift = found
        assert days.tolist() == [day_start_ms(start_day)]
        assert clock.shift_names[int(shifts[0])] == shift.name
