"""The periods indicator values are kept for: a month (``2026-03``) or a year (``2026``), in
the district's local time (Asia/Shanghai)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from shugu.analytics.periods import instant, local
from shugu.domain.errors import ValidationError

FIRST_YEAR = 2000
LAST_YEAR = 2100
_PATTERN = re.compile(r"(\d{4})(?:-(\d{2}))?")


@dataclass(frozen=True, slots=True, order=True)
class PeriodKey:
    year: int
    #: None for the whole year.
    month: int | None = None

    @property
    def text(self) -> str:
        return f"{self.year}" if self.month is None else f"{self.year}-{self.month:02d}"

    @property
    def start_ms(self) -> int:
        return instant(datetime(self.year, self.month or 1, 1))

    @property
    def end_ms(self) -> int:
        if self.month is None or self.month == 12:
            return instant(datetime(self.year + 1, 1, 1))
        return instant(datetime(self.year, self.month + 1, 1))

    def months(self) -> list[PeriodKey]:
        """The months of a year (a month is its own only month)."""
        if self.month is not None:
            return [self]
        return [PeriodKey(self.year, m) for m in range(1, 13)]

    def previous_month(self) -> PeriodKey:
        if self.month is None:
            raise ValueError("a year has no previous month")
        if self.month == 1:
            return PeriodKey(self.year - 1, 12)
        return PeriodKey(self.year, self.month - 1)


def parse_period(text: object, field: str = "period") -> PeriodKey:
    """``2026-03`` or ``2026``; anything else refused with ``indicator_period_invalid``."""
    match = _PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is not None:
        year, month = int(match.group(1)), match.group(2)
        if FIRST_YEAR <= year <= LAST_YEAR and (month is None or 1 <= int(month) <= 12):
            return PeriodKey(year, None if month is None else int(month))
    raise ValidationError(
        f"{field} must be a month (2026-03) or a year (2026) between {FIRST_YEAR} and {LAST_YEAR}",
        code="indicator_period_invalid",
        field=field,
    )


def parse_year(value: object, field: str = "year") -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and FIRST_YEAR <= value <= LAST_YEAR:
        return value
    raise ValidationError(
        f"{field} must be a year between {FIRST_YEAR} and {LAST_YEAR}",
        code="indicator_year_invalid",
        field=field,
    )


def month_of(ts_ms: int) -> PeriodKey:
    wall = local(ts_ms)
    return PeriodKey(wall.year, wall.month)


def year_share_elapsed(year: int, now_ms: int) -> float:
    """How much of the year has passed at ``now_ms``: 0 before it, 1 after it."""
    key = PeriodKey(year)
    if now_ms <= key.start_ms:
        return 0.0
    if now_ms >= key.end_ms:
        return 1.0
    return (now_ms - key.start_ms) / (key.end_ms - key.start_ms)
