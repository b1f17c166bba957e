"""The overdue projects, the tiers board's evaluation, the policies, the grant batches and an
enterprise's entitlements as XLSX: Chinese headers (English with lang=en), a real row, numbers
and dates stay numbers and dates, labels as the console names them, the JSON route's rights."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]

from shugu.store.registry.region_policies import NewGrantLine
from shugu.store.registry.region_projects import ProjectFields
from tests.api.conftest import World

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rows(world: World, url: str, who: str = "bureau", **params: str) -> list[list[Any]]:
    r = world.client.get(url, params=params, headers=world.as_(who))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    assert len(book.worksheets) == 1
    cells = [c for row in book.worksheets[0].iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    return [[c.value for c in row] for row in book.worksheets[0].iter_rows()]


def _table(rows: list[list[Any]], first_header: str) -> tuple[list[Any], list[list[Any]]]:
    at = next(i for i, row in enumerate(rows) if row[0] == first_header)
    return rows[at], rows[at + 1 :]


def _late_project(world: World) -> None:
    fields = ProjectFields(
        code="B-2026-009",
        name="=乙机房改造",
        enterprise_id=world.ent_b,
        owner_name="乙数据中心",
        owner_uscc=None,
        park_id=world.park_id,
        industry_code="6540",
        project_type="digital_economy",
        total_investment_yuan=10_000_000,
        official="王科长",
        planned={"filing": date(2026, 1, 10)},
        go_live_on=None,
    )
    world.registry.save_project(fields, "bureau")


def test_the_overdue_projects_export(world: World) -> None:
    _late_project(world)
    header, body = _table(_rows(world, "/api/projects/overdue/export.xlsx"), "项目编号")
    assert header[:3] == ["项目编号", "项目名称", "业主单位"]
    assert header[5:] == ["逾期事项", "逾期阶段或月份", "应完成日期", "逾期天数"]
    stage = next(row for row in body if row[5] == "阶段逾期")
    assert stage[0] == "B-2026-009" and stage[1] == "=乙机房改造"
    assert stage[6] == "项目备案"
    assert isinstance(stage[7], datetime) and stage[7].date() == date(2026, 1, 10)
    assert isinstance(stage[8], int) and stage[8] > 0
    header, body = _table(
        _rows(world, "/api/projects/overdue/export.xlsx", "admin_b", lang="en"), "Project code"
    )
    assert header[5] == "What is late"
    assert "Stage late" in [row[5] for row in body]
    header, body = _table(_rows(world, "/api/projects/overdue/export.xlsx", "admin_a"), "项目编号")
    assert body == []
    r = world.client.get("/api/projects/overdue/export.xlsx", headers=world.as_("operator"))
    assert r.status_code == 403


def _b_close_to_kexiao(world: World) -> None:
    world.registry.put_year_figures(world.ent_b, 2025, {"revenue_wan": 1000.0}, "setup")
    saved = world.client.put(
        "/api/region/tiers/kexiao",
        json={
            "criteria": {"fact": "revenue_wan", "op": ">=", "value": 1100},
            "effective_from": "2026-01-01",
        },
        headers=world.as_("bureau"),
    )
    assert saved.status_code == 200, saved.text


def test_the_tier_evaluation_export(world: World) -> None:
    _b_close_to_kexiao(world)
    url = "/api/region/tiers/evaluation/export.xlsx"
    header, body = _table(_rows(world, url), "企业名称")
    assert header == [
        "企业名称",
        "统一社会信用代码",
        "所在园区",
        "梯度",
        "标准版本",
        "评估结果",
        "尚缺条件",
        "尚缺条件数",
        "最大差距（%）",
    ]
    row = next(r for r in body if r[0] == "乙数据中心" and r[3] == "科技型中小企业")
    assert row[4] == 1 and isinstance(row[4], int)
    assert row[5] == "接近"
    assert "1,100" in row[6]
    assert row[7] == 1
    assert row[8] == 9.1
    header, body = _table(_rows(world, url, lang="en", standing="close"), "Enterprise")
    assert header[5] == "Standing"
    assert {r[5] for r in body} == {"Close to it"}
    assert "tech-based SME" in [r[3] for r in body]
    assert world.client.get(url, headers=world.as_("admin_a")).status_code == 403


def test_the_policy_list_exports_with_redeem_labels(world: World) -> None:
    header, body = _table(_rows(world, "/api/region/policies/export.xlsx", "viewer_a"), "政策编号")
    assert header[4:] == ["兑现方式", "版本", "保存时间"]
    row = next(r for r in body if r[0] == "cl-cloud-devices")
    assert row[4] == "免申即享"
    assert row[5] == 0 and isinstance(row[5], int)
    header, body = _table(
        _rows(world, "/api/region/policies/export.xlsx", lang="en"), "Policy code"
    )
    assert header[1] == "Policy"
    assert "Granted without applying (免申即享)" in [r[4] for r in body]
    assert world.client.get("/api/region/policies/export.xlsx").status_code == 401


def _batch(world: World) -> int:
    line = NewGrantLine(world.ent_b, 5.5, [{"zh": "定额", "en": "fixed", "amount_wan": 5.5}], {})
    batch = world.registry.add_grant_batch("cl-cloud-devices", 0, [line], "bureau")
    return batch.id


def test_the_grant_batches_export(world: World) -> None:
    batch_id = _batch(world)
    header, body = _table(_rows(world, "/api/region/grant-batches/export.xlsx"), "批次编号")
    assert header[4:7] == ["状态", "企业数", "合计金额（万元）"]
    assert body[0][0] == batch_id and body[0][1] == "cl-cloud-devices"
    assert body[0][4] == "已生成，待审批"
    assert body[0][5] == 1 and body[0][6] == 5.5
    assert isinstance(body[0][7], datetime)
    header, body = _table(
        _rows(world, "/api/region/grant-batches/export.xlsx", lang="en"), "Batch no."
    )
    assert body[0][4] == "Computed, waiting for approval"
    r = world.client.get("/api/region/grant-batches/export.xlsx", headers=world.as_("operator"))
    assert r.status_code == 403


def test_an_enterprise_exports_its_own_entitlements_only(world: World) -> None:
    batch_id = _batch(world)
    world.registry.decide_grant_batch(batch_id, "bureau", approve=True)
    url = f"/api/region/enterprises/{world.ent_b}/entitlements/export.xlsx"
    rows = _rows(world, url, "admin_b")
    assert ["乙数据中心"] in [r[:1] for r in rows]
    header, body = _table(rows, "明细编号")
    assert header[4:7] == ["状态", "测算金额（万元）", "兑现金额（万元）"]
    assert body[0][1] == batch_id and body[0][2] == "cl-cloud-devices"
    assert body[0][4] == "已兑现"
    assert body[0][5] == 5.5 and isinstance(body[0][6], float)
    assert body[0][7] == "定额"
    header, body = _table(_rows(world, url, "park_official", lang="en"), "Line no.")
    assert body[0][4] == "Granted" and body[0][7] == "fixed"
    assert world.client.get(url, headers=world.as_("admin_a")).status_code == 404
    assert world.client.get(url, headers=world.as_("operator")).status_code == 403
