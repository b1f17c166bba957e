"""Page-matrix rows of monthly operation (经济运行监测), as in the API's rows
(tests/api/matrix_region_operation.py): B's reports are its people's, its park official's and
the bureau's (A's users and another park's official find them missing; the operator is
refused); A's administrators file A's; the lists across enterprises are the bureau's and, for
their own park, the park officials'; acknowledging and generating are the bureau's.

The matrix sets up once per role, so the setups here find what an earlier role left."""

from __future__ import annotations

from datetime import date

from tests.api.conftest import World
from tests.api.matrix_region_operation import FIGURES, MONTH
from tests.web.page_matrix import HIDDEN, SIGN_IN, PageRow

B_REPORTS = HIDDEN | {"operator": 403}
A_FILING = SIGN_IN | {
    "viewer_a": 403,
    "park_official": 403,
    "park_other": 404,
    "bureau": 403,
    "operator": 403,
}
OVERSEERS = SIGN_IN | {"viewer_a": 403, "admin_a": 403, "operator": 403}
BUREAU_ONLY = SIGN_IN | {
    "viewer_a": 403,
    "admin_a": 403,
    "park_official": 403,
    "park_other": 403,
    "operator": 403,
}
FORM = {
    "action": "save",
    "output_value_wan": "1200",
    "revenue_wan": "1100",
    "profit_wan": "-35.5",
    "power_kwh": "80000",
    "staff": "210",
    "new_orders_wan": "900",
    "note": "",
}


def b_submitted(w: World) -> dict[str, int]:
    """B's report for MONTH, submitted (once; later roles find it as review left it)."""
    found = w.registry.monthly_report(w.ent_b, MONTH)
    if found is not None:
        return {"report": found.id}
    report = w.registry.save_monthly_report(
        w.ent_b, MONTH, FIGURES, by="setup", role="enterprise_admin"
    )
    w.registry.move_monthly_report(
        report.id, expected=("draft",), to="submitted", by="setup", role="enterprise_admin"
    )
    return {"report": report.id}


def b_warning(w: World) -> dict[str, int]:
    record, _ = w.registry.raise_warning(
        w.ent_b, "report_overdue", MONTH, {"report_days_overdue": 3}, date(2026, 12, 11)
    )
    return {"warning": record.id}


ROWS: list[PageRow] = [
    # -- an enterprise's own -------------------------------------------------------------------
    PageRow(
        "GET",
        "/e/{enterprise_id}/monthly-reports",
        lambda w, o: f"/e/{w.ent_b}/monthly-reports",
        B_REPORTS,
        setup=b_submitted,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/monthly-reports/{month}",
        lambda w, o: f"/e/{w.ent_b}/monthly-reports/{MONTH}",
        B_REPORTS,
        setup=b_submitted,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/monthly-reports/{month}",
        lambda w, o: f"/e/{w.ent_a}/monthly-reports/{MONTH}",
        A_FILING,
        form=lambda w, o: FORM,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/monthly-reports-import",
        lambda w, o: f"/e/{w.ent_a}/monthly-reports-import",
        # A's administrator is let in, and a form without a workbook is refused as no XLSX.
        A_FILING | {"admin_a": 422},
        form=lambda w, o: {},
    ),
    # -- the park's and the bureau's -----------------------------------------------------------
    PageRow(
        "GET", "/bureau/operation", lambda w, o: "/bureau/operation", OVERSEERS, setup=b_submitted
    ),
    PageRow(
        "GET",
        "/bureau/operation/reports/{report_id}",
        lambda w, o: f"/bureau/operation/reports/{o['report']}",
        B_REPORTS,
        setup=b_submitted,
    ),
    PageRow(
        "POST",
        "/bureau/operation/reports/{report_id}/review",
        lambda w, o: f"/bureau/operation/reports/{o['report']}/review",
        # The park's official accepts first, then the bureau: both succeed in the matrix's order.
        B_REPORTS,
        form=lambda w, o: {"decision": "accept", "reason": ""},
        setup=b_submitted,
    ),
    PageRow(
        "GET",
        "/bureau/operation/reports",
        lambda w, o: f"/bureau/operation/reports?month={MONTH}&state=submitted",
        OVERSEERS,
        setup=b_submitted,
    ),
    PageRow(
        "GET",
        "/bureau/operation/missing",
        lambda w, o: f"/bureau/operation/missing?month={MONTH}",
        OVERSEERS,
    ),
    PageRow(
        "GET",
        "/bureau/operation/warnings",
        lambda w, o: "/bureau/operation/warnings?cleared=1",
        OVERSEERS,
        setup=b_warning,
    ),
    PageRow(
        "POST",
        "/bureau/operation/warnings/{warning_id}/ack",
        lambda w, o: f"/bureau/operation/warnings/{o['warning']}/ack",
        HIDDEN | {"park_official": 403, "operator": 403},
        form=lambda w, o: {},
        setup=b_warning,
    ),
    PageRow(
        "GET",
        "/bureau/operation/watch",
        lambda w, o: f"/bureau/operation/watch?month={MONTH}",
        OVERSEERS,
        setup=b_submitted,
    ),
    PageRow(
        "GET",
        "/bureau/operation/monthly-report",
        lambda w, o: "/bureau/operation/monthly-report",
        OVERSEERS,
    ),
    PageRow(
        "POST",
        "/bureau/operation/monthly-report",
        lambda w, o: "/bureau/operation/monthly-report",
        BUREAU_ONLY,
        form=lambda w, o: {"month": MONTH},
    ),
]
