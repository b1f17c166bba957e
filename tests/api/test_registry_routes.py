"""The registry routes doing their work for callers who may."""

from __future__ import annotations

from tests.api.conftest import World


def test_operator_builds_the_hierarchy(world: World) -> None:
    client, op = world.client, world.as_("operator")
    region = client.post("/api/regions", json={"code": "210200", "name": "大连市"}, headers=op)
    assert region.status_code == 201, region.text
    park = client.post(
        "/api/parks",
        json={"region_id": region.json()["id"], "name": "高新区", "division_code": "210211016"},
        headers=op,
    )
    assert park.status_code == 201, park.text
    assert client.get(f"/api/parks/{park.json()['id']}", headers=op).json()["name"] == "高新区"
    parks = client.get("/api/parks", params={"region_id": region.json()["id"]}, headers=op)
    assert [p["name"] for p in parks.json()] == ["高新区"]

    enterprise = client.post(
        "/api/enterprises",
        json={"park_id": park.json()["id"], "name": "闽试点", "uscc": "91350100M0001TGQXM"},
        headers=op,
    )
    assert enterprise.status_code == 201, enterprise.text
    body = enterprise.json()
    assert body["uscc_checksum_ok"] is False
    assert "checksum" in body["uscc_warning"]
    assert client.get(f"/api/enterprises/{body['id']}", headers=op).json() == body
    listed = client.get("/api/enterprises", params={"park_id": park.json()["id"]}, headers=op)
    assert [e["id"] for e in listed.json()] == [body["id"]]


def test_validation_errors_name_the_field(world: World) -> None:
    op = world.as_("operator")
    bad_uscc = world.client.post(
        "/api/enterprises",
        json={"park_id": world.park_id, "name": "x", "uscc": "91110000600O37341L"},
        headers=op,
    )
    assert bad_uscc.status_code == 422
    error = bad_uscc.json()["error"]
    assert (error["code"], error["field"]) == ("uscc_malformed", "uscc")
    assert "position 12" in error["message"]
    duplicate = world.client.post(
        "/api/enterprises",
        json={"park_id": world.park_id, "name": "x", "uscc": "91110000600037341L"},
        headers=op,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "uscc_taken"
    no_park = world.client.post(
        "/api/enterprises",
        json={"park_id": 999, "name": "x", "uscc": "91110000600037341L"},
        headers=op,
    )
    assert no_park.status_code == 404


def test_enterprise_admin_runs_its_plant(world: World) -> None:
    client, admin = world.client, world.as_("admin_a")
    base = f"/api/enterprises/{world.ent_a}"
    area = client.post(
        f"{base}/assets",
        json={"level": "area", "name": "织造车间", "parent_id": world.site_a},
        headers=admin,
    )
    assert area.status_code == 201, area.text
    wrong = client.post(f"{base}/assets", json={"level": "line", "name": "x"}, headers=admin)
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "asset_parent_required"
    assets = client.get(f"{base}/assets", headers=admin).json()
    assert [a["level"] for a in assets] == ["site", "area"]

    created = client.post(
        f"{base}/devices",
        json={"name": "loom-002", "profile": "loom", "asset_id": area.json()["id"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    device = created.json()["device"]
    token = created.json()["token"]
    assert world.registry.device_for_token(token) is not None
    listed = client.get(f"{base}/devices", headers=admin).json()
    assert [d["name"] for d in listed] == ["loom-001", "loom-002"]
    assert all("token" not in d for d in listed)
    assert client.get(f"/api/devices/{device['id']}", headers=admin).json() == device

    rotated = client.post(f"/api/devices/{device['id']}/token", headers=admin)
    assert rotated.status_code == 200
    assert world.registry.device_for_token(token) is None
    assert world.registry.device_for_token(rotated.json()["token"]) is not None

    taken = client.post(
        f"{base}/devices", json={"name": "loom-002", "profile": "loom"}, headers=admin
    )
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "device_name_taken"
    unknown = client.post(
        f"{base}/devices", json={"name": "t", "profile": "toaster"}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_profile"


def test_enterprise_admin_creates_users_of_its_own_enterprise(world: World) -> None:
    client, admin = world.client, world.as_("admin_a")
    created = client.post(
        "/api/users",
        json={"username": "李工", "password": "long enough", "role": "enterprise_viewer"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["enterprise_id"] == world.ent_a
    users = client.get("/api/users", headers=admin).json()
    assert {u["username"] for u in users} == {"admin_a", "viewer_a", "李工"}
    operator = client.post(
        "/api/users",
        json={"username": "evil", "password": "long enough", "role": "operator"},
        headers=admin,
    )
    assert operator.status_code == 403


def test_operator_creates_platform_accounts_and_first_administrators(world: World) -> None:
    client, op = world.client, world.as_("operator")
    fresh = world.registry.create_enterprise(world.park_id, "丙", "91350100M0001TGQXM", "0502").id
    for body in [
        {"username": "bureau2", "password": "long enough", "role": "bureau"},
        {
            "username": "c_admin",
            "password": "long enough",
            "role": "enterprise_admin",
            "enterprise_id": fresh,
        },
    ]:
        answer = client.post("/api/users", json=body, headers=op)
        assert answer.status_code == 201, answer.text
    # B has its administrator: B's accounts are B's to make.
    b_viewer = {"username": "b_viewer", "password": "long enough", "role": "enterprise_viewer"}
    refused = client.post("/api/users", json={**b_viewer, "enterprise_id": world.ent_b}, headers=op)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "enterprise_accounts_are_its_own"
    missing = client.post(
        "/api/users",
        json={"username": "v", "password": "long enough", "role": "enterprise_viewer"},
        headers=op,
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "enterprise_id"
    # The world's seven accounts and the two made here.
    assert len(client.get("/api/users", headers=op).json()) == len(world.user_ids) + 2


def test_profiles(world: World) -> None:
    client, viewer = world.client, world.as_("viewer_a")
    names = [p["name"] for p in client.get("/api/profiles", headers=viewer).json()]
    assert set(names) == {"loom", "cooling_tower", "crah", "rack_sensor", "power_meter", "generic"}
    loom = client.get("/api/profiles/loom", headers=viewer).json()
    assert loom["metrics"]["speed_rpm"]["max"] == 1500
    assert loom["metrics"]["stop_cause"]["states"]["1"]["label_zh"] == "经停"
    tower = client.get("/api/profiles/cooling_tower", headers=viewer).json()["metrics"]
    assert tower["wet_bulb_c"]["plant_role"] == "condition"
    assert tower["cold_water_c"]["plant_role"] == "set_point"
    assert tower["hot_water_c"]["plant_role"] is None
    assert client.get("/api/profiles/toaster", headers=viewer).status_code == 404


def test_summary_for_operator_and_bureau(world: World) -> None:
    for who in ("operator", "bureau"):
        answer = world.client.get("/api/summary", headers=world.as_(who))
        assert answer.status_code == 200
        body = answer.json()
        assert (body["enterprises"], body["devices"]) == (2, 2)
        assert body["parks"][0]["park_name"] == "长乐纺织园"
        assert "loom-001" not in answer.text
    for who in ("admin_a", "viewer_a"):
        assert world.client.get("/api/summary", headers=world.as_(who)).status_code == 403
