"""Importing enterprises and yearly figures from XLSX: good rows kept, every bad row reported by
its Excel row number and reason, and the same file again changing nothing."""

from __future__ import annotations

import io

from openpyxl import Workbook  # type: ignore[import-untyped]

from shugu.region.files.imports import import_sheet
from tests.region.files.conftest import USCC_A, Files

NEW_USCC = "91110000600037341L"


def _book(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ENTERPRISES = _book(
    [
        ["统一社会信用代码", "企业名称", "所属园区", "国民经济行业代码", "重点企业", "成立日期"],
        [NEW_USCC, "丙电子", "高新区", "3971", "是", "2019-05-01"],
        [USCC_A, "甲织造", "高新区", "1751", "否", None],
        ["NOT-A-CODE", "坏代码", "高新区", None, None, None],
        [NEW_USCC[:-1] + "M", "无园区", "不存在的园区", None, None, None],
        ["91110108551385082Q", "坏行业", "高新区", "17A1", None, None],
    ]
)


def test_enterprises_import_reports_bad_rows_and_is_idempotent(files: Files) -> None:
    first = import_sheet(files.registry, "enterprises", ENTERPRISES, "bureau")
    assert (first.imported, first.updated, first.unchanged) == (1, 1, 0)
    assert sorted(e.number for e in first.errors) == [4, 5, 6]
    by_row = {e.number: e for e in first.errors}
    assert by_row[5].code == "import_park_unknown"
    assert by_row[6].code == "industry_code_invalid"
    created = files.registry.enterprise_id_by_uscc(NEW_USCC)
    assert created is not None
    record = files.registry.enterprise_file(created)
    assert record.key_enterprise and record.industry_code == "3971"
    again = import_sheet(files.registry, "enterprises", ENTERPRISES, "bureau")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)
    assert len(again.errors) == 3


def test_yearly_figures_import_keyed_by_uscc_and_year(files: Files) -> None:
    data = _book(
        [
            ["统一社会信用代码", "年度", "营业收入（万元）", "从业人员（人）"],
            [USCC_A, 2024, 1234.5, 120],
            [USCC_A, 2023, 1000, 100],
            [USCC_A, 2023, 1000, 100],
            [NEW_USCC, 2024, 1, 1],
            [USCC_A, 2022, -5, 10],
            [USCC_A, 2021, 10, 10.5],
        ]
    )
    report = import_sheet(files.registry, "yearly-figures", data, "bureau")
    assert report.imported == 2
    codes = {e.number: e.code for e in report.errors}
    assert codes[5] == "import_enterprise_unknown"
    assert {4, 5, 6, 7} <= set(codes)
    figures = files.registry.year_figures(files.ent_a)
    assert [(f.year, f.values["revenue_wan"]) for f in figures] == [(2023, 1000), (2024, 1234.5)]
    again = import_sheet(files.registry, "yearly-figures", data, "bureau")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)
