"""The operation, project and tier tables as XLSX: Chinese headers, a row, numbers stay
numbers, the JSON route's rights."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.api.conftest import World

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rows(world: World, url: str, who: str = "bureau", **params: str) -> list[list[Any]]:
    r = world.client.get(url, params=params, headers=world.as_(who))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(r.content))
    assert len(book.worksheets) == 1
    return [[c.value for c in row] for row in book.worksheets[0].iter_rows()]


def _table(rows: list[list[Any]], first_header: str) -> tuple[list[Any], list[list[Any]]]:
    at = next(i for i, row in enumerate(rows) if row[0] == first_header)
    return rows[at], rows[at + 1 :]


def test_the_early_warnings_export(world: World) -> None:
    world.registry.raise_warning(
        world.ent_b, "report_overdue", "2026-11", {"report_days_overdue": 3}, date(2026, 12, 11)
    )
    header, body = _table(_rows(world, "/api/region/warnings/export.xlsx"), "企业")
    assert header[:4] == ["企业", "统一社会信用代码", "园区", "规则"]
    assert len(body) == 1
    assert body[0][4] == "2026-11"
    assert "逾期天数: 3" in body[0][5]
    assert isinstance(body[0][6], datetime)
    header, body = _table(_rows(world, "/api/region/warnings/export.xlsx", lang="en"), "Enterprise")
    assert header[3] == "Rule" and len(body) == 1
    r = world.client.get("/api/region/warnings/export.xlsx", headers=world.as_("admin_a"))
    assert r.status_code == 403


def test_the_missing_and_late_list_exports(world: World) -> None:
    rows = _rows(world, "/api/region/monthly-reports/missing/export.xlsx", month="2026-11")
    header, body = _table(rows, "企业")
    assert header == ["企业", "统一社会信用代码", "园区", "原因", "截止日", "已逾期", "逾期天数"]
    assert body, "no enterprise has filed 2026-11"
    assert body[0][3] == "未报"
    assert isinstance(body[0][4], datetime)
    assert isinstance(body[0][6], int)
    r = world.client.get(
        "/api/region/monthly-reports/missing/export.xlsx", headers=world.as_("viewer_a")
    )
    assert r.status_code == 403
