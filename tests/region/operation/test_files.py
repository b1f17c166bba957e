"""XLSX filing round trip with bad rows, the exports, and the PDF as it renders."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from shugu.domain.errors import ValidationError
from tests.region.operation.conftest import OpWorld, accepted, filed

A_USCC = "91110000600037341L"
B_USCC = "91110108551385082Q"
HEADERS = [
    "统一社会信用代码",
    "月份",
    "工业总产值（万元）",
    "营业收入（万元）",
    "利润总额（万元）",
    "用电量（千瓦时）",
    "从业人员（人）",
    "新增订单（万元）",
    "备注",
]
INDUSTRIES = ["17 纺织业", "39 计算机、通信和其他电子设备制造业", "未分类"]


def _sheet(rows: list[list[object]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_template_filled_in_imports(op: OpWorld) -> None:
    book = load_workbook(io.BytesIO(op.service.template("zh")))
    ws = book.active
    headers = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert str(headers[0]).startswith("统一社会信用代码") and len(headers) == 9
    ws.append([A_USCC, "2026-11", 1200, 1100, -35.5, 80000, 210, 900, "模板"])
    out = io.BytesIO()
    book.save(out)
    result = op.service.import_reports(op.as_("admin_a"), op.ent_a, out.getvalue())
    assert (result.saved, result.errors) == (1, [])
    report = op.registry.monthly_report(op.ent_a, "2026-11")
    assert report is not None and report.figures.note == "模板" and report.figures.staff == 210


def test_an_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(op: OpWorld) -> None:
    data = _sheet(
        [
            [A_USCC, "2026-10", 1000, 900, 50, 70000, 200, 800, "十月"],
            [A_USCC, "2026-11", 1200, 1100, -35.5, 80000, 210, 900, None],
            [B_USCC, "2026-11", 1, 1, 1, 1, 1, 1, None],  # not A's
            [A_USCC, "2026-13", 1, 1, 1, 1, 1, 1, None],  # no such month
            [A_USCC, "2026-09", 1, -5, 1, 1, 2.5, 1, None],  # negative revenue, half a person
            [A_USCC, "2026-11", 1, 1, 1, 1, 1, 1, None],  # the same key again
        ]
    )
    admin = op.as_("admin_a")
    result = op.service.import_reports(admin, op.ent_a, data)
    assert result.saved == 2 and result.unchanged == 0
    bad = {(e.number, e.column) for e in result.errors}
    assert (4, "uscc") in bad and (5, "month") in bad and (7, "") in bad
    assert {n for n, _ in bad} == {4, 5, 6, 7}
    assert all(e.message_zh and e.message_en for e in result.errors)
    november = op.registry.monthly_report(op.ent_a, "2026-11")
    assert november is not None and november.figures.profit_wan == -35.5
    assert november.state == "draft" and november.events[-1].kind == "imported"
    again = op.service.import_reports(admin, op.ent_a, data)
    assert again.saved == 0 and again.unchanged == 2
    assert len(op.registry.list_monthly_reports(enterprise_ids=[op.ent_a])) == 2


def test_an_import_does_not_touch_a_submitted_month(op: OpWorld) -> None:
    filed(op, "a", "2026-11")
    result = op.service.import_reports(
        op.as_("admin_a"), op.ent_a, _sheet([[A_USCC, "2026-11", 1, 1, 1, 1, 1, 1, None]])
    )
    assert result.saved == 0 and [e.code for e in result.errors] == ["report_locked"]


def test_a_file_that_is_no_workbook_is_refused_whole(op: OpWorld) -> None:
    with pytest.raises(ValidationError) as caught:
        op.service.import_reports(op.as_("admin_a"), op.ent_a, b"not a workbook")
    assert caught.value.code.startswith("xlsx_")


def test_the_watch_list_and_its_export(op: OpWorld) -> None:
    accepted(op, "a", "2025-11", output_value_wan=1000.0)
    accepted(op, "a", "2026-10", output_value_wan=1100.0)
    filed(op, "a", "2026-11", output_value_wan=1210.0)
    rows = op.service.watch(op.as_("bureau"), "2026-11")
    assert [r.enterprise.id for r in rows] == [op.ent_a]  # the one key enterprise
    cell = rows[0].figures["output_value_wan"]
    assert (cell.value, cell.yoy_pct, cell.mom_pct) == (1210.0, 21.0, 10.0)
    ws = load_workbook(io.BytesIO(op.service.watch_xlsx(op.as_("bureau"), "2026-11", "zh"))).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row]
    assert "甲纺织" in values and 1210 in values


def test_the_district_report_sums_by_park_and_industry(op: OpWorld) -> None:
    accepted(op, "a", "2025-11", output_value_wan=1000.0)
    filed(op, "a", "2026-11", output_value_wan=1500.0)
    filed(op, "c", "2026-11", output_value_wan=300.0)
    summary = op.service.summary(op.as_("bureau"), "2026-11")
    assert summary.district.sums["output_value_wan"] == 1800.0
    assert summary.district.yoy_pct("output_value_wan") == 50.0  # only A filed both years
    assert {g.label: g.filed for g in summary.by_park} == {"长乐纺织园": 1, "滨海数据园": 1}
    assert [g.label for g in summary.by_industry] == INDUSTRIES
    book = load_workbook(
        io.BytesIO(op.service.summary_file(op.as_("bureau"), "2026-11", "xlsx", "en"))
    )
    assert len(book.sheetnames) == 6


def test_the_pdf_renders_chinese_on_a_page(op: OpWorld, tmp_path: Path) -> None:
    accepted(op, "a", "2025-11", output_value_wan=1000.0)
    filed(op, "a", "2026-11", output_value_wan=1500.0)
    op.service.scan("2026-11")
    pdf = op.service.summary_file(op.as_("bureau"), "2026-11", "pdf", "zh")
    assert pdf.startswith(b"%PDF") and b"WenQuanYi" in pdf
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed")
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "30", str(tmp_path / "report.pdf"), str(tmp_path / "page")],
        check=True,
    )
    assert sorted(p.name for p in tmp_path.glob("page*.png"))
