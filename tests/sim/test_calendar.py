"""Shift calendars: the planned time they give, the body shugu's calendar API takes, what they
refuse, and looms that stand while their mill does not work."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from shugu.sim.calendar import CalendarSpec, WorkSchedule
from shugu.sim.loom import CAUSE_NONE, CAUSE_OTHER, LoomParams, LoomShed

HOUR = 3_600_000
#: 2026-03-02 00:00 China time, a Monday.
MONDAY = 1_772_380_800_000
TWO_SHIFTS: dict[str, Any] = {
    "shifts": [
        {"name": "白班", "start": "08:00", "end": "20:00"},
        {"name": "夜班", "start": "20:00", "end": "08:00"},
    ]
}
THREE_SHIFTS_SUNDAY_REST: dict[str, Any] = {
    "shifts": [
        {"name": "早班", "start": "08:00", "end": "16:00"},
        {"name": "中班", "start": "16:00", "end": "00:00"},
        {"name": "夜班", "start": "00:00", "end": "08:00"},
    ],
    "rest_days": [7],
}


def calendar(**fields: Any) -> CalendarSpec:
    return CalendarSpec.model_validate(fields)


def test_monday_is_a_monday() -> None:
    assert date.fromtimestamp((MONDAY + 8 * HOUR) / 1000).isoweekday() == 1


def test_two_twelve_hour_shifts_plan_the_whole_week_three_eights_with_sundays_off_six_days() -> (
    None
):
    two = WorkSchedule(calendar(**TWO_SHIFTS))
    three = WorkSchedule(calendar(**THREE_SHIFTS_SUNDAY_REST))
    week = (MONDAY, MONDAY + 7 * 24 * HOUR)
    assert two.planned_ms(*week) == 168 * HOUR
    assert three.planned_ms(*week) == 144 * HOUR
    assert calendar(**THREE_SHIFTS_SUNDAY_REST).planned_hours_per_week() == 144.0
    sunday = MONDAY + 6 * 24 * HOUR
    assert not three.is_planned(sunday) and not three.is_planned(sunday + 12 * HOUR)
    assert three.is_planned(sunday - 1) and three.is_planned(sunday + 24 * HOUR)
    assert three.next_change(sunday - HOUR) == sunday
    assert three.next_change(sunday) == sunday + 24 * HOUR
    assert two.next_change(MONDAY) is None  # always planned


def test_a_night_shift_belongs_to_the_day_it_starts() -> None:
    # Sunday off, two shifts: Saturday's night shift still runs until Sunday 08:00, and
    # Sunday's own night shift does not run, so Monday starts at 08:00.
    schedule = WorkSchedule(calendar(**TWO_SHIFTS, rest_days=[7]))
    sunday = MONDAY + 6 * 24 * HOUR
    assert schedule.is_planned(sunday + 7 * HOUR)
    assert schedule.next_change(sunday) == sunday + 8 * HOUR
    assert schedule.next_change(sunday + 8 * HOUR) == sunday + 32 * HOUR
    assert schedule.planned_ms(sunday, sunday + 24 * HOUR) == 8 * HOUR


def test_breaks_holidays_makeup_days_and_downtime_take_out_or_give_back_time() -> None:
    spec = calendar(
        **THREE_SHIFTS_SUNDAY_REST,
        breaks=[
            {"name": "午餐", "start": "12:00", "end": "12:30"},
            {"start": "03:00", "end": "03:30"},
        ],
        holidays=["2026-03-03"],
        makeup_days=["2026-03-08"],  # a Sunday worked
        downtime=[{"start": "2026-03-04T10:00", "end": "2026-03-04T14:00", "note": "保养"}],
    )
    schedule = WorkSchedule(spec)
    day = 24 * HOUR
    assert schedule.planned_ms(MONDAY, MONDAY + day) == 24 * HOUR - HOUR
    # Tuesday is a holiday: Monday's 16:00-24:00 shift ends at its midnight.
    assert schedule.planned_ms(MONDAY + day, MONDAY + 2 * day) == 0
    # Wednesday: four hours of downtime, the noon break inside them.
    wednesday = schedule.planned_ms(MONDAY + 2 * day, MONDAY + 3 * day)
    assert wednesday == 24 * HOUR - 30 * 60_000 - 4 * HOUR
    # The Sunday made a working day is worked.
    assert schedule.planned_ms(MONDAY + 6 * day, MONDAY + 7 * day) == 24 * HOUR - HOUR
    assert schedule.next_change(MONDAY + 12 * HOUR) == MONDAY + 12 * HOUR + 30 * 60_000


def test_a_break_inside_a_night_shift_may_cross_midnight() -> None:
    schedule = WorkSchedule(calendar(**TWO_SHIFTS, breaks=[{"start": "23:30", "end": "00:30"}]))
    assert schedule.planned_ms(MONDAY, MONDAY + 24 * HOUR) == 23 * HOUR
    assert not schedule.is_planned(MONDAY + 15 * 60_000)
    assert schedule.next_change(MONDAY) == MONDAY + 30 * 60_000


def test_before_it_takes_effect_every_hour_counts() -> None:
    schedule = WorkSchedule(calendar(**THREE_SHIFTS_SUNDAY_REST, effective_from="2026-03-09"))
    sunday = MONDAY + 6 * 24 * HOUR
    assert schedule.planned_ms(sunday, sunday + 24 * HOUR) == 24 * HOUR
    later = WorkSchedule(calendar(**THREE_SHIFTS_SUNDAY_REST, effective_from="2026-03-01"))
    assert later.planned_ms(sunday, sunday + 24 * HOUR) == 0


def test_the_body_for_the_calendar_api() -> None:
    spec = calendar(
        **THREE_SHIFTS_SUNDAY_REST,
        effective_from="2026-01-01",
        breaks=[{"start": "12:00", "end": "12:30"}],
        holidays=["2026-02-17"],
        downtime=[{"start": "2026-03-04T10:00", "end": "2026-03-04T14:00"}],
    )
    assert spec.body() == {
        "effective_from": "2026-01-01",
        "shifts": THREE_SHIFTS_SUNDAY_REST["shifts"],
        "note": "",
        "breaks": [{"name": "", "start": "12:00", "end": "12:30"}],
        "rest_days": [7],
        "holidays": ["2026-02-17"],
        "makeup_days": [],
        "downtime": [{"start": "2026-03-04T10:00", "end": "2026-03-04T14:00", "note": ""}],
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"shifts": []}, "at least 1"),
        ({"shifts": [{"name": "a", "start": "8:00", "end": "20:00"}]}, "HH:MM"),
        ({"shifts": [{"name": "a", "start": "24:00", "end": "08:00"}]}, "HH:MM"),
        (
            {
                "shifts": [
                    {"name": "白班", "start": "08:00", "end": "20:00"},
                    {"name": "夜班", "start": "19:00", "end": "08:00"},
                ]
            },
            "白班 and 夜班 overlap",
        ),
        (
            {
                "shifts": [
                    {"name": "夜班", "start": "22:00", "end": "06:00"},
                    {"name": "早班", "start": "05:00", "end": "12:00"},
                ]
            },
            "overlap",
        ),
        ({**TWO_SHIFTS, "rest_days": [0]}, "ISO weekdays"),
        ({**TWO_SHIFTS, "rest_days": [6, 6]}, "ISO weekdays"),
        ({**TWO_SHIFTS, "holidays": ["2026-05-01"], "makeup_days": ["2026-05-01"]}, "both"),
        ({"shifts": [{"name": "a", "start": "08:30", "end": "20:00"}]}, "on the hour"),
        (
            {**THREE_SHIFTS_SUNDAY_REST, "breaks": [{"start": "23:45", "end": "00:15"}]},
            "does not lie inside one shift",
        ),
        (
            {
                **TWO_SHIFTS,
                "breaks": [{"start": "12:00", "end": "12:30"}, {"start": "12:15", "end": "13:00"}],
            },
            "overlaps another break",
        ),
        ({**TWO_SHIFTS, "breaks": [{"start": "12:00", "end": "12:00"}]}, "ends when it starts"),
        (
            {**TWO_SHIFTS, "downtime": [{"start": "2026-05-01T10:00", "end": "2026-05-01T09:00"}]},
            "ends",
        ),
        ({**TWO_SHIFTS, "downtime": [{"start": "2026-05-01", "end": "2026-05-02"}]}, "YYYY"),
        ({**TWO_SHIFTS, "weekends": True}, "Extra inputs"),
    ],
)
def test_a_bad_calendar_is_refused_saying_why(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CalendarSpec.model_validate(fields)


def test_looms_stand_while_the_mill_rests_and_start_with_the_next_shift() -> None:
    schedule = WorkSchedule(calendar(**THREE_SHIFTS_SUNDAY_REST))
    params = LoomParams(no_order_per_day=0.0, doffing_per_day=0.0)
    shed = LoomShed(
        [f"loom-{i}" for i in range(20)], np.random.default_rng(3), params, None, schedule
    )
    saturday_noon = MONDAY + 5 * 24 * HOUR + 12 * HOUR
    t = saturday_noon
    shed.step(t, 0.0)
    # One long step from Saturday noon past Sunday: looms stop at midnight and start Monday.
    energy_before = shed.counters()["loom-0"]["energy_kwh"]
    t += 36 * HOUR
    readings = shed.step(t, 36 * 3600.0)
    assert {r["running"] for r in readings.values()} <= {0.0, 1.0}
    tally = shed.tally("loom-0")
    assert tally.resting_s == pytest.approx(24 * 3600.0)
    assert tally.running_s + tally.stopped_s == pytest.approx(12 * 3600.0)
    # A standing loom still draws its controls' and lights' power.
    kwh = tally.running_s * params.running_kw + (24 * 3600.0 + tally.stopped_s) * params.stopped_kw
    assert shed.counters()["loom-0"]["energy_kwh"] - energy_before == pytest.approx(kwh / 3600)
    # Sunday, step by step: every loom stands, for the mill, not for a fault.
    sunday = MONDAY + 6 * 24 * HOUR
    resting = LoomShed(["a", "b"], np.random.default_rng(4), params, None, schedule)
    resting.step(sunday + HOUR, 0.0)
    for k in range(1, 13):
        readings = resting.step(sunday + HOUR + k * 600_000, 600.0)
        assert all(
            r["running"] == 0.0 and r["stop_cause"] == CAUSE_OTHER for r in readings.values()
        )
        assert all(r["speed_rpm"] == 0.0 for r in readings.values())
    monday = sunday + 24 * HOUR
    readings = resting.step(monday + 1000, (monday + 1000 - (sunday + 3 * HOUR)) / 1000)
    assert any(r["running"] == 1.0 and r["stop_cause"] == CAUSE_NONE for r in readings.values())


def test_the_same_day_stepped_finely_or_in_one_stride_rests_as_long() -> None:
    schedule = WorkSchedule(calendar(**THREE_SHIFTS_SUNDAY_REST))
    names = [f"loom-{i}" for i in range(5)]
    fine = LoomShed(names, np.random.default_rng(5), schedule=schedule)
    coarse = LoomShed(names, np.random.default_rng(5), schedule=schedule)
    start = MONDAY + 6 * 24 * HOUR - 3 * HOUR
    fine.step(start, 0.0)
    coarse.step(start, 0.0)
    for k in range(1, 31 * 12 + 1):
        fine.step(start + k * 300_000, 300.0)
    coarse.step(start + 31 * HOUR, 31 * 3600.0)
    for name in names:
        assert fine.tally(name).resting_s == pytest.approx(24 * 3600.0)
        assert coarse.tally(name).resting_s == pytest.approx(24 * 3600.0)
