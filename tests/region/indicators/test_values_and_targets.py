"""Reported values and targets through the API: the XLSX round trip with bad rows reported by
number and reason and re-import idempotent, targets set by the bureau only, the board and its
export, and the console's page."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from tests.api.conftest import World
from tests.web.conftest import sign_in

IMPORT = "/api/region/indicator-values/import"


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["指标", "期间", "数值", "备注"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_template_lists_only_reported_indicators(world: World) -> None:
    answer = world.client.get(
        "/api/region/indicator-values/template.xlsx", headers=world.as_("bureau")
    )
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert [c.value for c in sheet[1]][:3] == ["指标 *", "期间 *", "数值 *"]
    formulas = " ".join(str(v.formula1) for v in sheet.data_validations.dataValidation)
    assert "规上工业总产值" in formulas and "接入设备数" not in formulas


def test_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(world: World) -> None:
    data = _workbook(
        [
            ["规上工业总产值", "2026-01", 980000, "快报"],
            ["industrial_output_value", "2026-02", "1,010,000", None],
            ["接入设备数", "2026-02", 5, None],  # computed: not a choice
            ["规上工业总产值", "2026-13", 1, None],  # no such month
            ["工业投资", "2026-02", "很多", None],  # not a number
            ["规上工业总产值", "2026-01", 2, None],  # the same key twice
            ["上云企业数", "2026", 1180, None],
        ]
    )
    bureau = world.as_("bureau")
    first = world.client.post(IMPORT, content=data, headers=bureau)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["imported"], report["updated"], report["unchanged"]) == (3, 0, 0)
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (4, "indicator", "cell_not_choice"),
        (5, "period", "indicator_period_invalid"),
        (6, "value", "cell_not_number"),
        (7, "", "row_duplicate_key"),
    ]
    assert all(e["message_zh"] and e["message_en"] for e in report["errors"])
    again = world.client.post(IMPORT, content=data, headers=bureau).json()
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 3)
    values = world.client.get(
        "/api/region/indicators/industrial_output_value/values",
        params={"from": "2026-01", "to": "2026-12"},
        headers=bureau,
    ).json()
    assert [(v["period"], v["value"]) for v in values] == [
        ("2026-01", 980000.0),
        ("2026-02", 1010000.0),
    ]
    refused = world.client.post(IMPORT, content=data, headers=world.as_("park_official"))
    assert refused.status_code == 403
    unreadable = world.client.post(IMPORT, content=b"not a workbook", headers=bureau)
    assert unreadable.status_code == 422 and unreadable.json()["error"]["code"] == "xlsx_unreadable"


def test_values_of_a_computed_indicator_are_not_entered(world: World) -> None:
    answer = world.client.put(
        "/api/region/indicators/devices_connected/values/2026-03",
        json={"value": 5},
        headers=world.as_("bureau"),
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "indicator_computed"
    bad = world.client.put(
        "/api/region/indicators/industrial_output_value/values/2026-3",
        json={"value": 5},
        headers=world.as_("bureau"),
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "indicator_period_invalid"


def test_board_with_targets_and_progress(world: World) -> None:
    bureau = world.as_("bureau")
    for month, value in (("2025-01", 1_000_000), ("2025-02", 900_000), ("2025-03", 1_100_000)):
        world.client.put(
            f"/api/region/indicators/industrial_output_value/values/{month}",
            json={"value": value},
            headers=bureau,
        )
    set_target = world.client.put(
        "/api/region/targets/2025/industrial_output_value",
        json={"target": 12_000_000},
        headers=bureau,
    )
    assert set_target.status_code == 200  # the shipped 2025 target replaced
    board = world.client.get("/api/region/targets", params={"year": 2025}, headers=bureau)
    assert board.status_code == 200
    rows = {r["indicator"]["code"]: r for r in board.json()["rows"]}
    output = rows["industrial_output_value"]
    # Three months reported: 3,000,000 of 12,000,000 = 25 % against 3/12 of the year.
    assert output["actual"]["value"] == 3_000_000 and output["actual"]["months"] == 3
    assert output["progress"] == 0.25 and output["expected"] == 0.25
    assert output["on_track"] is True
    assert rows["devices_connected"]["target"] == 14000
    assert len(output["trend"]) == 12
    refused = world.client.put(
        "/api/region/targets/2025/industrial_output_value",
        json={"target": 1},
        headers=world.as_("park_official"),
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "indicator_bureau_only"
    assert world.client.get("/api/region/targets", headers=world.as_("admin_a")).status_code == 403
    export = world.client.get("/api/region/targets.xlsx?year=2025&lang=en", headers=bureau)
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "Output value of industry above designated size" in texts


def test_the_targets_page(world: World) -> None:
    sign_in(world.client, "bureau")
    page = world.client.get("/region/targets?year=2025")
    assert page.status_code == 200
    assert 'data-testid="target-row-enterprises_on_platform"' in page.text
    assert "2025年目标完成情况" in page.text
    register = world.client.get("/region/indicators")
    assert "织造单位产量电耗" in register.text
