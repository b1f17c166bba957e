"""Notification settings through the API refuse targets inside the network and headers that
carry credentials, with a 422 that names the field, unless the operator allowed the network."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shugu.cli import app
from shugu.domain.tenancy import Role
from shugu.store.registry import Registry
from tests.api.conftest import World, build_app

Json = dict[str, Any]


def put_channels(w: World, channels: list[Json]) -> Any:
    return w.client.put(
        f"/api/enterprises/{w.ent_b}/notify",
        json={"channels": channels, "policy": None},
        headers=w.as_("admin_b"),
    )


def email(host: str) -> Json:
    return {
        "kind": "email",
        "name": "mail",
        "host": host,
        "sender": "alarm@example.com",
        "recipients": ["ops@example.com"],
    }


@pytest.mark.parametrize(
    ("channel", "address", "field"),
    [
        ({"kind": "webhook", "url": "http://127.0.0.1:8080/hook"}, "127.0.0.1", "url"),
        ({"kind": "webhook", "url": "http://10.1.2.3/hook"}, "10.1.2.3", "url"),
        (
            {"kind": "webhook", "url": "http://169.254.169.254/latest/meta-data/"},
            "169.254.169.254",
            "url",
        ),
        ({"kind": "webhook", "url": "http://localhost:8080/hook"}, "127.0.0.1", "url"),
        ({"kind": "webhook", "url": "http://[::ffff:127.0.0.1]/hook"}, "127.0.0.1", "url"),
        ({"kind": "dingtalk", "url": "http://192.168.1.10/robot/send"}, "192.168.1.10", "url"),
        ({"kind": "wecom", "url": "http://[::1]:9/send?key=k"}, "::1", "url"),
        (email("127.0.0.1"), "127.0.0.1", "host"),
        (email("localhost"), "127.0.0.1", "host"),
    ],
)
def test_a_channel_to_an_address_inside_is_refused(
    world: World, channel: Json, address: str, field: str
) -> None:
    r = put_channels(world, [{"name": "c", **channel}])
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "notify_target_forbidden"
    assert error["field"] == f"channels.0.{field}"
    assert address in error["message"] and "--notify-allow-network" in error["message"]
    saved = world.client.get(f"/api/enterprises/{world.ent_b}/notify", headers=world.as_("admin_b"))
    assert saved.json()["channels"] == []


def test_an_injected_header_and_an_unknown_host_are_refused(world: World) -> None:
    hook = {"kind": "webhook", "name": "c", "url": "http://93.184.215.14/hook"}
    r = put_channels(world, [{**hook, "headers": {"Authorization": "Bearer stolen"}}])
    assert r.status_code == 422 and r.json()["error"]["code"] == "notify_header_forbidden"
    assert "Authorization" in r.json()["error"]["message"]
    r = put_channels(world, [{**hook, "headers": {"X-Token": "a\r\nCookie: s=1"}}])
    assert r.status_code == 422 and r.json()["error"]["code"] == "notify_header_forbidden"
    r = put_channels(world, [{**hook, "url": "http://no-such-host.invalid/hook"}])
    assert r.status_code == 422 and r.json()["error"]["code"] == "notify_target_unresolvable"
    r = put_channels(world, [{**hook, "headers": {"X-Webhook-Token": "t0k"}}])
    assert r.status_code == 200, r.text


def test_the_operator_allows_a_network_and_only_that(registry: Registry, tmp_path: Path) -> None:
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    enterprise = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
    user = registry.create_user(
        "admin", "correct horse battery", Role.ENTERPRISE_ADMIN, enterprise.id
    )
    token = registry.create_api_token(user.id, "tests")
    app, services = build_app(
        registry, tmp_path / "data", notify_allow_networks=("10.20.0.0/16", "127.0.0.2/32")
    )
    url = f"/api/enterprises/{enterprise.id}/notify"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(app) as client:

            def put(target: str) -> Any:
                channel = {"kind": "webhook", "name": "c", "url": target}
                return client.put(url, json={"channels": [channel]}, headers=headers)

            assert put("http://10.20.3.4/hook").status_code == 200
            assert put("http://127.0.0.2:8080/hook").status_code == 200
            for refused in ("http://10.21.0.1/", "http://127.0.0.1/", "http://169.254.169.254/"):
                r = put(refused)
                assert r.status_code == 422, (refused, r.text)
                assert r.json()["error"]["code"] == "notify_target_forbidden"
    finally:
        services.close()


def test_a_name_that_never_resolves_ends_in_a_503_at_the_deadline(
    registry: Registry, tmp_path: Path
) -> None:
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    enterprise = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
    user = registry.create_user(
        "admin", "correct horse battery", Role.ENTERPRISE_ADMIN, enterprise.id
    )
    token = registry.create_api_token(user.id, "tests")
    release = threading.Event()

    def silent_dns(host: str, port: int) -> list[str]:
        release.wait(30)  # a name server that does not answer (a 200 if it is waited for)
        return ["93.184.215.14"]

    app, services = build_app(registry, tmp_path / "data", resolver=silent_dns)
    services.notifier.guard.resolve_deadline_s = 0.5
    hook = {"kind": "webhook", "name": "c", "url": "https://slow.test/hook"}
    try:
        with TestClient(app) as client:
            r = client.put(
                f"/api/enterprises/{enterprise.id}/notify",
                json={"channels": [hook]},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        release.set()
        services.close()
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "notify_target_resolve_timeout"
    assert error["field"] == "channels.0.url"
    assert "'slow.test' did not resolve within 0.5 s" in error["message"]
    assert r.headers["retry-after"] == "30"


def test_serve_refuses_an_allowance_that_is_not_a_network(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["serve", "--data", str(tmp_path / "data"), "--notify-allow-network", "10.0.0.0/33"],
    )
    assert result.exit_code == 2, result.output
    assert "10.0.0.0/33" in result.output and "CIDR" in result.output
