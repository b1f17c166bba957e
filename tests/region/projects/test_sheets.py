"""The project library in Excel: the templates filled in and read back, bad rows reported by
their Excel row number with the reason, good rows kept, a second import changing nothing; the
exports open."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from shugu.region.projects import sheets
from shugu.region.sheets import template
from tests.region.projects.conftest import Place


def _filled(spec_key: str, rows: list[list[object]]) -> bytes:
    """The template's header row, then ``rows`` from row 2 on."""
    blank = load_workbook(io.BytesIO(template(sheets.SPECS[spec_key], "zh")))
    headers = [c.value for c in next(blank.active.iter_rows(max_row=1))]
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _project_row(code: str, **cells: object) -> list[object]:
    columns = [c.key for c in sheets.PROJECTS.columns]
    values: dict[str, object] = {
        "code": code,
        "name": "织造车间改造",
        "owner_uscc": "91110000600037341L",
        "project_type": "中小企业数字化转型",
        "total_investment_wan": 800,
        "official": "李科长",
        "filing_planned": date(2026, 1, 10),
        "go_live_on": date(2026, 4, 1),
        **cells,
    }
    return [values.get(k) for k in columns]


def test_projects_round_trip_with_bad_rows(place: Place) -> None:
    service = place.service()
    data = _filled(
        "projects",
        [
            _project_row("P-1"),
            _project_row("P-2", owner_uscc=None, owner_name="丙公司", park="长乐纺织园"),
            _project_row("P-3", owner_uscc=None, owner_name="丁", park="没有的园区"),
            _project_row("P-4", total_investment_wan=-5),
            _project_row("P-5", project_type="industrial", go_live_on=date(2026, 4, 1)),
        ],
    )
    report = sheets.import_projects(service, place.bureau, data)
    assert (report.created, report.updated) == (2, 0)
    assert [(e.number, e.column) for e in report.errors] == [
        (4, "park"),
        (5, "total_investment_wan"),
        (6, "go_live_on"),
    ]
    assert [v.project.code for v in service.projects(place.bureau)] == ["P-1", "P-2"]
    again = sheets.import_projects(service, place.bureau, data)
    assert (again.created, again.updated, len(again.errors)) == (0, 2, 3)
    assert service.registry.project_by_code("P-1") is not None
    # The owner was found by its credit code: the enterprise on the platform.
    found = service.registry.project_by_code("P-1")
    assert found is not None and found.enterprise_id == place.ent_a


def test_progress_import_files_months_in_order_and_reports_the_rest(place: Place) -> None:
    service = place.service()
    service.save(
        place.bureau,
        {
            **dict(zip(["code"], ["P-9"], strict=True)),
            "name": "x",
            "owner_name": "丙",
            "park_id": place.park,
            "project_type": "industrial",
            "total_investment_wan": "100",
            "official": "王",
        },
    )
    data = _filled(
        "progress",
        [
            ["P-9", "2026-04", 30, 50, "要件办理", None, ""],
            ["P-9", "2026-03", 20, 20, "项目备案", None, "缺用地指标"],
            ["P-9", "2026-05", 10, 40, "要件办理", None, ""],
            ["P-0", "2026-05", 1, 1, "项目备案", None, ""],
        ],
    )
    report = sheets.import_progress(service, place.bureau, data)
    assert report.created == 2
    assert [(e.number, e.code) for e in report.errors] == [
        (4, "project_to_date_decreasing"),
        (5, "not_found"),
    ]
    again = sheets.import_progress(service, place.bureau, data)
    assert (again.created, again.updated) == (0, 2)


def test_exports_open(place: Place) -> None:
    service = place.service()
    service.save(
        place.bureau,
        {
            "code": "P-1",
            "name": "x",
            "enterprise_id": place.ent_a,
            "project_type": "industrial",
            "total_investment_wan": "12.5",
            "official": "王",
        },
    )
    listed = load_workbook(io.BytesIO(sheets.list_xlsx(service.projects(place.bureau), "zh")))
    cells = [c.value for row in listed.active.iter_rows() for c in row]
    assert "P-1" in cells and 12.5 in cells
    summary = service.summary(place.bureau, "2026-06")
    book = load_workbook(io.BytesIO(sheets.summary_xlsx(summary, "en")))
    assert len(book.sheetnames) == 3


def test_the_summary_renders_as_a_pdf_in_chinese(place: Place) -> None:
    from pypdf import PdfReader

    from shugu.region.projects.pdf import summary_pdf

    service = place.service()
    record, _ = service.save(
        place.bureau,
        {
            "code": "P-1",
            "name": "x",
            "enterprise_id": place.ent_a,
            "project_type": "industrial",
            "total_investment_wan": "12.5",
            "official": "王",
        },
    )
    month = f"{record.created_at:%Y-%m}"
    data = summary_pdf(service.summary(place.bureau, month), "zh")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "项目库月度汇总" in text and "长乐纺织园" in text and "12.5" in text
