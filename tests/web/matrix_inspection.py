"""Page-matrix rows of the inspection pages: B's plans are B's plant (the operator sees them,
the bureau only with consent); B's rounds, running one and their reports are B's values."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.conftest import World
from tests.api.test_route_matrix import _b_plan
from tests.web.page_matrix import B_MANAGE, B_VALUES, PageRow

# B's plan and its rounds, made as the API's route matrix makes them.
b_plan = _b_plan


def b_round(w: World) -> dict[str, int]:
    plan = b_plan(w)["plan"]
    row = w.registry.add_round(
        plan,
        w.ent_b,
        datetime.now(UTC),
        slot=None,
        trigger="manual",
        by="admin_b",
        failed=0,
        results=[],
    )
    assert row is not None
    return {"plan": plan, "round": row.id}


ROWS: list[PageRow] = [
    # Plans are B's plant, rounds B's values: the page shows the operator the plans only.
    PageRow(
        "GET", "/e/{enterprise_id}/inspection", lambda w, o: f"/e/{w.ent_b}/inspection", B_MANAGE
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/inspection/plans/{plan_id}/run",
        lambda w, o: f"/e/{w.ent_b}/inspection/plans/{o['plan']}/run",
        B_VALUES,
        form=lambda w, o: {},
        setup=b_plan,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/inspection/rounds/{round_id}",
        lambda w, o: f"/e/{w.ent_b}/inspection/rounds/{o['round']}",
        B_VALUES,
        setup=b_round,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/inspection/rounds/{round_id}/report",
        lambda w, o: f"/e/{w.ent_b}/inspection/rounds/{o['round']}/report?format=xlsx",
        B_VALUES,
        setup=b_round,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/inspection/report",
        lambda w, o: f"/e/{w.ent_b}/inspection/report?date=2026-11-22&format=html",
        B_VALUES,
    ),
]
