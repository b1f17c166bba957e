"""Monthly operation (经济运行监测) for the park's official and the bureau: the review queue (a
park official's: its park's submitted reports; the bureau's: those the park accepted), one
report with its figures beside what the platform measured and the review form, the district's
reports by month, park and state, the missing and late list, early warnings with acknowledgement,
the key-enterprise watch table and the monthly operation report (kept ones to download, one
generated now).

The pages call the same service as ``/api/region/monthly-reports*``, ``/api/region/warnings*``,
``/api/region/key-enterprises`` and ``/api/region/operation-report*``; downloads are those
routes' (a GET with the session cookie).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.domain.tenancy import Role
from shugu.region.operation import months, rights
from shugu.region.operation.service import OperationService
from shugu.region.operation.warnings import rule_by_id
from shugu.store.registry.region_operation import MonthlyReportRecord
from shugu.web.bureau_operation_text import FILTER_STATES, labels, sheet_lang
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query()]
FormText = Annotated[str, Form()]


def _service(user: PageUser) -> OperationService:
    return user.services.region.operation


def _park(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationError("park must be a park's id", code="invalid", field="park") from None


def _month(user: PageUser, text: str) -> str:
    return months.parse_month(text) if text.strip() else _service(user).due_month()


def _context(user: PageUser, park_id: int | None = None) -> dict[str, Any]:
    """What every page of the area shows: the labels, the caller's parks to filter by (a park
    official has one, its own; the park filter is checked by the service)."""
    narrowed = rights.region_parks(user.access, park_id)
    parks = user.services.registry.list_parks() if user.access.is_bureau() else []
    return {
        **labels(user),
        "is_bureau": user.access.is_bureau(),
        "is_park_official": user.role is Role.PARK_OFFICIAL,
        "parks": parks,
        "park": narrowed if user.access.is_bureau() else None,
        "rule_names": {r.id: r.name(sheet_lang(user)) for r in rule_by_id().values()},
    }


# -- review ------------------------------------------------------------------------------------


@router.get("/bureau/operation")
def queue_page(request: Request, user: PageUserDep, done: Text = "") -> Response:
    """The reports awaiting the caller's review, each with its checks against the meters."""
    context = _context(user)
    queue = _service(user).queue(user.access)
    context |= {"queue": queue, "done": done if done in ("accept", "return") else ""}
    return render(request, user, "bureau/operation/queue.html", context)


def _report_by_id(user: PageUser, report_id: int) -> MonthlyReportRecord:
    """A filed report the caller may read (a draft is the enterprise's own: 404)."""
    found = user.services.registry.monthly_report_by_id(report_id)
    report = _service(user).report(user.access, found.enterprise_id, found.month)
    if report is None or (
        report.state == "draft" and not user.principal.is_member_of(report.enterprise_id)
    ):
        raise NotFoundError("monthly report not found", code="not_found")
    return report


def _report_page(
    request: Request,
    user: PageUser,
    report_id: int,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    service = _service(user)
    report = _report_by_id(user, report_id)
    enterprise = service.enterprise(user.access, report.enterprise_id)
    context = {
        **labels(user),
        "report": report,
        "enterprise": enterprise,
        "deadline": service.deadline(report.month),
        "may_review": service.may_review(user.access, report),
        "form": form or {},
        "errors": errors or {},
        "notice": notice,
    }
    return render(request, user, "bureau/operation/report.html", context, status_code=status)


@router.get("/bureau/operation/reports/{report_id}")
def report_page(request: Request, report_id: int, user: PageUserDep) -> Response:
    return _report_page(request, user, report_id)


@router.post("/bureau/operation/reports/{report_id}/review")
def review_form(
    request: Request,
    report_id: int,
    user: PageUserDep,
    decision: FormText = "",
    reason: FormText = "",
) -> Response:
    """Accept, or return with a reason (required): a missing reason is shown at its field."""
    try:
        _service(user).review(user.access, report_id, decision, reason)
    except ValidationError as exc:
        field = str(exc.details.get("field") or "")
        message = user.tr.error(exc.code, exc.message)
        errors = {field: message} if field in ("decision", "reason") else {}
        return _report_page(
            request,
            user,
            report_id,
            form={"decision": decision, "reason": reason},
            errors=errors,
            notice="" if errors else message,
            status=exc.http_status,
        )
    except ConflictError as exc:
        message = user.tr.error(exc.code, exc.message)
        return _report_page(request, user, report_id, notice=message, status=exc.http_status)
    verdict = "accept" if decision == "accept" else "return"
    return RedirectResponse(f"/bureau/operation?done={verdict}", status_code=303)


# -- lists across enterprises ------------------------------------------------------------------


@router.get("/bureau/operation/reports")
def reports_page(
    request: Request, user: PageUserDep, month: Text = "", park: Text = "", state: Text = ""
) -> Response:
    park_id = _park(park)
    chosen = _month(user, month)
    context = _context(user, park_id)
    rows = _service(user).list_reports(user.access, chosen, park_id, state or None)
    context |= {
        "rows": rows,
        "month": chosen,
        "state": state,
        "filter_states": FILTER_STATES,
    }
    return render(request, user, "bureau/operation/reports.html", context)


@router.get("/bureau/operation/missing")
def missing_page(
    request: Request, user: PageUserDep, month: Text = "", park: Text = ""
) -> Response:
    park_id = _park(park)
    chosen = _month(user, month)
    context = _context(user, park_id)
    service = _service(user)
    context |= {
        "rows": service.due(user.access, chosen, park_id),
        "reminders": service.reminders(user.access, chosen, park_id),
        "month": chosen,
        "deadline": service.deadline(chosen),
    }
    return render(request, user, "bureau/operation/missing.html", context)


@router.get("/bureau/operation/warnings")
def warnings_page(
    request: Request, user: PageUserDep, park: Text = "", cleared: Text = ""
) -> Response:
    park_id = _park(park)
    context = _context(user, park_id)
    found = _service(user).warnings(user.access, park_id, include_cleared=cleared == "1")
    context |= {"rows": found, "cleared": cleared == "1"}
    return render(request, user, "bureau/operation/warnings.html", context)


@router.post("/bureau/operation/warnings/{warning_id}/ack")
def acknowledge_form(warning_id: int, user: PageUserDep) -> Response:
    _service(user).acknowledge(user.access, warning_id)
    return RedirectResponse(f"/bureau/operation/warnings#w{warning_id}", status_code=303)


@router.get("/bureau/operation/watch")
def watch_page(request: Request, user: PageUserDep, month: Text = "", park: Text = "") -> Response:
    """The key enterprises' month: each figure with 同比 and 环比, the state, the warnings."""
    park_id = _park(park)
    chosen = _month(user, month)
    context = _context(user, park_id)
    context |= {"rows": _service(user).watch(user.access, chosen, park_id), "month": chosen}
    return render(request, user, "bureau/operation/watch.html", context)


# -- the monthly operation report --------------------------------------------------------------


def _kept_page(
    request: Request, user: PageUser, notice: str = "", month: str = "", status: int = 200
) -> Response:
    service = _service(user)
    context = _context(user)
    context |= {
        "kept": service.kept_reports(user.access),
        "month": month or service.due_month(),
        "notice": notice,
    }
    return render(
        request, user, "bureau/operation/monthly_report.html", context, status_code=status
    )


@router.get("/bureau/operation/monthly-report")
def kept_page(request: Request, user: PageUserDep) -> Response:
    return _kept_page(request, user)


@router.post("/bureau/operation/monthly-report")
def generate_form(request: Request, user: PageUserDep, month: FormText = "") -> Response:
    """Generate and keep the month's report now (the bureau); it is listed with the others."""
    try:
        _service(user).generate_as(user.access, month)
    except ValidationError as exc:
        message = user.tr.error(exc.code, exc.message)
        return _kept_page(request, user, message, month, exc.http_status)
    return RedirectResponse("/bureau/operation/monthly-report", status_code=303)
