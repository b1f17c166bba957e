"""Accounts given another role, disabled and enabled through ``PATCH /api/users/{id}``: who may,
and that a disabled account's sign-in, session and API tokens are refused at once."""

from __future__ import annotations

from tests.api.conftest import PASSWORD, World


def _viewer_of_a(world: World, name: str = "a-extra") -> int:
    made = world.client.post(
        "/api/users",
        json={"username": name, "password": PASSWORD, "role": "enterprise_viewer"},
        headers=world.as_("admin_a"),
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _sign_in(world: World, username: str) -> dict[str, str]:
    answer = world.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_an_administrator_changes_a_role_and_the_session_follows_at_once(world: World) -> None:
    user_id = _viewer_of_a(world)
    session = _sign_in(world, "a-extra")
    me = world.client.get("/api/auth/me", headers=session)
    assert me.json()["role"] == "enterprise_viewer", me.text
    changed = world.client.patch(
        f"/api/users/{user_id}", json={"role": "enterprise_admin"}, headers=world.as_("admin_a")
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "enterprise_admin"
    assert world.client.get("/api/auth/me", headers=session).json()["role"] == "enterprise_admin"


def test_a_disabled_account_is_refused_sign_in_and_its_tokens_stop_working(world: World) -> None:
    user_id = _viewer_of_a(world)
    session = _sign_in(world, "a-extra")
    api_token = world.registry.create_api_token(user_id, "script")
    script = {"Authorization": f"Bearer {api_token}"}
    assert world.client.get("/api/auth/me", headers=script).status_code == 200
    disabled = world.client.patch(
        f"/api/users/{user_id}", json={"disabled": True}, headers=world.as_("admin_a")
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None
    assert world.client.get("/api/auth/me", headers=session).status_code == 401
    assert world.client.get("/api/auth/me", headers=script).status_code == 401
    refused = world.client.post(
        "/api/auth/login", json={"username": "a-extra", "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "account_disabled"
    # A wrong password still says only that the credentials are wrong.
    wrong = world.client.post("/api/auth/login", json={"username": "a-extra", "password": "x" * 9})
    assert wrong.json()["error"]["code"] == "bad_credentials"
    enabled = world.client.patch(
        f"/api/users/{user_id}", json={"disabled": False}, headers=world.as_("admin_a")
    )
    assert enabled.json()["disabled_at"] is None
    # Enabling brings back no old token; signing in again works.
    assert world.client.get("/api/auth/me", headers=session).status_code == 401
    assert world.client.get("/api/auth/me", headers=_sign_in(world, "a-extra")).status_code == 200


def test_who_may_change_an_account(world: World) -> None:
    user_id = _viewer_of_a(world)
    url = f"/api/users/{user_id}"
    promote = {"role": "enterprise_admin"}
    viewer = world.client.patch(url, json=promote, headers=world.as_("viewer_a"))
    assert viewer.status_code == 403, viewer.text
    other = world.client.patch(url, json=promote, headers=world.as_("admin_b"))
    assert other.status_code == 404, other.text
    operator = world.client.patch(url, json=promote, headers=world.as_("operator"))
    assert operator.status_code == 403
    assert operator.json()["error"]["code"] == "enterprise_accounts_are_its_own"
    own = world.client.patch(
        f"/api/users/{world.user_ids['admin_a']}",
        json={"disabled": True},
        headers=world.as_("admin_a"),
    )
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_account"
    across = world.client.patch(url, json={"role": "bureau"}, headers=world.as_("admin_a"))
    assert across.status_code == 422
    assert across.json()["error"]["code"] == "role_change_not_allowed"
    platform = f"/api/users/{world.user_ids['bureau']}"
    hidden = world.client.patch(platform, json={"disabled": True}, headers=world.as_("admin_a"))
    assert hidden.status_code == 404
    by_operator = world.client.patch(
        platform, json={"disabled": True}, headers=world.as_("operator")
    )
    assert by_operator.status_code == 200, by_operator.text
    assert world.client.get("/api/auth/me", headers=world.as_("bureau")).status_code == 401
    nowhere = world.client.patch(
        "/api/users/99999999999999999999", json={"disabled": True}, headers=world.as_("operator")
    )
    assert nowhere.status_code in (404, 422)
