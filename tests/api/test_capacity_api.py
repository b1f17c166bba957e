"""Shared capacity through the API between two weaving mills: A publishes its idle looms, C asks
for fabric, proposes to A, A accepts, C records the outcome; the data centre B, the bureau and
the operator see what they may, and no machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from shugu.analytics.capacity import LoomStatus
from shugu.domain.tenancy import Role
from tests.api.conftest import PASSWORD, World


@dataclass
class Looms:
    fleets: dict[int, list[LoomStatus]] = field(default_factory=dict)

    def looms(self, enterprise_id: int) -> list[LoomStatus]:
        return list(self.fleets.get(enterprise_id, []))

    def planned_hours(self, enterprise_id: int, day_start_ms: int, days: int) -> list[float]:
        return [16.0] * days


@dataclass
class Mills:
    world: World
    c: int
    admin_c: dict[str, str]

    def get(self, who: str | dict[str, str], url: str) -> Any:
        headers = self.world.as_(who) if isinstance(who, str) else who
        answer = self.world.client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def mills(world: World) -> Mills:
    registry = world.registry
    c = registry.create_enterprise(world.park_id, "丙织造", "91350100M0001TGQXM", "0502").id
    user = registry.create_user("admin_c", PASSWORD, Role.ENTERPRISE_ADMIN, c)
    token = registry.create_api_token(user.id, "tests")
    looms = Looms(
        {
            world.ent_a: [
                LoomStatus(world.device_a, "air_jet", 190, 600, False, 4, 0.45, 0.5),
                LoomStatus(9001, "air_jet", 230, 700, True, None, 0.6, 0.75),
            ]
        }
    )
    app = world.client.app
    assert isinstance(app, FastAPI)
    app.state.loom_source = looms
    return Mills(world, c, {"Authorization": f"Bearer {token}"})


def deadline(days: int = 6) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


REQUEST = {
    "fabric": "涤棉府绸",
    "loom_type": "air_jet",
    "min_width_cm": 180,
    "picks_per_cm": 30,
    "metres": 800,
}


def test_two_mills_trade_capacity(mills: Mills) -> None:
    w, client = mills.world, mills.world.client
    idle = mills.get("viewer_a", f"/api/enterprises/{w.ent_a}/capacity?days=3")
    assert idle["looms"] == 2 and idle["waiting_now"] == 1 and idle["source_available"]
    assert idle["publication"] is None
    # 16 h idle on the first day for the loom waiting for an order, then half of 16 h.
    by_group = {(c["width_class_cm"], c["day"]): c for c in idle["cells"]}
    first_day = idle["days"][0]
    assert by_group[(190, first_day)]["loom_hours"] == 16.0
    assert by_group[(190, first_day)]["metres"] == pytest.approx(16 * 0.9 * 12, abs=0.1)

    url = f"/api/enterprises/{w.ent_a}/capacity/publication"
    viewer = client.put(url, json={"days": 7}, headers=w.as_("viewer_a"))
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "capacity_admins_only"
    published = client.put(url, json={"days": 7, "hold_back": 0.1}, headers=w.as_("admin_a"))
    assert published.status_code == 200, published.text
    assert published.json()["active"] and published.json()["published_by"] == "admin_a"

    board = client.get("/api/capacity/board?picks_per_cm=40", headers=mills.admin_c)
    assert board.status_code == 200 and "device" not in board.text and "9001" not in board.text
    assert [o["enterprise_name"] for o in board.json()["offers"]] == ["甲纺织"]

    posted = client.post(
        f"/api/enterprises/{mills.c}/capacity-requests",
        json={**REQUEST, "deadline": deadline()},
        headers=mills.admin_c,
    )
    assert posted.status_code == 201, posted.text
    request_id = posted.json()["id"]
    view = mills.get(mills.admin_c, f"/api/capacity-requests/{request_id}")
    (offer,) = view["offers"]
    assert offer["enterprise_id"] == w.ent_a
    assert {p["name"] for p in offer["parts"]} == {"cover", "efficiency", "fit"}
    assert offer["score"] == pytest.approx(sum(p["points"] for p in offer["parts"]), abs=0.05)

    proposed = client.post(
        f"/api/capacity-requests/{request_id}/matches",
        json={"enterprise_id": w.ent_a, "note": "月底前"},
        headers=mills.admin_c,
    )
    assert proposed.status_code == 201, proposed.text
    match_id = proposed.json()["id"]
    seen = mills.get("viewer_a", f"/api/enterprises/{w.ent_a}/capacity-matches")
    assert [m["id"] for m in seen] == [match_id]
    assert seen[0]["side"] == "offerer" and seen[0]["request"]["fabric"] == "涤棉府绸"
    assert not seen[0]["can_answer"]  # a viewer reads, the administrators answer
    accepted = client.post(f"/api/capacity-matches/{match_id}/accept", headers=w.as_("admin_a"))
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    outcome = client.post(
        f"/api/capacity-matches/{match_id}/outcome",
        json={"delivered_m": 790, "on_time": True, "note": "验收合格"},
        headers=mills.admin_c,
    )
    assert outcome.status_code == 200, outcome.text
    done = outcome.json()
    assert done["status"] == "completed" and done["delivered_m"] == 790
    assert [(e["kind"], e["by"]) for e in done["events"]] == [
        ("proposed", "admin_c"),
        ("accepted", "admin_a"),
        ("outcome", "admin_c"),
    ]

    # Nobody else sees the match or the request; the bureau counts them.
    assert (
        client.get(f"/api/capacity-matches/{match_id}", headers=w.as_("admin_b")).status_code == 404
    )
    assert (
        client.get(f"/api/capacity-requests/{request_id}", headers=w.as_("admin_a")).status_code
        == 404
    )
    for who in ("bureau", "operator"):
        refused = client.get(f"/api/capacity-matches/{match_id}", headers=w.as_(who))
        assert refused.status_code == 403
    stats = mills.get("bureau", "/api/capacity/stats")
    assert stats["by_status"] == {"completed": 1} and stats["on_time"] == 1
    assert stats["delivered_m"] == 790 and stats["publications"] == 1

    withdrawn = client.delete(url, headers=w.as_("admin_a"))
    assert withdrawn.status_code == 204
    assert mills.get("bureau", "/api/capacity/board")["offers"] == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"fabric": ""}, "capacity_fabric_invalid"),
        ({"loom_type": "jacquard"}, "capacity_loom_type_invalid"),
        ({"min_width_cm": 5}, "capacity_width_invalid"),
        ({"picks_per_cm": 0}, "capacity_density_invalid"),
        ({"metres": 0}, "capacity_metres_invalid"),
        ({"deadline": "yesterday"}, "capacity_deadline_invalid"),
        ({"metres": "lots"}, "invalid_request"),
    ],
)
def test_a_bad_request_is_refused_with_its_code(
    mills: Mills, changes: dict[str, object], code: str
) -> None:
    answer = mills.world.client.post(
        f"/api/enterprises/{mills.c}/capacity-requests",
        json={**REQUEST, "deadline": deadline(), **changes},
        headers=mills.admin_c,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


def test_bad_terms_and_densities_are_refused_with_their_codes(mills: Mills) -> None:
    w = mills.world
    publication = f"/api/enterprises/{w.ent_a}/capacity/publication"
    for body, code in (
        ({"days": 30}, "capacity_days_invalid"),
        ({"days": 7, "hold_back": 1}, "capacity_hold_back_invalid"),
    ):
        answer = w.client.put(publication, json=body, headers=w.as_("admin_a"))
        assert answer.status_code == 422 and answer.json()["error"]["code"] == code
    for url in (
        "/api/capacity/board?picks_per_cm=0",
        f"/api/enterprises/{w.ent_a}/capacity?picks_per_cm=nan",
    ):
        answer = w.client.get(url, headers=w.as_("admin_a"))
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "capacity_density_invalid"


def test_the_bureau_reads_idle_capacity_only_with_consent(mills: Mills) -> None:
    w = mills.world
    url = f"/api/enterprises/{w.ent_a}/capacity"
    refused = w.client.get(url, headers=w.as_("bureau"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"
    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "产能分析", "bureau")
    assert w.client.get(url, headers=w.as_("bureau")).status_code == 200
