"""An enterprise's shift calendar (排班日历) in a district file: the YAML, the body shugu's
calendar API takes (``PUT /api/enterprises/{id}/calendar``), and the planned production time it
gives the simulated machines, so that looms stand when their mill does not work.

Times of day are China time, ``HH:MM``. A shift whose end is not after its start ends the next
day (a night shift 20:00–08:00), and belongs to the day it starts: a Saturday night shift runs
into Sunday even where Sunday is a rest day. Breaks are daily windows taken out of the shifts;
rest days are ISO weekdays (1 Monday … 7 Sunday); holidays are dates not worked and workdays
dates worked although they fall on a rest day (调休); downtime is planned maintenance, a window
of local date and time taken out of the shifts. Before ``effective_from`` the calendar does not
apply and every hour counts as planned.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shugu.domain.timeutil import CHINA_OFFSET_MS, CHINA_TZ

DAY_MS = 86_400_000
MINUTE_MS = 60_000
#: How far ahead ``next_change`` looks for a boundary before it gives up (a calendar that
#: never works, or one that always does).
LOOKAHEAD_DAYS = 400

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LOCAL_TIME = "%Y-%m-%dT%H:%M"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"a time of day is HH:MM from 00:00 to 23:59, got {value!r}")
    return value


class DailyWindow(_Model):
    """A window of the day; one whose end is not after its start ends the next day."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        return _check_hhmm(value)

    def span_minutes(self) -> tuple[int, int]:
        """(start, end) in minutes from the start of its day; end > start, up to 48 h."""
        start, end = _minutes(self.start), _minutes(self.end)
        return start, end if end > start else end + 1440


class ShiftSpec(DailyWindow):
    name: str = Field(min_length=1, max_length=40)


class DowntimeSpec(_Model):
    """Planned downtime: from ``start`` to ``end``, local date and time (2026-05-01T08:00)."""

    start: str
    end: str
    reason: str = Field(default="", max_length=200)

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: str) -> str:
        try:
            datetime.strptime(value, _LOCAL_TIME)
        except ValueError:
            raise ValueError(
                f"downtime is given in local date and time, YYYY-MM-DDTHH:MM; got {value!r}"
            ) from None
        return value

    @model_validator(mode="after")
    def _order(self) -> DowntimeSpec:
        if self.window_ms()[1] <= self.window_ms()[0]:
            raise ValueError(f"downtime ends ({self.end}) before it starts ({self.start})")
        return self

    def window_ms(self) -> tuple[int, int]:
        def ms(text: str) -> int:
            local = datetime.strptime(text, _LOCAL_TIME).replace(tzinfo=CHINA_TZ)
            return int(local.timestamp()) * 1000

        return ms(self.start), ms(self.end)


class CalendarSpec(_Model):
    effective_from: date = date(2024, 1, 1)
    shifts: list[ShiftSpec] = Field(min_length=1, max_length=6)
    breaks: list[DailyWindow] = Field(default_factory=list, max_length=12)
    rest_days: list[int] = Field(default_factory=list, max_length=7)
    holidays: list[date] = Field(default_factory=list, max_length=400)
    workdays: list[date] = Field(default_factory=list, max_length=400)
    downtime: list[DowntimeSpec] = Field(default_factory=list, max_length=400)

    @field_validator("rest_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(not 1 <= day <= 7 for day in value) or len(set(value)) != len(value):
            raise ValueError(f"rest days are distinct ISO weekdays, 1 (Monday) to 7; got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CalendarSpec:
        names = [shift.name for shift in self.shifts]
        if len(set(names)) != len(names):
            raise ValueError(f"shift names must differ, got {', '.join(names)}")
        spans = [shift.span_minutes() for shift in self.shifts]
        for i, (a_start, a_end) in enumerate(spans):
            for j in range(i + 1, len(spans)):
                b_start, b_end = spans[j]
                # A shift may run past midnight: compare with the other one a day either way.
                if any(a_start < b_end + k and b_start + k < a_end for k in (-1440, 0, 1440)):
                    raise ValueError(f"shifts {names[i]} and {names[j]} overlap")
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"{both[0].isoformat()} is both a holiday and a workday")
        return self

    def body(self) -> dict[str, Any]:
        """The body of ``PUT /api/enterprises/{id}/calendar``."""
        return {
            "effective_from": self.effective_from.isoformat(),
            "shifts": [{"name": s.name, "start": s.start, "end": s.end} for s in self.shifts],
            "breaks": [{"start": b.start, "end": b.end} for b in self.breaks],
            "rest_days": list(self.rest_days),
            "holidays": [d.isoformat() for d in self.holidays],
            "workdays": [d.isoformat() for d in self.workdays],
            "downtime": [
                {"start": d.start, "end": d.end, "reason": d.reason} for d in self.downtime
            ],
        }

    def planned_hours_per_week(self) -> float:
        """Planned hours of an ordinary week (no holidays, workdays or downtime)."""
        schedule = WorkSchedule(self.model_copy(update={"holidays": [], "downtime": []}))
        # The first Monday after the calendar takes effect, so no shift of the day before it
        # (when the calendar did not apply yet) reaches into the week.
        after = self.effective_from.toordinal() + 1
        monday = after + (7 - date.fromordinal(after).weekday()) % 7
        start = (monday - date(1970, 1, 1).toordinal()) * DAY_MS - CHINA_OFFSET_MS
        return schedule.planned_ms(start, start + 7 * DAY_MS) / 3_600_000


def _subtract(
    intervals: list[tuple[int, int]], holes: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    out = []
    for start, end in intervals:
        pieces = [(start, end)]
        for hole_start, hole_end in holes:
            cut = []
            for a, b in pieces:
                if hole_end <= a or hole_start >= b:
                    cut.append((a, b))
                    continue
                if a < hole_start:
                    cut.append((a, hole_start))
                if hole_end < b:
                    cut.append((hole_end, b))
            pieces = cut
        out.extend(pieces)
    return out


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class WorkSchedule:
    """When a calendar plans production, as windows of ms since 1970."""

    def __init__(self, calendar: CalendarSpec) -> None:
        self._calendar = calendar
        epoch = date(1970, 1, 1).toordinal()
        self._effective_day = calendar.effective_from.toordinal() - epoch
        self._holidays = {d.toordinal() - epoch for d in calendar.holidays}
        self._workdays = {d.toordinal() - epoch for d in calendar.workdays}
        self._shifts = [shift.span_minutes() for shift in calendar.shifts]
        self._breaks = [window.span_minutes() for window in calendar.breaks]
        self._downtime = [d.window_ms() for d in calendar.downtime]
        self._cache: dict[int, list[tuple[int, int]]] = {}

    @staticmethod
    def day_of(t_ms: int) -> int:
        """The local (China) day of ``t_ms``, counted from 1970-01-01."""
        return (t_ms + CHINA_OFFSET_MS) // DAY_MS

    def _worked(self, day: int) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        iso_weekday = (day + 3) % 7 + 1  # 1970-01-01 was a Thursday
        return iso_weekday not in self._calendar.rest_days

    def _from_day(self, day: int) -> list[tuple[int, int]]:
        """Planned windows of the shifts that start on ``day``, breaks taken out."""
        midnight = day * DAY_MS - CHINA_OFFSET_MS
        if day < self._effective_day:
            return [(midnight, midnight + DAY_MS)]
        if not self._worked(day):
            return []
        shifts = [(midnight + s * MINUTE_MS, midnight + e * MINUTE_MS) for s, e in self._shifts]
        breaks = [
            (midnight + k * DAY_MS + s * MINUTE_MS, midnight + k * DAY_MS + e * MINUTE_MS)
            for k in (-1, 0, 1)
            for s, e in self._breaks
        ]
        return _subtract(shifts, breaks)

    def windows(self, day: int) -> list[tuple[int, int]]:
        """Planned windows that touch local ``day``, merged and with downtime taken out."""
        cached = self._cache.get(day)
        if cached is None:
            midnight = day * DAY_MS - CHINA_OFFSET_MS
            raw = [w for d in (day - 1, day) for w in self._from_day(d)]
            inside = [(max(a, midnight), min(b, midnight + DAY_MS)) for a, b in raw]
            cached = _merge(_subtract([(a, b) for a, b in inside if a < b], self._downtime))
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[day] = cached
        return cached

    def is_planned(self, t_ms: int) -> bool:
        """Whether production is planned at ``t_ms`` (a window holds its start, not its end)."""
        return any(a <= t_ms < b for a, b in self.windows(self.day_of(t_ms)))

    def next_change(self, t_ms: int) -> int | None:
        """The first moment after ``t_ms`` at which ``is_planned`` changes; None if it never
        does within ``LOOKAHEAD_DAYS``."""
        planned = self.is_planned(t_ms)
        day = self.day_of(t_ms)
        for d in range(day, day + LOOKAHEAD_DAYS):
            for a, b in self.windows(d):
                for edge in (a, b):
                    if edge > t_ms and self.is_planned(edge) != planned:
                        return edge
        return None

    def planned_ms(self, start_ms: int, end_ms: int) -> int:
        """Planned milliseconds between ``start_ms`` and ``end_ms``."""
        total = 0
        for day in range(self.day_of(start_ms), self.day_of(max(start_ms, end_ms - 1)) + 1):
            for a, b in self.windows(day):
                total += max(0, min(b, end_ms) - max(a, start_ms))
        return total
