"""The region's KPI page for the bureau and the platform operator (``GET /region/kpi``, routed by
``kpi_pages``): a profile's KPIs over the whole region, by park and by industry (NBS category),
each against the period before (环比) and the same period a year earlier (同比), and league
tables of the enterprises, best and worst.

Every figure here is of the enterprise level or coarser, which the bureau and the operator see
for every enterprise (``kpi_enterprises``); enterprises' own people are refused (403), as the
KPI API refuses them figures that mix in other enterprises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

import numpy as np
from fastapi import Query, Request
from starlette.responses import Response

from shugu.analytics.model import LEVELS, KpiSpec, Level
from shugu.analytics.query import Group, KpiQuery, KpiService, KpiTable, League
from shugu.api.scope import kpi_enterprises
from shugu.domain.timeutil import utc_now_ms
from shugu.web.kpi_blocks import (
    TableBlock,
    chart_json,
    choose_board,
    groups_block,
    overview,
    picker,
    present_boards,
    tabs,
)
from shugu.web.kpi_boards import Board
from shugu.web.kpi_links import PageState, league_xlsx, table_xlsx
from shugu.web.kpi_periods import Span, choose_span
from shugu.web.kpi_view import Change, change, kpi_label, kpi_text, value_of
from shugu.web.session import PageUserDep
from shugu.web.templating import render

#: Enterprises a league table shows at each end.
LEAGUE_SIZE: Final = 10
REGION_GROUP: Final = 0

Text = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True, slots=True)
class LeagueRow:
    rank: int
    enterprise_id: int
    name: str
    value: float
    month_on_month: Change
    year_on_year: Change
    url: str

    unit: str = ""

    @property
    def text(self) -> str:
        return kpi_text(self.value, self.unit)


@dataclass(frozen=True, slots=True)
class LeagueBlock:
    spec: KpiSpec
    label: str
    best: list[LeagueRow]
    worst: list[LeagueRow]
    ranked: int
    undefined: int
    xlsx: str


def _league_rows(
    board: Board,
    entries: list[tuple[Group, float]],
    ranks: dict[int, int],
    earlier: tuple[KpiTable, KpiTable],
    spec: KpiSpec,
    state: PageState,
) -> list[LeagueRow]:
    out = []
    for group, value in entries:
        out.append(
            LeagueRow(
                ranks[group.id],
                group.id,
                group.name,
                value,
                change(value, value_of(board, earlier[0], spec.name, group.id), spec),
                change(value, value_of(board, earlier[1], spec.name, group.id), spec),
                state.elsewhere(f"/e/{group.id}/kpi", board.profile),
                spec.unit,
            )
        )
    return out


def leagues(
    service: KpiService,
    board: Board,
    span: Span,
    scope: frozenset[int] | None,
    state: PageState,
    lang: str,
) -> list[LeagueBlock]:
    """The league tables of the board's KPIs among enterprises, with each one's changes."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    names = tuple(n for n in board.league if rank[board.spec(n).up_to] >= rank["enterprise"])
    if not names:
        return []
    query = KpiQuery(board.profile, span.start_ms, span.end_ms, "enterprise", enterprises=scope)
    comparison = service.compare(query)
    earlier = (comparison.previous, comparison.last_year)
    out = []
    for name in names:
        league: League = service.league(query, name, LEAGUE_SIZE)
        ranks = {g.id: i + 1 for i, (g, _) in enumerate(league.ranked)}
        out.append(
            LeagueBlock(
                league.spec,
                kpi_label(league.spec, lang),
                _league_rows(board, league.best, ranks, earlier, league.spec, state),
                _league_rows(board, league.worst, ranks, earlier, league.spec, state),
                len(league.ranked),
                len(league.undefined),
                league_xlsx(board.profile, name, "enterprise", span),
            )
        )
    return out


def region_kpi_page(
    request: Request,
    user: PageUserDep,
    period: Text = None,
    start: Text = None,
    end: Text = None,
    profile: Text = None,
    sort: Text = None,
    order: Text = None,
) -> Response:
    scope = kpi_enterprises(user.services.registry, user.access, "park")
    service = user.services.analytics.kpis
    state = PageState(
        "/region/kpi", period or "", start or "", end or "", profile or "", sort or "", order or ""
    )
    choice = choose_span(state.period, state.start, state.end, utc_now_ms())
    span = choice.span
    places = user.services.analytics.places.current()
    mask = np.ones(len(places.device), np.bool_)
    if scope is not None:
        mask &= np.isin(places.enterprise, np.fromiter(scope, np.int64, len(scope)))
    present = present_boards(places, mask)
    board = choose_board(present, profile)
    context: dict[str, Any] = {
        "picker": picker(choice, state, user.tr, with_shift=False),
        "span": span,
        "state": state,
        "tabs": tabs(present, board, state, user.tr.lang),
        "board": board,
    }
    charts: dict[str, Any] = {}
    if board is not None:
        query = KpiQuery(board.profile, span.start_ms, span.end_ms, "region", enterprises=scope)
        seen = overview(service, board, query, REGION_GROUP, user.tr)
        charts |= seen.charts
        context["overview"] = seen
        context["parks"] = _by(service, board, query, "park", span, state, user.tr.lang)
        context["industries"] = _by(service, board, query, "industry", span, state, user.tr.lang)
        context["leagues"] = leagues(service, board, span, scope, state, user.tr.lang)
    context |= {"charts": chart_json(charts), "chart_names": set(charts)}
    status = 422 if context["picker"].problems else 200
    return render(request, user, "kpi/region.html", context, status_code=status)


def _by(
    service: KpiService,
    board: Board,
    query: KpiQuery,
    level: Level,
    span: Span,
    state: PageState,
    lang: str,
) -> TableBlock:
    return groups_block(
        service,
        board,
        KpiQuery(board.profile, query.start_ms, query.end_ms, level, enterprises=query.enterprises),
        state,
        lang,
        whole=float("nan"),
        url_of=lambda g: None,
        xlsx=table_xlsx(board.profile, level, span, compare=True),
        earlier=True,
    )
