"""Page-matrix rows of the shared-capacity pages. The board is every signed-in user's; B's own
capacity page, requests, matches and their exports are B's people's (its administrators act):
consent lets others read B's machine values, not trade for B, so the bureau, the operator and
B's park official are refused as well."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shugu.store.registry.capacity import NewCapacityRequest
from tests.api.conftest import World
from tests.web.page_matrix import ANY_USER, HIDDEN, PageRow

B_CAPACITY = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
DEADLINE = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
REQUEST_FORM = {
    "fabric": "府绸",
    "loom_type": "air_jet",
    "min_width_cm": "180",
    "picks_per_cm": "30",
    "metres": "500",
    "deadline": DEADLINE,
}


def b_request(w: World) -> dict[str, int]:
    new = NewCapacityRequest(
        "府绸", "air_jet", 180.0, 30.0, 500.0, datetime.fromisoformat(DEADLINE).date()
    )
    return {"request": w.registry.add_capacity_request(w.ent_b, new, "admin_b").id}


def b_match(w: World) -> dict[str, int]:
    """B asks a third mill, C, for fabric (made once per world: setups run once per role)."""
    found = [e.id for e in w.registry.list_enterprises() if e.name == "丙织造"]
    c = (
        found[0]
        if found
        else w.registry.create_enterprise(w.park_id, "丙织造", "91350100M0001TGQXM", "0502").id
    )
    request = b_request(w)["request"]
    match = w.registry.add_capacity_match(request, c, {"score": 50}, "admin_b")
    return {"request": request, "match": match.id}


ROWS: list[PageRow] = [
    PageRow("GET", "/capacity", lambda w, o: "/capacity?picks_per_cm=40", ANY_USER),
    PageRow("GET", "/capacity/board.xlsx", lambda w, o: "/capacity/board.xlsx", ANY_USER),
    PageRow(
        "GET", "/e/{enterprise_id}/capacity", lambda w, o: f"/e/{w.ent_b}/capacity", B_CAPACITY
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/capacity/publish",
        lambda w, o: f"/e/{w.ent_b}/capacity/publish",
        B_CAPACITY,
        form=lambda w, o: {"days": "7", "hold_back_pct": "10"},
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/capacity/withdraw",
        lambda w, o: f"/e/{w.ent_b}/capacity/withdraw",
        B_CAPACITY,
        form=lambda w, o: {},
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/capacity/requests",
        lambda w, o: f"/e/{w.ent_b}/capacity/requests",
        B_CAPACITY,
        form=lambda w, o: dict(REQUEST_FORM),
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/capacity/requests/{request_id}",
        lambda w, o: f"/e/{w.ent_b}/capacity/requests/{o['request']}",
        B_CAPACITY,
        setup=b_request,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/capacity/requests/{request_id}/propose",
        lambda w, o: f"/e/{w.ent_b}/capacity/requests/{o['request']}/propose",
        B_CAPACITY,
        form=lambda w, o: {"offerer_id": str(w.ent_a), "note": "x"},
        setup=b_request,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/capacity/requests/{request_id}/close",
        lambda w, o: f"/e/{w.ent_b}/capacity/requests/{o['request']}/close",
        B_CAPACITY,
        form=lambda w, o: {},
        setup=b_request,
    ),
    PageRow(
        "POST",
        "/e/{enterprise_id}/capacity/matches/{match_id}/{answer}",
        lambda w, o: f"/e/{w.ent_b}/capacity/matches/{o['match']}/accept",
        B_CAPACITY,
        form=lambda w, o: {"note": "x"},
        setup=b_match,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/capacity/{table}.xlsx",
        lambda w, o: f"/e/{w.ent_b}/capacity/requests.xlsx",
        B_CAPACITY,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/capacity/requests/{request_id}/offers.xlsx",
        lambda w, o: f"/e/{w.ent_b}/capacity/requests/{o['request']}/offers.xlsx",
        B_CAPACITY,
        setup=b_request,
    ),
]
