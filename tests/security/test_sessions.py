"""Browser sessions: cookie attributes, CSRF on unsafe requests, signing out, revoked tokens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shugu.api.app import create_app
from shugu.config import Settings
from shugu.runtime import open_services
from shugu.store.registry import Registry
from tests.api.conftest import PASSWORD, World


def _cookies(set_cookie_headers: list[str]) -> dict[str, dict[str, str | bool]]:
    """Set-Cookie headers by cookie name: value and attributes (lower-case keys)."""
    found: dict[str, dict[str, str | bool]] = {}
    for header in set_cookie_headers:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            attrs: dict[str, str | bool] = {"value": morsel.value}
            attrs.update({k.lower(): v for k, v in morsel.items() if v})
            found[name] = attrs
    return found


def _sign_in(client: TestClient, username: str = "admin_a") -> dict[str, dict[str, str | bool]]:
    answer = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return _cookies(answer.headers.get_list("set-cookie"))


def test_sign_in_sets_an_httponly_strict_session_cookie_and_a_readable_csrf_cookie(
    world: World,
) -> None:
    answer = world.client.post(
        "/api/auth/login", json={"username": "admin_a", "password": PASSWORD}
    )
    cookies = _cookies(answer.headers.get_list("set-cookie"))
    session, csrf = cookies["shugu_session"], cookies["shugu_csrf"]
    assert session["value"] == answer.json()["token"]  # the same session as the bearer token
    assert session["httponly"] is True
    assert str(session["samesite"]).lower() == "strict"
    assert session["path"] == "/"
    assert session["max-age"] == str(12 * 3600)
    assert "secure" not in session  # plain HTTP, no TLS proxy declared
    assert "httponly" not in csrf  # page scripts read it
    assert str(csrf["samesite"]).lower() == "strict"
    expected = hmac.new(
        str(session["value"]).encode(), b"shugu csrf v1", hashlib.sha256
    ).hexdigest()
    assert csrf["value"] == expected


def test_over_tls_the_cookies_are_secure_and_host_prefixed(world: World) -> None:
    client = TestClient(world.client.app, base_url="https://testserver")
    cookies = _sign_in(client)
    for name in ("__Host-shugu_session", "__Host-shugu_csrf"):
        assert cookies[name]["secure"] is True
        assert cookies[name]["path"] == "/"
        assert "domain" not in cookies[name]
    # The browser sends them back over TLS, and they sign the requests in.
    assert client.get("/api/auth/me").json()["username"] == "admin_a"


@pytest.fixture
def tls_proxied_client(registry: Registry, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "proxied", behind_tls=True)
    services = open_services(settings, registry)
    with TestClient(create_app(settings, services)) as client:
        yield client
    services.close()


def test_behind_a_tls_proxy_the_cookies_are_secure_over_plain_http(
    world: World, tls_proxied_client: TestClient
) -> None:
    answer = tls_proxied_client.post(
        "/api/auth/login", json={"username": "admin_a", "password": PASSWORD}
    )
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
    cookies = _cookies(answer.headers.get_list("set-cookie"))
    assert cookies["__Host-shugu_session"]["secure"] is True
    assert cookies["__Host-shugu_csrf"]["secure"] is True


def test_the_cookie_signs_in_safe_requests(world: World) -> None:
    _sign_in(world.client, "bureau")
    assert world.client.get("/api/auth/me").json()["username"] == "bureau"


def test_unsafe_requests_by_cookie_need_the_csrf_token(world: World) -> None:
    client = world.client
    cookies = _sign_in(client)
    csrf = str(cookies["shugu_csrf"]["value"])
    body = {"name": "导出脚本"}
    for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": ""}):
        refused = client.post("/api/auth/tokens", json=body, headers=headers)
        assert refused.status_code == 403, headers
        assert refused.json()["error"]["code"] == "csrf_failed"
    made = client.post("/api/auth/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    token_id = made.json()["id"]
    assert client.delete(f"/api/auth/tokens/{token_id}").status_code == 403
    gone = client.delete(f"/api/auth/tokens/{token_id}", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 204


def test_a_csrf_token_of_another_session_is_refused(world: World) -> None:
    other = TestClient(world.client.app)
    stolen = str(_sign_in(other, "admin_a")["shugu_csrf"]["value"])
    _sign_in(world.client, "admin_a")
    refused = world.client.post(
        "/api/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": stolen}
    )
    assert refused.status_code == 403


def test_bearer_requests_need_no_csrf_token_even_with_a_cookie(world: World) -> None:
    _sign_in(world.client)  # the cookie jar now holds a session
    made = world.client.post("/api/auth/tokens", json={"name": "ci"}, headers=world.as_("bureau"))
    assert made.status_code == 201
    # The bearer header, not the cookie, decided who is asking.
    listed = world.client.get("/api/auth/tokens", headers=world.as_("bureau")).json()
    assert "ci" in [t["name"] for t in listed]


def test_logout_revokes_the_session_and_clears_the_cookies(world: World) -> None:
    client = world.client
    cookies = _sign_in(client)
    session = str(cookies["shugu_session"]["value"])
    csrf = str(cookies["shugu_csrf"]["value"])
    assert client.post("/api/auth/logout").status_code == 403  # CSRF applies to signing out too
    assert client.get("/api/auth/me").status_code == 200
    answer = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 204
    cleared = _cookies(answer.headers.get_list("set-cookie"))
    for name in ("shugu_session", "shugu_csrf"):
        assert cleared[name]["max-age"] == "0"
    assert cleared["shugu_session"]["httponly"] is True
    assert "shugu_session" not in client.cookies
    # The session is gone on the server too, however it is presented.
    client.cookies.set("shugu_session", session)
    assert client.get("/api/auth/me").json()["error"]["code"] == "bad_token"
    client.cookies.clear()
    bearer = client.get("/api/auth/me", headers={"Authorization": f"Bearer {session}"})
    assert bearer.status_code == 401


def test_logout_by_bearer_revokes_that_token(world: World) -> None:
    client = world.client
    token = client.post(
        "/api/auth/login", json={"username": "viewer_a", "password": PASSWORD}
    ).json()["token"]
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert client.post("/api/auth/logout").status_code == 401  # nothing left to sign out


def test_a_revoked_api_token_is_refused(world: World) -> None:
    client = world.client
    made = client.post("/api/auth/tokens", json={"name": "月报"}, headers=world.as_("bureau"))
    token, token_id = made.json()["token"], made.json()["id"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/summary", headers=headers).status_code == 200
    assert client.delete(f"/api/auth/tokens/{token_id}", headers=headers).status_code == 204
    refused = client.get("/api/summary", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "bad_token"


def test_an_unknown_session_cookie_is_refused(world: World) -> None:
    world.client.cookies.set("shugu_session", "forged")
    answer = world.client.get("/api/auth/me")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_token"
