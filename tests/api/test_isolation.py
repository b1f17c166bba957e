"""Tenancy: what each role may see and change through the registry routes."""

from __future__ import annotations

import pytest

from tests.api.conftest import World


def _enterprise_b_reads(world: World) -> list[str]:
    return [
        f"/api/enterprises/{world.ent_b}",
        f"/api/enterprises/{world.ent_b}/assets",
        f"/api/enterprises/{world.ent_b}/devices",
        f"/api/enterprises/{world.ent_b}/consents",
        f"/api/devices/{world.device_b}",
    ]


def _enterprise_b_writes(world: World) -> list[tuple[str, dict[str, object]]]:
    return [
        (f"/api/enterprises/{world.ent_b}/assets", {"level": "site", "name": "x"}),
        (f"/api/enterprises/{world.ent_b}/devices", {"name": "x", "profile": "generic"}),
        (f"/api/enterprises/{world.ent_b}/consents", {"note": "x"}),
        (f"/api/devices/{world.device_b}/token", {}),
        (
            "/api/users",
            {
                "username": "intruder",
                "password": "long enough",
                "role": "enterprise_viewer",
                "enterprise_id": world.ent_b,
            },
        ),
    ]


@pytest.mark.parametrize("who", ["admin_a", "viewer_a"])
def test_enterprise_b_is_invisible_to_enterprise_a(world: World, who: str) -> None:
    headers = world.as_(who)
    missing_body = world.client.get("/api/enterprises/999999", headers=headers).json()
    for path in _enterprise_b_reads(world):
        answer = world.client.get(path, headers=headers)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found", path
    # Hidden looks exactly like missing.
    hidden = world.client.get(f"/api/enterprises/{world.ent_b}", headers=headers).json()
    assert hidden == missing_body
    for path, body in _enterprise_b_writes(world):
        answer = world.client.post(path, json=body, headers=headers)
        assert answer.status_code == 404, path
    listed = world.client.get("/api/enterprises", headers=headers).json()
    assert [e["id"] for e in listed] == [world.ent_a]


def test_consent_of_enterprise_b_cannot_be_revoked_from_a(world: World) -> None:
    consent = world.client.post(
        f"/api/enterprises/{world.ent_b}/consents", json={}, headers=world.as_("admin_b")
    ).json()
    answer = world.client.delete(f"/api/consents/{consent['id']}", headers=world.as_("admin_a"))
    assert answer.status_code == 404
    assert world.registry.has_consent(world.ent_b)


def test_viewer_cannot_change_its_own_enterprise(world: World) -> None:
    headers = world.as_("viewer_a")
    base = f"/api/enterprises/{world.ent_a}"
    for path, body in [
        (f"{base}/assets", {"level": "site", "name": "x"}),
        (f"{base}/devices", {"name": "x", "profile": "generic"}),
        (f"{base}/consents", {}),
        (f"/api/devices/{world.device_a}/token", {}),
        ("/api/users", {"username": "x", "password": "long enough", "role": "enterprise_viewer"}),
        ("/api/regions", {"code": "210200", "name": "大连市"}),
        ("/api/parks", {"region_id": world.region_id, "name": "x"}),
        ("/api/enterprises", {"park_id": world.park_id, "name": "x", "uscc": "91110000600037341L"}),
    ]:
        answer = world.client.post(path, json=body, headers=headers)
        assert answer.status_code == 403, path
        assert answer.json()["error"]["code"] == "forbidden", path
    # ... but reads it.
    for path in [base, f"{base}/assets", f"{base}/devices", f"/api/devices/{world.device_a}"]:
        assert world.client.get(path, headers=headers).status_code == 200, path


def test_only_the_operator_manages_the_platform(world: World) -> None:
    for who in ("bureau", "admin_a"):
        answer = world.client.post(
            "/api/regions", json={"code": "210200", "name": "大连市"}, headers=world.as_(who)
        )
        assert answer.status_code == 403
        enterprise = world.client.post(
            "/api/enterprises",
            json={"park_id": world.park_id, "name": "x", "uscc": "91110000600037341L"},
            headers=world.as_(who),
        )
        assert enterprise.status_code == 403


def test_bureau_needs_consent_for_machine_level_data(world: World) -> None:
    client, bureau = world.client, world.as_("bureau")
    machine_paths = [
        f"/api/enterprises/{world.ent_a}/devices",
        f"/api/enterprises/{world.ent_a}/assets",
        f"/api/devices/{world.device_a}",
    ]

    def codes() -> list[tuple[int, str | None]]:
        answers = [client.get(path, headers=bureau) for path in machine_paths]
        return [
            (a.status_code, a.json()["error"]["code"] if a.status_code >= 400 else None)
            for a in answers
        ]

    # Registry data of every enterprise is visible to the bureau without consent.
    assert client.get(f"/api/enterprises/{world.ent_a}", headers=bureau).status_code == 200
    assert len(client.get("/api/enterprises", headers=bureau).json()) == 2
    assert codes() == [(403, "consent_required")] * 3

    granted = client.post(
        f"/api/enterprises/{world.ent_a}/consents",
        json={"note": "同意区工信局查看设备级数据"},
        headers=world.as_("admin_a"),
    )
    assert granted.status_code == 201, granted.text
    assert codes() == [(200, None)] * 3
    consents = client.get(f"/api/enterprises/{world.ent_a}/consents", headers=bureau).json()
    assert [c["active"] for c in consents] == [True]

    # The bureau cannot revoke the enterprise's consent, nor change anything with it.
    consent_id = granted.json()["id"]
    assert client.delete(f"/api/consents/{consent_id}", headers=bureau).status_code == 403
    rotate = client.post(f"/api/devices/{world.device_a}/token", headers=bureau)
    assert rotate.status_code == 403 and rotate.json()["error"]["code"] == "forbidden"

    revoked = client.delete(f"/api/consents/{consent_id}", headers=world.as_("admin_a"))
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert codes() == [(403, "consent_required")] * 3
    # Consent of enterprise A says nothing about enterprise B.
    b_devices = client.get(f"/api/enterprises/{world.ent_b}/devices", headers=bureau)
    assert b_devices.json()["error"]["code"] == "consent_required"


def test_only_the_enterprise_revokes_the_bureau_s_consent(world: World) -> None:
    granted = world.client.post(
        f"/api/enterprises/{world.ent_a}/consents", json={}, headers=world.as_("admin_a")
    ).json()
    answer = world.client.delete(f"/api/consents/{granted['id']}", headers=world.as_("operator"))
    assert answer.status_code == 403
    assert world.registry.has_consent(world.ent_a)


def test_the_operator_may_give_up_its_own_consent(world: World) -> None:
    granted = world.client.post(
        f"/api/enterprises/{world.ent_a}/consents",
        json={"grantee": "operator"},
        headers=world.as_("admin_a"),
    ).json()
    assert world.registry.has_consent(world.ent_a, "operator")
    assert not world.registry.has_consent(world.ent_a, "bureau")
    answer = world.client.delete(f"/api/consents/{granted['id']}", headers=world.as_("operator"))
    assert answer.status_code == 200
    assert not world.registry.has_consent(world.ent_a, "operator")


def test_the_operator_cannot_grant_itself_consent(world: World) -> None:
    answer = world.client.post(
        f"/api/enterprises/{world.ent_a}/consents",
        json={"grantee": "operator"},
        headers=world.as_("operator"),
    )
    assert answer.status_code == 403
    assert not world.registry.has_consent(world.ent_a, "operator")


def test_the_operator_s_rejects_log_quotes_no_values_without_consent(world: World) -> None:
    sent = world.client.post(
        f"/api/v1/{world.device_token_a}/telemetry", json={"speed_rpm": "secret-recipe-7"}
    )
    assert sent.status_code == 400
    log = world.client.get("/api/rejects", headers=world.as_("operator")).json()
    assert any(c["device"] == world.device_a for c in log["counts"])  # health: counted
    assert all(s["device"] != world.device_a for s in log["samples"])  # values: not quoted
    world.registry.grant_consent(world.ent_a, world.user_ids["admin_a"], "", "operator")
    log = world.client.get("/api/rejects", headers=world.as_("operator")).json()
    assert any(s["device"] == world.device_a for s in log["samples"])


def test_the_operator_s_rejects_log_fills_its_limit_with_samples_it_may_read(
    world: World,
) -> None:
    """Newer samples of an enterprise without consent must not crowd out older readable ones:
    the filter is part of the query, not applied to the newest ``limit`` afterwards."""
    world.registry.grant_consent(world.ent_a, world.user_ids["admin_a"], "", "operator")
    bad = {"speed_rpm": "not a number"}
    assert (
        world.client.post(f"/api/v1/{world.device_token_a}/telemetry", json=bad).status_code == 400
    )
    for _ in range(3):
        sent = world.client.post(f"/api/v1/{world.device_token_b}/telemetry", json=bad)
        assert sent.status_code == 400
    log = world.client.get("/api/rejects?limit=2", headers=world.as_("operator")).json()
    assert [s["device"] for s in log["samples"]] == [world.device_a]


def test_missing_objects_are_404_for_the_operator_too(world: World) -> None:
    op = world.as_("operator")
    for path in [
        "/api/parks/999",
        "/api/enterprises/999",
        "/api/enterprises/999/devices",
        "/api/enterprises/999/assets",
        "/api/devices/999",
    ]:
        answer = world.client.get(path, headers=op)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"
    assert world.client.delete("/api/consents/999", headers=op).status_code == 404
