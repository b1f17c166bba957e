"""KPI tables (指标): the profiles' KPIs, series per group and period, league tables, and the
span against the one before (环比) and a year earlier (同比), as JSON or XLSX.

Every table is scoped by ``scope.kpi_enterprises``: an enterprise's users see their own
enterprise at the enterprise level and below; the bureau and the operator see enterprise-level
and coarser figures of every enterprise, and machine or line figures only with the enterprise's
consent (``kpi_params.table_scope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from shugu.analytics.energy import kpis_output_unit
from shugu.analytics.kpi_rows import (
    comparison_rows,
    fact_rows,
    fact_unit,
    kpi_table_rows,
    league_rows,
    profile_labels,
)
from shugu.analytics.query import KpiQuery
from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.kpi_params import (
    XLSX_RESPONSES,
    DeviceQ,
    EndQ,
    EnterpriseQ,
    FormatQ,
    GrainQ,
    LevelQ,
    LineQ,
    ParkQ,
    Span,
    StartQ,
    check_span_length,
    file_stamp,
    parse_grain,
    parse_kpi_names,
    parse_level,
    parse_span,
    table_scope,
    xlsx_answer,
)
from shugu.api.kpi_schemas import (
    CompareAnswer,
    FactOut,
    KpiTableAnswer,
    LeagueAnswer,
    ProfilesAnswer,
    SpanOut,
    profile_out,
)
from shugu.domain.tenancy import Access

router = APIRouter(tags=["analytics"])

ProfileQ = Annotated[
    str, Query(max_length=64, description="a device profile with KPIs: GET /api/kpis/profiles")
]
KpisQ = Annotated[
    str | None,
    Query(description="comma-separated KPI names (default: those that mean something at level)"),
]


@dataclass(frozen=True, slots=True)
class TableArgs:
    """The query parameters every KPI table takes, as sent."""

    profile: str
    level: str
    start: str | None
    end: str | None
    enterprise: int | None
    park: int | None
    line: int | None
    device: int | None


def table_args(
    profile: ProfileQ,
    level: LevelQ = "enterprise",
    start: StartQ = None,
    end: EndQ = None,
    enterprise: EnterpriseQ = None,
    park: ParkQ = None,
    line: LineQ = None,
    device: DeviceQ = None,
) -> TableArgs:
    return TableArgs(profile, level, start, end, enterprise, park, line, device)


TableArgsDep = Annotated[TableArgs, Depends(table_args)]


def _query(
    services: ServicesDep,
    access: Access,
    args: TableArgs,
    grain_text: str | None = None,
    kpis_text: str | None = None,
) -> KpiQuery:
    """The caller's query, checked and scoped."""
    level = parse_level(args.level)
    grain = parse_grain(grain_text)
    span = parse_span(args.start, args.end)
    check_span_length(span, grain)
    kpis = parse_kpi_names(kpis_text)
    scope = table_scope(
        services.registry,
        access,
        level,
        enterprise=args.enterprise,
        park=args.park,
        line=args.line,
        device=args.device,
    )
    return KpiQuery(
        args.profile.strip(),
        span.start_ms,
        span.end_ms,
        level,
        grain,
        kpis,
        scope.enterprises,
        scope.within,
    )


def _file_name(kind: str, query: KpiQuery) -> str:
    stamp = file_stamp(Span(query.start_ms, query.end_ms))
    return f"{kind}-{query.profile}-{query.level}-{stamp}"


def _span(query: KpiQuery) -> SpanOut:
    return SpanOut.of(query.start_ms, query.end_ms)


@router.get("/api/kpis/profiles")
def kpi_profiles(access: AccessDep, services: ServicesDep) -> ProfilesAnswer:
    """The device profiles with KPIs, each KPI's name, labels, unit, which way is good and the
    coarsest level it means something at, and the facts the KPIs are computed from."""
    service = services.analytics.kpis
    answers = []
    for name, kpis in sorted(service.profiles.items()):
        zh, en = profile_labels(name)
        facts = [FactOut(name=n, unit=fact_unit(kpis, n)) for n in kpis.fact_names]
        answers.append(profile_out(kpis, zh, en, kpis_output_unit(service, name), facts))
    return ProfilesAnswer(profiles=answers)


@router.get("/api/kpis", response_model=KpiTableAnswer, responses=XLSX_RESPONSES)
def kpi_table(
    access: AccessDep,
    services: ServicesDep,
    args: TableArgsDep,
    grain: GrainQ = None,
    kpi: KpisQ = None,
    format: FormatQ = "json",
) -> KpiTableAnswer | Response:
    """A profile's KPIs per group (machine, line, enterprise, park, industry, region) and period,
    with the summed facts they are computed from. Ratios are recomputed from summed times and
    counts, never averaged. Span: [start, end), this month so far by default."""
    query = _query(services, access, args, grain, kpi)
    table = services.analytics.kpis.table(query)
    if format == "xlsx":
        zh, en = profile_labels(query.profile)
        kpis = services.analytics.kpis.kpis_of(query.profile)
        sheets = [kpi_table_rows(table, zh, en), fact_rows(table, kpis, zh, en)]
        return xlsx_answer(sheets, _file_name("kpis", query))
    return KpiTableAnswer.of(table)


@router.get("/api/kpis/league", response_model=LeagueAnswer, responses=XLSX_RESPONSES)
def kpi_league(
    access: AccessDep,
    services: ServicesDep,
    args: TableArgsDep,
    kpi: Annotated[str, Query(max_length=64, description="the KPI to rank by")],
    size: Annotated[int, Query(ge=1, le=100, description="best and worst groups shown")] = 10,
    format: FormatQ = "json",
) -> LeagueAnswer | Response:
    """Groups ranked by one KPI over the span, best first by the KPI's direction: the best and
    the worst ``size`` (the worst empty when every group is among the best); groups whose KPI
    is undefined over the span are listed apart. The XLSX ranks every group."""
    query = _query(services, access, args, None, kpi)
    league = services.analytics.kpis.league(query, kpi.strip(), size)
    if format == "xlsx":
        rows = league_rows(league, query.level, query.start_ms, query.end_ms)
        return xlsx_answer([rows], _file_name(f"league-{league.spec.name}", query))
    return LeagueAnswer.of(query.profile, query.level, _span(query), league)


@router.get("/api/kpis/compare", response_model=CompareAnswer, responses=XLSX_RESPONSES)
def kpi_compare(
    access: AccessDep,
    services: ServicesDep,
    args: TableArgsDep,
    kpi: KpisQ = None,
    format: FormatQ = "json",
) -> CompareAnswer | Response:
    """Each group's KPIs over the span against the span before it (环比: the month before for a
    calendar month, else the same length just before) and the same span a year earlier (同比),
    with the changes: absolute, and relative to the earlier figure in %."""
    query = _query(services, access, args, None, kpi)
    comparison = services.analytics.kpis.compare(query)
    if format == "xlsx":
        zh, en = profile_labels(query.profile)
        rows = comparison_rows(comparison, zh, en)
        return xlsx_answer([rows], _file_name("compare", query))
    return CompareAnswer.of(comparison)
