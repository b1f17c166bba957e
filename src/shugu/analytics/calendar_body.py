"""A shift calendar as JSON, read and checked: the body of ``PUT /api/enterprises/{id}/calendar``
and of the console's form, and what the registry keeps.

Every refusal is a ValidationError with a code of its own and the field it is about, such as
``shifts.1.start``, so that a form can show it beside the input it concerns.

```json
{
  "effective_from": "2026-12-01",
  "note": "冬季排班",
  "shifts": [{"name": "白班", "start": "08:00", "end": "20:00"},
             {"name": "夜班", "start": "20:00", "end": "08:00"}],
  "breaks": [{"name": "午餐", "start": "12:00", "end": "12:30"}],
  "rest_days": [7],
  "holidays": ["2027-01-01"],
  "makeup_days": ["2027-02-07"],
  "downtime": [{"start": "2026-12-10T08:00", "end": "2026-12-10T16:00", "note": "年度检修"}]
}
```
Shifts start and end on whole hours (an end not after the start is on the next day; "24:00"
is midnight); breaks are whole minutes inside a shift; rest days are ISO weekdays (Monday 1);
planned downtime is local time unless an offset is written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from shugu.analytics.calendar import (
    MINUTE_MS,
    MINUTES_PER_DAY,
    Break,
    Downtime,
    Shift,
    ShiftCalendar,
    local_minutes_text,
)
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import CHINA_TZ

MAX_SHIFTS: Final = 24
MAX_BREAKS: Final = 48
MAX_DAYS: Final = 1000
MAX_DOWNTIME: Final = 500
MAX_NAME: Final = 40
MAX_NOTE: Final = 200
#: Dates a calendar may speak of.
FIRST_DATE: Final = date(2000, 1, 1)
LAST_DATE: Final = date(2099, 12, 31)
#: A planned-downtime window longer than this is a mistake (a year typed wrong).
MAX_DOWNTIME_DAYS: Final = 366

CALENDAR_KEYS: Final = frozenset(
    {"shifts", "breaks", "rest_days", "holidays", "makeup_days", "downtime"}
)
VERSION_KEYS: Final = CALENDAR_KEYS | {"effective_from", "note"}
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.+\-Z]{5,25}")


@dataclass(frozen=True, slots=True)
class VersionBody:
    """A new version as asked for: from when, why, and the calendar."""

    effective_from: date
    note: str
    calendar: ShiftCalendar


def _invalid(message: str, field: str | None, code: str = "calendar_invalid") -> ValidationError:
    return ValidationError(message, code=code, field=field)


def _object(value: object, field: str | None, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{field or 'the calendar'} must be a JSON object", field)
    for key in value:
        if key not in keys:
            where = f"{field}.{key}" if field else str(key)
            raise _invalid(
                f"unknown field {str(key)[:40]!r}; known: {', '.join(sorted(keys))}", where
            )
    return value


def _list(body: dict[str, Any], key: str, most: int) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(f"{key} must be a list", key)
    if len(value) > most:
        raise ValidationError(
            f"{key} has {len(value)} entries; at most {most} are allowed",
            code="calendar_too_many",
            field=key,
        )
    return value


def _text(value: object, field: str, most: int, *, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{field} must be text", field)
    cleaned = value.strip()
    if required and not cleaned:
        raise ValidationError(f"{field} must not be empty", code="name_required", field=field)
    if len(cleaned) > most:
        raise ValidationError(
            f"{field} has {len(cleaned)} characters; at most {most} are allowed",
            code="name_too_long",
            field=field,
        )
    for char in cleaned:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValidationError(
                f"{field} contains the character U+{ord(char):04X}, which is not text",
                code="name_invalid",
                field=field,
            )
    return cleaned


def _clock_time(value: object, field: str, *, whole_hours: bool, end: bool) -> int:
    """Minutes after midnight of "HH:MM"."""
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    limit = 24 if end else 23
    if not (0 <= hours <= limit and 0 <= minutes <= 59) or (hours == 24 and minutes):
        raise ValidationError(
            f'{field} must be a time of day "HH:MM" such as "08:00", not {str(value)[:40]!r}',
            code="calendar_time_invalid",
            field=field,
        )
    if whole_hours and minutes:
        raise ValidationError(
            f"{field} must be a whole hour (shifts start and end on the hour)",
            code="calendar_time_invalid",
            field=field,
        )
    return (hours * 60 + minutes) % MINUTES_PER_DAY


def parse_date(value: object, field: str) -> date:
    """A date "YYYY-MM-DD" between 2000 and 2099."""
    try:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f'{field} must be a date "YYYY-MM-DD" such as "2026-12-01", not {str(value)[:40]!r}',
            code="calendar_date_invalid",
            field=field,
        ) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValidationError(
            f"{field} must lie between {FIRST_DATE} and {LAST_DATE}",
            code="calendar_date_invalid",
            field=field,
        )
    return day


def _instant(value: object, field: str) -> int:
    """Milliseconds since 1970 of a local "YYYY-MM-DDTHH:MM" (or one with an offset)."""
    try:
        if not isinstance(value, str) or not _DATETIME.fullmatch(value.strip()):
            raise ValueError
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f'{field} must be a local time "YYYY-MM-DDTHH:MM" such as "2026-12-10T08:00", '
            f"not {str(value)[:40]!r}",
            code="calendar_time_invalid",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    if moment.second or moment.microsecond:
        raise ValidationError(
            f"{field} must be a whole minute", code="calendar_time_invalid", field=field
        )
    if not FIRST_DATE <= moment.astimezone(CHINA_TZ).date() <= LAST_DATE:
        raise ValidationError(
            f"{field} must lie between {FIRST_DATE} and {LAST_DATE}",
            code="calendar_date_invalid",
            field=field,
        )
    return int(moment.timestamp()) * 1000


def _dial(start: int, length: int) -> set[int]:
    """The minutes of the day a daily window covers."""
    return {(start + k) % MINUTES_PER_DAY for k in range(length)}


def _shifts(body: dict[str, Any]) -> tuple[Shift, ...]:
    entries = _list(body, "shifts", MAX_SHIFTS)
    if not entries:
        raise ValidationError(
            "a calendar needs at least one shift", code="calendar_no_shifts", field="shifts"
        )
    shifts: list[Shift] = []
    covered: list[set[int]] = []
    for index, entry in enumerate(entries):
        where = f"shifts.{index}"
        item = _object(entry, where, frozenset({"name", "start", "end"}))
        name = _text(item.get("name"), f"{where}.name", MAX_NAME, required=True)
        start = _clock_time(item.get("start"), f"{where}.start", whole_hours=True, end=False)
        end = _clock_time(item.get("end"), f"{where}.end", whole_hours=True, end=True)
        shift = Shift(name, start, end)
        if any(s.name == name for s in shifts):
            raise ValidationError(
                f"two shifts are named {name!r}",
                code="calendar_shift_name_taken",
                field=f"{where}.name",
            )
        minutes = _dial(start, shift.length_min)
        for other, taken in zip(shifts, covered, strict=True):
            if minutes & taken:
                raise ValidationError(
                    f"shift {name!r} overlaps shift {other.name!r}",
                    code="calendar_shift_overlap",
                    field=f"{where}.start",
                )
        shifts.append(shift)
        covered.append(minutes)
    return tuple(shifts)


def _breaks(body: dict[str, Any], shifts: tuple[Shift, ...]) -> tuple[Break, ...]:
    breaks: list[Break] = []
    taken: set[int] = set()
    for index, entry in enumerate(_list(body, "breaks", MAX_BREAKS)):
        where = f"breaks.{index}"
        item = _object(entry, where, frozenset({"name", "start", "end"}))
        name = _text(item.get("name"), f"{where}.name", MAX_NAME, required=False)
        start = _clock_time(item.get("start"), f"{where}.start", whole_hours=False, end=False)
        end = _clock_time(item.get("end"), f"{where}.end", whole_hours=False, end=True)
        if start == end:
            raise ValidationError(
                f"{where} ends when it starts", code="calendar_time_invalid", field=f"{where}.end"
            )
        piece = Break(name, start, end)
        if not any(piece.offset_in(shift) is not None for shift in shifts):
            raise ValidationError(
                f"break {name or index + 1!r} does not lie inside one shift",
                code="calendar_break_outside_shift",
                field=f"{where}.start",
            )
        minutes = _dial(start, piece.length_min)
        if minutes & taken:
            raise ValidationError(
                f"break {name or index + 1!r} overlaps another break",
                code="calendar_break_overlap",
                field=f"{where}.start",
            )
        taken |= minutes
        breaks.append(piece)
    return tuple(breaks)


def _rest_days(body: dict[str, Any]) -> frozenset[int]:
    days: set[int] = set()
    for index, value in enumerate(_list(body, "rest_days", 7 * 4)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 7:
            raise ValidationError(
                f"rest_days.{index} must be a weekday number, Monday 1 to Sunday 7",
                code="calendar_weekday_invalid",
                field=f"rest_days.{index}",
            )
        days.add(value)
    return frozenset(days)


def _dates(body: dict[str, Any], key: str) -> frozenset[date]:
    entries = _list(body, key, MAX_DAYS)
    return frozenset(parse_date(value, f"{key}.{i}") for i, value in enumerate(entries))


def _downtime(body: dict[str, Any]) -> tuple[Downtime, ...]:
    windows = []
    for index, entry in enumerate(_list(body, "downtime", MAX_DOWNTIME)):
        where = f"downtime.{index}"
        item = _object(entry, where, frozenset({"start", "end", "note"}))
        start = _instant(item.get("start"), f"{where}.start")
        end = _instant(item.get("end"), f"{where}.end")
        note = _text(item.get("note"), f"{where}.note", MAX_NOTE, required=False)
        if end <= start:
            raise ValidationError(
                f"{where} ends before it starts",
                code="calendar_downtime_invalid",
                field=f"{where}.end",
            )
        if end - start > MAX_DOWNTIME_DAYS * 1440 * MINUTE_MS:
            raise ValidationError(
                f"{where} lasts more than {MAX_DOWNTIME_DAYS} days",
                code="calendar_downtime_invalid",
                field=f"{where}.end",
            )
        windows.append(Downtime(start, end, note))
    return tuple(sorted(windows, key=lambda w: (w.start_ms, w.end_ms)))


def parse_calendar(value: object) -> ShiftCalendar:
    """A calendar from its JSON; a ValidationError names what is wrong and where."""
    body = _object(value, None, CALENDAR_KEYS)
    shifts = _shifts(body)
    breaks = _breaks(body, shifts)
    rest_days = _rest_days(body)
    holidays = _dates(body, "holidays")
    makeup_days = _dates(body, "makeup_days")
    both = sorted(holidays & makeup_days)
    if both:
        key = "makeup_days"
        index = [parse_date(v, key) for v in body[key]].index(both[0])
        raise ValidationError(
            f"{both[0]} is both a holiday and a make-up working day",
            code="calendar_day_conflict",
            field=f"{key}.{index}",
        )
    return ShiftCalendar(
        shifts=shifts,
        breaks=breaks,
        rest_days=rest_days,
        holidays=holidays,
        makeup_days=makeup_days,
        downtime=_downtime(body),
    )


def parse_version(value: object) -> VersionBody:
    """A new version: ``effective_from`` (required), ``note`` and the calendar's fields."""
    body = _object(value, None, VERSION_KEYS)
    if "effective_from" not in body:
        raise ValidationError(
            'effective_from is required: the date the calendar holds from, "YYYY-MM-DD"',
            code="calendar_date_invalid",
            field="effective_from",
        )
    effective_from = parse_date(body["effective_from"], "effective_from")
    note = _text(body.get("note"), "note", MAX_NOTE, required=False)
    calendar = parse_calendar({k: v for k, v in body.items() if k in CALENDAR_KEYS})
    return VersionBody(effective_from, note, calendar)


# -- writing ------------------------------------------------------------------------------------


def local_datetime_text(ts_ms: int) -> str:
    """A local time as the calendar writes it: ``2026-12-10T08:00``."""
    moment = datetime.fromtimestamp(ts_ms // 1000, CHINA_TZ).replace(tzinfo=None)
    return moment.isoformat(timespec="minutes")


def calendar_json(calendar: ShiftCalendar) -> dict[str, Any]:
    """The calendar as the API writes it and the registry keeps it (``parse_calendar`` reads
    it back to the same calendar)."""
    return {
        "shifts": [
            {
                "name": s.name,
                "start": local_minutes_text(s.start_min),
                "end": local_minutes_text(s.end_min),
            }
            for s in calendar.shifts
        ],
        "breaks": [
            {
                "name": b.name,
                "start": local_minutes_text(b.start_min),
                "end": local_minutes_text(b.end_min),
            }
            for b in calendar.breaks
        ],
        "rest_days": sorted(calendar.rest_days),
        "holidays": [d.isoformat() for d in sorted(calendar.holidays)],
        "makeup_days": [d.isoformat() for d in sorted(calendar.makeup_days)],
        "downtime": [
            {
                "start": local_datetime_text(d.start_ms),
                "end": local_datetime_text(d.end_ms),
                "note": d.note,
            }
            for d in calendar.downtime
        ],
    }
