"""Shared capacity (统一调配产能) in the console: the district's board of published capacity, an
enterprise's own idle capacity with its publication, its requests with the offers ranked for
them, and its matches with their answers and outcomes; every table also as XLSX.

The pages call the same service as ``/api/…/capacity*`` (``analytics/capacity_service.py``), so
who may do what is decided in one place: the enterprise's administrators publish, request,
propose, answer and record outcomes; its people read; a match is seen by its two parties; the
bureau and the operator see the board and the district's counts. An enterprise's unpublished
capacity is made from its machine values: only its own people see it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from shugu.analytics import capacity_service as cs
from shugu.analytics.capacity import LOOM_TYPES, MAX_DAYS
from shugu.analytics.capacity_input import DENSITY_RANGE, MAX_HOLD_BACK, number
from shugu.api.downloads import download
from shugu.api.scope import require_machine_access
from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.domain.xlsx_book import Sheet, workbook
from shugu.web import capacity_tables as tables
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

Density = Annotated[str, Query()]
Days = Annotated[str, Query()]


def _looms(request: Request) -> cs.LoomSource | None:
    return cs.loom_source_of(request.app.state)


def _density(text: str) -> float:
    """The weft density the metres are shown for; the reference one for anything unreadable
    (a page's view setting, not an input that is kept)."""
    try:
        return number(text, "picks_per_cm", "capacity_density_invalid", *DENSITY_RANGE)
    except ValidationError:
        return cs.REFERENCE_PICKS_PER_CM


def _days(text: str) -> int:
    try:
        return int(number(text, "days", "capacity_days_invalid", 1, MAX_DAYS))
    except ValidationError:
        return 7


def _xlsx(name: str, title: str, sheets: list[Sheet]) -> Response:
    return download(workbook(title, sheets), f"{name}.xlsx")


def _labels() -> dict[str, Any]:
    return {
        "loom_types": LOOM_TYPES,
        "loom_type_label": tables.loom_type_label,
        "width_label": tables.width_label,
        "request_status": tables.REQUEST_STATUS,
        "match_status": tables.MATCH_STATUS,
        "event_kinds": tables.EVENT_KINDS,
        "sides": tables.SIDES,
        "score_parts": tables.SCORE_PARTS,
        "exclusions": tables.EXCLUSIONS,
        "lacking_labels": tables.LACKING,
    }


def _pivot(cells: Any) -> list[tuple[tuple[str | None, int | None], dict[Any, Any]]]:
    """Cells as rows of groups (loom type, width class) with one cell per day."""
    rows: dict[tuple[str | None, int | None], dict[Any, Any]] = {}
    for cell in cells:
        rows.setdefault((cell.loom_type, cell.width_class_cm), {})[cell.day] = cell
    return list(rows.items())


# -- the board -------------------------------------------------------------------------------


@router.get("/capacity")
def board_page(request: Request, user: PageUserDep, picks_per_cm: Density = "") -> Response:
    """What enterprises published, summed and by enterprise; the district's match counts for
    the bureau and the operator."""
    density = _density(picks_per_cm)
    board = cs.board(user.services.registry, _looms(request))
    counts = (
        user.services.registry.capacity_match_counts()
        if user.access.can_read_aggregates()
        else None
    )
    context = {
        **_labels(),
        "board": board,
        "pivot": _pivot(board.totals),
        "offers": [(o, _pivot(o.cells)) for o in board.offers],
        "counts": counts,
        "density": density,
        "own_enterprise": user.enterprise_id,
    }
    return render(request, user, "capacity/board.html", context)


@router.get("/capacity/board.xlsx")
def board_xlsx(request: Request, user: PageUserDep, picks_per_cm: Density = "") -> Response:
    density = _density(picks_per_cm)
    board = cs.board(user.services.registry, _looms(request))
    counts = (
        user.services.registry.capacity_match_counts()
        if user.access.can_read_aggregates()
        else None
    )
    sheets = tables.board_sheets(board, density, counts, user.tr)
    return _xlsx("capacity-board", user.tr("Shared capacity"), sheets)


# -- an enterprise's own capacity, requests and matches ----------------------------------------


@dataclass
class Forms:
    """What the user typed into the page's forms, and the server's word on it."""

    publish: dict[str, str] = field(default_factory=dict)
    request: dict[str, str] = field(default_factory=dict)
    #: Field → message, per form ("publish", "request", "outcome-<match id>").
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    #: A message about the whole action (a conflict, say).
    notice: str = ""


def _enterprise_page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    *,
    days: int = 7,
    density: float = cs.REFERENCE_PICKS_PER_CM,
    forms: Forms | None = None,
    status: int = 200,
) -> Response:
    registry = user.services.registry
    cs.require_capacity_member(user.access, enterprise_id)
    require_machine_access(user.access, enterprise_id)
    idle = cs.idle_view(registry, _looms(request), enterprise_id, days)
    requests = cs.list_requests(registry, user.access, enterprise_id)
    matches = cs.list_matches(registry, user.access, enterprise_id)
    context = {
        **_labels(),
        "enterprise": registry.get_enterprise(enterprise_id),
        "enterprise_id": enterprise_id,
        "idle": idle,
        "pivot": _pivot(idle.capacity.cells),
        "totals": idle.capacity.totals(),
        "requests": requests,
        "matches": matches,
        "may_trade": cs.may_trade(user.access, enterprise_id),
        "days": days,
        "max_days": MAX_DAYS,
        "max_hold_back_pct": round(MAX_HOLD_BACK * 100),
        "density": density,
        "forms": forms or Forms(),
    }
    return render(request, user, "capacity/enterprise.html", context, status_code=status)


@router.get("/e/{enterprise_id}/capacity")
def enterprise_page(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    days: Days = "7",
    picks_per_cm: Density = "",
) -> Response:
    return _enterprise_page(
        request, user, enterprise_id, days=_days(days), density=_density(picks_per_cm)
    )


def _refused(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    form: str,
    exc: ValidationError | ConflictError,
    forms: Forms,
) -> Response:
    """The page again with the fault beside its field (or above the form), in the user's
    language."""
    message = user.tr.error(exc.code, exc.message)
    field_name = exc.details.get("field")
    if isinstance(exc, ValidationError) and isinstance(field_name, str):
        # The form asks for the share held back in per cent.
        field_name = "hold_back_pct" if field_name == "hold_back" else field_name
        forms.errors.setdefault(form, {})[field_name] = message
    else:
        forms.notice = message
    return _enterprise_page(request, user, enterprise_id, forms=forms, status=exc.http_status)


def _home(enterprise_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/e/{enterprise_id}/capacity{anchor}", status_code=303)


@router.post("/e/{enterprise_id}/capacity/publish")
def publish(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    days: Annotated[str, Form()] = "7",
    hold_back_pct: Annotated[str, Form()] = "0",
) -> Response:
    """Publish for ``days`` days, keeping ``hold_back_pct`` per cent back."""
    cs.require_capacity_admin(user.access, enterprise_id)
    forms = Forms(publish={"days": days, "hold_back_pct": hold_back_pct})
    try:
        pct = number(hold_back_pct, "hold_back", "capacity_hold_back_invalid", 0, 100)
        cs.publish(
            user.services.registry, _looms(request), user.access, enterprise_id, days, pct / 100
        )
    except (ValidationError, ConflictError) as exc:
        return _refused(request, user, enterprise_id, "publish", exc, forms)
    return _home(enterprise_id, "#idle")


@router.post("/e/{enterprise_id}/capacity/withdraw")
def withdraw(enterprise_id: int, user: PageUserDep) -> Response:
    cs.withdraw(user.services.registry, user.access, enterprise_id)
    return _home(enterprise_id, "#idle")


@router.post("/e/{enterprise_id}/capacity/requests")
def post_request(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    fabric: Annotated[str, Form()] = "",
    loom_type: Annotated[str, Form()] = "",
    min_width_cm: Annotated[str, Form()] = "",
    picks_per_cm: Annotated[str, Form()] = "",
    metres: Annotated[str, Form()] = "",
    deadline: Annotated[str, Form()] = "",
) -> Response:
    cs.require_capacity_admin(user.access, enterprise_id)
    fields = {
        "fabric": fabric,
        "loom_type": loom_type,
        "min_width_cm": min_width_cm,
        "picks_per_cm": picks_per_cm,
        "metres": metres,
        "deadline": deadline,
    }
    try:
        record = cs.post_request(user.services.registry, user.access, enterprise_id, fields)
    except (ValidationError, ConflictError) as exc:
        return _refused(request, user, enterprise_id, "request", exc, Forms(request=fields))
    return RedirectResponse(f"/e/{enterprise_id}/capacity/requests/{record.id}", status_code=303)


def _own_request(user: PageUser, enterprise_id: int, request_id: int) -> None:
    """The request belongs to the enterprise of the address (else it is not found)."""
    cs.require_capacity_member(user.access, enterprise_id)
    record = cs.visible_request(user.services.registry, user.access, request_id)
    if record.enterprise_id != enterprise_id:
        raise NotFoundError("no such capacity request", code="not_found")


def _request_page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    request_id: int,
    *,
    notice: str = "",
    status: int = 200,
) -> Response:
    _own_request(user, enterprise_id, request_id)
    registry = user.services.registry
    view = cs.request_view(registry, _looms(request), user.access, request_id)
    bound = {m.match.offerer_id for m in view.matches if m.match.status in ("proposed", "accepted")}
    context = {
        **_labels(),
        "enterprise": registry.get_enterprise(enterprise_id),
        "enterprise_id": enterprise_id,
        "view": view,
        "bound": bound,
        "may_trade": cs.may_trade(user.access, enterprise_id),
        "notice": notice,
    }
    return render(request, user, "capacity/request.html", context, status_code=status)


@router.get("/e/{enterprise_id}/capacity/requests/{request_id}")
def request_page(
    request: Request, enterprise_id: int, request_id: int, user: PageUserDep
) -> Response:
    return _request_page(request, user, enterprise_id, request_id)


@router.post("/e/{enterprise_id}/capacity/requests/{request_id}/propose")
def propose(
    request: Request,
    enterprise_id: int,
    request_id: int,
    user: PageUserDep,
    offerer_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    _own_request(user, enterprise_id, request_id)
    offerer = (
        int(offerer_id)
        if offerer_id.isascii() and offerer_id.isdigit() and len(offerer_id) < 19
        else offerer_id
    )
    try:
        cs.propose(user.services.registry, _looms(request), user.access, request_id, offerer, note)
    except (ValidationError, ConflictError) as exc:
        message = user.tr.error(exc.code, exc.message)
        return _request_page(
            request, user, enterprise_id, request_id, notice=message, status=exc.http_status
        )
    return RedirectResponse(f"/e/{enterprise_id}/capacity/requests/{request_id}", status_code=303)


@router.post("/e/{enterprise_id}/capacity/requests/{request_id}/close")
def close_request(enterprise_id: int, request_id: int, user: PageUserDep) -> Response:
    _own_request(user, enterprise_id, request_id)
    cs.close_request(user.services.registry, user.access, request_id)
    return RedirectResponse(f"/e/{enterprise_id}/capacity/requests/{request_id}", status_code=303)


def _own_match(user: PageUser, enterprise_id: int, match_id: int) -> None:
    cs.require_capacity_member(user.access, enterprise_id)
    cs.visible_match(user.services.registry, user.access, match_id)


@router.post("/e/{enterprise_id}/capacity/matches/{match_id}/{answer}")
def answer(
    request: Request,
    enterprise_id: int,
    match_id: int,
    answer: str,
    user: PageUserDep,
    note: Annotated[str, Form()] = "",
    delivered_m: Annotated[str, Form()] = "",
    on_time: Annotated[str, Form()] = "",
) -> Response:
    """``accept`` or ``decline`` a proposal, or record the ``outcome`` of an accepted match."""
    _own_match(user, enterprise_id, match_id)
    registry = user.services.registry
    if answer not in ("accept", "decline", "outcome"):
        raise NotFoundError("no such action", code="not_found")
    try:
        if answer == "outcome":
            fields = {"delivered_m": delivered_m, "on_time": on_time, "note": note}
            cs.record_outcome(registry, user.access, match_id, fields)
        else:
            cs.answer(registry, user.access, match_id, answer == "accept", note)
    except (ValidationError, ConflictError) as exc:
        return _refused(request, user, enterprise_id, f"outcome-{match_id}", exc, Forms())
    return _home(enterprise_id, "#matches")


# -- exports ---------------------------------------------------------------------------------


@router.get("/e/{enterprise_id}/capacity/{table}.xlsx")
def enterprise_xlsx(
    request: Request,
    enterprise_id: int,
    table: str,
    user: PageUserDep,
    days: Days = "7",
    picks_per_cm: Density = "",
) -> Response:
    """``idle``, ``requests`` or ``matches`` of the enterprise as XLSX."""
    registry, tr = user.services.registry, user.tr
    cs.require_capacity_member(user.access, enterprise_id)
    name = registry.get_enterprise(enterprise_id).name
    if table == "idle":
        require_machine_access(user.access, enterprise_id)
        density = _density(picks_per_cm)
        view = cs.idle_view(registry, _looms(request), enterprise_id, _days(days))
        sheet = tables.idle_sheet(name, view, density, tr)
    elif table == "requests":
        sheet = tables.requests_sheet(cs.list_requests(registry, user.access, enterprise_id), tr)
    elif table == "matches":
        sheet = tables.matches_sheet(cs.list_matches(registry, user.access, enterprise_id), tr)
    else:
        raise NotFoundError("no such table", code="not_found")
    return _xlsx(f"capacity-{table}-{enterprise_id}", f"{sheet.title} · {name}", [sheet])


@router.get("/e/{enterprise_id}/capacity/requests/{request_id}/offers.xlsx")
def offers_xlsx(
    request: Request, enterprise_id: int, request_id: int, user: PageUserDep
) -> Response:
    _own_request(user, enterprise_id, request_id)
    view = cs.request_view(user.services.registry, _looms(request), user.access, request_id)
    sheet = tables.offers_sheet(view, user.tr)
    return _xlsx(f"capacity-offers-{request_id}", sheet.title, [sheet])
