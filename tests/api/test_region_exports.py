"""The appeal and policy tables as XLSX: Chinese headers, numbers stay numbers, and text that
starts like a formula stays inert text."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]

from shugu.store.registry.region_appeals import AppealStep
from shugu.store.registry.region_policies import NewGrantLine
from tests.api.conftest import World

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheets(world: World, url: str, who: str = "bureau", **params: str) -> list[list[list[Any]]]:
    r = world.client.get(url, params=params, headers=world.as_(who))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(r.content))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    return [[[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets]


def _table(rows: list[list[Any]], first_header: str) -> tuple[list[Any], list[list[Any]]]:
    at = next(i for i, row in enumerate(rows) if row[0] == first_header)
    return rows[at], rows[at + 1 :]


def test_the_appeal_list_exports_with_its_filters_and_inert_text(world: World) -> None:
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    risky = world.registry.add_appeal(world.ent_b, "electricity", "=1+1", "需增容", "admin_b", at)
    world.registry.add_appeal(world.ent_b, "land", "用地", "需要用地指标", "admin_b", at)
    world.registry.add_appeal_step(
        risky.id, AppealStep("assigned", "bureau", at, department="power_supply")
    )
    (rows,) = _sheets(world, "/api/appeals/export.xlsx", category="electricity")
    header, body = _table(rows, "诉求编号")
    assert header[:6] == ["诉求编号", "提交时间", "企业名称", "诉求类别", "诉求标题", "办理状态"]
    assert len(body) == 1
    assert body[0][0] == risky.id and isinstance(body[0][0], int)
    assert isinstance(body[0][1], datetime)
    assert body[0][4] == "=1+1"
    assert body[0][5] == "已交办"
    (rows,) = _sheets(world, "/api/appeals/export.xlsx", "admin_a", lang="en")
    header, body = _table(rows, "Appeal no.")
    assert header[4] == "Title" and body == []


def test_the_appeal_figures_export_by_category_and_department(world: World) -> None:
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    world.registry.add_appeal(world.ent_b, "electricity", "扩容", "需增容", "admin_b", at)
    by_category, by_department = _sheets(world, "/api/appeals/figures.xlsx")
    header, body = _table(by_category, "诉求类别")
    assert header[1:4] == ["诉求数", "未办结", "已超期"]
    assert body[-1][0] == "合计" and body[-1][1] == 1 and body[-1][2] == 1
    header, body = _table(by_department, "承办部门")
    assert "未交办" in [row[0] for row in body]
    r = world.client.get("/api/appeals/figures.xlsx", headers=world.as_("admin_a"))
    assert r.status_code == 403


def test_a_grant_batch_exports_its_lines_in_wan(world: World) -> None:
    line = NewGrantLine(world.ent_b, 5.5, [{"zh": "定额", "en": "fixed", "amount_wan": 5.5}], {})
    batch = world.registry.add_grant_batch("cl-cloud-devices", 0, [line], "bureau")
    (rows,) = _sheets(world, f"/api/region/grant-batches/{batch.id}/export.xlsx")
    header, body = _table(rows, "明细编号")
    assert header[3:6] == ["测算金额（万元）", "兑现金额（万元）", "状态"]
    assert body[0][1] == world.ent_b
    assert body[0][3] == 5.5 and isinstance(body[0][4], float)
    assert body[0][5] == "已列入" and body[0][6] == "定额"
    r = world.client.get(
        f"/api/region/grant-batches/{batch.id}/export.xlsx", headers=world.as_("park_official")
    )
    assert r.status_code == 403


def test_a_policy_reach_and_the_points_ranking_export(world: World) -> None:
    qualifying, nearly = _sheets(world, "/api/region/policies/dl-rd-major/reach.xlsx")
    header, body = _table(qualifying, "企业编号")
    assert header == ["企业编号", "企业名称", "符合情况", "测算金额（万元）", "说明"]
    assert body[-1][1] == "合计" and isinstance(body[-1][3], (int, float))
    assert _table(nearly, "企业编号")[0][4] == "尚缺条件"
    (rows,) = _sheets(world, "/api/region/innovation-points/export.xlsx", "park_official")
    header, body = _table(rows, "排名")
    assert header[:4] == ["排名", "企业编号", "企业名称", "总分"]
    assert len(header) > 4
    assert [row[0] for row in body] == list(range(1, len(body) + 1))
    assert all(isinstance(row[3], (int, float)) for row in body)
    r = world.client.get("/api/region/innovation-points/export.xlsx", headers=world.as_("viewer_a"))
    assert r.status_code == 403
