"""Changing one's own password through ``POST /api/auth/password``: the current password is
checked (and a wrong one counted like a failed sign-in), the new one follows the rules, and every
other session and API token of the account stops working at once."""

from __future__ import annotations

import httpx

from tests.api.conftest import PASSWORD, World

URL = "/api/auth/password"
NEW = "a brand new passphrase"


def _login(world: World, username: str, password: str) -> httpx.Response:
    answer = world.client.post("/api/auth/login", json={"username": username, "password": password})
    world.client.cookies.clear()  # each caller below says who it is by its bearer token
    return answer


def _bearer(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _change(world: World, headers: dict[str, str], current: str, new: str) -> httpx.Response:
    answer = world.client.post(
        URL, json={"current_password": current, "new_password": new}, headers=headers
    )
    world.client.cookies.clear()
    return answer


def test_a_wrong_current_password_is_refused_and_counted_as_a_failed_sign_in(
    world: World,
) -> None:
    session = _bearer(_login(world, "viewer_a", PASSWORD))
    for _ in range(5):  # the default limit of failed sign-ins per username
        wrong = _change(world, session, "not my password", NEW)
        assert wrong.status_code == 403, wrong.text
        assert wrong.json()["error"]["code"] == "wrong_current_password"
    # Now even the right password waits, here and at sign-in: no oracle beside the sign-in page.
    locked = _change(world, session, PASSWORD, NEW)
    assert locked.status_code == 429, locked.text
    assert _login(world, "viewer_a", PASSWORD).status_code == 429
    assert _login(world, "admin_a", PASSWORD).status_code == 200


def test_a_new_password_that_breaks_a_rule_is_refused_with_its_reason(world: World) -> None:
    session = world.as_("viewer_a")
    cases = {
        "short1234": "new_password_too_short",
        "x" * 257: "new_password_too_long",
        " Viewer_A ": "new_password_is_username",
        PASSWORD: "new_password_unchanged",
    }
    for new, code in cases.items():
        answer = _change(world, session, PASSWORD, new)
        assert answer.status_code == 422, (new, answer.text)
        assert answer.json()["error"]["code"] == code, new
    world.registry.create_user("long-username-1", PASSWORD, "bureau")
    long_name = _bearer(_login(world, "long-username-1", PASSWORD))
    same = _change(world, long_name, PASSWORD, "LONG-USERNAME-1")
    assert same.json()["error"]["code"] == "new_password_is_username", same.text
    # Rules broken cost no guess: the account is not locked by them.
    assert _change(world, session, PASSWORD, NEW).status_code == 200


def test_after_a_change_only_the_new_password_and_the_new_session_work(world: World) -> None:
    first = _bearer(_login(world, "admin_a", PASSWORD))
    other_session = _bearer(_login(world, "admin_a", PASSWORD))
    api_token = world.as_("admin_a")
    assert world.client.get("/api/auth/me", headers=other_session).status_code == 200

    changed = _change(world, first, PASSWORD, NEW)
    assert changed.status_code == 200, changed.text
    fresh = _bearer(changed)
    assert changed.json()["user"]["username"] == "admin_a"

    for ended in (first, other_session, api_token):
        refused = world.client.get("/api/auth/me", headers=ended)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "bad_token"
    assert world.client.get("/api/auth/me", headers=fresh).status_code == 200
    old = _login(world, "admin_a", PASSWORD)
    assert old.status_code == 401 and old.json()["error"]["code"] == "bad_credentials"
    assert _login(world, "admin_a", NEW).status_code == 200
    # Other accounts keep their sessions.
    assert world.client.get("/api/auth/me", headers=world.as_("viewer_a")).status_code == 200


def test_a_session_cookie_needs_the_csrf_token_to_change_the_password(world: World) -> None:
    signed_in = world.client.post(
        "/api/auth/login", json={"username": "viewer_a", "password": PASSWORD}
    )
    assert signed_in.status_code == 200
    body = {"current_password": PASSWORD, "new_password": NEW}
    forged = world.client.post(URL, json=body)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    csrf = world.client.cookies.get("shugu_csrf")
    assert csrf
    changed = world.client.post(URL, json=body, headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 200, changed.text
    # The answer's cookies are the new session: the browser stays signed in.
    assert world.client.get("/api/auth/me").status_code == 200
    world.client.cookies.clear()


def test_the_operator_cannot_sign_in_as_a_first_administrator_who_changed_it(
    world: World,
) -> None:
    new = world.registry.create_enterprise(world.park_id, "丙", "91350100M0001TGQXM", "0502").id
    body = {"username": "c-admin", "password": PASSWORD, "role": "enterprise_admin"}
    made = world.client.post(
        "/api/users", json={**body, "enterprise_id": new}, headers=world.as_("operator")
    )
    assert made.status_code == 201, made.text
    assert made.json()["must_change_password"] is True
    # The operator knows the password it chose: until the holder changes it, it signs in.
    as_operator_knows = _login(world, "c-admin", PASSWORD)
    holder = _bearer(as_operator_knows)
    assert as_operator_knows.json()["user"]["must_change_password"] is True

    changed = _change(world, holder, PASSWORD, NEW)
    assert changed.status_code == 200, changed.text
    assert changed.json()["user"]["must_change_password"] is False
    assert _login(world, "c-admin", PASSWORD).status_code == 401
    refused = world.client.get("/api/auth/me", headers=holder)
    assert refused.status_code == 401


def test_a_password_utf8_cannot_write_is_a_wrong_one_at_sign_in(world: World) -> None:
    """The API's JSON refuses a lone surrogate before it is a password, but the registry is
    also reached by the console's form and the control socket: there it reached the password
    hash, which raised instead of answering "wrong"."""
    import pytest

    from shugu.domain.errors import AuthError

    for username in ("viewer_a", "nobody"):
        with pytest.raises(AuthError) as refused:
            world.registry.authenticate_password(username, "\ud800")
        assert refused.value.code == "bad_credentials"
