"""The platform operator's pages: enterprises by park, one enterprise's accounts and device
credentials (rotate, delete, through the API's own service), and the platform's health, whose
figures the live stream sends."""

from __future__ import annotations

import html
import json
import re
from typing import cast

from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.tenancy import Grantee
from shugu.domain.timeutil import utc_now_ms
from shugu.web.health import forget_reject_counts, snapshot
from tests.web.conftest import World, csrf_headers, sign_in


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


def _send(w: World, token: str, values: dict[str, object]) -> int:
    answer = w.client.post(
        f"/api/v1/{token}/telemetry", json={"ts": utc_now_ms() - 1000, "values": values}
    )
    return answer.status_code


def _row(page: str, enterprise_id: int) -> str:
    found = re.search(rf'<tr data-enterprise="{enterprise_id}">(.*?)</tr>', page, re.S)
    assert found, f"no row for enterprise {enterprise_id}"
    return found.group(1)


def _cells(row: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", " ", cell).split()[0] if cell.strip() else ""
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def test_enterprises_are_listed_by_park_with_devices_online_and_accounts(world: World) -> None:
    assert _send(world, world.device_token_a, {"speed_rpm": 600}) == 200
    sign_in(world.client, "operator")
    page = world.client.get("/operator/enterprises")
    assert page.status_code == 200
    assert "长乐纺织园" in page.text and "统一社会信用代码" in page.text
    a, b = _cells(_row(page.text, world.ent_a)), _cells(_row(page.text, world.ent_b))
    # name, USCC, devices, online, stale, offline, accounts
    assert a[2:7] == ["1", "1", "0", "0", "2"]  # admin_a and viewer_a
    assert b[2:7] == ["1", "0", "0", "1", "1"]
    assert f'href="/operator/enterprises/{world.ent_a}"' in page.text
    assert f'href="/e/{world.ent_a}/tree"' in page.text
    assert f'href="/e/{world.ent_a}/onboard"' in page.text
    # No consent: no link to pages of machine values, and the row says so.
    assert f'href="/e/{world.ent_b}/alarms"' not in page.text
    assert "未授权" in _row(page.text, world.ent_b)


def test_an_enterprise_shows_its_accounts_and_devices_without_live_values(world: World) -> None:
    sign_in(world.client, "operator")
    page = world.client.get(f"/operator/enterprises/{world.ent_b}")
    assert page.status_code == 200
    assert "乙数据中心" in page.text and "admin_b" in page.text and "crah-01" in page.text
    assert f'hx-post="/operator/enterprises/{world.ent_b}/devices/{world.device_b}/token"' in (
        page.text
    )
    assert f'hx-delete="/operator/enterprises/{world.ent_b}/devices/{world.device_b}"' in page.text
    assert page.text.count("hx-confirm=") == 2
    # Nothing on the page asks the stream for B's values (refused without consent).
    assert "data-last-seen" not in page.text and "data-device=" not in page.text
    assert world.client.get("/operator/enterprises/99999").status_code == 404


def test_rotating_a_token_shows_the_new_one_once_and_the_old_one_stops(world: World) -> None:
    csrf = sign_in(world.client, "operator")
    old = world.device_token_b
    answer = world.client.post(
        f"/operator/enterprises/{world.ent_b}/devices/{world.device_b}/token",
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    found = re.search(r'id="token-\d+"[^>]*>([^<]+)<', answer.text)
    assert found
    new = html.unescape(found.group(1))
    assert new != old and f'data-copy="token-{world.device_b}"' in answer.text
    assert _send(world, old, {"supply_air_c": 20}) == 401
    assert _send(world, new, {"supply_air_c": 20}) == 200


def test_deleting_a_device_ends_its_access(world: World) -> None:
    csrf = sign_in(world.client, "operator")
    refused = world.client.delete(f"/operator/enterprises/{world.ent_b}/devices/{world.device_b}")
    assert refused.status_code == 403  # no CSRF token
    answer = world.client.delete(
        f"/operator/enterprises/{world.ent_b}/devices/{world.device_b}",
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 200
    assert "crah-01" in answer.text and "已删除" in answer.text
    assert world.registry.list_devices(world.ent_b) == []
    assert _send(world, world.device_token_b, {"supply_air_c": 20}) == 401


def test_a_device_is_reached_only_under_its_own_enterprise(world: World) -> None:
    csrf = sign_in(world.client, "operator")
    answer = world.client.post(
        f"/operator/enterprises/{world.ent_a}/devices/{world.device_b}/token",
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 404
    assert _send(world, world.device_token_b, {"supply_air_c": 20}) == 200


def test_enterprise_accounts_do_not_open_operator_pages(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    for url in (
        "/operator/health",
        "/operator/enterprises",
        f"/operator/enterprises/{world.ent_b}",
    ):
        assert world.client.get(url).status_code == 403, url
    answer = world.client.post(
        f"/operator/enterprises/{world.ent_b}/devices/{world.device_b}/token",
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 403
    assert _send(world, world.device_token_b, {"supply_air_c": 20}) == 200


def test_health_counts_ingest_by_transport_and_refusals_by_reason(world: World) -> None:
    services = services_of(world)
    assert _send(world, world.device_token_a, {"speed_rpm": 600, "power_kw": 4.5}) == 200
    assert _send(world, "not-a-token", {"speed_rpm": 1}) == 401
    batch = world.client.post(
        f"/api/v1/batch?enterprise={world.ent_a}",
        json={"loom-001": {"speed_rpm": 610}},
        headers=world.as_("operator"),
    )
    assert batch.status_code == 200, batch.text
    figures = snapshot(services)
    assert figures["ingest_total_http"] == 2
    assert figures["ingest_total_gateway"] == 1
    assert figures["ingest_total_mqtt"] == 0 and figures["ingest_total_arrow"] == 0
    rejects = figures["rejects_by_code"]
    assert isinstance(rejects, dict) and rejects["bad_device_token"]["n"] == 1
    json.dumps(figures)  # what the stream sends

    sign_in(world.client, "operator")
    page = world.client.get("/operator/health")
    assert page.status_code == 200
    assert "data-live-health" in page.text
    for key in ("ingest_rate_mqtt", "mqtt_connections", "backlog_points", "monitor_lag_p50_ms"):
        assert f'data-health="{key}"' in page.text
    assert 'data-health="ingest_total_http" data-digits="0">2<' in page.text
    assert "每秒入库数据点" in page.text and "MQTT 直连设备" in page.text
    history = re.search(r'id="ingest-history">(.*?)</script>', page.text, re.S)
    assert history and set(json.loads(history.group(1))["series"]) >= {"mqtt", "http", "arrow"}
    assert '<tr data-code="bad_device_token">' in page.text
    assert "设备访问令牌无效。" in page.text


def test_reject_samples_quote_values_only_of_enterprises_that_consent(world: World) -> None:
    services = services_of(world)
    # B's strict profile refuses an unknown metric and keeps a sample quoting it.
    answer = world.client.post(
        f"/api/v1/{world.device_token_b}/telemetry", json={"secret_metric": 42}
    )
    assert answer.status_code == 400
    services.store.flush()
    forget_reject_counts(services.store)
    sign_in(world.client, "operator")
    fragment = world.client.get("/operator/health/rejects")
    assert fragment.status_code == 200
    assert '<tr data-code="unknown_metric">' in fragment.text  # counts name no value
    assert "secret_metric" not in fragment.text
    grant = world.client.post(
        f"/api/enterprises/{world.ent_b}/consents",
        json={"grantee": Grantee.OPERATOR.value},
        headers=world.as_("admin_b"),
    )
    assert grant.status_code == 201, grant.text
    fragment = world.client.get("/operator/health/rejects")
    assert "secret_metric" in fragment.text and "crah-01" in fragment.text


def test_the_stream_sends_the_health_figures_to_the_operator_only(world: World) -> None:
    sign_in(world.client, "operator")
    with world.client.stream("GET", "/live?health=1") as stream:
        assert stream.status_code == 200
        event = None
        for line in stream.iter_lines():
            if line == "event: health":
                event = "health"
            elif event == "health" and line.startswith("data: "):
                figures = json.loads(line.removeprefix("data: "))
                break
    assert {"ingest_rate", "ingest_rate_gateway", "rejects_by_code", "notify_failed"} <= set(
        figures
    )
    sign_in(world.client, "admin_a")
    assert world.client.get("/live?health=1").status_code == 403
