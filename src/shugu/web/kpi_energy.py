"""The energy block of the KPI pages: kWh, output, energy per unit and PUE over the period with
环比 and 同比, and energy per unit by day against the enterprise's energy baseline (能耗基准).

An enterprise's or a line's energy is its meters' where it has them (``analytics/energy.py``), so
its energy per unit is what the baseline is fitted on. A machine behind a line meter has no kWh
of its own in that table; its page draws its own counter's energy per unit instead
(``device_trend``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from shugu.analytics.baseline import SavingsFigures
from shugu.analytics.baseline_service import (
    FittedBaseline,
    enterprise_savings,
    get_enterprise_baseline,
)
from shugu.analytics.energy import EnergyTable, energy_table
from shugu.analytics.model import Level
from shugu.analytics.periods import DAY_MS, add_months, day_start, local
from shugu.analytics.query import KpiTable, previous_span
from shugu.analytics.service import Analytics
from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.store.registry import Registry
from shugu.web.i18n import N_, Translator
from shugu.web.kpi_boards import Board
from shugu.web.kpi_periods import Span, clip_to_now
from shugu.web.kpi_view import Card, change_of

#: A trend shows at least this many days, ending with the period's last.
TREND_MIN_DAYS: Final = 14


@dataclass(frozen=True, slots=True)
class EnergyTrend:
    #: Local days, ``2026-12-05``.
    days: list[str]
    per_unit: list[float]
    #: What the baseline expects per unit on each day (None: no baseline fitted).
    baseline_per_unit: list[float] | None
    #: NaN where a day has no facility and IT meter reading.
    pue: list[float]
    #: ``kWh/m``; None where the group's output has no single unit.
    unit: str | None

    @property
    def has_per_unit(self) -> bool:
        return any(math.isfinite(v) for v in self.per_unit)

    @property
    def has_pue(self) -> bool:
        return any(math.isfinite(v) for v in self.pue)


@dataclass(frozen=True, slots=True)
class EnergyBlock:
    cards: list[Card]
    trend: EnergyTrend
    baseline: FittedBaseline | None = None
    #: Energy avoided against the baseline over the period (None: no baseline, or it no longer
    #: applies).
    savings: SavingsFigures | None = None

    @property
    def reference_days(self) -> tuple[str, str]:
        """The first and last day of the baseline's reference period."""
        if self.baseline is None:
            return "", ""
        first = local(self.baseline.reference_start_ms)
        last = local(max(self.baseline.reference_end_ms - 1, self.baseline.reference_start_ms))
        return f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"


def trend_span(span: Span, now_ms: int) -> tuple[int, int]:
    """Whole days: the period's, at least ``TREND_MIN_DAYS`` up to its last, none to come."""
    _, end = clip_to_now(span.start_ms, span.end_ms, now_ms, DAY_MS)
    end = day_start(end - 1) + DAY_MS
    start = min(day_start(span.start_ms), end - TREND_MIN_DAYS * DAY_MS)
    return start, end


def _row(table: EnergyTable, group_id: int) -> int | None:
    for i, group in enumerate(table.groups):
        if group.id == group_id:
            return i
    return None


def _day_labels(start_ms: int, end_ms: int) -> list[str]:
    return [f"{local(d):%Y-%m-%d}" for d in range(start_ms, end_ms, DAY_MS)]


def _per_unit_unit(table: EnergyTable, row: int | None) -> str | None:
    unit = table.output_unit[row] if row is not None else None
    return f"kWh/{unit}" if unit else None


@dataclass(frozen=True, slots=True)
class _Whole:
    energy: float
    output: float
    per_unit: float
    pue: float


def _whole(table: EnergyTable, row: int | None) -> _Whole:
    if row is None:
        return _Whole(math.nan, math.nan, math.nan, math.nan)
    return _Whole(
        float(table.energy_kwh[row, 0]),
        float(table.output[row, 0]),
        float(table.per_unit[row, 0]),
        float(table.pue[row, 0]),
    )


def _cards(
    analytics: Analytics,
    level: Level,
    group_id: int,
    span: Span,
    scope: frozenset[int] | None,
    within: tuple[Level, int] | None,
    tr: Translator,
) -> list[Card]:
    service = analytics.kpis

    def whole(start: int, end: int) -> tuple[EnergyTable, _Whole]:
        table = energy_table(service, level, start, end, None, scope, within)
        return table, _whole(table, _row(table, group_id))

    table, now = whole(span.start_ms, span.end_ms)
    row = _row(table, group_id)
    before_start, before_end = previous_span(span.start_ms, span.end_ms)
    _, before = whole(before_start, before_end)
    _, last_year = whole(add_months(span.start_ms, -12), add_months(span.end_ms, -12))
    output_unit = table.output_unit[row] if row is not None else None
    figures: list[tuple[str, str, float, float, float, str | None]] = [
        (N_("Energy"), "kWh", now.energy, before.energy, last_year.energy, None)
    ]
    if output_unit:
        figures += [
            (N_("Output"), output_unit, now.output, before.output, last_year.output, None),
            (
                N_("Energy per unit of output"),
                f"kWh/{output_unit}",
                now.per_unit,
                before.per_unit,
                last_year.per_unit,
                "lower",
            ),
        ]
    if math.isfinite(now.pue):
        figures.append((N_("PUE"), "", now.pue, before.pue, last_year.pue, "lower"))
    out = []
    for label, unit, value, prev, year, better in figures:
        out.append(
            Card(
                label,
                tr(label),
                unit,
                value,
                change_of(value, prev, unit, better),
                change_of(value, year, unit, better),
            )
        )
    return out


def group_energy(
    analytics: Analytics,
    registry: Registry,
    level: Level,
    group_id: int,
    span: Span,
    now_ms: int,
    scope: frozenset[int] | None,
    tr: Translator,
    within: tuple[Level, int] | None = None,
) -> EnergyBlock:
    """The energy block of an enterprise (with its baseline) or a line."""
    cards = _cards(analytics, level, group_id, span, scope, within, tr)
    start, end = trend_span(span, now_ms)
    table = energy_table(analytics.kpis, level, start, end, "day", scope, within)
    row = _row(table, group_id)
    days = _day_labels(start, end)
    nan = [math.nan] * len(days)
    per_unit = _by_day(table, row, table.per_unit, start, len(days)) if row is not None else nan
    pue = _by_day(table, row, table.pue, start, len(days)) if row is not None else nan
    baseline = savings = None
    baseline_per_unit = None
    if level == "enterprise":
        baseline = _baseline(registry, group_id)
    if baseline is not None:
        baseline_per_unit = _baseline_per_unit(analytics, baseline, group_id, start, end)
        try:
            savings = enterprise_savings(
                registry, analytics.days, group_id, span.start_ms, span.end_ms
            ).total
        except ValidationError:
            savings = None  # the output is measured otherwise now: the baseline must be refitted
    trend = EnergyTrend(days, per_unit, baseline_per_unit, pue, _per_unit_unit(table, row))
    return EnergyBlock(cards, trend, baseline, savings)


def _by_day(table: EnergyTable, row: int, values: np.ndarray, start: int, days: int) -> list[float]:
    out = [math.nan] * days
    for p, period in enumerate(table.periods):
        index = (day_start(period.start_ms) - start) // DAY_MS
        if 0 <= index < days:
            out[index] = float(values[row, p])
    return out


def _baseline(registry: Registry, enterprise_id: int) -> FittedBaseline | None:
    try:
        return get_enterprise_baseline(registry, enterprise_id)
    except (NotFoundError, ConflictError):
        return None


def _baseline_per_unit(
    analytics: Analytics, baseline: FittedBaseline, enterprise_id: int, start: int, end: int
) -> list[float]:
    series = analytics.days.daily_energy_output(enterprise_id, start, end)
    days = (end - start) // DAY_MS
    out = [math.nan] * days
    if not len(series.days_ms):
        return out
    expected = baseline.model.predict(series.output, series.mean_temp_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(series.output > 0, expected / series.output, np.nan)
    for day, value in zip(series.days_ms.tolist(), per_unit.tolist(), strict=True):
        index = (day - start) // DAY_MS
        if 0 <= index < days:
            out[index] = float(value) if math.isfinite(value) else math.nan
    return out


def device_trend(
    board: Board, daily: KpiTable, start: int, end: int, output_unit: str | None
) -> EnergyTrend:
    """A machine's own energy per unit by day, from its KPI table by day (its own counter)."""
    kpis = board.kpis
    days = _day_labels(start, end)
    per_unit = [math.nan] * len(days)
    if daily.groups and kpis.energy_fact and kpis.output_fact:
        energy = daily.facts[kpis.energy_fact][0]
        output = daily.facts[kpis.output_fact][0]
        for p, period in enumerate(daily.periods):
            index = (day_start(period.start_ms) - start) // DAY_MS
            if 0 <= index < len(days) and output[p] > 0:
                per_unit[index] = float(energy[p] / output[p])
    unit = f"kWh/{output_unit}" if output_unit else None
    return EnergyTrend(days, per_unit, None, [math.nan] * len(days), unit)
