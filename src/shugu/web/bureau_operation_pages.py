"""An enterprise's monthly reports (企业月报) in the console: the month's form (figures with
their units and a note; saved as a draft, submitted for review; a returned report shows why, an
accepted one is read-only), the history with every review step, its reminders, and the XLSX
template and import with the row-by-row report.

The pages call the same service as ``/api/enterprises/{id}/monthly-reports*``
(``region/operation/service.py``), which decides who may do what. The park's and the bureau's
pages are in ``bureau_operation_review.py``.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import ConflictError, ValidationError
from shugu.region.operation import months
from shugu.region.operation.figures import FIGURES
from shugu.region.operation.imports import ImportResult
from shugu.region.operation.review import EDITABLE
from shugu.region.operation.service import OperationService
from shugu.store.registry.region_operation import MonthlyReportRecord
from shugu.web.bureau_operation_text import labels
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)
FormText = Annotated[str, Form()]
#: An XLSX of a year of monthly reports is a few dozen kB.
MAX_UPLOAD_BYTES: Final = 5 * 1024 * 1024
#: What a form's redirect tells the page it lands on.
NOTICES: Final = ("saved", "submitted")


def _service(user: PageUser) -> OperationService:
    return user.services.region.operation


def _fields(report: MonthlyReportRecord | None) -> dict[str, str]:
    """The form's values from a saved report (empty for a month not yet started)."""
    if report is None:
        return {}
    values = {f.key: getattr(report.figures, f.key) for f in FIGURES}
    out = {key: "" if value is None else f"{value:g}" for key, value in values.items()}
    return out | {"note": report.figures.note}


def _last_return(report: MonthlyReportRecord | None) -> str:
    if report is None or report.state != "returned":
        return ""
    returns = [e for e in report.events if e.kind == "returned"]
    return returns[-1].reason if returns else ""


def _form_page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    month: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    service = _service(user)
    month = months.parse_month(month)
    enterprise = service.enterprise(user.access, enterprise_id)
    report = service.report(user.access, enterprise_id, month)
    if (
        report is not None
        and report.state == "draft"
        and not (user.principal.is_member_of(enterprise_id))
    ):
        report = None  # a draft is the enterprise's own until it is submitted
    may_file = user.access.can_file_for(enterprise_id)
    context = {
        **labels(user),
        "enterprise": enterprise,
        "month": month,
        "previous_month": months.shift(month, -1),
        "next_month": months.shift(month, 1),
        "report": report,
        "state": "none" if report is None else report.state,
        "deadline": service.deadline(month),
        "editable": may_file and (report is None or report.state in EDITABLE),
        "form": form if form is not None else _fields(report),
        "errors": errors or {},
        "notice": notice,
        "return_reason": _last_return(report),
    }
    return render(request, user, "bureau/operation/report_form.html", context, status_code=status)


def _history_page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    *,
    result: ImportResult | None = None,
    upload_error: str = "",
    status: int = 200,
) -> Response:
    service = _service(user)
    enterprise = service.enterprise(user.access, enterprise_id)
    context = {
        **labels(user),
        "enterprise": enterprise,
        "reports": service.history(user.access, enterprise_id),
        "reminders": service.own_reminders(user.access, enterprise_id),
        "due_month": service.due_month(),
        "deadline_of": service.deadline,
        "may_file": user.access.can_file_for(enterprise_id),
        "result": result,
        "upload_error": upload_error,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, user, "bureau/operation/history.html", context, status_code=status)


@router.get("/e/{enterprise_id}/monthly-reports")
def history_page(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    month: Annotated[str, Query()] = "",
) -> Response:
    """The enterprise's reports, newest month first; ``?month=`` opens a month's form."""
    if month:
        _service(user).enterprise(user.access, enterprise_id)
        chosen = months.parse_month(month)
        return RedirectResponse(f"/e/{enterprise_id}/monthly-reports/{chosen}", status_code=303)
    return _history_page(request, user, enterprise_id)


@router.get("/e/{enterprise_id}/monthly-reports/{month}")
def report_page(
    request: Request,
    enterprise_id: int,
    month: str,
    user: PageUserDep,
    done: Annotated[str, Query()] = "",
) -> Response:
    return _form_page(request, user, enterprise_id, month, notice=done if done in NOTICES else "")


@router.post("/e/{enterprise_id}/monthly-reports/{month}")
def report_form(
    request: Request,
    enterprise_id: int,
    month: str,
    user: PageUserDep,
    action: FormText = "save",
    output_value_wan: FormText = "",
    revenue_wan: FormText = "",
    profit_wan: FormText = "",
    power_kwh: FormText = "",
    staff: FormText = "",
    new_orders_wan: FormText = "",
    note: FormText = "",
) -> Response:
    """Save the figures as the month's draft; with ``action=submit``, then submit them. A bad
    figure is shown at its field in the user's language, with what was typed kept."""
    form = {
        "output_value_wan": output_value_wan,
        "revenue_wan": revenue_wan,
        "profit_wan": profit_wan,
        "power_kwh": power_kwh,
        "staff": staff,
        "new_orders_wan": new_orders_wan,
        "note": note,
    }
    service = _service(user)
    month = months.parse_month(month)
    try:
        service.save(user.access, enterprise_id, month, form)
        if action == "submit":
            service.submit(user.access, enterprise_id, month)
    except ValidationError as exc:
        field = str(exc.details.get("field") or "")
        message = user.tr.error(exc.code, exc.message)
        errors = {field: message} if field in form else {}
        return _form_page(
            request,
            user,
            enterprise_id,
            month,
            form=form,
            errors=errors,
            notice="" if errors else message,
            status=exc.http_status,
        )
    except ConflictError as exc:
        message = user.tr.error(exc.code, exc.message)
        return _form_page(
            request, user, enterprise_id, month, notice=message, status=exc.http_status
        )
    done = "submitted" if action == "submit" else "saved"
    return RedirectResponse(
        f"/e/{enterprise_id}/monthly-reports/{month}?done={done}", status_code=303
    )


@router.post("/e/{enterprise_id}/monthly-reports-import")
def import_form(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """An uploaded workbook imported as drafts: every good row kept, every bad row reported by
    its row number and reason (the history page shows which)."""
    try:
        data = upload.file.read(MAX_UPLOAD_BYTES + 1) if upload is not None else b""
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValidationError(
                f"an upload has at most {MAX_UPLOAD_BYTES} bytes", code="payload_too_large"
            )
        result = _service(user).import_reports(user.access, enterprise_id, data)
    except ValidationError as exc:
        message = user.tr.error(exc.code, exc.message)
        return _history_page(
            request, user, enterprise_id, upload_error=message, status=exc.http_status
        )
    return _history_page(request, user, enterprise_id, result=result)
