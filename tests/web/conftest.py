"""The console over the API tests' small world (tests/api/conftest.py): two enterprises, an
account of every role, a device each. ``sign_in`` signs a TestClient in through the sign-in page
as a browser does, so the session cookies are set."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import (  # noqa: F401  (fixtures, shared with the API tests)
    PASSWORD,
    World,
    registry,
    world,
    world_resolver,
    world_settings,
)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the form; the session's CSRF token (for unsafe requests)."""
    client.cookies.clear()
    answer = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    token = client.cookies.get("shugu_csrf")
    assert token
    return token


def csrf_headers(token: str) -> dict[str, str]:
    """What htmx sends with a request that changes something."""
    return {"X-CSRF-Token": token, "HX-Request": "true"}
