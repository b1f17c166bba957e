"""An enterprise's shift calendar (班次日历) and the planned production time it makes, the
denominator of ISO 22400's time model (planned busy time).

A calendar names its shifts (白班 08:00–20:00, 夜班 20:00–08:00: a shift whose end is not after
its start crosses midnight), daily breaks inside shifts (meals: planned downtime), weekly rest
days, holidays and make-up working days (调休), and dated planned-downtime windows (maintenance).
A shift belongs to the day it starts on: a holiday removes the shifts that start on it, and the
production day of a night shift is the day it began.

Calendars are versioned: the version in force at a time is the latest whose ``effective_from``
is not after that time's local date, so a figure of the past keeps the calendar of its time.
Before the first saved version, and for an enterprise without one, ``DEFAULT_CALENDAR`` holds:
two 12-hour shifts every day (textile mills run around the clock).

Times are milliseconds since 1970 UTC; days are Asia/Shanghai days (UTC+8 without daylight
saving), so a local day is a fixed 24-hour window and every computation here is integer
arithmetic on numpy arrays, exact to the millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shugu.domain.timeutil import CHINA_OFFSET_MS

Int64Array = NDArray[np.int64]
DayKind = Literal["work", "rest", "holiday", "makeup"]

MINUTES_PER_DAY: Final = 1440
MINUTE_MS: Final = 60_000
DAY_MS: Final = 86_400_000
EPOCH_DATE: Final = date(1970, 1, 1)
_EPOCH_ORDINAL: Final = EPOCH_DATE.toordinal()
#: A clock spans at most this many days: enough for any report, small enough to build at once.
MAX_SPAN_DAYS: Final = 3700
#: The first day of the version before every saved one (the default calendar's).
_FOREVER: Final = -(10**7)
_EMPTY: Final[Int64Array] = np.zeros(0, dtype=np.int64)


# -- the model ----------------------------------------------------------------------------------


def _span_minutes(start_min: int, end_min: int) -> int:
    """Minutes from ``start`` to ``end`` on a 24-hour dial: 1..1440 (equal ends: a whole day)."""
    return (end_min - start_min - 1) % MINUTES_PER_DAY + 1


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift of every working day: ``start_min`` and ``end_min`` are minutes after local
    midnight; an end not after the start is on the next day."""

    name: str
    start_min: int
    end_min: int

    @property
    def length_min(self) -> int:
        return _span_minutes(self.start_min, self.end_min)

    @property
    def crosses_midnight(self) -> bool:
        return self.end_min <= self.start_min


@dataclass(frozen=True, slots=True)
class Break:
    """A daily break inside a shift (a meal): planned downtime. It may cross midnight inside a
    night shift."""

    name: str
    start_min: int
    end_min: int

    @property
    def length_min(self) -> int:
        return _span_minutes(self.start_min, self.end_min)

    def offset_in(self, shift: Shift) -> int | None:
        """Minutes from the shift's start to the break's, when the break lies inside the shift."""
        offset = (self.start_min - shift.start_min) % MINUTES_PER_DAY
        return offset if offset + self.length_min <= shift.length_min else None


@dataclass(frozen=True, slots=True)
class Downtime:
    """A dated planned-downtime window (maintenance, 检修), in ms since 1970."""

    start_ms: int
    end_ms: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    shifts: tuple[Shift, ...]
    breaks: tuple[Break, ...] = ()
    #: ISO weekdays without production (Monday 1 … Sunday 7).
    rest_days: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    #: Working days that would otherwise be rest days (调休).
    makeup_days: frozenset[date] = frozenset()
    downtime: tuple[Downtime, ...] = ()

    def day_kind(self, day: date) -> DayKind:
        if day in self.makeup_days:
            return "makeup"
        if day in self.holidays:
            return "holiday"
        if day.isoweekday() in self.rest_days:
            return "rest"
        return "work"

    def works_on(self, day: date) -> bool:
        """Whether the shifts that start on ``day`` run."""
        return self.day_kind(day) in ("work", "makeup")

    def break_shift(self, piece: Break) -> int | None:
        """The index of the shift the break lies in, if any."""
        for index, shift in enumerate(self.shifts):
            if piece.offset_in(shift) is not None:
                return index
        return None

    def shift_segments(self, index: int) -> list[tuple[int, int]]:
        """The planned minutes of shift ``index`` after its breaks, as (start, end) minutes
        after the midnight of the day the shift starts (an end past 1440 is the next day)."""
        shift = self.shifts[index]
        segments = [(shift.start_min, shift.start_min + shift.length_min)]
        for piece in self.breaks:
            offset = piece.offset_in(shift)
            if offset is None or self.break_shift(piece) != index:
                continue
            lo = shift.start_min + offset
            hi = lo + piece.length_min
            segments = [
                part
                for start, end in segments
                for part in ((start, min(end, lo)), (max(start, hi), end))
                if part[0] < part[1]
            ]
        return segments


DEFAULT_CALENDAR: Final = ShiftCalendar(
    shifts=(Shift("白班", 8 * 60, 20 * 60), Shift("夜班", 20 * 60, 8 * 60))
)


@dataclass(frozen=True, slots=True)
class CalendarVersion:
    """A calendar in force from ``effective_from`` (a local date) until the next version's."""

    effective_from: date
    calendar: ShiftCalendar
    #: The registry's id; None for the built-in default.
    id: int | None = None
    saved_at: datetime | None = None
    saved_by: str | None = None
    note: str = ""

    @property
    def is_default(self) -> bool:
        return self.id is None


DEFAULT_VERSION: Final = CalendarVersion(EPOCH_DATE, DEFAULT_CALENDAR)


def _timeline(versions: Iterable[CalendarVersion]) -> list[tuple[int, CalendarVersion]]:
    """(first day number, version) in force one after another, the default first: of versions
    with the same ``effective_from``, the one given last (saved last) holds."""
    by_day: dict[int, CalendarVersion] = {}
    for version in versions:
        by_day[day_number(version.effective_from)] = version
    timeline = sorted(by_day.items(), key=lambda item: item[0])
    if not timeline or timeline[0][0] > day_number(EPOCH_DATE):
        timeline.insert(0, (_FOREVER, DEFAULT_VERSION))
    return timeline


@dataclass(frozen=True, slots=True)
class CalendarVersions:
    """An enterprise's saved calendar versions in the order they were saved (none: the default
    calendar holds)."""

    enterprise_id: int
    saved: tuple[CalendarVersion, ...] = ()

    def __iter__(self) -> Iterator[CalendarVersion]:
        return iter(self.saved)

    @property
    def is_default(self) -> bool:
        return not self.saved

    def timeline(self) -> list[CalendarVersion]:
        """The versions that are in force at some time, by ``effective_from``."""
        return [version for _, version in _timeline(self.saved)]

    def in_force(self, day: date) -> CalendarVersion:
        return version_on(self.saved, day)

    def clock(self, start_ms: int, end_ms: int) -> PlannedClock:
        return PlannedClock(self.saved, start_ms, end_ms)


def version_on(versions: Iterable[CalendarVersion], day: date) -> CalendarVersion:
    """The version in force on a local date."""
    wanted = day_number(day)
    found = DEFAULT_VERSION
    for first, version in _timeline(versions):
        if first <= wanted:
            found = version
    return found


# -- days and local time -----------------------------------------------------------------------


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return day.toordinal() - _EPOCH_ORDINAL


def day_of_number(number: int) -> date:
    return date.fromordinal(number + _EPOCH_ORDINAL)


def day_start_ms(day: date) -> int:
    """The instant a local day begins."""
    return day_number(day) * DAY_MS - CHINA_OFFSET_MS


def local_day(ts_ms: int) -> date:
    return day_of_number((ts_ms + CHINA_OFFSET_MS) // DAY_MS)


def local_minutes_text(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _weekdays(days: Int64Array) -> Int64Array:
    """ISO weekdays of day numbers (1970-01-01 was a Thursday)."""
    return (days + 3) % 7 + 1


def _day_numbers(days: Iterable[date]) -> Int64Array:
    return np.array(sorted(day_number(d) for d in days), dtype=np.int64)


# -- interval sets ------------------------------------------------------------------------------


def _normalize(starts: Int64Array, ends: Int64Array) -> tuple[Int64Array, Int64Array]:
    """Sorted, disjoint intervals covering the same time; touching ones joined, empty dropped."""
    keep = ends > starts
    lo, hi = starts[keep], ends[keep]
    if lo.size == 0:
        return _EMPTY, _EMPTY
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    begins = np.ones(lo.size, dtype=bool)
    begins[1:] = lo[1:] > reach[:-1]
    firsts = np.flatnonzero(begins)
    lasts = np.append(firsts[1:] - 1, lo.size - 1)
    return lo[firsts], reach[lasts]


def _covers(starts: Int64Array, ends: Int64Array, ts: Int64Array) -> NDArray[np.bool_]:
    """Whether each instant lies in one of the sorted disjoint intervals."""
    if starts.size == 0:
        return np.zeros(ts.shape, dtype=bool)
    index = np.searchsorted(starts, ts, side="right") - 1
    return (index >= 0) & (ts < ends[np.maximum(index, 0)])


def _subtract(
    starts: Int64Array, ends: Int64Array, cut_starts: Int64Array, cut_ends: Int64Array
) -> tuple[Int64Array, Int64Array]:
    """The time of the first set not in the second (both sorted and disjoint)."""
    if starts.size == 0 or cut_starts.size == 0:
        return starts, ends
    points = np.unique(np.concatenate((starts, ends, cut_starts, cut_ends)))
    lo, hi = points[:-1], points[1:]
    keep = _covers(starts, ends, lo) & ~_covers(cut_starts, cut_ends, lo)
    return _normalize(lo[keep], hi[keep])


def _clip(
    starts: Int64Array, ends: Int64Array, lo: int, hi: int
) -> tuple[Int64Array, Int64Array, NDArray[np.bool_]]:
    """Intervals cut to [lo, hi); the mask tells which are not empty there."""
    cut_lo, cut_hi = np.clip(starts, lo, hi), np.clip(ends, lo, hi)
    keep = cut_hi > cut_lo
    return cut_lo[keep], cut_hi[keep], keep


# -- one version over a run of days -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Occurrences:
    """Shift occurrences (whole shifts, breaks included) and their planned pieces."""

    starts: Int64Array
    ends: Int64Array
    production_day: Int64Array
    shift_index: Int64Array
    planned_starts: Int64Array
    planned_ends: Int64Array


def _working_days(calendar: ShiftCalendar, first_day: int, last_day: int) -> Int64Array:
    """Day numbers in [first_day, last_day] whose shifts run."""
    days = np.arange(first_day, last_day + 1, dtype=np.int64)
    rest = np.isin(_weekdays(days), np.array(sorted(calendar.rest_days), dtype=np.int64))
    off = rest | np.isin(days, _day_numbers(calendar.holidays))
    working = ~off | np.isin(days, _day_numbers(calendar.makeup_days))
    return days[working]


def _version_pieces(
    calendar: ShiftCalendar, names: dict[str, int], first_day: int, last_day: int
) -> _Occurrences:
    """The calendar's shifts that reach into local days [first_day, last_day], cut to them,
    its dated downtime removed from their planned time."""
    lo = first_day * DAY_MS - CHINA_OFFSET_MS
    hi = (last_day + 1) * DAY_MS - CHINA_OFFSET_MS
    # A shift that started the day before reaches past midnight into the first day.
    midnights = _working_days(calendar, first_day - 1, last_day) * DAY_MS - CHINA_OFFSET_MS
    shift_lo = np.array([s.start_min for s in calendar.shifts], dtype=np.int64) * MINUTE_MS
    shift_len = np.array([s.length_min for s in calendar.shifts], dtype=np.int64) * MINUTE_MS
    index = np.array([names[s.name] for s in calendar.shifts], dtype=np.int64)
    occ_lo = (midnights[:, None] + shift_lo[None, :]).ravel()
    occ_hi = occ_lo + np.tile(shift_len, midnights.size)
    occ_day = np.repeat(midnights, len(calendar.shifts))
    occ_index = np.tile(index, midnights.size)
    occ_lo, occ_hi, kept = _clip(occ_lo, occ_hi, lo, hi)

    segments = [seg for i in range(len(calendar.shifts)) for seg in calendar.shift_segments(i)]
    seg_lo = np.array([s for s, _ in segments], dtype=np.int64) * MINUTE_MS
    seg_hi = np.array([e for _, e in segments], dtype=np.int64) * MINUTE_MS
    planned_lo = (midnights[:, None] + seg_lo[None, :]).ravel()
    planned_hi = (midnights[:, None] + seg_hi[None, :]).ravel()
    planned_lo, planned_hi, _ = _clip(planned_lo, planned_hi, lo, hi)
    planned_lo, planned_hi = _normalize(planned_lo, planned_hi)
    if calendar.downtime:
        down_lo = np.array([d.start_ms for d in calendar.downtime], dtype=np.int64)
        down_hi = np.array([d.end_ms for d in calendar.downtime], dtype=np.int64)
        down_lo, down_hi = _normalize(down_lo, down_hi)
        planned_lo, planned_hi = _subtract(planned_lo, planned_hi, down_lo, down_hi)
    return _Occurrences(occ_lo, occ_hi, occ_day[kept], occ_index[kept], planned_lo, planned_hi)


def _shift_names(calendars: Iterable[ShiftCalendar]) -> dict[str, int]:
    names: dict[str, int] = {}
    for calendar in calendars:
        for shift in calendar.shifts:
            names.setdefault(shift.name, len(names))
    return names


# -- the clock ----------------------------------------------------------------------------------


class PlannedClock:
    """Planned production time over a span [start_ms, end_ms), for questions asked of many
    timestamps at once.

    ``cumulative(ts)`` is the planned time from the span's start up to each instant, so the
    planned time within any [s, e) is ``cumulative(e) - cumulative(s)``: one binary search per
    timestamp. Instants outside the span count as its nearest end.
    """

    def __init__(self, versions: Iterable[CalendarVersion], start_ms: int, end_ms: int) -> None:
        if end_ms < start_ms:
            raise ValueError(f"the span ends ({end_ms}) before it starts ({start_ms})")
        first_day = (start_ms + CHINA_OFFSET_MS) // DAY_MS
        last_day = (max(end_ms, start_ms + 1) - 1 + CHINA_OFFSET_MS) // DAY_MS
        if last_day - first_day >= MAX_SPAN_DAYS:
            raise ValueError(f"a planned-time clock spans at most {MAX_SPAN_DAYS} days")
        self.start_ms = start_ms
        self.end_ms = end_ms
        #: The local days whose shifts ``shift_of`` knows: those the span touches.
        self.first_day_ms = first_day * DAY_MS - CHINA_OFFSET_MS
        self.end_day_ms = (last_day + 1) * DAY_MS - CHINA_OFFSET_MS
        timeline = _timeline(versions)
        in_force: list[tuple[ShiftCalendar, int, int]] = []
        for k, (first, version) in enumerate(timeline):
            until = timeline[k + 1][0] - 1 if k + 1 < len(timeline) else last_day
            lo, hi = max(first, first_day), min(until, last_day)
            if lo <= hi:
                in_force.append((version.calendar, lo, hi))
        names = _shift_names(calendar for calendar, _, _ in in_force)
        #: The shift names of the versions in force on the span's days, in their order (one
        #: version: its shifts' order): what ``shift_of``'s index counts in.
        self.shift_names: tuple[str, ...] = tuple(names)
        pieces = [_version_pieces(calendar, names, lo, hi) for calendar, lo, hi in in_force]
        occ = [
            np.concatenate([getattr(p, key) for p in pieces]) if pieces else _EMPTY
            for key in ("starts", "ends", "production_day", "shift_index")
        ]
        order = np.argsort(occ[0], kind="stable")
        self._occ_starts, self._occ_ends, self._occ_day, self._occ_index = (a[order] for a in occ)
        planned_lo = np.concatenate([p.planned_starts for p in pieces]) if pieces else _EMPTY
        planned_hi = np.concatenate([p.planned_ends for p in pieces]) if pieces else _EMPTY
        planned_lo, planned_hi, _ = _clip(planned_lo, planned_hi, start_ms, end_ms)
        self.starts, self.ends = _normalize(planned_lo, planned_hi)
        lengths = self.ends - self.starts
        #: Planned ms before each interval.
        self._before: Int64Array = (np.cumsum(lengths) - lengths).astype(np.int64)
        self.total_ms = int(lengths.sum())

    def cumulative(self, ts: ArrayLike) -> Int64Array:
        """Planned ms from the span's start up to each instant."""
        instants = np.clip(np.asarray(ts, dtype=np.int64), self.start_ms, self.end_ms)
        if self.starts.size == 0:
            return np.zeros(instants.shape, dtype=np.int64)
        index = np.searchsorted(self.starts, instants, side="right") - 1
        safe = np.maximum(index, 0)
        inside = np.minimum(instants, self.ends[safe]) - self.starts[safe]
        return np.where(index >= 0, self._before[safe] + inside, 0).astype(np.int64)

    def planned_ms(self, start_ms: int, end_ms: int) -> int:
        ends = self.cumulative(np.array([start_ms, end_ms], dtype=np.int64))
        return max(int(ends[1] - ends[0]), 0)

    def planned_seconds(self, start_ms: int, end_ms: int) -> float:
        return self.planned_ms(start_ms, end_ms) / 1000.0

    def shift_of(self, hour_start_ms: ArrayLike) -> tuple[Int64Array, Int64Array]:
        """The shift each instant falls in: (production day, index in ``shift_names``).

        The production day is the local midnight (ms) of the day the shift started, so the
        hours of a night shift after midnight belong to the day before. Instants in no shift
        (between shifts, on a holiday, outside the span's days) get shift index -1 and their
        own local day.
        """
        instants = np.asarray(hour_start_ms, dtype=np.int64)
        own_day = (instants + CHINA_OFFSET_MS) // DAY_MS * DAY_MS - CHINA_OFFSET_MS
        if self._occ_starts.size == 0:
            return own_day, np.full(instants.shape, -1, dtype=np.int64)
        index = np.searchsorted(self._occ_starts, instants, side="right") - 1
        safe = np.maximum(index, 0)
        inside = (index >= 0) & (instants < self._occ_ends[safe])
        day = np.where(inside, self._occ_day[safe], own_day).astype(np.int64)
        shift = np.where(inside, self._occ_index[safe], -1).astype(np.int64)
        return day, shift

    def occurrences(self) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
        """The shifts on the span's days: (starts, ends, production days, shift indexes), a
        shift cut where a new version takes over at midnight."""
        return self._occ_starts, self._occ_ends, self._occ_day, self._occ_index


def planned_intervals(
    versions: Iterable[CalendarVersion], start_ms: int, end_ms: int
) -> tuple[Int64Array, Int64Array]:
    """Planned production time within [start_ms, end_ms) as sorted disjoint [start, end)."""
    clock = PlannedClock(versions, start_ms, end_ms)
    return clock.starts, clock.ends


# -- days at a glance ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShiftPlan:
    name: str
    start_ms: int
    end_ms: int
    planned_ms: int


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A production day: the shifts that start on it and their planned time after breaks and
    planned downtime."""

    day: date
    kind: DayKind
    shifts: tuple[ShiftPlan, ...]

    @property
    def planned_ms(self) -> int:
        return sum(s.planned_ms for s in self.shifts)

    @property
    def planned_hours(self) -> float:
        return self.planned_ms / 3_600_000


def day_plans(versions: Iterable[CalendarVersion], first: date, days: int) -> list[DayPlan]:
    """The production days ``first`` … ``first + days - 1``."""
    chosen = list(versions)
    start = day_start_ms(first)
    # The last day's night shift ends on the day after.
    clock = PlannedClock(chosen, start, start + (days + 1) * DAY_MS)
    starts, ends, production, index = clock.occurrences()
    planned = clock.cumulative(ends) - clock.cumulative(starts)
    shifts: dict[tuple[int, int], list[int]] = {}
    for lo, hi, day, shift, ms in zip(
        starts.tolist(),
        ends.tolist(),
        production.tolist(),
        index.tolist(),
        planned.tolist(),
        strict=True,
    ):
        # A shift cut in two where a version takes over is one shift.
        entry = shifts.setdefault((day, shift), [lo, hi, 0])
        entry[0], entry[1], entry[2] = min(entry[0], lo), max(entry[1], hi), entry[2] + ms
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        midnight = day_start_ms(day)
        found = sorted(
            (lo, clock.shift_names[shift], hi, ms)
            for (when, shift), (lo, hi, ms) in shifts.items()
            if when == midnight
        )
        kind = version_on(chosen, day).calendar.day_kind(day)
        plans = tuple(ShiftPlan(name, lo, hi, ms) for lo, name, hi, ms in found)
        out.append(DayPlan(day, kind, plans))
    return out
