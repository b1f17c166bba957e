"""Report months (YYYY-MM, China time): parsed, shifted, bounded in instants, and their deadline
(a day of the following month)."""

from __future__ import annotations

import re
from datetime import date, datetime

from shugu.analytics.periods import instant, local
from shugu.domain.errors import ValidationError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: Months a report may be for: the platform's era, not a typo's century.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def parse_month(text: object, field: str = "month") -> str:
    """A month as YYYY-MM, or a ValidationError (``month_invalid``)."""
    match = _MONTH.match(text.strip()) if isinstance(text, str) else None
    if match is None or not (FIRST_YEAR <= int(match[1]) <= LAST_YEAR and 1 <= int(match[2]) <= 12):
        raise ValidationError(
            f"{field} must be a month written YYYY-MM between {FIRST_YEAR} and {LAST_YEAR}",
            code="month_invalid",
            field=field,
        )
    return f"{match[1]}-{match[2]}"


def _parts(month: str) -> tuple[int, int]:
    year, number = month.split("-")
    return int(year), int(number)


def shift(month: str, months: int) -> str:
    """The month ``months`` later (earlier when negative)."""
    year, number = _parts(month)
    index = year * 12 + number - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def first_day(month: str) -> date:
    year, number = _parts(month)
    return date(year, number, 1)


def bounds_ms(month: str) -> tuple[int, int]:
    """The month's start and end as instants (ms), China time."""
    year, number = _parts(month)
    start = instant(datetime(year, number, 1))
    after = first_day(shift(month, 1))
    return start, instant(datetime(after.year, after.month, 1))


def of_day(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def today_local(now_ms: int) -> date:
    return local(now_ms).date()


def deadline(month: str, day_of_next_month: int) -> date:
    """The last day a month's report is on time: a day of the month after."""
    after = first_day(shift(month, 1))
    return after.replace(day=min(day_of_next_month, 28))


def due_month(today: date) -> str:
    """The month whose report is being filed now: the month before today's."""
    return shift(of_day(today), -1)
