"""The parts every KPI page is made of, built from the KPI service: the period picker, the profile
tabs, the headline cards with the waterfall and Pareto of one group, and the tables by line and
by machine. ``kpi_pages`` and ``kpi_region`` put them together per page."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np

from shugu.analytics.model import Level
from shugu.analytics.places import Places
from shugu.analytics.query import Comparison, Group, KpiQuery, KpiService
from shugu.web.i18n import Translator
from shugu.web.kpi_boards import Board, boards
from shugu.web.kpi_charts import stop_pareto, waterfall
from shugu.web.kpi_links import PageState
from shugu.web.kpi_periods import MAX_CUSTOM_DAYS, PERIOD_LABELS, SpanChoice, keys
from shugu.web.kpi_view import (
    Card,
    GroupTable,
    cards,
    default_order,
    group_table,
    losses,
    pareto,
    value_of,
)
from shugu.web.plant import profile_label

#: Rows a table by machine shows at most (a mill has about fifty looms, a data hall 200 racks).
MACHINE_ROWS: Final = 500


@dataclass(frozen=True, slots=True)
class Picker:
    """The period picker as the page draws it."""

    options: list[tuple[str, str, str]]
    choice: SpanChoice
    state: PageState
    #: Field → the problem with it, in the user's language.
    problems: dict[str, str]

    @property
    def start_value(self) -> str:
        return self.state.start or self.choice.span.first_day

    @property
    def end_value(self) -> str:
        return self.state.end or self.choice.span.last_day


def picker(choice: SpanChoice, state: PageState, tr: Translator, with_shift: bool) -> Picker:
    options = [
        (key, tr(PERIOD_LABELS[key]), state.url(period=key))
        for key in keys(with_shift)
        if key != "custom"
    ]
    problems = {f: tr(m, days=MAX_CUSTOM_DAYS) for f, m in choice.problems.items()}
    return Picker(options, choice, state, problems)


@dataclass(frozen=True, slots=True)
class Tab:
    profile: str
    label: str
    url: str
    active: bool


def present_boards(places: Places, mask: np.ndarray) -> list[Board]:
    """The boards of the profiles that have devices where ``mask`` holds, in the boards'
    order."""
    found = {places.profile[i] for i in np.flatnonzero(mask).tolist()}
    return [b for p, b in boards().by_profile.items() if p in found]


def choose_board(present: list[Board], asked: str | None) -> Board | None:
    for board in present:
        if board.profile == asked:
            return board
    return present[0] if present else None


def tabs(present: list[Board], chosen: Board | None, state: PageState, lang: str) -> list[Tab]:
    return [
        Tab(
            b.profile,
            profile_label(b.profile, lang),
            state.url(profile=b.profile, sort="", order=""),
            chosen is not None and b.profile == chosen.profile,
        )
        for b in present
    ]


def chart_json(charts: dict[str, Any]) -> str:
    """Chart options for a ``<script type="application/json">``: nothing in a label (a
    machine's name) may end or comment out the element."""
    text = json.dumps(charts, ensure_ascii=False, allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text


@dataclass
class Overview:
    """A group's headline cards and the charts of its period."""

    comparison: Comparison
    cards: list[Card]
    #: ECharts options by the name of the chart's element.
    charts: dict[str, Any] = field(default_factory=dict)
    pareto_rows: int = 0


def overview(
    service: KpiService, board: Board, query: KpiQuery, group_id: int, tr: Translator
) -> Overview:
    comparison = service.compare(query)
    current = comparison.current
    found = cards(
        board,
        board.headline,
        current,
        comparison.previous,
        comparison.last_year,
        group_id,
        tr.lang,
    )
    result = Overview(comparison, found)
    rows = [i for i, g in enumerate(current.groups) if g.id == group_id]
    if not rows:
        return result
    if board.has_waterfall:
        lost = losses(current, rows[0])
        if lost is not None:
            result.charts["waterfall"] = waterfall(lost, tr)
    bars = pareto(board, current, tr.lang, rows[0])
    if bars:
        result.charts["pareto"] = stop_pareto(bars, tr)
        result.pareto_rows = len(bars)
    return result


@dataclass(frozen=True, slots=True)
class TableBlock:
    table: GroupTable
    xlsx: str
    #: This page sorted by a column: column name → address.
    sort_urls: dict[str, str]


def groups_block(
    service: KpiService,
    board: Board,
    query: KpiQuery,
    state: PageState,
    lang: str,
    *,
    whole: float,
    url_of: Callable[[Group], str | None],
    xlsx: str,
    earlier: bool = False,
    limit: int = MACHINE_ROWS,
) -> TableBlock:
    """A table of groups at ``query.level``, with its sort links and export."""
    names = board.kpi_names(tuple(dict.fromkeys((*board.table, board.rank_by))))
    asked = replace(query, kpis=tuple(n for n in names if _defined_at(board, n, query.level)))
    previous = last_year = None
    if earlier:
        comparison = service.compare(asked)
        table, previous, last_year = comparison.current, comparison.previous, comparison.last_year
    else:
        table = service.table(asked)
    shown = group_table(
        board,
        table,
        board.table,
        sort=state.sort or None,
        order=state.order or None,
        lang=lang,
        url_of=url_of,
        whole=whole,
        outlier_pct=boards().outlier_pct,
        earlier=(previous, last_year) if previous is not None and last_year is not None else None,
        limit=limit,
    )
    sort_urls = {
        c.name: state.sorted_by(c.name, shown.sort, shown.order, default_order(board.spec(c.name)))
        for c in shown.columns
    }
    sort_urls["name"] = state.sorted_by("name", shown.sort, shown.order, "asc")
    return TableBlock(shown, xlsx, sort_urls)


def _defined_at(board: Board, name: str, level: Level) -> bool:
    return bool(board.specs((name,), level))


def whole_value(board: Board, comparison: Comparison, group_id: int) -> float:
    """The group's own ranking figure: what its members are held against."""
    return value_of(board, comparison.current, board.rank_by, group_id)
