"""Enterprise appeals (企业诉求): filed by an enterprise's administrators; assigned to a
department, answered and closed by the bureau; confirmed and rated by the enterprise; the
bureau's figures of how fast, per category and department.

Routes parse and shape; ``region/appeals/service.py`` decides who may do what.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.downloads import download
from shugu.api.kpi_params import XLSX_RESPONSES
from shugu.region.appeals import exports
from shugu.region.appeals.figures import Figures, Times
from shugu.region.appeals.service import AppealView
from shugu.store.registry.region_appeals import AppealRecord

router = APIRouter(tags=["appeals"])
Lang = Literal["zh", "en"]


class AppealIn(BaseModel):
    category: str = Field(
        description="labour, electricity, transport, finance, land, permits, other"
    )
    title: str = Field(description="1–200 characters")
    text: str = Field(description="the problem, 1–4,000 characters")


class EventOut(BaseModel):
    at: dt.datetime
    kind: str = Field(description="filed, assigned, answered, confirmed, closed")
    by: str
    department: str | None
    text: str


class AppealOut(BaseModel):
    id: int
    enterprise_id: int
    enterprise_name: str
    park_id: int
    category: str
    title: str
    text: str
    status: str = Field(description="open, assigned, answered, closed")
    department: str | None
    filed_by: str
    filed_at: dt.datetime
    first_answer_at: dt.datetime | None
    closed_at: dt.datetime | None
    closed_by_side: str | None = Field(description="enterprise (confirmed) or bureau")
    rating: int | None
    rating_comment: str | None
    events: list[EventOut]


def _appeal(a: AppealRecord) -> AppealOut:
    return AppealOut(
        id=a.id,
        enterprise_id=a.enterprise_id,
        enterprise_name=a.enterprise_name,
        park_id=a.park_id,
        category=a.category,
        title=a.title,
        text=a.body,
        status=a.status,
        department=a.department,
        filed_by=a.filed_by,
        filed_at=a.filed_at,
        first_answer_at=a.first_answer_at,
        closed_at=a.closed_at,
        closed_by_side=a.closed_by_side,
        rating=a.rating,
        rating_comment=a.rating_comment,
        events=[
            EventOut(at=e.at, kind=e.kind, by=e.by, department=e.department, text=e.text)
            for e in a.events
        ],
    )


class AppealViewOut(BaseModel):
    appeal: AppealOut
    may_assign: bool
    may_answer: bool
    may_close: bool
    may_confirm: bool


def _view(v: AppealView) -> AppealViewOut:
    return AppealViewOut(
        appeal=_appeal(v.appeal),
        may_assign=v.may_assign,
        may_answer=v.may_answer,
        may_close=v.may_close,
        may_confirm=v.may_confirm,
    )


@router.get("/api/appeals")
def list_appeals(
    access: AccessDep,
    services: ServicesDep,
    status: str | None = None,
    category: str | None = None,
    department: str | None = None,
) -> list[AppealOut]:
    """The caller's appeals, newest first: the bureau's queue, a park's, an enterprise's own;
    status open, assigned, answered, closed or unclosed."""
    found = services.region.appeals.appeals(
        access, status=status, category=category, department=department
    )
    return [_appeal(a) for a in found]


@router.get("/api/appeals/export.xlsx", responses=XLSX_RESPONSES)
def export_appeals(
    access: AccessDep,
    services: ServicesDep,
    status: str | None = None,
    category: str | None = None,
    department: str | None = None,
    lang: Lang = "zh",
) -> Response:
    """The list as ``GET /api/appeals`` gives it, with the same filters, as XLSX."""
    service = services.region.appeals
    found = service.appeals(access, status=status, category=category, department=department)
    return download(exports.list_xlsx(found, service.catalogue, lang), "appeals.xlsx")


class NamedOut(BaseModel):
    key: str
    zh: str
    en: str


class CategoryOut(NamedOut):
    answer_days: int
    close_days: int


class CatalogueOut(BaseModel):
    categories: list[CategoryOut]
    departments: list[NamedOut]


@router.get("/api/appeals/catalogue")
def catalogue(access: AccessDep, services: ServicesDep) -> CatalogueOut:
    """Categories (with the days to a first answer and to closing aimed for) and departments."""
    del access  # any signed-in user
    found = services.region.appeals.catalogue
    return CatalogueOut(
        categories=[CategoryOut(**c.model_dump()) for c in found.categories],
        departments=[NamedOut(**d.model_dump()) for d in found.departments],
    )


class TimesOut(BaseModel):
    count: int
    median_h: float | None
    p90_h: float | None = Field(description="nearest-rank 90th percentile, hours")


class FiguresOut(BaseModel):
    key: str
    appeals: int
    open: int
    overdue: int
    first_answer: TimesOut
    closing: TimesOut
    rating_avg: float | None
    ratings: int


def _times(t: Times) -> TimesOut:
    return TimesOut(count=t.count, median_h=t.median_h, p90_h=t.p90_h)


def _figures(f: Figures) -> FiguresOut:
    return FiguresOut(
        key=f.key,
        appeals=f.appeals,
        open=f.open,
        overdue=f.overdue,
        first_answer=_times(f.first_answer),
        closing=_times(f.closing),
        rating_avg=f.rating_avg,
        ratings=f.ratings,
    )


class AppealFiguresOut(BaseModel):
    total: FiguresOut
    by_category: list[FiguresOut]
    by_department: list[FiguresOut] = Field(description='key "": not assigned yet')


@router.get("/api/appeals/figures")
def figures(access: AccessDep, services: ServicesDep) -> AppealFiguresOut:
    """Time to first answer and to close (median, p90), open and overdue, ratings."""
    found = services.region.appeals.figures(access)
    return AppealFiguresOut(
        total=_figures(found.total),
        by_category=[_figures(f) for f in found.by_category],
        by_department=[_figures(f) for f in found.by_department],
    )


@router.get("/api/appeals/figures.xlsx", responses=XLSX_RESPONSES)
def figures_xlsx(access: AccessDep, services: ServicesDep, lang: Lang = "zh") -> Response:
    """The figures as ``GET /api/appeals/figures`` gives them, by category and by department."""
    service = services.region.appeals
    found = service.figures(access)
    return download(exports.figures_xlsx(found, service.catalogue, lang), "appeal-figures.xlsx")


@router.post("/api/enterprises/{enterprise_id}/appeals", status_code=201)
def file_appeal(
    enterprise_id: int, body: AppealIn, access: AccessDep, services: ServicesDep
) -> AppealOut:
    return _appeal(services.region.appeals.file(access, enterprise_id, body.model_dump()))


@router.get("/api/appeals/{appeal_id}")
def get_appeal(appeal_id: int, access: AccessDep, services: ServicesDep) -> AppealViewOut:
    """The appeal with its thread and what the caller may do next."""
    return _view(services.region.appeals.get(access, appeal_id))


class AssignIn(BaseModel):
    department: str = Field(description="a department key (GET /api/appeals/catalogue)")
    note: str = ""


@router.post("/api/appeals/{appeal_id}/assign")
def assign(
    appeal_id: int, body: AssignIn, access: AccessDep, services: ServicesDep
) -> AppealViewOut:
    return _view(services.region.appeals.assign(access, appeal_id, body.department, body.note))


class TextIn(BaseModel):
    text: str = ""


@router.post("/api/appeals/{appeal_id}/answer")
def answer(appeal_id: int, body: TextIn, access: AccessDep, services: ServicesDep) -> AppealViewOut:
    """The department's answer, recorded by the bureau."""
    return _view(services.region.appeals.answer(access, appeal_id, body.text))


@router.post("/api/appeals/{appeal_id}/close")
def close(appeal_id: int, body: TextIn, access: AccessDep, services: ServicesDep) -> AppealViewOut:
    """The bureau closes the appeal (without the enterprise's confirmation)."""
    return _view(services.region.appeals.close(access, appeal_id, body.text))


class ConfirmIn(BaseModel):
    rating: int = Field(description="1–5")
    comment: str = ""


@router.post("/api/appeals/{appeal_id}/confirm")
def confirm(
    appeal_id: int, body: ConfirmIn, access: AccessDep, services: ServicesDep
) -> AppealViewOut:
    """The enterprise confirms the answer settled it, and rates it."""
    view = services.region.appeals.confirm(access, appeal_id, body.rating, body.comment)
    return _view(view)
