"""KPI tables shaped for the console's pages: headline cards with 环比 and 同比, tables by group
(sorted, the machines far below their enterprise marked), the ISO 22400 losses a waterfall draws,
and stops by cause for a Pareto chart.

Everything here reads tables the KPI service computed; nothing sums or averages a ratio. A change
of a percentage is told in percentage points, of anything else relative to the earlier value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from shugu.analytics.model import KpiSpec
from shugu.analytics.query import Group, KpiTable
from shugu.web.i18n import N_, Translator
from shugu.web.kpi_boards import Board

Tone = Literal["good", "bad", "flat", "none"]
Order = Literal["asc", "desc"]
#: Sorting by these instead of a KPI.
NAME_SORT: Final = "name"
HOURS: Final = 3600.0


def kpi_label(spec: KpiSpec, lang: str) -> str:
    return spec.label_zh if lang == "zh-CN" else spec.label_en


def kpi_digits(value: float) -> int:
    size = abs(value)
    if size >= 1000:
        return 0
    if size >= 100:
        return 1
    if size >= 1:
        return 2
    return 3


def kpi_text(value: float | None, unit: str = "") -> str:
    """A KPI's value as the pages print it: a percentage with two decimals, anything else with
    digits by its size; thousands grouped."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    digits = 2 if unit == "%" else kpi_digits(value)
    return f"{value:,.{digits}f}"


# -- changes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    #: Percentage points for a percentage, else % of the earlier value; NaN: no comparison.
    delta: float
    points: bool
    tone: Tone

    def text(self, tr: Translator) -> str:
        if not math.isfinite(self.delta):
            return "—"
        # No sign on a change that rounds to nothing ("-0.0" reads as a fall).
        number = f"{self.delta:+.1f}" if round(self.delta, 1) != 0 else "0.0"
        return tr(N_("{value} pp"), value=number) if self.points else f"{number}%"


NO_CHANGE: Final = Change(math.nan, False, "none")


def change(now: float, before: float, spec: KpiSpec) -> Change:
    """``now`` against ``before``; its tone by which way the KPI is better."""
    return change_of(now, before, spec.unit, spec.better)


def change_of(now: float, before: float, unit: str, better: str | None) -> Change:
    if not (math.isfinite(now) and math.isfinite(before)):
        return NO_CHANGE
    points = unit == "%"
    if points:
        delta = now - before
    elif before == 0:
        return NO_CHANGE
    else:
        delta = 100.0 * (now - before) / abs(before)
    tone: Tone = "flat"
    if abs(delta) >= 0.05 and better is not None:
        tone = "good" if (delta > 0) == (better == "higher") else "bad"
    return Change(delta, points, tone)


def value_of(board: Board, table: KpiTable, name: str, group_id: int) -> float:
    """A KPI or figure of one group over the table's whole span (NaN: not in the table)."""
    for row, group in enumerate(table.groups):
        if group.id == group_id:
            return float(board.values(table, name)[row, 0])
    return math.nan


# -- headline cards -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Card:
    name: str
    label: str
    unit: str
    value: float
    #: 环比: against the period before; 同比: against the same period a year earlier.
    month_on_month: Change
    year_on_year: Change

    @property
    def text(self) -> str:
        return kpi_text(self.value, self.unit)

    @property
    def defined(self) -> bool:
        return math.isfinite(self.value)


def cards(
    board: Board,
    names: Sequence[str],
    current: KpiTable,
    previous: KpiTable,
    last_year: KpiTable,
    group_id: int,
    lang: str,
) -> list[Card]:
    """The figures ``names`` of one group, each against its earlier periods."""
    out = []
    for spec in board.specs(tuple(names), current.query.level):
        now = value_of(board, current, spec.name, group_id)
        out.append(
            Card(
                spec.name,
                kpi_label(spec, lang),
                spec.unit,
                now,
                change(now, value_of(board, previous, spec.name, group_id), spec),
                change(now, value_of(board, last_year, spec.name, group_id), spec),
            )
        )
    return out


# -- tables by group ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    label: str
    unit: str
    better: str | None


@dataclass(frozen=True, slots=True)
class Cell:
    value: float
    unit: str = ""
    #: Against the period before and the same period a year earlier, where the table has them.
    changes: tuple[Change, Change] | None = None

    @property
    def text(self) -> str:
        return kpi_text(self.value, self.unit)


@dataclass(frozen=True, slots=True)
class Row:
    group: Group
    cells: list[Cell]
    #: Far worse than the whole (the enterprise) on the board's ranking figure.
    outlier: bool
    url: str | None


@dataclass(frozen=True, slots=True)
class GroupTable:
    columns: list[Column]
    rows: list[Row]
    sort: str
    order: Order
    #: Rows left out beyond the table's limit.
    hidden: int = 0


def default_order(spec: KpiSpec) -> Order:
    """Worst first: ascending for a figure where higher is better."""
    return "asc" if spec.better == "higher" else "desc"


def is_outlier(value: float, whole: float, spec: KpiSpec, outlier_pct: float) -> bool:
    if spec.better is None or not (math.isfinite(value) and math.isfinite(whole)) or whole == 0:
        return False
    worse_by = (whole - value) if spec.better == "higher" else (value - whole)
    return 100.0 * worse_by / abs(whole) > outlier_pct


def group_table(
    board: Board,
    table: KpiTable,
    names: Sequence[str],
    *,
    sort: str | None,
    order: str | None,
    lang: str,
    url_of: Callable[[Group], str | None],
    whole: float = math.nan,
    outlier_pct: float = 100.0,
    earlier: tuple[KpiTable, KpiTable] | None = None,
    limit: int = 1000,
) -> GroupTable:
    """Each group of ``table`` with the figures ``names``, sorted by ``sort`` (a column or
    ``name``; default: the board's ranking figure, worst first). Undefined values sort last
    either way. A group whose ranking figure is worse than ``whole`` by more than
    ``outlier_pct`` % is marked."""
    specs = board.specs(tuple(names), table.query.level)
    columns = [Column(s.name, kpi_label(s, lang), s.unit, s.better) for s in specs]
    known = {s.name for s in specs}
    rank_spec = board.spec(board.rank_by)
    if sort not in known and sort != NAME_SORT:
        sort = board.rank_by if board.rank_by in known else NAME_SORT
        order = default_order(rank_spec) if sort == board.rank_by else "asc"
    chosen: Order = "desc" if order == "desc" else "asc"
    values = {s.name: board.values(table, s.name)[:, 0] for s in specs} if table.groups else {}
    ranking = board.values(table, board.rank_by)[:, 0] if table.groups else np.zeros(0)
    rows = []
    for i, group in enumerate(table.groups):
        cells = []
        for spec in specs:
            now = float(values[spec.name][i])
            changes = None
            if earlier is not None:
                changes = (
                    change(now, value_of(board, earlier[0], spec.name, group.id), spec),
                    change(now, value_of(board, earlier[1], spec.name, group.id), spec),
                )
            cells.append(Cell(now, spec.unit, changes))
        marked = is_outlier(float(ranking[i]), whole, rank_spec, outlier_pct)
        rows.append(Row(group, cells, marked, url_of(group)))
    rows = _sorted(rows, [c.name for c in columns], sort, chosen)
    return GroupTable(columns, rows[:limit], sort, chosen, max(0, len(rows) - limit))


def _sorted(rows: list[Row], names: list[str], sort: str, order: Order) -> list[Row]:
    if sort == NAME_SORT:
        return sorted(rows, key=lambda r: r.group.name, reverse=order == "desc")
    column = names.index(sort)
    defined = [r for r in rows if math.isfinite(r.cells[column].value)]
    undefined = [r for r in rows if not math.isfinite(r.cells[column].value)]
    defined.sort(key=lambda r: (r.cells[column].value, r.group.name), reverse=order == "desc")
    return defined + sorted(undefined, key=lambda r: r.group.name)


# -- the ISO 22400 losses -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Losses:
    """Planned busy time split into what was lost to each OEE factor, in hours."""

    planned_h: float
    availability_h: float
    performance_h: float
    quality_h: float
    effective_h: float


def _fact(table: KpiTable, name: str, row: int) -> float:
    values = table.facts.get(name)
    return float(values[row, 0]) if values is not None else math.nan


def losses(table: KpiTable, row: int = 0) -> Losses | None:
    """The time-model facts of one group: planned time less the availability loss (not
    running), the performance loss (running below the ideal rate) and the quality loss (bad
    output) is the effective time, planned time × OEE. None without planned time."""
    if not table.groups:
        return None
    planned = _fact(table, "planned_s", row)
    if not math.isfinite(planned) or planned <= 0:
        return None
    running = min(max(_fact(table, "apt_s", row), 0.0), planned)
    produced, ideal = _fact(table, "produced_q", row), _fact(table, "ideal_q", row)
    performance = min(max(produced / ideal, 0.0), 1.0) if ideal > 0 else 0.0
    quality = 1.0
    good, scrap = _fact(table, "good_q", row), _fact(table, "scrap_q", row)
    if produced > 0 and math.isfinite(good):
        quality = min(max(good / produced, 0.0), 1.0)
    elif produced > 0 and math.isfinite(scrap):
        quality = min(max((produced - scrap) / produced, 0.0), 1.0)
    fast = running * performance
    return Losses(
        planned / HOURS,
        (planned - running) / HOURS,
        (running - fast) / HOURS,
        fast * (1.0 - quality) / HOURS,
        fast * quality / HOURS,
    )


# -- stops by cause -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CauseBar:
    label: str
    stops: float
    minutes: float
    #: The share of all stops of this cause and the ones before it.
    cumulative_pct: float


def pareto(board: Board, table: KpiTable, lang: str, row: int = 0) -> list[CauseBar]:
    """The board's stop causes of one group, most stops first, with the cumulative share."""
    if not table.groups or not board.pareto:
        return []
    counted = [
        (cause.label(lang), _fact(table, cause.count, row), _fact(table, cause.time, row) / 60)
        for cause in board.pareto
    ]
    total = sum(c[1] for c in counted if math.isfinite(c[1]))
    if total <= 0:
        return []
    counted.sort(key=lambda c: -c[1])
    out, running = [], 0.0
    for label, stops, minutes in counted:
        running += stops
        out.append(CauseBar(label, stops, minutes, 100.0 * running / total))
    return out
