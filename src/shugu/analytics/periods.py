"""Periods of the calendar a KPI table is cut into: hours, shifts, local days, ISO weeks and
months in Asia/Shanghai, clipped to the span asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shugu.analytics.calendar import PlannedClock
from shugu.analytics.model import HOUR_MS, Grain
from shugu.domain.timeutil import CHINA_OFFSET_MS

DAY_MS = 86_400_000
_CHINA = timedelta(milliseconds=CHINA_OFFSET_MS)


@dataclass(frozen=True, slots=True)
class Period:
    start_ms: int
    end_ms: int
    #: How the console and exports name it: 2026-12-05, 2026-W49, 2026-12, 12-05 08:00.
    label: str
    #: The shift's name for shift periods.
    shift: str | None = None


def local(ts_ms: int) -> datetime:
    """The local (China) wall-clock time of an instant, as a naive datetime."""
    return (datetime.fromtimestamp(ts_ms / 1000, UTC) + _CHINA).replace(tzinfo=None)


def instant(wall: datetime) -> int:
    """The instant (ms) of a local wall-clock time."""
    return int((wall - _CHINA).replace(tzinfo=UTC).timestamp() * 1000)


def day_start(ts_ms: int) -> int:
    return ((ts_ms + CHINA_OFFSET_MS) // DAY_MS) * DAY_MS - CHINA_OFFSET_MS


def month_start(ts_ms: int) -> int:
    wall = local(ts_ms)
    return instant(datetime(wall.year, wall.month, 1))


def add_months(ts_ms: int, months: int) -> int:
    """The same local wall-clock time ``months`` later (the day clipped to the month's end)."""
    wall = local(ts_ms)
    index = wall.year * 12 + wall.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (datetime(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return instant(wall.replace(year=year, month=month, day=min(wall.day, last)))


def periods(
    grain: Grain | None, start_ms: int, end_ms: int, clock: PlannedClock | None = None
) -> list[Period]:
    """The periods of ``grain`` covering [start, end), each clipped to it."""
    if grain is None:
        return [Period(start_ms, end_ms, _span_label(start_ms, end_ms))]
    if grain == "shift":
        assert clock is not None
        return _shifts(clock, start_ms, end_ms)
    out: list[Period] = []
    cursor = _floor(grain, start_ms)
    while cursor < end_ms:
        following = _next(grain, cursor)
        out.append(Period(max(cursor, start_ms), min(following, end_ms), _label(grain, cursor)))
        cursor = following
    return out


def _floor(grain: Grain, ts_ms: int) -> int:
    if grain == "hour":
        return (ts_ms // HOUR_MS) * HOUR_MS
    if grain == "day":
        return day_start(ts_ms)
    if grain == "week":
        day = day_start(ts_ms)
        return day - local(day).weekday() * DAY_MS
    return month_start(ts_ms)


def _next(grain: Grain, start: int) -> int:
    if grain == "hour":
        return start + HOUR_MS
    if grain == "day":
        return start + DAY_MS
    if grain == "week":
        return start + 7 * DAY_MS
    return add_months(start, 1)


def _label(grain: Grain, start: int) -> str:
    wall = local(start)
    if grain == "hour":
        return wall.strftime("%m-%d %H:00")
    if grain == "day":
        return wall.strftime("%Y-%m-%d")
    if grain == "week":
        year, week, _ = wall.isocalendar()
        return f"{year}-W{week:02d}"
    return wall.strftime("%Y-%m")


def _span_label(start: int, end: int) -> str:
    first, last = local(start), local(max(end - 1, start))
    if first.date() == last.date():
        return first.strftime("%Y-%m-%d")
    return f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"


def _shifts(clock: PlannedClock, start_ms: int, end_ms: int) -> list[Period]:
    starts, ends, days, index = clock.occurrences()
    out: list[Period] = []
    merged: dict[tuple[int, int], list[int]] = {}
    for s, e, d, i in zip(
        starts.tolist(), ends.tolist(), days.tolist(), index.tolist(), strict=True
    ):
        if e <= start_ms or s >= end_ms:
            continue
        # A shift cut at midnight by a new calendar version is still one shift.
        span = merged.setdefault((d, i), [s, e])
        span[0], span[1] = min(span[0], s), max(span[1], e)
    for (day, i), (s, e) in sorted(merged.items(), key=lambda item: item[1][0]):
        name = clock.shift_names[i]
        out.append(
            Period(max(s, start_ms), min(e, end_ms), f"{local(day):%Y-%m-%d} {name}", shift=name)
        )
    return out
