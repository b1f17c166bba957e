"""The project library (项目库): projects listed, read, recorded and edited; a month's progress
filed; what is overdue; the monthly summary; an SME digital-transformation project's owner
measured before and after go-live.

Routes parse and shape; ``region/projects/service.py`` decides who may do what.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.downloads import PDF_MEDIA_TYPE, download
from shugu.api.kpi_params import XLSX_RESPONSES
from shugu.domain.errors import ValidationError
from shugu.region.projects import pdf, sheets
from shugu.region.projects.before_after import BeforeAfter
from shugu.region.projects.input import wan
from shugu.region.projects.overdue import Overdue
from shugu.region.projects.service import ProjectDetail, ProjectView, appeal_raiser
from shugu.region.projects.summary import Summary, SummaryRow
from shugu.region.sheets import template
from shugu.store.registry.region_projects import ProgressRecord

router = APIRouter(tags=["projects"])
#: An XLSX upload larger than this is refused whole.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
SheetKind = Literal["projects", "progress"]
Lang = Literal["zh", "en"]


class ProjectIn(BaseModel):
    code: str = Field(description="the bureau's project code, unique (the import key)")
    name: str
    enterprise_id: int | None = Field(None, description="the owner, when on the platform")
    owner_name: str | None = Field(None, description="the owner without an account")
    owner_uscc: str | None = None
    park_id: int | None = Field(None, description="required without an enterprise_id")
    industry_code: str | None = Field(None, description="GB/T 4754, four digits")
    project_type: str = Field(
        description="industrial, technical_upgrade, digital_economy, "
        "sme_digital_transformation, infrastructure, other"
    )
    total_investment_wan: Decimal | str = Field(description="total investment, 万元")
    official: str = Field(description="the responsible official (责任人)")
    planned: dict[str, dt.date | str] = Field(
        default_factory=dict,
        description="planned date per stage: filing, permits, construction, production, policy",
    )
    go_live_on: dt.date | str | None = Field(None, description="SME digital transformation only")


class OverdueOut(BaseModel):
    kind: str = Field(description="stage or report")
    stage: str | None
    month: str | None = Field(description="YYYY-MM of a missing report")
    due: dt.date
    days_late: int


def _overdue(item: Overdue) -> OverdueOut:
    return OverdueOut(
        kind=item.kind,
        stage=item.stage,
        month=None if item.month is None else f"{item.month:%Y-%m}",
        due=item.due,
        days_late=item.days_late,
    )


class ProjectOut(BaseModel):
    id: int
    code: str
    name: str
    enterprise_id: int | None
    owner_name: str
    owner_uscc: str | None
    park_id: int
    park_name: str
    industry_code: str | None
    project_type: str
    total_investment_wan: Decimal
    official: str
    planned: dict[str, dt.date]
    go_live_on: dt.date | None
    stage: str | None = Field(description="the stage reached as of the newest report")
    investment_to_date_wan: Decimal
    last_month: str | None
    overdue: list[OverdueOut]


def _project(view: ProjectView) -> ProjectOut:
    p = view.project
    return ProjectOut(
        id=p.id,
        code=p.code,
        name=p.name,
        enterprise_id=p.enterprise_id,
        owner_name=p.owner_name,
        owner_uscc=p.owner_uscc,
        park_id=p.park_id,
        park_name=view.park_name,
        industry_code=p.industry_code,
        project_type=p.project_type,
        total_investment_wan=wan(p.total_investment_yuan),
        official=p.official,
        planned=p.planned,
        go_live_on=p.go_live_on,
        stage=view.stage,
        investment_to_date_wan=wan(view.investment_to_date_yuan),
        last_month=None if view.last_month is None else f"{view.last_month:%Y-%m}",
        overdue=[_overdue(o) for o in view.overdue],
    )


class ProgressOut(BaseModel):
    month: str
    investment_month_wan: Decimal
    investment_to_date_wan: Decimal
    stage: str
    stage_reached_on: dt.date | None
    problems: str
    appeal_id: int | None
    filed_by: str
    filed_at: dt.datetime


def _progress(r: ProgressRecord) -> ProgressOut:
    return ProgressOut(
        month=f"{r.month:%Y-%m}",
        investment_month_wan=wan(r.investment_month_yuan),
        investment_to_date_wan=wan(r.investment_to_date_yuan),
        stage=r.stage,
        stage_reached_on=r.stage_reached_on,
        problems=r.problems,
        appeal_id=r.appeal_id,
        filed_by=r.filed_by,
        filed_at=r.filed_at,
    )


class StageOut(BaseModel):
    stage: str
    planned: dt.date | None
    reached: dt.date | None
    days_late: int | None
    overdue: bool


class ProjectDetailOut(BaseModel):
    project: ProjectOut
    progress: list[ProgressOut]
    stages: list[StageOut]
    may_edit: bool
    may_file: bool


def _detail(d: ProjectDetail) -> ProjectDetailOut:
    return ProjectDetailOut(
        project=_project(d.view),
        progress=[_progress(r) for r in d.progress],
        stages=[
            StageOut(
                stage=s.stage,
                planned=s.planned,
                reached=s.reached,
                days_late=s.days_late,
                overdue=s.overdue,
            )
            for s in d.stages
        ],
        may_edit=d.may_edit,
        may_file=d.may_file,
    )


def _body(body: ProjectIn) -> dict[str, Any]:
    return body.model_dump(mode="json")


@router.get("/api/projects")
def list_projects(
    access: AccessDep,
    services: ServicesDep,
    park_id: int | None = None,
    stage: str | None = None,
    project_type: str | None = None,
    overdue: bool = False,
) -> list[ProjectOut]:
    """The caller's projects by code (the bureau's all, a park's, an enterprise's own),
    narrowed by park, the stage reached ("none": no report yet), type, and overdue."""
    views = services.region.projects.projects(
        access, park_id=park_id, stage=stage, project_type=project_type, overdue_only=overdue
    )
    return [_project(v) for v in views]


@router.post("/api/projects", status_code=201)
def save_project(
    body: ProjectIn, access: AccessDep, services: ServicesDep, response: Response
) -> ProjectDetailOut:
    """Record a project, or replace the one with the same code (200 then)."""
    record, created = services.region.projects.save(access, _body(body))
    if not created:
        response.status_code = 200
    return _detail(services.region.projects.detail(access, record.id))


class OverdueRowOut(BaseModel):
    project_id: int
    code: str
    name: str
    owner_name: str
    park_name: str
    official: str
    overdue: OverdueOut


@router.get("/api/projects/overdue")
def overdue(
    access: AccessDep, services: ServicesDep, park_id: int | None = None
) -> list[OverdueRowOut]:
    """Stages late and reports missing today, most days late first."""
    return [
        OverdueRowOut(
            project_id=r.project.id,
            code=r.project.code,
            name=r.project.name,
            owner_name=r.project.owner_name,
            park_name=r.park_name,
            official=r.project.official,
            overdue=_overdue(r.item),
        )
        for r in services.region.projects.overdue(access, park_id)
    ]


@router.get("/api/projects/overdue/export.xlsx", responses=XLSX_RESPONSES)
def overdue_xlsx(
    access: AccessDep, services: ServicesDep, park_id: int | None = None, lang: Lang = "zh"
) -> Response:
    """The overdue list as ``GET /api/projects/overdue`` gives it, as XLSX."""
    found = services.region.projects.overdue(access, park_id)
    return download(sheets.overdue_xlsx(found, lang), "projects-overdue.xlsx")


class SummaryRowOut(BaseModel):
    key: str
    label: str
    projects: int
    planned_wan: Decimal
    month_wan: Decimal
    to_date_wan: Decimal


def _row(r: SummaryRow) -> SummaryRowOut:
    return SummaryRowOut(
        key=r.key,
        label=r.label,
        projects=r.projects,
        planned_wan=wan(r.planned_yuan),
        month_wan=wan(r.month_yuan),
        to_date_wan=wan(r.to_date_yuan),
    )


class SummaryOut(BaseModel):
    month: str
    total: SummaryRowOut
    by_stage: list[SummaryRowOut]
    by_park: list[SummaryRowOut]
    by_industry: list[SummaryRowOut]


def summary_out(s: Summary) -> SummaryOut:
    return SummaryOut(
        month=f"{s.month:%Y-%m}",
        total=_row(s.total),
        by_stage=[_row(r) for r in s.by_stage],
        by_park=[_row(r) for r in s.by_park],
        by_industry=[_row(r) for r in s.by_industry],
    )


@router.get("/api/projects/summary")
def summary(access: AccessDep, services: ServicesDep, month: str, lang: str = "zh") -> SummaryOut:
    """The month's summary (YYYY-MM) by stage, park and industry: projects, investment planned,
    in the month and to date, 万元."""
    return summary_out(services.region.projects.summary(access, month, lang))


@router.get("/api/projects/export.xlsx", responses=XLSX_RESPONSES)
def export_projects(
    access: AccessDep,
    services: ServicesDep,
    park_id: int | None = None,
    stage: str | None = None,
    project_type: str | None = None,
    overdue: bool = False,
    lang: Lang = "zh",
) -> Response:
    """The list as ``GET /api/projects`` gives it, as XLSX."""
    views = services.region.projects.projects(
        access, park_id=park_id, stage=stage, project_type=project_type, overdue_only=overdue
    )
    return download(sheets.list_xlsx(views, lang), "projects.xlsx")


@router.get("/api/projects/summary.xlsx")
def summary_xlsx(
    access: AccessDep, services: ServicesDep, month: str, lang: Lang = "zh"
) -> Response:
    found = services.region.projects.summary(access, month, lang)
    return download(sheets.summary_xlsx(found, lang), f"project-summary-{found.month:%Y-%m}.xlsx")


@router.get("/api/projects/summary.pdf")
def summary_pdf(
    access: AccessDep, services: ServicesDep, month: str, lang: Lang = "zh"
) -> Response:
    found = services.region.projects.summary(access, month, lang)
    name = f"project-summary-{found.month:%Y-%m}.pdf"
    return download(pdf.summary_pdf(found, lang), name, PDF_MEDIA_TYPE)


@router.get("/api/projects/templates/{kind}.xlsx", responses=XLSX_RESPONSES)
def import_template(kind: SheetKind, access: AccessDep, lang: Lang = "zh") -> Response:
    """The template to import projects (keyed by code) or monthly progress (code and month)."""
    del access  # any signed-in user: the template names nothing of anyone
    return download(template(sheets.SPECS[kind], lang), f"{kind}-template.xlsx")


class RowErrorOut(BaseModel):
    row: int
    column: str
    code: str
    message_zh: str
    message_en: str


class ImportOut(BaseModel):
    created: int
    updated: int
    errors: list[RowErrorOut]
    ignored_headers: list[str]


@router.post("/api/projects/imports/{kind}")
async def import_sheet(
    kind: SheetKind, request: Request, access: AccessDep, services: ServicesDep
) -> ImportOut:
    """The XLSX file as the request body; every bad row reported by its Excel row number and
    reason, every good row kept; importing the same file again changes nothing."""
    data = await request.body()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"an upload has at most {MAX_UPLOAD_BYTES} bytes", code="projects_upload_too_large"
        )
    importer = sheets.import_projects if kind == "projects" else sheets.import_progress
    report = await run_in_threadpool(importer, services.region.projects, access, data)
    return ImportOut(
        created=report.created,
        updated=report.updated,
        errors=[RowErrorOut.model_validate(e.as_dict()) for e in report.errors],
        ignored_headers=report.ignored_headers,
    )


@router.get("/api/projects/{project_id}")
def get_project(project_id: int, access: AccessDep, services: ServicesDep) -> ProjectDetailOut:
    return _detail(services.region.projects.detail(access, project_id))


@router.put("/api/projects/{project_id}")
def update_project(
    project_id: int, body: ProjectIn, access: AccessDep, services: ServicesDep
) -> ProjectDetailOut:
    services.region.projects.update(access, project_id, _body(body))
    return _detail(services.region.projects.detail(access, project_id))


class ProgressIn(BaseModel):
    investment_month_wan: Decimal | str = Field(description="invested in the month, 万元")
    investment_to_date_wan: Decimal | str = Field(description="invested to date, 万元")
    stage: str = Field(description="the stage reached")
    stage_reached_on: dt.date | str | None = Field(None, description="the day it was reached")
    problems: str = Field("", description="what blocks the project")
    raise_appeal: bool = Field(False, description="also raise the problems as the owner's appeal")


@router.put("/api/projects/{project_id}/progress/{month}")
def file_progress(
    project_id: int, month: str, body: ProgressIn, access: AccessDep, services: ServicesDep
) -> ProgressOut:
    """File (or re-file) the month's progress (YYYY-MM)."""
    region = services.region
    raiser = appeal_raiser(region.appeals, access) if body.raise_appeal else None
    raw = body.model_dump(mode="json", exclude={"raise_appeal"})
    return _progress(region.projects.file_progress(access, project_id, month, raw, raiser))


class WindowOut(BaseModel):
    start: dt.date
    end: dt.date = Field(description="the first day after the window")


class ChangeOut(BaseModel):
    profile: str
    kpi: str
    label_zh: str
    label_en: str
    unit: str
    before: float | None = Field(description="null: not enough data")
    after: float | None = Field(description="null: not enough data")
    change: float | None


class BeforeAfterOut(BaseModel):
    go_live: dt.date | None
    before: WindowOut | None
    after: WindowOut | None
    missing: str | None = Field(description="not_sme, no_go_live, no_owner, no_machines")
    changes: list[ChangeOut]


def _window(w: Any) -> WindowOut | None:
    return None if w is None else WindowOut(start=w.start, end=w.end)


@router.get("/api/projects/{project_id}/before-after")
def before_after(project_id: int, access: AccessDep, services: ServicesDep) -> BeforeAfterOut:
    """The owner's KPIs the months before go-live against the months after."""
    found: BeforeAfter = services.region.projects.before_after(access, project_id)
    return BeforeAfterOut(
        go_live=found.go_live,
        before=_window(found.before),
        after=_window(found.after),
        missing=found.missing,
        changes=[
            ChangeOut(
                profile=c.profile,
                kpi=c.kpi,
                label_zh=c.label_zh,
                label_en=c.label_en,
                unit=c.unit,
                before=c.before,
                after=c.after,
                change=c.change,
            )
            for c in found.changes
        ],
    )
