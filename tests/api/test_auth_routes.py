from __future__ import annotations

from tests.api.conftest import PASSWORD, World


def test_login_me_and_logout(world: World) -> None:
    client = world.client
    answer = client.post("/api/auth/login", json={"username": "admin_a", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"]["username"] == "admin_a"
    assert body["user"]["role"] == "enterprise_admin"
    assert body["user"]["enterprise_id"] == world.ent_a
    assert body["expires_at"] is not None
    headers = {"Authorization": f"Bearer {body['token']}"}
    me = client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["id"] == world.user_ids["admin_a"]

    assert client.delete(f"/api/auth/tokens/{body['id']}", headers=headers).status_code == 204
    gone = client.get("/api/auth/me", headers=headers)
    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "bad_token"


def test_wrong_password_and_unknown_user_answer_alike(world: World) -> None:
    answers = [
        world.client.post("/api/auth/login", json={"username": u, "password": p})
        for u, p in [("admin_a", "not the password"), ("ghost", PASSWORD)]
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error"]["code"] == "bad_credentials"


def test_requests_without_a_token_are_refused(world: World) -> None:
    answer = world.client.get("/api/enterprises")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "auth_required"
    assert answer.headers["www-authenticate"] == "Bearer"
    bad = world.client.get("/api/enterprises", headers={"Authorization": "Bearer nonsense"})
    assert bad.json()["error"]["code"] == "bad_token"


def test_api_tokens(world: World) -> None:
    client = world.client
    created = client.post(
        "/api/auth/tokens",
        json={"name": "月报导出", "ttl_seconds": 3600},
        headers=world.as_("bureau"),
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=headers).json()["username"] == "bureau"
    listed = client.get("/api/auth/tokens", headers=world.as_("bureau")).json()
    assert "月报导出" in [t["name"] for t in listed]
    assert all("token" not in t for t in listed)

    # Another user's token is not there for them; the operator may revoke it.
    token_id = created.json()["id"]
    other = client.delete(f"/api/auth/tokens/{token_id}", headers=world.as_("admin_a"))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    operator = client.delete(f"/api/auth/tokens/{token_id}", headers=world.as_("operator"))
    assert operator.status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_token_request_validation(world: World) -> None:
    answer = world.client.post(
        "/api/auth/tokens", json={"name": "x", "ttl_seconds": 0}, headers=world.as_("bureau")
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["field"] == "body.ttl_seconds"
