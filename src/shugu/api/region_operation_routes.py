"""Monthly operation (经济运行监测): an enterprise's monthly reports filed, submitted and
reviewed (the park first, then the bureau); the district's reports, those still due, reminders,
early warnings, the key-enterprise watch list and the district's monthly report as XLSX or PDF;
the XLSX template and import of monthly reports.

Routes parse and shape; ``region/operation/service.py`` decides, rights included.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.downloads import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE, download
from shugu.api.kpi_params import XLSX_RESPONSES
from shugu.api.services import Services
from shugu.region.operation.deadlines import DueStatus
from shugu.region.operation.service import ListedReport, ListedWarning, OperationService
from shugu.region.operation.watch import WatchRow
from shugu.store.registry.core import missing
from shugu.store.registry.region_operation import MonthlyReportRecord, OperationEnterprise

router = APIRouter(tags=["region-operation"])

Month = Annotated[str, Query(description="YYYY-MM")]
Lang = Annotated[Literal["zh", "en"], Query(description="language of the file's headers")]


def _service(services: Services) -> OperationService:
    return services.region.operation


def _file(data: bytes, name: str, kind: str) -> Response:
    media = XLSX_MEDIA_TYPE if kind == "xlsx" else PDF_MEDIA_TYPE
    return download(data, f"{name}.{kind}", media)


class FiguresIn(BaseModel):
    output_value_wan: float | None = Field(None, description="工业总产值, 万元")
    revenue_wan: float | None = Field(None, description="营业收入, 万元")
    profit_wan: float | None = Field(None, description="利润总额, 万元 (a loss is negative)")
    power_kwh: float | None = Field(None, description="用电量, kWh")
    staff: float | None = Field(None, description="从业人员, people (a whole number)")
    new_orders_wan: float | None = Field(None, description="新增订单, 万元")
    note: str | None = Field(None, description="at most 2,000 characters")


class FiguresOut(BaseModel):
    output_value_wan: float | None
    revenue_wan: float | None
    profit_wan: float | None
    power_kwh: float | None
    staff: int | None
    new_orders_wan: float | None
    note: str


class EventOut(BaseModel):
    at: dt.datetime
    kind: str
    by: str
    role: str
    reason: str


class ReportOut(BaseModel):
    id: int
    enterprise_id: int
    month: str
    state: str = Field(description="draft, submitted, park_accepted, accepted or returned")
    figures: FiguresOut
    checks: list[dict[str, Any]] = Field(
        description="reported beside measured at submission: power (kWh against the meters) "
        "and output (output value against machine throughput); outcome within, beyond, "
        "not_measured or no_basis"
    )
    flagged: bool = Field(description="a check is beyond its tolerance")
    deadline: dt.date
    first_submitted_at: dt.datetime | None
    submitted_at: dt.datetime | None
    accepted_at: dt.datetime | None
    events: list[EventOut]


def _report(service: OperationService, r: MonthlyReportRecord) -> ReportOut:
    f = r.figures
    return ReportOut(
        id=r.id,
        enterprise_id=r.enterprise_id,
        month=r.month,
        state=r.state,
        figures=FiguresOut(
            output_value_wan=f.output_value_wan,
            revenue_wan=f.revenue_wan,
            profit_wan=f.profit_wan,
            power_kwh=f.power_kwh,
            staff=f.staff,
            new_orders_wan=f.new_orders_wan,
            note=f.note,
        ),
        checks=r.checks,
        flagged=any(c.get("outcome") == "beyond" for c in r.checks),
        deadline=service.deadline(r.month),
        first_submitted_at=r.first_submitted_at,
        submitted_at=r.submitted_at,
        accepted_at=r.accepted_at,
        events=[
            EventOut(at=e.at, kind=e.kind, by=e.by, role=e.role, reason=e.reason) for e in r.events
        ],
    )


class EnterpriseOut(BaseModel):
    id: int
    name: str
    uscc: str
    park_id: int
    park_name: str
    industry_code: str | None
    key_enterprise: bool


def _enterprise(e: OperationEnterprise) -> EnterpriseOut:
    return EnterpriseOut(
        id=e.id,
        name=e.name,
        uscc=e.uscc,
        park_id=e.park_id,
        park_name=e.park_name,
        industry_code=e.industry_code,
        key_enterprise=e.key_enterprise,
    )


# -- an enterprise's reports -----------------------------------------------------------------


@router.get("/api/enterprises/{enterprise_id}/monthly-reports")
def report_history(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[ReportOut]:
    """The enterprise's monthly reports, newest month first (drafts only to its own people)."""
    service = _service(services)
    return [_report(service, r) for r in service.history(access, enterprise_id)]


@router.get("/api/enterprises/{enterprise_id}/monthly-reports/{month}")
def get_report(
    enterprise_id: int, month: str, access: AccessDep, services: ServicesDep
) -> ReportOut:
    service = _service(services)
    report = service.report(access, enterprise_id, month)
    if report is None or (
        report.state == "draft" and not access.principal.is_member_of(enterprise_id)
    ):
        raise missing("monthly report")
    return _report(service, report)


@router.put("/api/enterprises/{enterprise_id}/monthly-reports/{month}")
def save_report(
    enterprise_id: int, month: str, body: FiguresIn, access: AccessDep, services: ServicesDep
) -> ReportOut:
    """Save the month's figures as a draft (or change a draft or a returned report)."""
    service = _service(services)
    return _report(service, service.save(access, enterprise_id, month, body.model_dump()))


@router.post("/api/enterprises/{enterprise_id}/monthly-reports/{month}/submit")
def submit_report(
    enterprise_id: int, month: str, access: AccessDep, services: ServicesDep
) -> ReportOut:
    """Submit the month's report for review; its figures are checked against the meters."""
    service = _service(services)
    return _report(service, service.submit(access, enterprise_id, month))


class ReviewIn(BaseModel):
    decision: str = Field(description="accept or return")
    reason: str | None = Field(None, description="why it is returned (required to return)")


@router.post("/api/monthly-reports/{report_id}/review")
def review_report(
    report_id: int, body: ReviewIn, access: AccessDep, services: ServicesDep
) -> ReportOut:
    """The park's official reviews a submitted report; the bureau one the park accepted."""
    service = _service(services)
    return _report(service, service.review(access, report_id, body.decision, body.reason))


@router.get("/api/enterprises/{enterprise_id}/monthly-reports-template", responses=XLSX_RESPONSES)
def report_template(
    enterprise_id: int, access: AccessDep, services: ServicesDep, lang: Lang = "zh"
) -> Response:
    """The XLSX template for importing monthly reports."""
    _service(services).enterprise(access, enterprise_id)
    return _file(OperationService.template(lang), "monthly-reports-template", "xlsx")


class RowErrorOut(BaseModel):
    row: int
    column: str
    code: str
    message_zh: str
    message_en: str


class ImportOut(BaseModel):
    saved: int
    unchanged: int
    errors: list[RowErrorOut]


@router.post("/api/enterprises/{enterprise_id}/monthly-reports/import")
async def import_reports(
    enterprise_id: int, request: Request, access: AccessDep, services: ServicesDep
) -> ImportOut:
    """Import monthly reports from an XLSX body (the template's columns): every good row saved
    as the month's draft, every bad row reported by its row number and reason."""
    data = await request.body()
    result = _service(services).import_reports(access, enterprise_id, data)
    return ImportOut.model_validate(result.as_dict())


# -- the district's (the bureau's; a park official's own park) ---------------------------------


class ListedReportOut(BaseModel):
    enterprise: EnterpriseOut
    report: ReportOut


def _listed(service: OperationService, r: ListedReport) -> ListedReportOut:
    return ListedReportOut(enterprise=_enterprise(r.enterprise), report=_report(service, r.report))


@router.get("/api/region/monthly-reports")
def region_reports(
    access: AccessDep,
    services: ServicesDep,
    month: str | None = None,
    park: int | None = None,
    state: str | None = None,
    format: Literal["json", "xlsx"] = "json",
    lang: Lang = "zh",
) -> Any:
    """Filed monthly reports (drafts are the enterprises' own), by month, park and state."""
    service = _service(services)
    if format == "xlsx":
        return _file(service.reports_xlsx(access, month, park, lang), "monthly-reports", "xlsx")
    return [_listed(service, r) for r in service.list_reports(access, month, park, state)]


@router.get("/api/region/monthly-reports/queue")
def review_queue(access: AccessDep, services: ServicesDep) -> list[ListedReportOut]:
    """Reports awaiting the caller's review."""
    service = _service(services)
    return [_listed(service, r) for r in service.queue(access)]


class DueOut(BaseModel):
    enterprise: EnterpriseOut
    month: str
    deadline: dt.date
    due: str = Field(description="missing (none or a draft) or returned (not resubmitted)")
    late: bool
    days_overdue: int


def _due(d: DueStatus) -> DueOut:
    return DueOut(
        enterprise=_enterprise(d.enterprise),
        month=d.month,
        deadline=d.deadline,
        due=d.due or "",
        late=d.late,
        days_overdue=d.days_overdue,
    )


@router.get("/api/region/monthly-reports/missing")
def missing_reports(
    access: AccessDep, services: ServicesDep, month: str | None = None, park: int | None = None
) -> list[DueOut]:
    """Enterprises whose report for the month (default: the month now due) is missing, or was
    returned and not resubmitted."""
    return [_due(d) for d in _service(services).due(access, month, park)]


@router.get("/api/region/monthly-reports/missing/export.xlsx", responses=XLSX_RESPONSES)
def export_missing_reports(
    access: AccessDep,
    services: ServicesDep,
    month: str | None = None,
    park: int | None = None,
    lang: Lang = "zh",
) -> Response:
    """The missing and late list, with the same filters, as XLSX."""
    service = _service(services)
    data = service.missing_xlsx(access, month, park, lang)
    return _file(data, "missing-monthly-reports", "xlsx")


class ReminderOut(BaseModel):
    enterprise: EnterpriseOut
    month: str
    reason: str
    on_day: dt.date
    at: dt.datetime


@router.get("/api/region/monthly-reports/reminders")
def reminders(
    access: AccessDep, services: ServicesDep, month: str | None = None, park: int | None = None
) -> list[ReminderOut]:
    """Reminders recorded for enterprises still owing a report, newest first."""
    return [
        ReminderOut(
            enterprise=_enterprise(e), month=r.month, reason=r.reason, on_day=r.on_day, at=r.at
        )
        for e, r in _service(services).reminders(access, month, park)
    ]


class WarningOut(BaseModel):
    id: int
    enterprise: EnterpriseOut
    rule: str
    rule_zh: str
    rule_en: str
    subject: str = Field(description="the report month, or empty for a running window")
    figures: dict[str, Any]
    since: dt.date
    raised_at: dt.datetime
    last_seen_at: dt.datetime
    cleared_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None


def _warning(w: ListedWarning) -> WarningOut:
    r = w.warning
    return WarningOut(
        id=r.id,
        enterprise=_enterprise(w.enterprise),
        rule=r.rule,
        rule_zh=w.rule.zh if w.rule else r.rule,
        rule_en=w.rule.en if w.rule else r.rule,
        subject=r.subject,
        figures=r.figures,
        since=r.since,
        raised_at=r.raised_at,
        last_seen_at=r.last_seen_at,
        cleared_at=r.cleared_at,
        acknowledged_by=r.acknowledged_by,
        acknowledged_at=r.acknowledged_at,
    )


@router.get("/api/region/warnings")
def list_warnings(
    access: AccessDep,
    services: ServicesDep,
    park: int | None = None,
    include_cleared: bool = False,
) -> list[WarningOut]:
    """Early warnings, open ones (with ``include_cleared``, those that cleared too)."""
    return [_warning(w) for w in _service(services).warnings(access, park, include_cleared)]


@router.get("/api/region/warnings/export.xlsx", responses=XLSX_RESPONSES)
def export_warnings(
    access: AccessDep,
    services: ServicesDep,
    park: int | None = None,
    include_cleared: bool = False,
    lang: Lang = "zh",
) -> Response:
    """The early warnings, with the same filters, as XLSX."""
    data = _service(services).warnings_xlsx(access, park, include_cleared, lang)
    return _file(data, "early-warnings", "xlsx")


@router.post("/api/region/warnings/{warning_id}/ack")
def acknowledge_warning(
    warning_id: int, access: AccessDep, services: ServicesDep
) -> dict[str, Any]:
    """The bureau acknowledges a warning (it stays listed until its rule no longer holds)."""
    record = _service(services).acknowledge(access, warning_id)
    return {"id": record.id, "acknowledged_by": record.acknowledged_by}


class ScanOut(BaseModel):
    month: str
    open: int
    new: int
    cleared: int


@router.post("/api/region/warnings/scan")
def scan_warnings(access: AccessDep, services: ServicesDep, month: str | None = None) -> ScanOut:
    """Evaluate the warning rules now for a report month (default: the month now due)."""
    result = _service(services).scan_as(access, month)
    return ScanOut(
        month=result.month, open=len(result.raised), new=result.new, cleared=result.cleared
    )


class CellOut(BaseModel):
    value: float | None
    yoy_pct: float | None = Field(description="同比, %")
    mom_pct: float | None = Field(description="环比, %")


class WatchOut(BaseModel):
    enterprise: EnterpriseOut
    state: str
    figures: dict[str, CellOut]
    flagged: bool
    warnings: list[str]


def _watch(row: WatchRow) -> WatchOut:
    return WatchOut(
        enterprise=_enterprise(row.enterprise),
        state=row.state,
        figures={
            k: CellOut(value=c.value, yoy_pct=c.yoy_pct, mom_pct=c.mom_pct)
            for k, c in row.figures.items()
        },
        flagged=row.flagged,
        warnings=[w.rule for w in row.warnings],
    )


@router.get("/api/region/key-enterprises")
def key_enterprises(
    access: AccessDep,
    services: ServicesDep,
    month: Month,
    park: int | None = None,
    format: Literal["json", "xlsx"] = "json",
    lang: Lang = "zh",
) -> Any:
    """The key enterprises' month: each figure with 同比 and 环比, the report's state, warnings."""
    service = _service(services)
    if format == "xlsx":
        return _file(service.watch_xlsx(access, month, lang), f"key-enterprises-{month}", "xlsx")
    return [_watch(r) for r in service.watch(access, month, park)]


@router.get("/api/region/operation-report")
def operation_report(
    access: AccessDep,
    services: ServicesDep,
    month: Month,
    format: Literal["xlsx", "pdf"] = "xlsx",
    lang: Lang = "zh",
) -> Response:
    """The district's monthly operation report for the month, made now."""
    data = _service(services).summary_file(access, month, format, lang)
    return _file(data, f"operation-report-{month}", format)


class KeptOut(BaseModel):
    #: ``operation`` (经济运行月报) or ``projects`` (项目库月度汇总).
    report: str
    month: str
    generated_at: dt.datetime
    generated_by: str
    xlsx_bytes: int
    pdf_bytes: int


@router.get("/api/region/operation-reports")
def kept_reports(access: AccessDep, services: ServicesDep) -> list[KeptOut]:
    """The district's monthly reports generated on schedule (or by the bureau), newest first:
    the monthly operation report and, beside it, the project library's summary."""
    return [
        KeptOut(
            report=r.report,
            month=r.month,
            generated_at=r.generated_at,
            generated_by=r.generated_by,
            xlsx_bytes=r.xlsx_bytes,
            pdf_bytes=r.pdf_bytes,
        )
        for r in _service(services).kept_reports(access)
    ]


@router.post("/api/region/operation-reports/{month}", status_code=201)
def generate_report(month: str, access: AccessDep, services: ServicesDep) -> dict[str, str]:
    """Generate and keep the month's report now (the bureau)."""
    _service(services).generate_as(access, month)
    return {"month": month}


@router.get("/api/region/operation-reports/{month}.{kind}")
def kept_report(
    month: str,
    kind: str,
    access: AccessDep,
    services: ServicesDep,
    report: Annotated[str, Query(max_length=16)] = "operation",
) -> Response:
    data = _service(services).kept_report(access, month, kind, report)
    return _file(data, f"{report}-report-{month}", kind)
