"""The project library (项目库) in the console: the list with its filters, a project with its
stages, monthly reports and the form to file one, what is overdue, the monthly summary, and an
SME digital-transformation project's owner before and after go-live.

The pages call the same service as ``/api/projects*`` (``region/projects/service.py``), so who
may do what is decided there.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import ConflictError, UnavailableError, ValidationError
from shugu.region.projects.input import wan
from shugu.region.projects.service import appeal_raiser
from shugu.region.projects.summary import NOT_REPORTED
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query()]
FormText = Annotated[str, Form()]

OVERDUE_KINDS = {"stage": N_("Stage late"), "report": N_("Report missing")}
MISSING = {
    "not_sme": N_("Only SME digital-transformation projects are compared."),
    "no_go_live": N_("No go-live date recorded yet."),
    "no_owner": N_("The owner has no machines on the platform."),
    "no_machines": N_("The owner has no machines on the platform."),
}


def _labels(user: PageUser) -> dict[str, Any]:
    catalogue = user.services.region.projects.catalogue
    lang = "en" if user.tr.lang == "en" else "zh"
    return {
        "stages": [(s.key, s.label(lang)) for s in catalogue.stages],
        "types": [(t.key, t.label(lang)) for t in catalogue.types],
        "stage_label": lambda k: catalogue.stage_label(k, lang) if k else user.tr("Not reported"),
        "type_label": lambda k: catalogue.type_label(k, lang),
        "overdue_kinds": OVERDUE_KINDS,
        "wan": wan,
        "lang": lang,
    }


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


@router.get("/projects")
def project_list(
    request: Request,
    user: PageUserDep,
    park: Text = "",
    stage: Text = "",
    project_type: Text = "",
    overdue: Text = "",
) -> Response:
    views = user.services.region.projects.projects(
        user.access,
        park_id=_int(park),
        stage=stage or None,
        project_type=project_type or None,
        overdue_only=overdue == "1",
    )
    context = {
        **_labels(user),
        "views": views,
        "parks": user.services.registry.list_parks(),
        "filters": {"park": _int(park), "stage": stage, "type": project_type, "overdue": overdue},
        "may_summarise": user.enterprise_id is None,
    }
    return render(request, user, "bureau/projects/list.html", context)


@router.get("/projects/overdue")
def overdue_page(request: Request, user: PageUserDep) -> Response:
    rows = user.services.region.projects.overdue(user.access)
    return render(request, user, "bureau/projects/overdue.html", {**_labels(user), "rows": rows})


@router.get("/projects/summary")
def summary_page(request: Request, user: PageUserDep, month: Text = "") -> Response:
    service = user.services.region.projects
    chosen = month or f"{service.today():%Y-%m}"
    lang = "en" if user.tr.lang == "en" else "zh"
    try:
        summary = service.summary(user.access, chosen, lang)
    except ValidationError:
        chosen = f"{service.today():%Y-%m}"
        summary = service.summary(user.access, chosen, lang)
    context = {**_labels(user), "summary": summary, "month": chosen, "not_reported": NOT_REPORTED}
    return render(request, user, "bureau/projects/summary.html", context)


def _detail(
    request: Request,
    user: PageUser,
    project_id: int,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    service = user.services.region.projects
    detail = service.detail(user.access, project_id)
    comparison = None
    if detail.view.project.project_type == "sme_digital_transformation":
        try:
            comparison = service.before_after(user.access, project_id)
        except UnavailableError:
            comparison = None
    context = {
        **_labels(user),
        "detail": detail,
        "project": detail.view.project,
        "comparison": comparison,
        "missing_labels": MISSING,
        "form": form or {"month": f"{service.today():%Y-%m}"},
        "errors": errors or {},
        "notice": notice,
    }
    return render(request, user, "bureau/projects/detail.html", context, status_code=status)


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: int, user: PageUserDep) -> Response:
    return _detail(request, user, project_id)


@router.post("/projects/{project_id}/progress")
def file_progress(
    request: Request,
    project_id: int,
    user: PageUserDep,
    month: FormText = "",
    investment_month_wan: FormText = "",
    investment_to_date_wan: FormText = "",
    stage: FormText = "",
    stage_reached_on: FormText = "",
    problems: FormText = "",
    raise_appeal: FormText = "",
) -> Response:
    form = {
        "month": month,
        "investment_month_wan": investment_month_wan,
        "investment_to_date_wan": investment_to_date_wan,
        "stage": stage,
        "stage_reached_on": stage_reached_on,
        "problems": problems,
    }
    region = user.services.region
    raiser = appeal_raiser(region.appeals, user.access) if raise_appeal else None
    try:
        region.projects.file_progress(user.access, project_id, month, form, raiser)
    except (ValidationError, ConflictError) as exc:
        message = user.tr.error(exc.code, exc.message)
        field = exc.details.get("field")
        errors = {field: message} if isinstance(field, str) else {}
        return _detail(
            request,
            user,
            project_id,
            form=form,
            errors=errors,
            notice="" if errors else message,
            status=exc.http_status,
        )
    return RedirectResponse(f"/projects/{project_id}#progress", status_code=303)
