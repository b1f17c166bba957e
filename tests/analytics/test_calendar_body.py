"""A calendar's JSON read and checked: what is accepted, and each refusal's code and field."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from shugu.analytics.calendar import ShiftCalendar
from shugu.analytics.calendar_body import calendar_json, parse_calendar, parse_version
from shugu.domain.errors import ValidationError

BODY: dict[str, Any] = {
    "effective_from": "2026-12-01",
    "note": "冬季排班",
    "shifts": [
        {"name": "早班", "start": "08:00", "end": "16:00"},
        {"name": "中班", "start": "16:00", "end": "24:00"},
        {"name": "夜班", "start": "00:00", "end": "08:00"},
    ],
    "breaks": [
        {"name": "午餐", "start": "12:00", "end": "12:30"},
        {"name": "夜宵", "start": "02:00", "end": "02:20"},
    ],
    "rest_days": [7],
    "holidays": ["2027-01-01"],
    "makeup_days": ["2027-02-07"],
    "downtime": [{"start": "2026-12-10T08:00", "end": "2026-12-10T16:00", "note": "年度检修"}],
}


def changed(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    body.update(changes)
    return body


def refusal(body: object) -> tuple[str, str | None]:
    with pytest.raises(ValidationError) as caught:
        parse_version(body)
    return caught.value.code, caught.value.details.get("field")


def test_a_full_calendar_reads_and_writes_back_the_same() -> None:
    asked = parse_version(BODY)
    assert asked.effective_from == date(2026, 12, 1)
    assert asked.note == "冬季排班"
    calendar = asked.calendar
    assert [(s.name, s.start_min, s.end_min) for s in calendar.shifts] == [
        ("早班", 480, 960),
        ("中班", 960, 0),
        ("夜班", 0, 480),
    ]
    assert calendar.shifts[1].length_min == 480
    assert calendar.rest_days == {7} and calendar.makeup_days == {date(2027, 2, 7)}
    written = calendar_json(calendar)
    assert parse_calendar(written) == calendar
    assert written["downtime"] == [
        {"start": "2026-12-10T08:00", "end": "2026-12-10T16:00", "note": "年度检修"}
    ]
    assert written["shifts"][1] == {"name": "中班", "start": "16:00", "end": "00:00"}


def test_the_default_shape_is_two_shifts_and_nothing_else() -> None:
    calendar = parse_calendar(
        {
            "shifts": [
                {"name": "白班", "start": "08:00", "end": "20:00"},
                {"name": "夜班", "start": "20:00", "end": "08:00"},
            ]
        }
    )
    assert calendar == ShiftCalendar(shifts=calendar.shifts)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ([], "calendar_invalid", None),
        (changed(colour="red"), "calendar_invalid", "colour"),
        (
            {k: v for k, v in BODY.items() if k != "effective_from"},
            "calendar_date_invalid",
            "effective_from",
        ),
        (changed(effective_from="2026-13-01"), "calendar_date_invalid", "effective_from"),
        (changed(effective_from="20261201"), "calendar_date_invalid", "effective_from"),
        (changed(effective_from="1999-12-31"), "calendar_date_invalid", "effective_from"),
        (changed(effective_from=20261201), "calendar_date_invalid", "effective_from"),
        (changed(note=["x"]), "calendar_invalid", "note"),
        (changed(note="x" * 201), "name_too_long", "note"),
        (changed(shifts=[]), "calendar_no_shifts", "shifts"),
        (changed(shifts={"name": "x"}), "calendar_invalid", "shifts"),
        (
            changed(shifts=[{"name": "白班", "start": "08:00", "end": "20:00"}] * 25),
            "calendar_too_many",
            "shifts",
        ),
        (
            changed(shifts=[{"name": " ", "start": "08:00", "end": "20:00"}]),
            "name_required",
            "shifts.0.name",
        ),
        (
            changed(shifts=[{"name": "a\x00", "start": "08:00", "end": "20:00"}]),
            "name_invalid",
            "shifts.0.name",
        ),
        (
            changed(shifts=[{"name": "白班", "start": "08:30", "end": "20:00"}]),
            "calendar_time_invalid",
            "shifts.0.start",
        ),
        (
            changed(shifts=[{"name": "白班", "start": "24:00", "end": "20:00"}]),
            "calendar_time_invalid",
            "shifts.0.start",
        ),
        (
            changed(shifts=[{"name": "白班", "start": "8", "end": "20:00"}]),
            "calendar_time_invalid",
            "shifts.0.start",
        ),
        (
            changed(shifts=[{"name": "白班", "start": "０８:00", "end": "20:00"}]),
            "calendar_time_invalid",
            "shifts.0.start",
        ),
        (
            changed(shifts=[{"name": "白班", "start": "08:00", "end": 20}]),
            "calendar_time_invalid",
            "shifts.0.end",
        ),
        (
            changed(shifts=[{"name": "白班", "start": "08:00"}]),
            "calendar_time_invalid",
            "shifts.0.end",
        ),
        (
            changed(shifts=[{"name": "白班", "start": "08:00", "end": "20:00", "x": 1}]),
            "calendar_invalid",
            "shifts.0.x",
        ),
        (
            changed(
                shifts=[
                    {"name": "白班", "start": "08:00", "end": "20:00"},
                    {"name": "白班", "start": "20:00", "end": "08:00"},
                ]
            ),
            "calendar_shift_name_taken",
            "shifts.1.name",
        ),
        (
            changed(
                shifts=[
                    {"name": "夜班", "start": "20:00", "end": "08:00"},
                    {"name": "早班", "start": "06:00", "end": "14:00"},
                ],
                breaks=[],
            ),
            "calendar_shift_overlap",
            "shifts.1.start",
        ),
        (
            changed(breaks=[{"start": "12:00", "end": "12:00"}]),
            "calendar_time_invalid",
            "breaks.0.end",
        ),
        (
            changed(breaks=[{"start": "12:00", "end": "12:60"}]),
            "calendar_time_invalid",
            "breaks.0.end",
        ),
        (
            changed(breaks=[{"start": "07:30", "end": "08:30"}]),
            "calendar_break_outside_shift",
            "breaks.0.start",
        ),
        (
            changed(
                breaks=[{"start": "12:00", "end": "12:30"}, {"start": "12:15", "end": "12:45"}]
            ),
            "calendar_break_overlap",
            "breaks.1.start",
        ),
        (changed(rest_days=[0]), "calendar_weekday_invalid", "rest_days.0"),
        (changed(rest_days=[7, True]), "calendar_weekday_invalid", "rest_days.1"),
        (changed(rest_days=[6.0]), "calendar_weekday_invalid", "rest_days.0"),
        (changed(holidays=["2027-02-30"]), "calendar_date_invalid", "holidays.0"),
        (changed(holidays=["2027-01-01"] * 1001), "calendar_too_many", "holidays"),
        (
            changed(makeup_days=["2027-02-07", "2027-01-01"]),
            "calendar_day_conflict",
            "makeup_days.1",
        ),
        (
            changed(downtime=[{"start": "2026-12-10T08:00", "end": "2026-12-10T08:00"}]),
            "calendar_downtime_invalid",
            "downtime.0.end",
        ),
        (
            changed(downtime=[{"start": "2026-12-10T08:00", "end": "2028-12-10T08:00"}]),
            "calendar_downtime_invalid",
            "downtime.0.end",
        ),
        (
            changed(downtime=[{"start": "2026-12-10T08:00:30", "end": "2026-12-10T09:00"}]),
            "calendar_time_invalid",
            "downtime.0.start",
        ),
        (
            changed(downtime=[{"start": "tomorrow", "end": "2026-12-10T09:00"}]),
            "calendar_time_invalid",
            "downtime.0.start",
        ),
        (
            changed(downtime=[{"start": "9999-12-31T23:00", "end": "9999-12-31T23:30"}]),
            "calendar_date_invalid",
            "downtime.0.start",
        ),
    ],
)
def test_refusals_say_what_and_where(body: object, code: str, field: str | None) -> None:
    assert refusal(body) == (code, field)


def test_a_break_across_two_shifts_is_refused() -> None:
    # 23:50–00:10 runs from the 中班 (16:00–24:00) into the 夜班 (00:00–08:00).
    body = changed(breaks=[{"name": "夜宵", "start": "23:50", "end": "00:10"}])
    assert refusal(body) == ("calendar_break_outside_shift", "breaks.0.start")


def test_planned_downtime_is_local_time_unless_an_offset_is_written() -> None:
    local = parse_calendar(
        {
            "shifts": [{"name": "白班", "start": "08:00", "end": "20:00"}],
            "downtime": [
                {"start": "2026-12-10T08:00", "end": "2026-12-10 09:00"},
                {"start": "2026-12-10T00:00Z", "end": "2026-12-10T01:00+00:00"},
            ],
        }
    )
    assert [(d.start_ms, d.end_ms) for d in local.downtime] == [
        (1_796_860_800_000, 1_796_864_400_000),
        (1_796_860_800_000, 1_796_864_400_000),
    ]
