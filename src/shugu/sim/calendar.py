"""An enterprise's shift calendar (班次日历) in a district file: the YAML, the body shugu's
calendar API takes (``PUT /api/enterprises/{id}/calendar``, whose shape and checks it mirrors,
so that a district file is refused with its line number rather than by the server), and the
planned production time it gives the simulated machines, so that looms stand when their mill
does not work.

Times of day are China time, ``HH:MM``; shifts start and end on the hour. A shift whose end is
not after its start ends the next day (a night shift 20:00–08:00; "24:00" is midnight) and
belongs to the day it starts: a Saturday night shift runs into Sunday even where Sunday is a rest
day. Breaks are daily windows inside a shift, taken out of it; rest days are ISO weekdays
(1 Monday … 7 Sunday); holidays are dates not worked and make-up days dates worked although they
fall on a rest day (调休); downtime is planned maintenance, a window of local date and time taken
out of the shifts. Before ``effective_from`` shugu's default holds (two 12-hour shifts every
day): every hour counts as planned.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shugu.domain.timeutil import CHINA_OFFSET_MS, CHINA_TZ

DAY_MS = 86_400_000
MINUTE_MS = 60_000
MINUTES_PER_DAY = 1440
#: How far ahead ``next_change`` looks for a boundary before it gives up (a calendar that
#: never works, or one that always does).
LOOKAHEAD_DAYS = 400

_HHMM = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")
_LOCAL_TIME = "%Y-%m-%dT%H:%M"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _minutes(text: str) -> int:
    """Minutes after midnight of "HH:MM" ("24:00" is the midnight that ends the day: 0)."""
    hours, minutes = text.split(":")
    return (int(hours) * 60 + int(minutes)) % MINUTES_PER_DAY


def _length(start: int, end: int) -> int:
    """Minutes from ``start`` to ``end`` on a 24-hour dial: 1 to 1440 (equal: a whole day)."""
    return (end - start - 1) % MINUTES_PER_DAY + 1


def _dial(start: int, length: int) -> set[int]:
    return {(start + k) % MINUTES_PER_DAY for k in range(length)}


class DailyWindow(_Model):
    """A window of every working day; one whose end is not after its start ends the next day."""

    name: str = Field(default="", max_length=40)
    start: str
    end: str

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if not _HHMM.match(value) or value == "24:00":
            raise ValueError(f'a start is a time of day "HH:MM", 00:00 to 23:59; got {value!r}')
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f'an end is a time of day "HH:MM", 00:00 to 24:00; got {value!r}')
        return value

    def span_minutes(self) -> tuple[int, int]:
        """(start, end) in minutes from the start of its day; end > start, up to 48 h."""
        start = _minutes(self.start)
        return start, start + _length(start, _minutes(self.end))

    def text(self) -> dict[str, str]:
        """As shugu writes it back ("24:00" as "00:00")."""
        start, end = self.span_minutes()
        return {
            "name": self.name,
            "start": f"{start // 60 % 24:02d}:{start % 60:02d}",
            "end": f"{end // 60 % 24:02d}:{end % 60:02d}",
        }


class ShiftSpec(DailyWindow):
    name: str = Field(min_length=1, max_length=40)

    @field_validator("start", "end")
    @classmethod
    def _on_the_hour(cls, value: str) -> str:
        if not value.endswith(":00"):
            raise ValueError(f"shifts start and end on the hour, got {value!r}")
        return value


class DowntimeSpec(_Model):
    """Planned downtime: from ``start`` to ``end``, local date and time (2026-05-01T08:00)."""

    start: str
    end: str
    note: str = Field(default="", max_length=200)

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
    note: str = Field(default="", max_length=200)
    shifts: list[ShiftSpec] = Field(min_length=1, max_length=24)
    breaks: list[DailyWindow] = Field(default_factory=list, max_length=48)
    rest_days: list[int] = Field(default_factory=list, max_length=7)
    holidays: list[date] = Field(default_factory=list, max_length=1000)
    makeup_days: list[date] = Field(default_factory=list, max_length=1000)
    downtime: list[DowntimeSpec] = Field(default_factory=list, max_length=500)

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
        shifts = [shift.span_minutes() for shift in self.shifts]
        covered: list[set[int]] = []
        for name, (start, end) in zip(names, shifts, strict=True):
            minutes = _dial(start, end - start)
            for other, taken in zip(names, covered, strict=False):
                if minutes & taken:
                    raise ValueError(f"shifts {other} and {name} overlap")
            covered.append(minutes)
        taken_by_breaks: set[int] = set()
        for window in self.breaks:
            start, end = window.span_minutes()
            if end - start >= MINUTES_PER_DAY:
                raise ValueError(f"break {window.start}-{window.end} ends when it starts")
            inside = any((start - s) % MINUTES_PER_DAY + (end - start) <= e - s for s, e in shifts)
            if not inside:
                raise ValueError(f"break {window.start}-{window.end} does not lie inside one shift")
            minutes = _dial(start, end - start)
            if minutes & taken_by_breaks:
                raise ValueError(f"break {window.start}-{window.end} overlaps another break")
            taken_by_breaks |= minutes
        both = sorted(set(self.holidays) & set(self.makeup_days))
        if both:
            raise ValueError(f"{both[0].isoformat()} is both a holiday and a make-up day")
        return self

    def kept(self) -> dict[str, Any]:
        """The calendar as shugu keeps and shows it (``in_force.calendar`` of its GET): to tell
        whether the one in force is already this one."""
        return {
            "shifts": [s.text() for s in self.shifts],
            "breaks": [b.text() for b in self.breaks],
            "rest_days": sorted(self.rest_days),
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "makeup_days": sorted(d.isoformat() for d in self.makeup_days),
            "downtime": [
                {"start": d.start, "end": d.end, "note": d.note}
                for d in sorted(self.downtime, key=lambda d: d.window_ms())
            ],
        }

    def body(self) -> dict[str, Any]:
        """The body of ``PUT /api/enterprises/{id}/calendar``: a version from
        ``effective_from``."""
        return {"effective_from": self.effective_from.isoformat(), "note": self.note, **self.kept()}

    def planned_hours_per_week(self) -> float:
        """Planned hours of an ordinary week (no holidays, make-up days or downtime)."""
        schedule = WorkSchedule(
            self.model_copy(update={"holidays": [], "makeup_days": [], "downtime": []})
        )
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
        self._makeup_days = {d.toordinal() - epoch for d in calendar.makeup_days}
        self._shifts = [shift.span_minutes() for shift in calendar.shifts]
        self._breaks = [window.span_minutes() for window in calendar.breaks]
        self._downtime = [d.window_ms() for d in calendar.downtime]
        self._cache: dict[int, list[tuple[int, int]]] = {}

    @staticmethod
    def day_of(t_ms: int) -> int:
        """The local (China) day of ``t_ms``, counted from 1970-01-01."""
        return (t_ms + CHINA_OFFSET_MS) // DAY_MS

    def _worked(self, day: int) -> bool:
        if day in self._makeup_days:
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
