"""Enterprise appeals (企业诉求) in the console: the queue (the bureau's, a park's, an
enterprise's own), the filing form for an enterprise's administrators, an appeal's thread with
the next steps (assign, answer, close; confirm with a rating), and the bureau's figures.

The pages call the same service as ``/api/appeals*`` (``region/appeals/service.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Role
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query()]
FormText = Annotated[str, Form()]

STATES = {
    "open": N_("appeal.open"),
    "assigned": N_("appeal.assigned"),
    "answered": N_("appeal.answered"),
    "closed": N_("appeal.closed"),
}
EVENTS = {
    "filed": N_("Filed"),
    "assigned": N_("Assigned"),
    "answered": N_("Answered"),
    "confirmed": N_("Confirmed and rated"),
    "closed": N_("Closed by the bureau"),
}
ACTIONS = ("assign", "answer", "close", "confirm")


def _labels(user: PageUser) -> dict[str, Any]:
    catalogue = user.services.region.appeals.catalogue
    lang = "en" if user.tr.lang == "en" else "zh"
    return {
        "categories": [(c.key, c.label(lang)) for c in catalogue.categories],
        "departments": [(d.key, d.label(lang)) for d in catalogue.departments],
        "category_label": lambda k: catalogue.category_label(k, lang),
        "department_label": lambda k: catalogue.department_label(k, lang),
        "states": STATES,
        "events": EVENTS,
    }


def _may_file(user: PageUser) -> bool:
    return user.role is Role.ENTERPRISE_ADMIN and user.enterprise_id is not None


@router.get("/appeals")
def queue(
    request: Request,
    user: PageUserDep,
    status: Text = "unclosed",
    category: Text = "",
    department: Text = "",
) -> Response:
    appeals = user.services.region.appeals.appeals(
        user.access, status=status or None, category=category, department=department
    )
    context = {
        **_labels(user),
        "appeals": appeals,
        "filters": {"status": status, "category": category, "department": department},
        "may_file": _may_file(user),
        "may_see_figures": user.enterprise_id is None,
    }
    return render(request, user, "bureau/appeals/queue.html", context)


def _new(
    request: Request,
    user: PageUser,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    if not _may_file(user):
        raise ForbiddenError(
            "an enterprise's administrators file its appeals", code="appeals_file_forbidden"
        )
    context = {**_labels(user), "form": form, "errors": errors}
    return render(request, user, "bureau/appeals/new.html", context, status_code=status)


@router.get("/appeals/new")
def new_form(request: Request, user: PageUserDep) -> Response:
    return _new(request, user, {}, {})


@router.post("/appeals/new")
def file_appeal(
    request: Request,
    user: PageUserDep,
    category: FormText = "",
    title: FormText = "",
    text: FormText = "",
) -> Response:
    form = {"category": category, "title": title, "text": text}
    enterprise_id = user.enterprise_id
    if enterprise_id is None or not _may_file(user):
        return _new(request, user, form, {})
    try:
        appeal = user.services.region.appeals.file(user.access, enterprise_id, form)
    except ValidationError as exc:
        field = exc.details.get("field")
        errors = {str(field) if field else "text": user.tr.error(exc.code, exc.message)}
        return _new(request, user, form, errors, exc.http_status)
    return RedirectResponse(f"/appeals/{appeal.id}", status_code=303)


@router.get("/appeals/figures")
def figures_page(request: Request, user: PageUserDep) -> Response:
    figures = user.services.region.appeals.figures(user.access)
    return render(request, user, "bureau/appeals/figures.html", {**_labels(user), "f": figures})


def _thread(
    request: Request, user: PageUser, appeal_id: int, notice: str = "", status: int = 200
) -> Response:
    view = user.services.region.appeals.get(user.access, appeal_id)
    context = {**_labels(user), "view": view, "appeal": view.appeal, "notice": notice}
    return render(request, user, "bureau/appeals/thread.html", context, status_code=status)


@router.get("/appeals/{appeal_id}")
def thread(request: Request, appeal_id: int, user: PageUserDep) -> Response:
    return _thread(request, user, appeal_id)


@router.post("/appeals/{appeal_id}/{action}")
def act(
    request: Request,
    appeal_id: int,
    action: str,
    user: PageUserDep,
    department: FormText = "",
    text: FormText = "",
    rating: FormText = "",
) -> Response:
    """assign (department, text as the note), answer (text), close (text), confirm (rating,
    text as the comment)."""
    service = user.services.region.appeals
    if action not in ACTIONS:
        raise NotFoundError("no such page", code="not_found")
    try:
        if action == "assign":
            service.assign(user.access, appeal_id, department, text)
        elif action == "answer":
            service.answer(user.access, appeal_id, text)
        elif action == "close":
            service.close(user.access, appeal_id, text)
        else:
            service.confirm(user.access, appeal_id, rating, text)
    except (ValidationError, ConflictError) as exc:
        message = user.tr.error(exc.code, exc.message)
        return _thread(request, user, appeal_id, message, exc.http_status)
    return RedirectResponse(f"/appeals/{appeal_id}", status_code=303)
