"""Energy (能耗): kWh, output, kWh per unit of output and PUE per group and period; an
enterprise's energy baseline (能耗基准), fitted on a reference period, and the energy avoided
against it month by month (节能量). JSON or XLSX.

Energy figures are scoped like KPI tables (``kpi_params.table_scope``). A baseline and its savings
are enterprise-level aggregates: the enterprise's users, the bureau and the operator read them;
the enterprise's administrators fit and delete it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from shugu.analytics import baseline_service
from shugu.analytics.energy import energy_table
from shugu.analytics.kpi_rows import energy_rows, savings_rows
from shugu.analytics.periods import add_months, month_start
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
    parse_level,
    parse_span,
    table_scope,
    xlsx_answer,
)
from shugu.api.kpi_schemas import (
    BaselineAnswer,
    BaselineFitBody,
    EnergyAnswer,
    SavingsAnswer,
    SpanOut,
)
from shugu.api.scope import kpi_enterprises
from shugu.domain.errors import ForbiddenError
from shugu.domain.tenancy import Access, Role
from shugu.domain.timeutil import parse_instant, utc_now_ms
from shugu.store.registry import Registry

router = APIRouter(tags=["analytics"])


@router.get("/api/energy", response_model=EnergyAnswer, responses=XLSX_RESPONSES)
def energy(
    access: AccessDep,
    services: ServicesDep,
    level: LevelQ = "enterprise",
    grain: GrainQ = None,
    start: StartQ = None,
    end: EndQ = None,
    enterprise: EnterpriseQ = None,
    park: ParkQ = None,
    line: LineQ = None,
    device: DeviceQ = None,
    format: FormatQ = "json",
) -> EnergyAnswer | Response:
    """Energy drawn (kWh), output with its unit, kWh per unit of output, and PUE where a data
    hall's facility and IT meters exist, per group and period. A line or hall with a meter
    counts its meter, not its machines' own counters."""
    chosen = parse_level(level)
    cut = parse_grain(grain)
    span = parse_span(start, end)
    check_span_length(span, cut)
    scope = table_scope(
        services.registry,
        access,
        chosen,
        enterprise=enterprise,
        park=park,
        line=line,
        device=device,
    )
    table = energy_table(
        services.analytics.kpis,
        chosen,
        span.start_ms,
        span.end_ms,
        cut,
        scope.enterprises,
        scope.within,
    )
    if format == "xlsx":
        rows = energy_rows(table, chosen, span.start_ms, span.end_ms)
        return xlsx_answer([rows], f"energy-{chosen}-{file_stamp(span)}")
    return EnergyAnswer.of(chosen, cut, SpanOut.of(span.start_ms, span.end_ms), table)


def _baseline_reader(registry: Registry, access: Access, enterprise_id: int) -> None:
    """Whoever may see the enterprise's enterprise-level figures reads its baseline."""
    kpi_enterprises(registry, access, "enterprise", enterprise_id)
    registry.get_enterprise(enterprise_id)  # NotFoundError when there is none


def _baseline_fitter(registry: Registry, access: Access, enterprise_id: int) -> None:
    """The enterprise's administrators fit its baseline: it is the yardstick of its savings."""
    _baseline_reader(registry, access, enterprise_id)
    if not (access.role is Role.ENTERPRISE_ADMIN and access.principal.is_member_of(enterprise_id)):
        raise ForbiddenError(
            "only the enterprise's administrators fit or delete its energy baseline",
            code="forbidden",
        )


@router.get("/api/enterprises/{enterprise_id}/energy-baseline")
def get_energy_baseline(
    enterprise_id: int, access: AccessDep, services: ServicesDep
) -> BaselineAnswer:
    """The enterprise's energy baseline: daily kWh against output (and cooling degree-days
    where they earned their place), its fit statistics and reference period; 404
    ``baseline_not_found`` until one is fitted."""
    _baseline_reader(services.registry, access, enterprise_id)
    return BaselineAnswer.of(
        baseline_service.get_enterprise_baseline(services.registry, enterprise_id)
    )


def _instant(value: str | int, field: str) -> int:
    return parse_instant(str(value), field)


@router.put("/api/enterprises/{enterprise_id}/energy-baseline")
def put_energy_baseline(
    enterprise_id: int, body: BaselineFitBody, access: AccessDep, services: ServicesDep
) -> BaselineAnswer:
    """Fit the baseline on the reference period [reference_start, reference_end) and keep it,
    replacing any before: at least 14 days with energy and output, output that varies."""
    _baseline_fitter(services.registry, access, enterprise_id)
    fitted = baseline_service.fit_enterprise_baseline(
        services.registry,
        services.analytics.days,
        enterprise_id,
        _instant(body.reference_start, "reference_start"),
        _instant(body.reference_end, "reference_end"),
        access.principal.username,
        use_weather=body.use_weather,
    )
    return BaselineAnswer.of(fitted)


@router.delete("/api/enterprises/{enterprise_id}/energy-baseline", status_code=204)
def delete_energy_baseline(enterprise_id: int, access: AccessDep, services: ServicesDep) -> None:
    _baseline_fitter(services.registry, access, enterprise_id)
    baseline_service.delete_enterprise_baseline(services.registry, enterprise_id)


def _savings_span(start: str | None, end: str | None) -> Span:
    """[start, end), by default the last twelve calendar months up to now."""
    if start is None:
        end_ms = parse_instant(end, "end") if end else utc_now_ms()
        start = str(add_months(month_start(max(end_ms - 1, 0)), -11))
    return parse_span(start, end)


@router.get(
    "/api/enterprises/{enterprise_id}/energy-savings",
    response_model=SavingsAnswer,
    responses=XLSX_RESPONSES,
)
def energy_savings(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    start: Annotated[
        str | None,
        Query(description="ms or ISO 8601 (default: the first of the month eleven months ago)"),
    ] = None,
    end: EndQ = None,
    format: FormatQ = "json",
) -> SavingsAnswer | Response:
    """Energy avoided against the baseline per calendar month of [start, end): the adjusted
    baseline (what the model expects for the month's output and weather), the energy drawn,
    their difference and the days left out for want of data."""
    _baseline_reader(services.registry, access, enterprise_id)
    span = _savings_span(start, end)
    monthly = baseline_service.enterprise_savings(
        services.registry, services.analytics.days, enterprise_id, span.start_ms, span.end_ms
    )
    if format == "xlsx":
        name = services.registry.get_enterprise(enterprise_id).name
        rows = savings_rows(monthly, name)
        return xlsx_answer([rows], f"energy-savings-{enterprise_id}-{file_stamp(span)}")
    return SavingsAnswer.of(enterprise_id, SpanOut.of(span.start_ms, span.end_ms), monthly)
