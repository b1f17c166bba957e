"""Route-matrix rows of monthly operation (经济运行监测): an enterprise's reports are its
people's, its park official's and the bureau's; its administrators file them (A's, here: no
role of the matrix administers B); the official of the enterprise's park reviews first and the
bureau second; lists across enterprises are the bureau's and, for their own park, the park
officials'. The operator runs the platform and sees none of it."""

from __future__ import annotations

from datetime import date

from shugu.store.registry.region_operation import ReportFigures
from tests.api.conftest import World
from tests.api.matrix_rows import HIDDEN, Row

MONTH = "2026-11"
FIGURES = ReportFigures(1200.0, 1100.0, -35.5, 80000.0, 210, 900.0, "")
BODY = {
    "output_value_wan": 1200,
    "revenue_wan": 1100,
    "profit_wan": -35.5,
    "power_kwh": 80000,
    "staff": 210,
    "new_orders_wan": 900,
    "note": "",
}
#: B's reports: B's people (none in the matrix), its park's official, the bureau.
B_REPORTS = HIDDEN | {"operator": 403}
#: Filing A's reports: A's administrators.
A_FILING = {
    "anonymous": 401,
    "viewer_a": 403,
    "park_official": 403,
    "park_other": 404,
    "bureau": 403,
    "operator": 403,
}
#: Across enterprises: the bureau, and a park official narrowed to its own park.
OVERSEERS = {"anonymous": 401, "viewer_a": 403, "admin_a": 403, "operator": 403}
BUREAU_ONLY = {
    "anonymous": 401,
    "viewer_a": 403,
    "admin_a": 403,
    "park_official": 403,
    "park_other": 403,
    "operator": 403,
}


def _draft(w: World, enterprise_id: int) -> int:
    report = w.registry.save_monthly_report(
        enterprise_id, MONTH, FIGURES, by="setup", role="enterprise_admin"
    )
    return report.id


def _submitted(w: World, enterprise_id: int) -> int:
    report_id = _draft(w, enterprise_id)
    w.registry.move_monthly_report(
        report_id, expected=("draft",), to="submitted", by="setup", role="enterprise_admin"
    )
    return report_id


def _b_submitted(w: World) -> dict[str, int]:
    return {"report": _submitted(w, w.ent_b)}


def _a_draft(w: World) -> dict[str, int]:
    return {"report": _draft(w, w.ent_a)}


def _b_warning(w: World) -> dict[str, int]:
    record, _ = w.registry.raise_warning(
        w.ent_b, "report_overdue", MONTH, {"report_days_overdue": 3}, date(2026, 12, 11)
    )
    return {"warning": record.id}


def _kept(w: World) -> dict[str, int]:
    w.registry.save_operation_report(MONTH, b"xlsx", b"%PDF-", "setup")
    return {}


ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/api/enterprises/{enterprise_id}/monthly-reports"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/monthly-reports", B_REPORTS, setup=_b_submitted
    ),
    ("GET", "/api/enterprises/{enterprise_id}/monthly-reports/{month}"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/monthly-reports/{MONTH}",
        B_REPORTS,
        setup=_b_submitted,
    ),
    ("PUT", "/api/enterprises/{enterprise_id}/monthly-reports/{month}"): Row(
        lambda w: f"/api/enterprises/{w.ent_a}/monthly-reports/{MONTH}",
        A_FILING,
        body=lambda w: BODY,
    ),
    ("POST", "/api/enterprises/{enterprise_id}/monthly-reports/{month}/submit"): Row(
        lambda w: f"/api/enterprises/{w.ent_a}/monthly-reports/{MONTH}/submit",
        A_FILING,
        setup=_a_draft,
    ),
    ("POST", "/api/monthly-reports/{report_id}/review"): Row(
        lambda w: "/api/monthly-reports/{report}/review",
        # The park's official accepts first, then the bureau: both 2xx in the matrix's order.
        HIDDEN | {"operator": 403},
        body=lambda w: {"decision": "accept"},
        setup=_b_submitted,
    ),
    ("GET", "/api/enterprises/{enterprise_id}/monthly-reports-template"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/monthly-reports-template", B_REPORTS
    ),
    ("POST", "/api/enterprises/{enterprise_id}/monthly-reports/import"): Row(
        lambda w: f"/api/enterprises/{w.ent_a}/monthly-reports/import",
        # A's administrator is let in and the empty body is refused as no XLSX file.
        A_FILING | {"admin_a": 422},
    ),
    ("GET", "/api/region/monthly-reports"): Row(
        lambda w: f"/api/region/monthly-reports?month={MONTH}", OVERSEERS, setup=_b_submitted
    ),
    ("GET", "/api/region/monthly-reports/queue"): Row(
        lambda w: "/api/region/monthly-reports/queue", OVERSEERS, setup=_b_submitted
    ),
    ("GET", "/api/region/monthly-reports/missing"): Row(
        lambda w: f"/api/region/monthly-reports/missing?month={MONTH}", OVERSEERS
    ),
    ("GET", "/api/region/monthly-reports/missing/export.xlsx"): Row(
        lambda w: f"/api/region/monthly-reports/missing/export.xlsx?month={MONTH}", OVERSEERS
    ),
    ("GET", "/api/region/monthly-reports/reminders"): Row(
        lambda w: "/api/region/monthly-reports/reminders", OVERSEERS
    ),
    ("GET", "/api/region/warnings"): Row(
        lambda w: "/api/region/warnings", OVERSEERS, setup=_b_warning
    ),
    ("GET", "/api/region/warnings/export.xlsx"): Row(
        lambda w: "/api/region/warnings/export.xlsx", OVERSEERS, setup=_b_warning
    ),
    ("POST", "/api/region/warnings/{warning_id}/ack"): Row(
        lambda w: "/api/region/warnings/{warning}/ack",
        HIDDEN | {"park_official": 403, "operator": 403},
        setup=_b_warning,
    ),
    ("POST", "/api/region/warnings/scan"): Row(
        lambda w: f"/api/region/warnings/scan?month={MONTH}", BUREAU_ONLY
    ),
    ("GET", "/api/region/key-enterprises"): Row(
        lambda w: f"/api/region/key-enterprises?month={MONTH}", OVERSEERS
    ),
    ("GET", "/api/region/operation-report"): Row(
        lambda w: f"/api/region/operation-report?month={MONTH}", OVERSEERS
    ),
    ("GET", "/api/region/operation-reports"): Row(
        lambda w: "/api/region/operation-reports", OVERSEERS, setup=_kept
    ),
    ("POST", "/api/region/operation-reports/{month}"): Row(
        lambda w: f"/api/region/operation-reports/{MONTH}", BUREAU_ONLY
    ),
    ("GET", "/api/region/operation-reports/{month}.{kind}"): Row(
        lambda w: f"/api/region/operation-reports/{MONTH}.pdf", BUREAU_ONLY, setup=_kept
    ),
}
