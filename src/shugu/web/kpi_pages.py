"""KPI dashboards (指标看板) of an enterprise, a line and a machine, and (from ``kpi_region``) the
region's KPI page for the bureau.

Scoping is the KPI API's (``api/scope.kpi_enterprises``): an enterprise's own people see its
figures at every level; the bureau and the operator see an enterprise's figures at the
enterprise level always and by line or machine only with its consent, so their enterprise
dashboard leaves the tables by line and machine out without it, and the line and machine pages
refuse them (403). Another enterprise's objects are 404 to an enterprise's people.

The figures come from the KPI service (``services.analytics``) as the API's routes read them;
every table links to its XLSX export from the API.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Final

import numpy as np
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from shugu.analytics.energy import kpis_output_unit
from shugu.analytics.model import HOUR_MS, Level
from shugu.analytics.periods import DAY_MS
from shugu.analytics.query import Group, KpiQuery
from shugu.api.scope import kpi_enterprises
from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.timeutil import utc_now_ms
from shugu.store.registry.records import AssetLevel
from shugu.web import kpi_region
from shugu.web.i18n import Translator
from shugu.web.kpi_blocks import (
    chart_json,
    choose_board,
    groups_block,
    overview,
    picker,
    present_boards,
    tabs,
    whole_value,
)
from shugu.web.kpi_boards import Board, boards
from shugu.web.kpi_charts import energy_per_unit, kpi_by_period, pue_by_day
from shugu.web.kpi_energy import EnergyBlock, device_trend, group_energy, trend_span
from shugu.web.kpi_links import PageState, table_xlsx
from shugu.web.kpi_periods import Span, choose_span, clip_to_now
from shugu.web.kpi_view import Cell, is_outlier, kpi_label
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)
router.add_api_route("/region/kpi", kpi_region.region_kpi_page, methods=["GET"])

#: A machine's hour trend covers at least a day and at most a week, ending with its period.
HOUR_TREND_MIN_MS: Final = DAY_MS
HOUR_TREND_MAX_MS: Final = 7 * DAY_MS
#: Days of shifts in a machine's shift table, ending with its period.
SHIFT_DAYS: Final = 7

Text = Annotated[str | None, Query(max_length=64)]


def _state(
    path: str,
    period: str | None,
    start: str | None,
    end: str | None,
    profile: str | None,
    sort: str | None,
    order: str | None,
) -> PageState:
    return PageState(
        path, period or "", start or "", end or "", profile or "", sort or "", order or ""
    )


def _machine_scope(user: PageUser, enterprise_id: int) -> frozenset[int] | None:
    """The enterprise's scope for its tables by line and machine; None without consent."""
    try:
        return kpi_enterprises(user.services.registry, user.access, "device", enterprise_id)
    except ForbiddenError:
        return None


def _energy_charts(block: EnergyBlock, tr: Translator) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    if block.trend.has_per_unit:
        charts["energy"] = energy_per_unit(block.trend, tr)
    if block.trend.has_pue:
        charts["pue"] = pue_by_day(block.trend, tr)
    return charts


def _common(
    user: PageUser, state: PageState, enterprise_id: int, with_shift: bool = True
) -> tuple[Span, dict[str, Any]]:
    analytics = user.services.analytics
    clock = partial(analytics.calendars.clock, enterprise_id) if with_shift else None
    choice = choose_span(state.period, state.start, state.end, utc_now_ms(), clock)
    chosen = picker(choice, state, user.tr, with_shift)
    return choice.span, {"picker": chosen, "span": choice.span, "state": state}


def _status(context: dict[str, Any]) -> int:
    return 422 if context["picker"].problems else 200


@router.get("/e/{enterprise_id}/kpi")
def enterprise_kpi_page(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    period: Text = None,
    start: Text = None,
    end: Text = None,
    profile: Text = None,
    sort: Text = None,
    order: Text = None,
) -> Response:
    registry = user.services.registry
    scope = kpi_enterprises(registry, user.access, "enterprise", enterprise_id)
    enterprise = registry.get_enterprise(enterprise_id)
    analytics = user.services.analytics
    state = _state(f"/e/{enterprise_id}/kpi", period, start, end, profile, sort, order)
    span, context = _common(user, state, enterprise_id)
    places = analytics.places.current()
    present = present_boards(places, places.enterprise == enterprise_id)
    board = choose_board(present, profile)
    machines = _machine_scope(user, enterprise_id)
    context |= {
        "enterprise": enterprise,
        "tabs": tabs(present, board, state, user.tr.lang),
        "board": board,
        "machines_shown": machines is not None,
    }
    charts: dict[str, Any] = {}
    if board is not None:
        query = KpiQuery(board.profile, span.start_ms, span.end_ms, "enterprise", enterprises=scope)
        seen = overview(analytics.kpis, board, query, enterprise_id, user.tr)
        charts |= seen.charts
        context["overview"] = seen
        if machines is not None:
            whole = whole_value(board, seen.comparison, enterprise_id)
            context["lines"] = groups_block(
                analytics.kpis,
                board,
                KpiQuery(board.profile, span.start_ms, span.end_ms, "line", enterprises=machines),
                state,
                user.tr.lang,
                whole=whole,
                url_of=lambda g: (
                    state.elsewhere(f"/e/{enterprise_id}/kpi/lines/{g.id}") if g.id >= 0 else None
                ),
                xlsx=table_xlsx(board.profile, "line", span, enterprise=enterprise_id),
            )
            context["machines"] = groups_block(
                analytics.kpis,
                board,
                KpiQuery(board.profile, span.start_ms, span.end_ms, "device", enterprises=machines),
                state,
                user.tr.lang,
                whole=whole,
                url_of=_device_url(state, enterprise_id),
                xlsx=table_xlsx(board.profile, "device", span, enterprise=enterprise_id),
            )
    energy = group_energy(
        analytics, registry, "enterprise", enterprise_id, span, utc_now_ms(), scope, user.tr
    )
    charts |= _energy_charts(energy, user.tr)
    context |= {"energy": energy, "charts": chart_json(charts), "chart_names": set(charts)}
    return render(request, user, "kpi/enterprise.html", context, status_code=_status(context))


def _device_url(state: PageState, enterprise_id: int) -> Callable[[Group], str | None]:
    def url(group: Group) -> str | None:
        return state.elsewhere(f"/e/{enterprise_id}/kpi/devices/{group.id}")

    return url


@router.get("/e/{enterprise_id}/kpi/lines/{line_id}")
def line_kpi_page(
    request: Request,
    enterprise_id: int,
    line_id: int,
    user: PageUserDep,
    period: Text = None,
    start: Text = None,
    end: Text = None,
    profile: Text = None,
    sort: Text = None,
    order: Text = None,
) -> Response:
    registry = user.services.registry
    scope = kpi_enterprises(registry, user.access, "line", enterprise_id)
    line = registry.get_asset(line_id)
    if line.enterprise_id != enterprise_id or line.level != AssetLevel.LINE:
        raise NotFoundError("no such line", code="not_found")
    enterprise = registry.get_enterprise(enterprise_id)
    analytics = user.services.analytics
    base = f"/e/{enterprise_id}/kpi/lines/{line_id}"
    state = _state(base, period, start, end, profile, sort, order)
    span, context = _common(user, state, enterprise_id)
    places = analytics.places.current()
    present = present_boards(
        places, (places.enterprise == enterprise_id) & (places.line == line_id)
    )
    board = choose_board(present, profile)
    within: tuple[Level, int] = ("line", line_id)
    context |= {
        "enterprise": enterprise,
        "line": line,
        "tabs": tabs(present, board, state, user.tr.lang),
        "board": board,
        "back_url": state.elsewhere(f"/e/{enterprise_id}/kpi"),
    }
    charts: dict[str, Any] = {}
    if board is not None:
        query = KpiQuery(
            board.profile, span.start_ms, span.end_ms, "line", enterprises=scope, within=within
        )
        seen = overview(analytics.kpis, board, query, line_id, user.tr)
        charts |= seen.charts
        context["overview"] = seen
        context["machines"] = groups_block(
            analytics.kpis,
            board,
            KpiQuery(
                board.profile,
                span.start_ms,
                span.end_ms,
                "device",
                enterprises=scope,
                within=within,
            ),
            state,
            user.tr.lang,
            whole=whole_value(board, seen.comparison, line_id),
            url_of=_device_url(state, enterprise_id),
            xlsx=table_xlsx(board.profile, "device", span, within=("line", line_id)),
        )
    energy = group_energy(
        analytics, registry, "line", line_id, span, utc_now_ms(), scope, user.tr, within=within
    )
    charts |= _energy_charts(energy, user.tr)
    context |= {"energy": energy, "charts": chart_json(charts), "chart_names": set(charts)}
    return render(request, user, "kpi/line.html", context, status_code=_status(context))


@router.get("/e/{enterprise_id}/kpi/devices/{device_id}")
def device_kpi_page(
    request: Request,
    enterprise_id: int,
    device_id: int,
    user: PageUserDep,
    period: Text = None,
    start: Text = None,
    end: Text = None,
) -> Response:
    registry = user.services.registry
    scope = kpi_enterprises(registry, user.access, "device", enterprise_id)
    ref = registry.get_device_ref(device_id)
    if ref is None or ref.enterprise_id != enterprise_id:
        raise NotFoundError("no such device", code="not_found")
    enterprise = registry.get_enterprise(enterprise_id)
    analytics = user.services.analytics
    state = _state(
        f"/e/{enterprise_id}/kpi/devices/{device_id}", period, start, end, None, None, None
    )
    span, context = _common(user, state, enterprise_id)
    board = boards().get(ref.profile)
    context |= {
        "enterprise": enterprise,
        "device": ref,
        "board": board,
        "back_url": state.elsewhere(f"/e/{enterprise_id}/kpi"),
    }
    charts: dict[str, Any] = {}
    if board is not None:
        now = utc_now_ms()
        within: tuple[Level, int] = ("device", device_id)
        query = KpiQuery(
            board.profile, span.start_ms, span.end_ms, "device", enterprises=scope, within=within
        )
        seen = overview(analytics.kpis, board, query, device_id, user.tr)
        charts |= seen.charts
        context["overview"] = seen
        charts |= _hour_trend(user, board, query, span, now)
        context["shifts"] = _shift_rows(user, board, query, span, now)
        context["shifts_xlsx"] = table_xlsx(
            board.profile, "device", _shift_span(span, now), within=within, grain="shift"
        )
        start_day, end_day = trend_span(span, now)
        daily = analytics.kpis.table(
            KpiQuery(
                board.profile,
                start_day,
                end_day,
                "device",
                "day",
                kpis=(),
                enterprises=scope,
                within=within,
            )
        )
        unit = kpis_output_unit(analytics.kpis, board.profile)
        trend = device_trend(board, daily, start_day, end_day, unit)
        context["trend"] = trend
        if trend.has_per_unit:
            charts["energy"] = energy_per_unit(trend, user.tr)
    context |= {"charts": chart_json(charts), "chart_names": set(charts)}
    return render(request, user, "kpi/device.html", context, status_code=_status(context))


def _hour_trend(
    user: PageUser, board: Board, query: KpiQuery, span: Span, now: int
) -> dict[str, Any]:
    start, end = clip_to_now(span.start_ms, span.end_ms, now, HOUR_MS)
    start = min(max(start, end - HOUR_TREND_MAX_MS), end - HOUR_TREND_MIN_MS)
    names = board.kpi_names((board.hour_trend,))
    table = user.services.analytics.kpis.table(
        KpiQuery(
            query.profile,
            start,
            end,
            "device",
            "hour",
            kpis=names,
            enterprises=query.enterprises,
            within=query.within,
        )
    )
    if not table.groups:
        return {}
    spec = board.spec(board.hour_trend)
    values = board.values(table, board.hour_trend)[0]
    labels = [p.label for p in table.periods]
    name = kpi_label(spec, user.tr.lang)
    return {"hours": kpi_by_period(labels, values.tolist(), name, spec.unit)}


def _shift_span(span: Span, now: int) -> Span:
    _, end = clip_to_now(span.start_ms, span.end_ms, now, HOUR_MS)
    return Span("custom", end - SHIFT_DAYS * DAY_MS, end)


def _shift_rows(
    user: PageUser, board: Board, query: KpiQuery, span: Span, now: int
) -> dict[str, Any]:
    """The machine's figures shift by shift over the last days, newest first; a shift far
    below the machine's usual (the median shift) is marked."""
    shown = _shift_span(span, now)
    table = user.services.analytics.kpis.table(
        KpiQuery(
            query.profile,
            shown.start_ms,
            shown.end_ms,
            "device",
            "shift",
            kpis=board.kpi_names(board.shift_table),
            enterprises=query.enterprises,
            within=query.within,
        )
    )
    specs = board.specs(board.shift_table)
    columns = [(kpi_label(s, user.tr.lang), s.unit) for s in specs]
    rows: list[ShiftRow] = []
    if table.groups:
        values = {s.name: board.values(table, s.name)[0] for s in specs}
        ranking = board.values(table, board.rank_by)[0]
        usual = float(np.nanmedian(ranking)) if np.isfinite(ranking).any() else math.nan
        rank = board.spec(board.rank_by)
        for p, period in enumerate(table.periods):
            if period.start_ms > now:
                continue
            cells = [Cell(float(values[s.name][p]), s.unit) for s in specs]
            marked = is_outlier(float(ranking[p]), usual, rank, boards().outlier_pct)
            rows.append(ShiftRow(period.label, cells, marked))
    rows.reverse()
    return {"columns": columns, "rows": rows}


@dataclass(frozen=True, slots=True)
class ShiftRow:
    label: str
    cells: list[Cell]
    outlier: bool
