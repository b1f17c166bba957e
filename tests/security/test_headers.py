"""Security headers on JSON, on an HTML report, on the API documentation, over TLS."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient
from httpx import Response

from shugu.api.security_headers import API_POLICY
from tests.api.conftest import PASSWORD, World

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _policy(answer: Response) -> dict[str, list[str]]:
    """The Content-Security-Policy as directive → sources."""
    directives: dict[str, list[str]] = {}
    for part in answer.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _assert_common(answer: Response) -> None:
    for name, value in COMMON.items():
        assert answer.headers.get(name) == value, (name, answer.request.url)


def test_json_answers_carry_the_headers_and_a_policy_that_allows_nothing(world: World) -> None:
    client = world.client
    answers = [
        client.get("/api/health"),
        client.get("/api/enterprises", headers=world.as_("operator")),
        client.get("/api/enterprises"),  # 401
        client.get("/api/devices/999999", headers=world.as_("operator")),  # 404
        client.post(f"/api/v1/{world.device_token_a}/telemetry", json={"speed_rpm": 700}),
        client.post("/api/regions", content=b"x" * (2 * 1024 * 1024)),  # 413 from BodyLimit
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 404, 200, 413]
    for answer in answers:
        _assert_common(answer)
        assert answer.headers["content-security-policy"] == API_POLICY
        assert "strict-transport-security" not in answer.headers  # plain HTTP


def test_auth_answers_are_not_stored(world: World) -> None:
    login = world.client.post("/api/auth/login", json={"username": "bureau", "password": PASSWORD})
    me = world.client.get("/api/auth/me", headers=world.as_("bureau"))
    tokens = world.client.get("/api/auth/tokens", headers=world.as_("bureau"))
    for answer in (login, me, tokens):
        assert answer.headers["cache-control"] == "no-store"
        _assert_common(answer)
    assert "cache-control" not in world.client.get("/api/health").headers


def test_an_html_report_allows_only_its_own_inline_style(world: World) -> None:
    answer = world.client.get(
        f"/api/enterprises/{world.ent_a}/inspection-report?date=2026-11-22",
        headers=world.as_("admin_a"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    _assert_common(answer)
    policy = _policy(answer)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    styles = re.findall(r"<style[^>]*>(.*?)</style>", answer.text, re.S)
    assert styles, "the report has its stylesheet inline"
    assert policy["style-src"] == [_sha256(s) for s in styles]
    assert "script-src" not in policy  # the report runs no script
    assert "'unsafe-inline'" not in answer.headers["content-security-policy"]


def test_swagger_ui_may_load_this_origin_and_its_own_inline_script_only(world: World) -> None:
    answer = world.client.get("/docs")
    assert answer.status_code == 200
    _assert_common(answer)
    policy = _policy(answer)
    inline = re.findall(r"<script>(.*?)</script>", answer.text, re.S)
    assert len(inline) == 1
    assert policy["script-src"] == ["'self'", _sha256(inline[0])]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["connect-src"] == ["'self'"]  # the schema, and "try it out"
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "https:" not in answer.headers["content-security-policy"]  # no CDN, no font host


def test_redoc_may_load_this_origin_and_its_worker(world: World) -> None:
    answer = world.client.get("/redoc")
    assert answer.status_code == 200
    _assert_common(answer)
    policy = _policy(answer)
    assert policy["script-src"] == ["'self'"]  # no inline script on the page
    assert "'unsafe-inline'" in policy["style-src"]
    assert policy["worker-src"] == ["blob:"]
    assert "font-src" not in policy  # the system's fonts, none from the internet
    assert "https:" not in answer.headers["content-security-policy"]


def test_the_schema_itself_is_json_with_the_strict_policy(world: World) -> None:
    answer = world.client.get("/openapi.json")
    assert answer.headers["content-security-policy"] == API_POLICY


def test_over_tls_answers_carry_strict_transport_security(world: World) -> None:
    client = TestClient(world.client.app, base_url="https://testserver")
    for path in ("/api/health", "/docs"):
        answer = client.get(path)
        assert answer.headers["strict-transport-security"] == "max-age=31536000"
        _assert_common(answer)
