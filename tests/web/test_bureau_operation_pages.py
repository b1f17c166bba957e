"""Monthly operation's pages: an enterprise files its report (field errors in the user's
language, drafts, submission, a returned report's reason, an accepted one read-only) and imports
a workbook; the park's official and then the bureau review from their queues (a return needs a
reason); the district's lists, warnings with acknowledgement, the watch table and the monthly
operation report."""

from __future__ import annotations

import io

from httpx import Response
from openpyxl import load_workbook  # type: ignore[import-untyped]

from shugu.web.i18n import LANG_COOKIE
from tests.web.conftest import World, sign_in

MONTH = "2026-11"
FULL = {
    "output_value_wan": "1200",
    "revenue_wan": "1100",
    "profit_wan": "-35.5",
    "power_kwh": "80000",
    "staff": "210",
    "new_orders_wan": "900",
    "note": "十一月",
}


def _file(w: World, fields: dict[str, str], action: str = "save", month: str = MONTH) -> Response:
    csrf = w.client.cookies.get("shugu_csrf")
    return w.client.post(
        f"/e/{w.ent_a}/monthly-reports/{month}",
        data={**fields, "action": action, "csrf_token": csrf or ""},
        follow_redirects=False,
    )


def _submitted_by_a(w: World) -> int:
    sign_in(w.client, "admin_a")
    answer = _file(w, FULL, "submit")
    assert answer.status_code == 303, answer.text
    report = w.registry.monthly_report(w.ent_a, MONTH)
    assert report is not None and report.state == "submitted"
    return report.id


def _review(w: World, report_id: int, decision: str, reason: str = "") -> Response:
    csrf = w.client.cookies.get("shugu_csrf")
    return w.client.post(
        f"/bureau/operation/reports/{report_id}/review",
        data={"decision": decision, "reason": reason, "csrf_token": csrf or ""},
        follow_redirects=False,
    )


def test_a_bad_figure_is_shown_at_its_field_in_the_user_s_language(world: World) -> None:
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/e/{world.ent_a}/monthly-reports/{MONTH}")
    assert page.status_code == 200 and 'data-testid="report-form"' in page.text
    answer = _file(world, FULL | {"staff": "210.5"})
    assert answer.status_code == 422
    text = answer.text
    assert 'id="e-staff"' in text and "人数为整数" in text
    assert 'value="1200"' in text  # what was typed is kept
    assert world.registry.monthly_report(world.ent_a, MONTH) is None
    world.client.cookies.set(LANG_COOKIE, "en")
    english = _file(world, FULL | {"power_kwh": "lots"})
    assert 'id="e-power_kwh"' in english.text
    assert "A figure of the monthly report is not plausible" in english.text


def test_a_draft_is_saved_and_submitting_it_incomplete_names_the_missing_figure(
    world: World,
) -> None:
    sign_in(world.client, "admin_a")
    partial = {k: v for k, v in FULL.items() if k != "new_orders_wan"}
    saved = _file(world, partial)
    assert saved.status_code == 303
    page = world.client.get(saved.headers["location"])
    assert "已保存为草稿" in page.text and "草稿" in page.text
    refused = _file(world, partial, "submit")
    assert refused.status_code == 422
    assert 'id="e-new_orders_wan"' in refused.text
    assert "提交前请填写所有数据项" in refused.text
    report = world.registry.monthly_report(world.ent_a, MONTH)
    assert report is not None and report.state == "draft"


def test_a_return_without_a_reason_is_refused_at_the_reason_field(world: World) -> None:
    report_id = _submitted_by_a(world)
    sign_in(world.client, "park_official")
    queue = world.client.get("/bureau/operation")
    assert queue.status_code == 200
    assert 'data-testid="queue-item"' in queue.text and "甲纺织" in queue.text
    assert 'data-testid="checks"' in queue.text  # reported beside measured
    refused = _review(world, report_id, "return", "   ")
    assert refused.status_code == 422
    assert 'id="e-reason"' in refused.text and "退回时请说明理由" in refused.text
    report = world.registry.monthly_report_by_id(report_id)
    assert report.state == "submitted"


def test_a_returned_report_shows_why_and_can_be_corrected(world: World) -> None:
    report_id = _submitted_by_a(world)
    sign_in(world.client, "park_official")
    answer = _review(world, report_id, "return", "用电量与电表相差过大，请核实")
    assert answer.status_code == 303
    assert "月报已连同退回原因退回企业" in world.client.get(answer.headers["location"]).text
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/e/{world.ent_a}/monthly-reports/{MONTH}")
    assert 'data-testid="return-reason"' in page.text and "请核实" in page.text
    assert 'data-testid="report-form"' in page.text
    history = world.client.get(f"/e/{world.ent_a}/monthly-reports")
    assert "已退回" in history.text and "请核实" in history.text


def test_the_park_then_the_bureau_accept_and_the_report_is_read_only(world: World) -> None:
    report_id = _submitted_by_a(world)
    sign_in(world.client, "bureau")
    # Not at the bureau's stage yet: it is not in the bureau's queue and its page has no form.
    assert "甲纺织" not in world.client.get("/bureau/operation").text
    detail = world.client.get(f"/bureau/operation/reports/{report_id}")
    assert detail.status_code == 200 and f"review-form-{report_id}" not in detail.text
    sign_in(world.client, "park_official")
    assert _review(world, report_id, "accept").status_code == 303
    sign_in(world.client, "bureau")
    assert "甲纺织" in world.client.get("/bureau/operation").text
    assert _review(world, report_id, "accept").status_code == 303
    assert world.registry.monthly_report_by_id(report_id).state == "accepted"
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/e/{world.ent_a}/monthly-reports/{MONTH}")
    assert 'data-testid="report-form"' not in page.text and "数据已定稿" in page.text
    steps = page.text.split('data-testid="events"')[1]
    assert steps.index("已提交") < steps.index("园区审核通过") < steps.index("区局审核通过")
    assert _file(world, FULL).status_code == 409


def test_another_park_s_official_and_other_enterprises_find_no_report(world: World) -> None:
    report_id = _submitted_by_a(world)
    sign_in(world.client, "park_other")
    assert world.client.get(f"/bureau/operation/reports/{report_id}").status_code == 404
    assert "甲纺织" not in world.client.get("/bureau/operation").text
    sign_in(world.client, "viewer_a")
    assert world.client.get("/bureau/operation").status_code == 403
    assert world.client.get(f"/e/{world.ent_b}/monthly-reports").status_code == 404


def test_a_workbook_imports_good_rows_and_lists_bad_ones_by_row(world: World) -> None:
    sign_in(world.client, "admin_a")
    template = world.client.get(f"/api/enterprises/{world.ent_a}/monthly-reports-template")
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    sheet = book.active
    uscc = world.registry.get_enterprise(world.ent_a).uscc
    sheet.append([uscc, "2026-10", 1000, 900, 50, 70000, 200, 800, "十月"])
    sheet.append([uscc, "2026-09", 1000, 900, 50, 70000, 12.5, 800, ""])
    bad_row = sheet.max_row
    data = io.BytesIO()
    book.save(data)
    csrf = world.client.cookies.get("shugu_csrf") or ""
    answer = world.client.post(
        f"/e/{world.ent_a}/monthly-reports-import",
        data={"csrf_token": csrf},
        files={"upload": ("reports.xlsx", data.getvalue())},
    )
    assert answer.status_code == 200
    assert 'data-testid="import-errors"' in answer.text
    assert f'<td class="num">{bad_row}</td>' in answer.text and "从业人员" in answer.text
    assert world.registry.monthly_report(world.ent_a, "2026-10") is not None
    assert world.registry.monthly_report(world.ent_a, "2026-09") is None
    unreadable = world.client.post(
        f"/e/{world.ent_a}/monthly-reports-import",
        data={"csrf_token": csrf},
        files={"upload": ("reports.xlsx", b"not a workbook")},
    )
    assert unreadable.status_code == 422 and "无法读取该文件" in unreadable.text


def test_the_district_lists_warnings_watch_table_and_monthly_report(world: World) -> None:
    world.registry.update_enterprise_file(world.ent_a, {"key_enterprise": True})
    report_id = _submitted_by_a(world)
    warning, _ = world.registry.raise_warning(
        world.ent_a,
        "output_value_yoy_down",
        MONTH,
        {"output_value_yoy_pct": -25.0},
        world.registry.monthly_report_by_id(report_id).created_at.date(),
    )
    sign_in(world.client, "park_official")
    warnings = world.client.get("/bureau/operation/warnings")
    assert "工业总产值同比下降超过 20%" in warnings.text and "同比（%）" in warnings.text
    assert f"/bureau/operation/warnings/{warning.id}/ack" not in warnings.text
    sign_in(world.client, "bureau")
    reports = world.client.get(f"/bureau/operation/reports?month={MONTH}&state=submitted")
    assert "甲纺织" in reports.text
    assert "乙数据中心" in world.client.get(f"/bureau/operation/missing?month={MONTH}").text
    watch = world.client.get(f"/bureau/operation/watch?month={MONTH}")
    assert 'data-testid="watch"' in watch.text and "甲纺织" in watch.text
    assert "工业总产值同比下降超过 20%" in watch.text
    csrf = world.client.cookies.get("shugu_csrf") or ""
    ack = world.client.post(
        f"/bureau/operation/warnings/{warning.id}/ack",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert ack.status_code == 303
    assert world.registry.get_warning(warning.id).acknowledged_by == "bureau"
    made = world.client.post(
        "/bureau/operation/monthly-report",
        data={"month": MONTH, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303
    kept = world.client.get("/bureau/operation/monthly-report")
    assert f"/api/region/operation-reports/{MONTH}.pdf?report=operation" in kept.text
    # The project library's summary is generated and kept beside it.
    assert f"/api/region/operation-reports/{MONTH}.pdf?report=projects" in kept.text
    listed = world.client.get("/api/region/operation-reports").json()
    assert sorted(r["report"] for r in listed if r["month"] == MONTH) == ["operation", "projects"]
    summary = world.client.get(f"/api/region/operation-reports/{MONTH}.pdf?report=projects")
    assert summary.status_code == 200 and summary.content.startswith(b"%PDF")
    unknown = world.client.get(f"/api/region/operation-reports/{MONTH}.pdf?report=payroll")
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "report_unknown"
    bad = world.client.post(
        "/bureau/operation/monthly-report", data={"month": "2026-13", "csrf_token": csrf}
    )
    assert bad.status_code == 422 and "YYYY-MM" in bad.text


def test_the_pages_speak_english_by_the_switch(world: World) -> None:
    sign_in(world.client, "bureau")
    world.client.cookies.set(LANG_COOKIE, "en")
    page = world.client.get("/bureau/operation")
    assert "Review queue" in page.text and "Monthly operation" in page.text
    assert "待审核" not in page.text
