"""The KPI pages' period picker: today, this shift, yesterday, this week, this month, last month,
or days chosen by hand, each as a span [start, end) in China time.

Calendar periods are whole (today runs to midnight, this month to its last day): ratios over them
compare well with the period before, and planned time is counted only up to now, so a figure of
today is today's so far. "This shift" is the shift of the enterprise's calendar running now, or
the last one that ended when none runs (between shifts, on a rest day).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from shugu.analytics.calendar import PlannedClock
from shugu.analytics.periods import DAY_MS, add_months, day_start, instant, local, month_start
from shugu.analytics.periods import periods as cut_periods
from shugu.web.i18n import N_

PERIOD_LABELS: Final = {
    "today": N_("Today"),
    "shift": N_("This shift"),
    "yesterday": N_("Yesterday"),
    "week": N_("This week"),
    "month": N_("This month"),
    "last_month": N_("Last month"),
    "custom": N_("Custom"),
}
DEFAULT_PERIOD: Final = "today"
CUSTOM: Final = "custom"
#: The longest span chosen by hand: a year and a day, so that a leap year fits.
MAX_CUSTOM_DAYS: Final = 366
#: How far back "this shift" looks for the last shift when none runs now.
SHIFT_LOOKBACK_MS: Final = 3 * DAY_MS

#: The calendar of the enterprise the page is about, for "this shift" (None: no such period).
ClockFor = Callable[[int, int], PlannedClock]


@dataclass(frozen=True, slots=True)
class Span:
    key: str
    start_ms: int
    end_ms: int
    #: The shift's name and day (``2026-12-05 白班``) for "this shift".
    shift_label: str | None = None

    @property
    def first_day(self) -> str:
        return f"{local(self.start_ms):%Y-%m-%d}"

    @property
    def last_day(self) -> str:
        return f"{local(max(self.end_ms - 1, self.start_ms)):%Y-%m-%d}"

    @property
    def text(self) -> str:
        """The span as a person reads it: one day, a range of days, or a shift's times."""
        if self.shift_label is not None:
            return f"{self.shift_label} ({local(self.start_ms):%H:%M}–{local(self.end_ms):%H:%M})"
        if self.first_day == self.last_day:
            return self.first_day
        return f"{self.first_day} – {self.last_day}"


@dataclass(frozen=True, slots=True)
class SpanChoice:
    span: Span
    #: Field → message id of what was wrong with the picker's input (the default span is used).
    problems: dict[str, str]


def keys(with_shift: bool) -> list[str]:
    return [k for k in PERIOD_LABELS if with_shift or k != "shift"]


def choose_span(
    key: str | None,
    start: str | None,
    end: str | None,
    now_ms: int,
    clock_for: ClockFor | None = None,
) -> SpanChoice:
    """The span the picker's input names; the default span and the problem for bad input."""
    chosen = key or DEFAULT_PERIOD
    if chosen not in keys(clock_for is not None):
        return SpanChoice(_calendar(DEFAULT_PERIOD, now_ms), {"period": N_("Choose a period")})
    if chosen == CUSTOM:
        return _custom(start, end, now_ms)
    if chosen == "shift":
        assert clock_for is not None
        span = _shift(now_ms, clock_for)
        if span is None:
            problem = {"period": N_("The shift calendar has no shift in the last days")}
            return SpanChoice(_calendar(DEFAULT_PERIOD, now_ms), problem)
        return SpanChoice(span, {})
    return SpanChoice(_calendar(chosen, now_ms), {})


def _calendar(key: str, now_ms: int) -> Span:
    today = day_start(now_ms)
    if key == "yesterday":
        return Span(key, today - DAY_MS, today)
    if key == "week":
        monday = today - local(today).weekday() * DAY_MS
        return Span(key, monday, monday + 7 * DAY_MS)
    if key == "month":
        first = month_start(now_ms)
        return Span(key, first, add_months(first, 1))
    if key == "last_month":
        first = month_start(now_ms)
        return Span(key, add_months(first, -1), first)
    return Span("today", today, today + DAY_MS)


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _custom(start: str | None, end: str | None, now_ms: int) -> SpanChoice:
    first, last = _parse_day(start), _parse_day(end)
    problems: dict[str, str] = {}
    if first is None:
        problems["start"] = N_("Give the first day as a date")
    if last is None:
        problems["end"] = N_("Give the last day as a date")
    if first is not None and last is not None:
        if last < first:
            problems["end"] = N_("The last day comes after the first")
        elif (last - first).days >= MAX_CUSTOM_DAYS:
            problems["end"] = N_("Choose at most {days} days")
        elif first.year < 2000 or last.year > 2200:
            problems["start"] = N_("Choose days between 2000 and 2200")
    if problems or first is None or last is None:
        return SpanChoice(_calendar(DEFAULT_PERIOD, now_ms), problems)
    start_ms = instant(datetime(first.year, first.month, first.day))
    end_ms = instant(datetime(last.year, last.month, last.day) + timedelta(days=1))
    return SpanChoice(Span(CUSTOM, start_ms, end_ms), {})


def _shift(now_ms: int, clock_for: ClockFor) -> Span | None:
    lo, hi = day_start(now_ms) - SHIFT_LOOKBACK_MS, day_start(now_ms) + 2 * DAY_MS
    shifts = cut_periods("shift", lo, hi, clock_for(lo, hi))
    begun = [p for p in shifts if p.start_ms <= now_ms]
    if not begun:
        return None
    current = begun[-1]
    return Span("shift", current.start_ms, current.end_ms, shift_label=current.label)


def clip_to_now(start_ms: int, end_ms: int, now_ms: int, step_ms: int) -> tuple[int, int]:
    """A trend's span without the steps still to come: it ends with the step (an hour, or a
    local day) that holds now."""
    daily = step_ms >= DAY_MS
    ceiling = day_start(now_ms) + DAY_MS if daily else (now_ms // step_ms + 1) * step_ms
    return start_ms, max(min(end_ms, ceiling), start_ms + step_ms)
