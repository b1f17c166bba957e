"""Park officials (园区): accounts bound to a park, and what they see of the platform.

The route matrix (``test_route_matrix.py``) says which status each route gives them against
enterprise B; these tests look at what the answers hold: lists narrowed to the park, figures of
the park only, the account's park in every principal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shugu.domain.errors import NotFoundError, ValidationError
from shugu.domain.tenancy import Role
from shugu.store.registry import Registry
from tests.api.conftest import PASSWORD, World


def _new_account(world: World, **fields: object) -> tuple[int, dict[str, object]]:
    body = {"username": "park-new", "password": PASSWORD, **fields}
    answer = world.client.post("/api/users", json=body, headers=world.as_("operator"))
    return answer.status_code, answer.json()


def test_the_operator_creates_a_park_official_bound_to_a_park(world: World) -> None:
    status, made = _new_account(world, role="park_official", park_id=world.park_id)
    assert status == 201, made
    assert made["park_id"] == world.park_id and made["enterprise_id"] is None
    signed_in = world.client.post(
        "/api/auth/login", json={"username": "park-new", "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    me = world.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {signed_in.json()['token']}"}
    )
    assert me.json()["role"] == "park_official" and me.json()["park_id"] == world.park_id


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"role": "park_official"}, 422, "park_required"),
        ({"role": "park_official", "park_id": 9999}, 404, "not_found"),
        ({"role": "bureau", "park_id": 1}, 422, "park_not_allowed"),
        (
            {"role": "park_official", "park_id": 1, "enterprise_id": 1},
            422,
            "enterprise_not_allowed",
        ),
    ],
)
def test_a_park_official_s_park_is_checked(
    world: World, fields: dict[str, object], status: int, code: str
) -> None:
    got, answer = _new_account(world, **fields)
    assert got == status, answer
    error = answer["error"]
    assert isinstance(error, dict) and error["code"] == code


def test_an_enterprise_account_names_no_park(world: World) -> None:
    body = {"username": "a-2", "password": PASSWORD, "role": "enterprise_viewer"}
    answer = world.client.post(
        "/api/users", json={**body, "park_id": world.park_id}, headers=world.as_("admin_a")
    )
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "park_not_allowed"


def test_only_the_operator_creates_park_officials(world: World) -> None:
    body = {"username": "p", "password": PASSWORD, "role": "park_official"}
    for who in ("bureau", "admin_a", "park_official"):
        answer = world.client.post(
            "/api/users", json={**body, "park_id": world.park_id}, headers=world.as_(who)
        )
        assert answer.status_code == 403, (who, answer.text)


def test_the_principal_of_a_token_carries_the_park(world: World) -> None:
    principal = world.registry.principal_for_token(world.tokens["park_official"])
    assert principal is not None
    assert principal.role is Role.PARK_OFFICIAL and principal.park_id == world.park_id


def test_the_park_of_an_enterprise_is_looked_up_and_an_unknown_one_is_none(
    registry: Registry,
) -> None:
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    assert registry.park_of_enterprise(1) is None
    enterprise = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
    # A miss is not remembered: the enterprise registered since is found at once.
    assert registry.park_of_enterprise(enterprise.id) == park.id
    with pytest.raises(ValidationError):
        registry.create_user("p", PASSWORD, Role.PARK_OFFICIAL)
    with pytest.raises(NotFoundError):
        registry.create_user("p", PASSWORD, Role.PARK_OFFICIAL, park_id=park.id + 1)


def _ids(world: World, who: str, url: str) -> set[int]:
    answer = world.client.get(url, headers=world.as_(who))
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()}


def test_a_park_official_lists_its_park_s_enterprises_only(world: World) -> None:
    third_park = world.registry.create_park(world.region_id, "第三园", None).id
    c = world.registry.create_enterprise(third_park, "丙织造", "91350100M0001TGQXM", "0502").id
    assert _ids(world, "park_official", "/api/enterprises") == {world.ent_a, world.ent_b}
    assert _ids(world, "park_other", "/api/enterprises") == set()
    assert c in _ids(world, "bureau", "/api/enterprises")
    # Parks are shared reference data: every signed-in caller reads their names.
    assert third_park in _ids(world, "park_official", "/api/parks")
    answer = world.client.get(f"/api/enterprises/{c}", headers=world.as_("park_official"))
    assert answer.status_code == 404


def test_a_park_official_s_summary_and_alarm_counts_are_its_park_s(world: World) -> None:
    world.registry.open_alarm(
        "crah.fan_stopped", world.device_b, world.ent_b, "critical", datetime.now(UTC), 0.0, {}
    )
    summary = world.client.get("/api/summary", headers=world.as_("park_official")).json()
    assert [p["park_id"] for p in summary["parks"]] == [world.park_id]
    assert summary["enterprises"] == 2 and summary["devices"] == 2
    other = world.client.get("/api/summary", headers=world.as_("park_other")).json()
    assert [p["park_id"] for p in other["parks"]] == [world.other_park_id]
    assert other["enterprises"] == 0

    def counted(who: str) -> dict[int, int]:
        answer = world.client.get("/api/alarms-summary", headers=world.as_(who))
        assert answer.status_code == 200, answer.text
        return {e["id"]: e["open"] for e in answer.json()["enterprises"]}

    assert counted("park_official")[world.ent_b] == 1
    assert counted("park_other") == {}


def test_a_park_official_reads_no_machine_values(world: World) -> None:
    for url in (
        f"/api/enterprises/{world.ent_a}/devices",
        f"/api/devices/{world.device_a}/latest",
        f"/api/alarms?enterprise={world.ent_a}",
        f"/api/kpis?profile=loom&level=device&enterprise={world.ent_a}",
    ):
        answer = world.client.get(url, headers=world.as_("park_official"))
        assert answer.status_code == 403, (url, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
