"""KPI tables, league tables, comparisons (环比/同比), energy tables and monthly savings as rows
of typed cells with bilingual column headers: what the API's XLSX exports and the console's
tables show, shaped once.

A ``Rows`` is a title, a few note lines, its columns (each with a Chinese and an English label,
its unit and how its numbers are shown) and its rows. Numbers stay numbers; an undefined figure
(NaN: no planned time, no output) is ``None``, an empty cell, never a dash a spreadsheet would
chart as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from shugu.analytics.baseline import MonthlySavings, SavingsFigures
from shugu.analytics.energy import EnergyTable
from shugu.analytics.model import (
    PLANNED_FACT,
    FactSpec,
    Grain,
    KpiSpec,
    Level,
    ProfileKpis,
)
from shugu.analytics.periods import local
from shugu.analytics.query import Comparison, Group, KpiTable, League
from shugu.domain.errors import ValidationError
from shugu.domain.profiles import get_profile

Cell = str | int | float | datetime | None
CellKind = Literal["text", "integer", "number", "datetime"]
Lang = Literal["zh", "en"]

#: How each level and grain is named in titles, headers and notes (Chinese, English).
LEVEL_LABELS: dict[Level, tuple[str, str]] = {
    "device": ("机台", "Machine"),
    "line": ("产线", "Line"),
    "enterprise": ("企业", "Enterprise"),
    "park": ("园区", "Park"),
    "industry": ("行业", "Industry"),
    "region": ("区域", "Region"),
}
GRAIN_LABELS: dict[Grain | None, tuple[str, str]] = {
    None: ("整个期间", "Whole span"),
    "hour": ("按小时", "By hour"),
    "shift": ("按班次", "By shift"),
    "day": ("按日", "By day"),
    "week": ("按周", "By week"),
    "month": ("按月", "By month"),
}


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label_zh: str
    label_en: str
    unit: str = ""
    kind: CellKind = "number"
    #: Decimals shown for a number column.
    decimals: int = 2

    def header(self, lang: Lang) -> str:
        label = self.label_zh if lang == "zh" else self.label_en
        return f"{label} ({self.unit})" if self.unit else label


@dataclass(frozen=True, slots=True)
class Rows:
    title_zh: str
    title_en: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    #: Lines that say what the table covers (span, level, grain), in both languages.
    notes: tuple[str, ...] = ()


def finite(value: float | np.floating[npt.NBitBase]) -> float | None:
    """A figure as JSON and spreadsheets take it: None where it is undefined (NaN, infinite)."""
    number = float(value)
    return number if math.isfinite(number) else None


def finite_list(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [finite(v) for v in values.tolist()]


def change(now: float | None, before: float | None) -> float | None:
    """now − before, None where either is undefined."""
    return None if now is None or before is None else now - before


def change_pct(now: float | None, before: float | None) -> float | None:
    """(now − before) / |before| × 100, None where either is undefined or before is zero."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before) * 100.0


def profile_labels(profile: str) -> tuple[str, str]:
    """The device profile's name in Chinese and English (its id where it has none)."""
    try:
        found = get_profile(profile)
    except ValidationError:
        return profile, profile
    return found.label_zh, found.label_en


def kpi_decimals(spec: KpiSpec) -> int:
    """Decimals a KPI is shown with: counts whole, quantities to one, ratios per unit to three."""
    if spec.unit in ("pick", "次", "count"):
        return 0
    if spec.quantity:
        return 1
    if "/" in spec.unit and not spec.unit.startswith("/"):
        return 3
    return 2


def fact_unit(kpis: ProfileKpis, name: str) -> str:
    """The unit of a fact, derived fact or planned time: seconds for time facts, none for counts."""
    if name == PLANNED_FACT:
        return "s"
    for fact in kpis.facts:
        if fact.name == name:
            return _fact_spec_unit(fact)
    for derived in kpis.derived:
        if derived.name == name:
            return derived.unit
    return ""


def _fact_spec_unit(fact: FactSpec) -> str:
    if fact.kind in ("state_time", "time_within", "data_time"):
        return "s"
    return fact.unit


def span_text(start_ms: int, end_ms: int) -> str:
    """The span [start, end) in local time."""
    first, last = local(start_ms), local(end_ms)
    return f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} (UTC+8)"


def span_note(start_ms: int, end_ms: int) -> str:
    return f"期间 Span: {span_text(start_ms, end_ms)}"


def _group_columns(level: Level) -> tuple[Column, ...]:
    zh, en = LEVEL_LABELS[level]
    return (
        Column("group", zh, en, kind="text"),
        Column("group_id", "编号", "ID", kind="integer", decimals=0),
    )


_PERIOD_COLUMNS = (
    Column("period", "期间", "Period", kind="text"),
    Column("period_start", "开始", "Start", "UTC+8", kind="datetime"),
)


def _table_notes(table: KpiTable) -> tuple[str, ...]:
    query = table.query
    level_zh, level_en = LEVEL_LABELS[query.level]
    grain_zh, grain_en = GRAIN_LABELS[query.grain]
    return (
        span_note(query.start_ms, query.end_ms),
        f"层级 Level: {level_zh} {level_en} · 粒度 Grain: {grain_zh} {grain_en}",
    )


def kpi_table_rows(table: KpiTable, profile_zh: str, profile_en: str) -> Rows:
    """One row per group and period, one column per KPI of the table."""
    columns = (
        *_group_columns(table.query.level),
        *_PERIOD_COLUMNS,
        *(
            Column(s.name, s.label_zh, s.label_en, s.unit, decimals=kpi_decimals(s))
            for s in table.specs
        ),
    )
    rows = tuple(
        (
            group.name,
            group.id,
            period.label,
            local(period.start_ms),
            *(finite(table.kpis[s.name][g, p]) for s in table.specs),
        )
        for g, group in enumerate(table.groups)
        for p, period in enumerate(table.periods)
    )
    return Rows(f"{profile_zh}指标", f"{profile_en} KPIs", columns, rows, _table_notes(table))


def fact_rows(table: KpiTable, kpis: ProfileKpis, profile_zh: str, profile_en: str) -> Rows:
    """The summed facts the KPIs are computed from, one row per group and period."""
    names = sorted(table.facts)
    columns = (
        *_group_columns(table.query.level),
        *_PERIOD_COLUMNS,
        *(Column(n, n, n, fact_unit(kpis, n), decimals=3) for n in names),
    )
    rows = tuple(
        (
            group.name,
            group.id,
            period.label,
            local(period.start_ms),
            *(finite(table.facts[n][g, p]) for n in names),
        )
        for g, group in enumerate(table.groups)
        for p, period in enumerate(table.periods)
    )
    return Rows(
        f"{profile_zh}汇总量", f"{profile_en} summed facts", columns, rows, _table_notes(table)
    )


@dataclass(frozen=True, slots=True)
class Ranked:
    #: 1 for the best; None for a group whose KPI is undefined over the span.
    rank: int | None
    group: Group
    value: float | None


def ranking(league: League) -> list[Ranked]:
    """Every group best first, then the groups whose KPI is undefined."""
    ranked = [Ranked(i, g, finite(v)) for i, (g, v) in enumerate(league.ranked, start=1)]
    return ranked + [Ranked(None, g, None) for g in league.undefined]


def league_rows(league: League, level: Level, start_ms: int, end_ms: int) -> Rows:
    """The league table: rank, group, the KPI's value over the span."""
    spec = league.spec
    columns = (
        Column("rank", "名次", "Rank", kind="integer", decimals=0),
        *_group_columns(level),
        Column(spec.name, spec.label_zh, spec.label_en, spec.unit, decimals=kpi_decimals(spec)),
    )
    rows = tuple((r.rank, r.group.name, r.group.id, r.value) for r in ranking(league))
    better = {"higher": ("越高越好", "higher is better"), "lower": ("越低越好", "lower is better")}
    zh, en = better.get(spec.better or "higher", ("", ""))
    level_zh, level_en = LEVEL_LABELS[level]
    notes = (
        span_note(start_ms, end_ms),
        f"层级 Level: {level_zh} {level_en} · {zh} {en}",
    )
    return Rows(f"{spec.label_zh}排名", f"{spec.label_en} league", columns, rows, notes)


@dataclass(frozen=True, slots=True)
class Compared:
    """One KPI of one group: this span, the one before (环比) and a year earlier (同比)."""

    current: float | None
    previous: float | None
    last_year: float | None

    @property
    def change_previous(self) -> float | None:
        return change(self.current, self.previous)

    @property
    def change_previous_pct(self) -> float | None:
        return change_pct(self.current, self.previous)

    @property
    def change_last_year(self) -> float | None:
        return change(self.current, self.last_year)

    @property
    def change_last_year_pct(self) -> float | None:
        return change_pct(self.current, self.last_year)


def compared(comparison: Comparison, kpi: str) -> list[Compared]:
    """Per group of the current table (matched by id in the earlier ones)."""

    def by_id(table: KpiTable) -> dict[int, float | None]:
        return {g.id: finite(table.kpis[kpi][i, 0]) for i, g in enumerate(table.groups)}

    before, year_ago = by_id(comparison.previous), by_id(comparison.last_year)
    now = comparison.current
    return [
        Compared(finite(now.kpis[kpi][i, 0]), before.get(g.id), year_ago.get(g.id))
        for i, g in enumerate(now.groups)
    ]


def comparison_rows(comparison: Comparison, profile_zh: str, profile_en: str) -> Rows:
    """One row per group and KPI: this span, 环比 and 同比 with their changes."""
    current = comparison.current
    columns = (
        *_group_columns(current.query.level),
        Column("kpi_zh", "指标", "KPI (中文)", kind="text"),
        Column("kpi_en", "指标 (英文)", "KPI", kind="text"),
        Column("unit", "单位", "Unit", kind="text"),
        Column("current", "本期", "This span"),
        Column("previous", "上期", "Previous span"),
        Column("change_previous", "环比变化", "Change on previous"),
        Column("change_previous_pct", "环比增减", "Change on previous", "%"),
        Column("last_year", "去年同期", "Same span last year"),
        Column("change_last_year", "同比变化", "Change on last year"),
        Column("change_last_year_pct", "同比增减", "Change on last year", "%"),
    )
    rows: list[tuple[Cell, ...]] = []
    figures = {s.name: compared(comparison, s.name) for s in current.specs}
    for g, group in enumerate(current.groups):
        for spec in current.specs:
            c = figures[spec.name][g]
            rows.append(
                (
                    group.name,
                    group.id,
                    spec.label_zh,
                    spec.label_en,
                    spec.unit,
                    c.current,
                    c.previous,
                    c.change_previous,
                    c.change_previous_pct,
                    c.last_year,
                    c.change_last_year,
                    c.change_last_year_pct,
                )
            )
    spans = (
        ("本期 This span", current),
        ("上期 Previous span", comparison.previous),
        ("去年同期 Same span last year", comparison.last_year),
    )
    notes = tuple(f"{name}: {span_text(t.query.start_ms, t.query.end_ms)}" for name, t in spans)
    return Rows(
        f"{profile_zh}指标环比同比",
        f"{profile_en} KPIs against earlier spans",
        columns,
        tuple(rows),
        notes,
    )


def energy_rows(table: EnergyTable, level: Level, start_ms: int, end_ms: int) -> Rows:
    """Energy, output, energy per unit and PUE per group and period."""
    columns = (
        *_group_columns(level),
        *_PERIOD_COLUMNS,
        Column("energy_kwh", "用电量", "Energy", "kWh", decimals=1),
        Column("output", "产量", "Output", decimals=2),
        Column("output_unit", "产量单位", "Output unit", kind="text"),
        Column(
            "per_unit", "单位产量电耗", "Energy per unit of output", "kWh/单位 unit", decimals=4
        ),
        Column("facility_kwh", "设施总用电", "Facility energy", "kWh", decimals=1),
        Column("it_kwh", "IT 用电", "IT energy", "kWh", decimals=1),
        Column("pue", "PUE", "PUE", decimals=3),
    )
    rows = tuple(
        (
            group.name,
            group.id,
            period.label,
            local(period.start_ms),
            finite(table.energy_kwh[g, p]),
            finite(table.output[g, p]),
            table.output_unit[g] or "",
            finite(table.per_unit[g, p]),
            finite(table.facility_kwh[g, p]),
            finite(table.it_kwh[g, p]),
            finite(table.pue[g, p]),
        )
        for g, group in enumerate(table.groups)
        for p, period in enumerate(table.periods)
    )
    level_zh, level_en = LEVEL_LABELS[level]
    notes = (span_note(start_ms, end_ms), f"层级 Level: {level_zh} {level_en}")
    return Rows("单位产量能耗", "Energy per unit of output", columns, rows, notes)


def savings_rows(monthly: MonthlySavings, enterprise: str) -> Rows:
    """Energy avoided against the baseline per month, and the total."""
    unit = monthly.output_unit
    columns = (
        Column("month", "月份", "Month", kind="text"),
        Column("baseline_kwh", "基准能耗（调整后）", "Adjusted baseline", "kWh", decimals=1),
        Column("actual_kwh", "实际能耗", "Actual energy", "kWh", decimals=1),
        Column("avoided_kwh", "节能量", "Energy avoided", "kWh", decimals=1),
        Column("savings_pct", "节能率", "Savings", "%", decimals=2),
        Column("days_with_data", "有数据天数", "Days with data", kind="integer", decimals=0),
        Column("days_left_out", "缺数据天数", "Days left out", kind="integer", decimals=0),
        Column(
            "days_outside_reference",
            "超出基准范围天数",
            "Days outside the reference range",
            kind="integer",
            decimals=0,
        ),
    )

    def row(label: str, figures: SavingsFigures) -> tuple[Cell, ...]:
        return (
            label,
            finite(figures.baseline_kwh),
            finite(figures.actual_kwh),
            finite(figures.avoided_kwh),
            None if figures.savings_pct is None else finite(figures.savings_pct),
            figures.days_with_data,
            figures.days_left_out,
            figures.days_outside_reference,
        )

    rows = (*(row(m.month, m) for m in monthly.months), row("合计 Total", monthly.total))
    weather = "含气温项 with weather" if monthly.uses_weather else "不含气温项 without weather"
    notes = (f"企业 Enterprise: {enterprise}", f"产量单位 Output unit: {unit or '—'} · {weather}")
    return Rows("节能量", "Energy savings", columns, rows, notes)
