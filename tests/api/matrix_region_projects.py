"""Route-matrix rows of the project library (项目库) and enterprise appeals (企业诉求), against
enterprise B's project and appeal.

The bureau sees and records every project and handles every appeal; the park's official sees
and records its park's projects and reads its appeals; an enterprise's people see their own
(A's users find B's objects missing); the platform operator keeps neither projects nor appeals.
A project owned by B is filed by B's administrators only, an appeal confirmed by them only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shugu.store.registry.region_appeals import AppealStep
from shugu.store.registry.region_projects import ProjectFields
from tests.api.conftest import World
from tests.api.matrix_rows import ANY_USER, HIDDEN, Row

NOT_OPERATOR = {"anonymous": 401, "operator": 403}
B_PROJECT = HIDDEN | {"operator": 403, "park_other": 404}
#: B's own records filed by B's administrators: nobody else, whoever sees them.
B_FILES = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403, "park_other": 404}
#: The bureau's steps on B's appeal; the park reads it only.
B_APPEAL_BUREAU = HIDDEN | {"operator": 403, "park_official": 403, "park_other": 404}
BUREAU_AND_PARKS = {"anonymous": 401, "viewer_a": 403, "admin_a": 403, "operator": 403}
CODE = "B-2026-001"


def b_project(w: World) -> dict[str, int]:
    fields = ProjectFields(
        code=CODE,
        name="乙数据中心扩建",
        enterprise_id=w.ent_b,
        owner_name="乙数据中心",
        owner_uscc=None,
        park_id=w.park_id,
        industry_code="6540",
        project_type="digital_economy",
        total_investment_yuan=50_000_000,
        official="王科长",
        planned={},
        go_live_on=None,
    )
    record, _ = w.registry.save_project(fields, "bureau")
    return {"project": record.id}


def project_body(w: World) -> dict[str, object]:
    return {
        "code": CODE,
        "name": "乙数据中心扩建",
        "enterprise_id": w.ent_b,
        "project_type": "digital_economy",
        "total_investment_wan": "5000",
        "official": "王科长",
        "planned": {"filing": "2026-01-10"},
    }


def b_appeal(w: World, *, assigned: bool = False, answered: bool = False) -> dict[str, int]:
    at = datetime.now(UTC)
    appeal = w.registry.add_appeal(w.ent_b, "electricity", "扩容", "需增容", "admin_b", at)
    if assigned or answered:
        w.registry.add_appeal_step(
            appeal.id, AppealStep("assigned", "bureau", at, department="power_supply")
        )
    if answered:
        w.registry.add_appeal_step(appeal.id, AppealStep("answered", "bureau", at, "已办理"))
    return {"appeal": appeal.id}


ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/api/projects"): Row(lambda w: "/api/projects?overdue=true", NOT_OPERATOR),
    ("POST", "/api/projects"): Row(
        lambda w: "/api/projects", B_PROJECT, project_body, setup=b_project
    ),
    ("GET", "/api/projects/overdue"): Row(lambda w: "/api/projects/overdue", NOT_OPERATOR),
    ("GET", "/api/projects/overdue/export.xlsx"): Row(
        lambda w: "/api/projects/overdue/export.xlsx?lang=en", NOT_OPERATOR, setup=b_project
    ),
    ("GET", "/api/projects/summary"): Row(
        lambda w: "/api/projects/summary?month=2026-01", BUREAU_AND_PARKS
    ),
    ("GET", "/api/projects/export.xlsx"): Row(
        lambda w: "/api/projects/export.xlsx?lang=en", NOT_OPERATOR, setup=b_project
    ),
    ("GET", "/api/projects/summary.xlsx"): Row(
        lambda w: "/api/projects/summary.xlsx?month=2026-01", BUREAU_AND_PARKS
    ),
    ("GET", "/api/projects/summary.pdf"): Row(
        lambda w: "/api/projects/summary.pdf?month=2026-01&lang=en", BUREAU_AND_PARKS
    ),
    ("GET", "/api/projects/templates/{kind}.xlsx"): Row(
        lambda w: "/api/projects/templates/progress.xlsx", ANY_USER
    ),
    # A JSON body is no workbook: refused as unreadable by whoever may import at all.
    ("POST", "/api/projects/imports/{kind}"): Row(
        lambda w: "/api/projects/imports/projects",
        {
            "anonymous": 401,
            "viewer_a": 422,
            "admin_a": 422,
            "bureau": 422,
            "operator": 403,
            "park_official": 422,
            "park_other": 422,
        },
        lambda w: {"not": "a workbook"},
    ),
    ("GET", "/api/projects/{project_id}"): Row(
        lambda w: "/api/projects/{project}", B_PROJECT, setup=b_project
    ),
    ("PUT", "/api/projects/{project_id}"): Row(
        lambda w: "/api/projects/{project}", B_PROJECT, project_body, setup=b_project
    ),
    ("PUT", "/api/projects/{project_id}/progress/{month}"): Row(
        lambda w: "/api/projects/{project}/progress/2025-01",
        B_FILES,
        lambda w: {"investment_month_wan": "1", "investment_to_date_wan": "1", "stage": "filing"},
        setup=b_project,
    ),
    ("GET", "/api/projects/{project_id}/before-after"): Row(
        lambda w: "/api/projects/{project}/before-after", B_PROJECT, setup=b_project
    ),
    ("GET", "/api/appeals"): Row(lambda w: "/api/appeals?status=unclosed", NOT_OPERATOR),
    ("GET", "/api/appeals/catalogue"): Row(lambda w: "/api/appeals/catalogue", ANY_USER),
    ("GET", "/api/appeals/figures"): Row(lambda w: "/api/appeals/figures", BUREAU_AND_PARKS),
    ("GET", "/api/appeals/export.xlsx"): Row(
        lambda w: "/api/appeals/export.xlsx?status=unclosed", NOT_OPERATOR
    ),
    ("GET", "/api/appeals/figures.xlsx"): Row(
        lambda w: "/api/appeals/figures.xlsx", BUREAU_AND_PARKS
    ),
    ("POST", "/api/enterprises/{enterprise_id}/appeals"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/appeals",
        B_FILES,
        lambda w: {"category": "land", "title": "用地", "text": "需要用地指标"},
    ),
    ("GET", "/api/appeals/{appeal_id}"): Row(
        lambda w: "/api/appeals/{appeal}", B_PROJECT, setup=b_appeal
    ),
    ("POST", "/api/appeals/{appeal_id}/assign"): Row(
        lambda w: "/api/appeals/{appeal}/assign",
        B_APPEAL_BUREAU,
        lambda w: {"department": "power_supply", "note": "请办理"},
        setup=b_appeal,
    ),
    ("POST", "/api/appeals/{appeal_id}/answer"): Row(
        lambda w: "/api/appeals/{appeal}/answer",
        B_APPEAL_BUREAU,
        lambda w: {"text": "已办理"},
        setup=lambda w: b_appeal(w, assigned=True),
    ),
    ("POST", "/api/appeals/{appeal_id}/close"): Row(
        lambda w: "/api/appeals/{appeal}/close",
        B_APPEAL_BUREAU,
        lambda w: {"text": "已解决"},
        setup=b_appeal,
    ),
    ("POST", "/api/appeals/{appeal_id}/confirm"): Row(
        lambda w: "/api/appeals/{appeal}/confirm",
        B_FILES,
        lambda w: {"rating": 5, "comment": "满意"},
        setup=lambda w: b_appeal(w, answered=True),
    ),
}
