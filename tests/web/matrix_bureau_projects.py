"""Page-matrix rows of the project library (项目库) and enterprise appeals (企业诉求), against
enterprise B's project and appeal: as in the API's rows (tests/api/matrix_region_projects.py),
A's users find B's objects missing and the platform operator keeps neither."""

from __future__ import annotations

from tests.api.matrix_region_projects import b_appeal, b_project
from tests.web.page_matrix import HIDDEN, SIGN_IN, PageRow

NOT_OPERATOR = SIGN_IN | {"operator": 403}
BUREAU_AND_PARKS = SIGN_IN | {"viewer_a": 403, "admin_a": 403, "operator": 403}
B_OBJECT = HIDDEN | {"operator": 403, "park_other": 404}
B_FILES = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403, "park_other": 404}
B_BUREAU_STEP = HIDDEN | {"operator": 403, "park_official": 403, "park_other": 404}
#: Only an enterprise's administrators file appeals (A's admin files A's own).
ADMINS_FILE = SIGN_IN | {
    "viewer_a": 403,
    "bureau": 403,
    "operator": 403,
    "park_official": 403,
    "park_other": 403,
}
PROGRESS = {
    "month": "2025-01",
    "investment_month_wan": "1",
    "investment_to_date_wan": "1",
    "stage": "filing",
    "problems": "",
}

ROWS: list[PageRow] = [
    PageRow("GET", "/projects", lambda w, o: "/projects?stage=none&overdue=1", NOT_OPERATOR),
    PageRow("GET", "/projects/overdue", lambda w, o: "/projects/overdue", NOT_OPERATOR),
    PageRow(
        "GET", "/projects/summary", lambda w, o: "/projects/summary?month=2026-01", BUREAU_AND_PARKS
    ),
    PageRow(
        "GET",
        "/projects/{project_id}",
        lambda w, o: f"/projects/{o['project']}",
        B_OBJECT,
        setup=b_project,
    ),
    PageRow(
        "POST",
        "/projects/{project_id}/progress",
        lambda w, o: f"/projects/{o['project']}/progress",
        B_FILES,
        form=lambda w, o: dict(PROGRESS),
        setup=b_project,
    ),
    PageRow("GET", "/appeals", lambda w, o: "/appeals?status=", NOT_OPERATOR),
    PageRow("GET", "/appeals/new", lambda w, o: "/appeals/new", ADMINS_FILE),
    PageRow(
        "POST",
        "/appeals/new",
        lambda w, o: "/appeals/new",
        ADMINS_FILE,
        form=lambda w, o: {"category": "land", "title": "用地", "text": "需要用地指标"},
    ),
    PageRow("GET", "/appeals/figures", lambda w, o: "/appeals/figures", BUREAU_AND_PARKS),
    PageRow(
        "GET",
        "/appeals/{appeal_id}",
        lambda w, o: f"/appeals/{o['appeal']}",
        B_OBJECT,
        setup=b_appeal,
    ),
    PageRow(
        "POST",
        "/appeals/{appeal_id}/{action}",
        lambda w, o: f"/appeals/{o['appeal']}/assign",
        B_BUREAU_STEP,
        form=lambda w, o: {"department": "power_supply", "text": "请办理"},
        setup=b_appeal,
    ),
]
