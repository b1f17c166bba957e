"""Targets against actuals (目标完成情况) for a year: each indicator with its target, its actual
so far, progress towards the target, whether it is on track for the share of the year passed,
and its last twelve months for a sparkline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shugu.region.indicators.figures import Figure, FigureBook
from shugu.region.indicators.periods import PeriodKey, month_of, year_share_elapsed
from shugu.region.indicators.progress import Progress, progress
from shugu.store.registry.region_indicators import (
    IndicatorRecord,
    IndicatorValueRecord,
    TargetRecord,
)

TREND_MONTHS: Final = 12


@dataclass(frozen=True, slots=True)
class BoardRow:
    indicator: IndicatorRecord
    target: TargetRecord | None
    actual: Figure
    progress: Progress | None
    #: The last months up to the year's end or now, oldest first: (``2026-03``, value).
    trend: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True, slots=True)
class Board:
    year: int
    as_of_ms: int
    #: Share of the year passed.
    elapsed: float
    rows: tuple[BoardRow, ...]

    @property
    def with_target(self) -> list[BoardRow]:
        return [r for r in self.rows if r.target is not None]

    @property
    def on_track(self) -> int:
        return sum(1 for r in self.rows if r.progress is not None and r.progress.on_track)

    @property
    def behind(self) -> int:
        return sum(1 for r in self.rows if r.progress is not None and r.progress.on_track is False)


def _trend_months(year: int, now_ms: int) -> list[PeriodKey]:
    last = min(month_of(now_ms), PeriodKey(year, 12))
    months = [last]
    while len(months) < TREND_MONTHS:
        months.append(months[-1].previous_month())
    return list(reversed(months))


def build_board(
    book: FigureBook,
    year: int,
    indicators: Sequence[IndicatorRecord],
    targets: Sequence[TargetRecord],
    values: Sequence[IndicatorValueRecord],
) -> Board:
    """The board of ``year``: ``values`` are the stored values of the year and the twelve
    months before its end."""
    now = book.now_ms()
    elapsed = year_share_elapsed(year, now)
    target_of = {t.indicator_id: t for t in targets}
    stored: dict[int, dict[str, IndicatorValueRecord]] = {}
    for v in values:
        stored.setdefault(v.indicator_id, {})[v.period] = v
    months = _trend_months(year, now)
    rows: list[BoardRow] = []
    for indicator in indicators:
        own = stored.get(indicator.id, {})
        actual = book.figure(indicator, PeriodKey(year), own)
        target = target_of.get(indicator.id)
        result = None
        if target is not None:
            # A flow added up from the months reported is measured against those months.
            expected = actual.months / 12 if actual.months is not None else elapsed
            result = progress(
                "lower" if indicator.direction == "lower" else "higher",
                target.target,
                target.baseline,
                actual.value,
                expected if indicator.aggregate == "sum" else elapsed,
            )
        trend = tuple((m.text, book.figure(indicator, m, own).value) for m in months)
        rows.append(BoardRow(indicator, target, actual, result, trend))
    return Board(year, now, elapsed, tuple(rows))


def trend_range(year: int, now_ms: int) -> tuple[str, str]:
    """The first and last period a board of ``year`` reads stored values for."""
    months = _trend_months(year, now_ms)
    return min(months[0].text, f"{year}"), max(months[-1].text, f"{year}-12")
