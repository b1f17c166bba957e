"""The device page: header (place, state, values, alarms), chart data by span, attributes,
rejects and the command console, each scoped as the API scopes it."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import orjson
import pytest

from shugu.api.services import Services
from shugu.domain.tenancy import Grantee
from shugu.store.chart_series import MAX_RAW_POINTS, TARGET_POINTS, bucket_for
from shugu.web.i18n import Translator
from tests.api.conftest import World
from tests.web.conftest import csrf_headers, sign_in

HOUR_MS = 3_600_000


def services_of(world: World) -> Services:
    services: Services = world.client.app.state.services  # type: ignore[attr-defined]
    return services


def send(world: World, token: str, payload: Any) -> None:
    """Values sent as a device sends them, durable before this returns."""
    answer = world.client.post(f"/api/v1/{token}/telemetry", json=payload)
    assert answer.status_code == 200, answer.text
    services_of(world).store.flush()


def now_ms() -> int:
    return int(time.time() * 1000)


def english(world: World) -> None:
    world.client.get("/lang?to=en&next=/")


def chart_config(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="device-chart-config">(.*?)</script>', html, re.S
    )
    assert match, "the page carries no chart configuration"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def test_the_header_shows_place_profile_state_and_live_values(world: World) -> None:
    area = world.registry.create_asset(world.ent_a, "area", "织造车间", parent_id=world.site_a)
    device, token = world.registry.create_device(world.ent_a, "loom-042", "loom", asset_id=area.id)
    send(world, token, {"ts": now_ms(), "values": {"speed_rpm": 612.5, "running": 1}})
    sign_in(world.client, "viewer_a")
    page = world.client.get(f"/devices/{device.id}")
    assert page.status_code == 200
    text = page.text
    crumbs = re.search(r'data-testid="device-crumbs">(.*?)</nav>', text, re.S)
    assert crumbs is not None
    # Enterprise › site › area › device, in that order.
    order = [crumbs.group(1).index(name) for name in ("甲纺织", "甲厂区", "织造车间", "loom-042")]
    assert order == sorted(order)
    assert "织机" in text  # the profile, in Chinese
    assert 'data-state="online"' in text and "在线" in text
    assert re.search(
        rf'data-device="{device.id}" data-metric="speed_rpm" data-digits="1">612.50?<', text
    ), "the speed is shown as a live value"
    # A state metric shows its state's name, and carries the names for live updates.
    assert re.search(rf'data-device="{device.id}" data-metric="running"[^>]*>运行<', text)
    assert f'data-last-seen="{device.id}"' in text
    assert 'data-count="0"' in text and Translator("zh-CN")("No open alarms") in text
    assert f'hx-get="/devices/{device.id}/rules"' in text
    english(world)
    text = world.client.get(f"/devices/{device.id}").text
    assert "Loom" in text and "Online" in text and "Speed" in text


def test_a_device_that_never_sent_is_offline(world: World) -> None:
    sign_in(world.client, "admin_a")
    text = world.client.get(f"/devices/{world.device_a}").text
    assert 'data-state="offline"' in text and "离线" in text
    assert "从未上报" in text


def test_another_enterprises_device_is_not_found_and_values_need_consent(world: World) -> None:
    sign_in(world.client, "admin_a")
    for url in (
        f"/devices/{world.device_b}",
        f"/devices/{world.device_b}/chart?metric=supply_air_c",
        f"/devices/{world.device_b}/alarm-badge",
    ):
        assert world.client.get(url).status_code == 404, url
    sign_in(world.client, "bureau")
    assert world.client.get(f"/devices/{world.device_a}").status_code == 403
    # The operator sees where the device stands, not its values.
    sign_in(world.client, "operator")
    page = world.client.get(f"/devices/{world.device_a}")
    assert page.status_code == 200
    assert 'data-testid="no-consent"' in page.text
    assert "device-chart-config" not in page.text and "rpc-form" not in page.text
    chart = world.client.get(f"/devices/{world.device_a}/chart?metric=speed_rpm")
    assert chart.status_code == 403
    # With the enterprise's consent the operator reads values and may send commands.
    world.registry.grant_consent(world.ent_a, world.user_ids["admin_a"], grantee=Grantee.OPERATOR)
    page = world.client.get(f"/devices/{world.device_a}")
    assert "device-chart-config" in page.text and 'data-testid="rpc-form"' in page.text


def test_short_spans_chart_raw_points_and_the_config_names_every_metric(world: World) -> None:
    now = now_ms()
    points = [{"ts": now - (30 - i) * 60_000, "values": {"speed_rpm": 600 + i}} for i in range(30)]
    send(world, world.device_token_a, points)
    sign_in(world.client, "viewer_a")
    answer = world.client.get(f"/devices/{world.device_a}/chart?metric=speed_rpm&range=1h")
    assert answer.status_code == 200
    data = answer.json()
    assert data["bucket_ms"] is None and data["live"] is True and data["range"] == "1h"
    assert [p[1] for p in data["points"]] == [600 + i for i in range(30)]
    assert data["end"] - data["start"] == HOUR_MS
    config = chart_config(world.client.get(f"/devices/{world.device_a}?range=6h").text)
    assert config["range"] == "6h"
    names = [m["name"] for m in config["metrics"]]
    assert "speed_rpm" in names and "running" in names
    running = next(m for m in config["metrics"] if m["name"] == "running")
    assert running["states"] == {"0": "停机", "1": "运行"}
    assert config["messages"]["Average"] == "平均值"


def test_long_spans_chart_buckets_with_their_min_max_and_count(world: World) -> None:
    now = now_ms()
    # Two hours a day ago: three points per 10-minute bucket of the 7-day chart.
    base = (now - 86_400_000) // 600_000 * 600_000
    points = [
        {"ts": base + b * 600_000 + k * 120_000, "values": {"power_kw": float(b * 10 + k)}}
        for b in range(12)
        for k in range(3)
    ]
    send(world, world.device_token_a, points)
    sign_in(world.client, "admin_a")
    data = world.client.get(f"/devices/{world.device_a}/chart?metric=power_kw&range=7d").json()
    assert data["bucket_ms"] == bucket_for(7 * 24 * HOUR_MS) == 600_000
    rows = {row[0]: row[1:] for row in data["points"]}
    assert len(rows) == 12
    assert rows[base + 600_000] == [11.0, 10.0, 12.0, 3]  # avg, min, max, count
    # At most TARGET_POINTS buckets, whatever the span.
    for span in (HOUR_MS, 24 * HOUR_MS, 7 * 24 * HOUR_MS, 30 * 24 * HOUR_MS, 366 * 24 * HOUR_MS):
        assert span / bucket_for(span) <= TARGET_POINTS


def test_a_short_span_with_too_many_points_is_bucketed(world: World) -> None:
    now = now_ms()
    start = now - HOUR_MS
    points = [
        {"ts": start + i * 1000, "values": {"power_kw": 1.0}} for i in range(MAX_RAW_POINTS + 100)
    ]
    send(world, world.device_token_a, points)
    sign_in(world.client, "admin_a")
    data = world.client.get(f"/devices/{world.device_a}/chart?metric=power_kw&range=1h").json()
    assert data["bucket_ms"] == bucket_for(HOUR_MS) == 5000
    assert len(data["points"]) <= TARGET_POINTS


def test_a_custom_range_is_fixed_and_bad_ranges_are_refused(world: World) -> None:
    sign_in(world.client, "admin_a")
    url = f"/devices/{world.device_a}/chart?metric=speed_rpm"
    data = world.client.get(url + "&start=2026-01-01T08:00&end=2026-01-01T20:00").json()
    assert data["range"] == "custom" and data["live"] is False
    assert data["end"] - data["start"] == 12 * HOUR_MS
    for bad in (
        "&range=2y",
        "&start=2026-01-02&end=2026-01-01",
        "&start=yesterday",
        "&start=2020-01-01&end=2026-01-01",
    ):
        answer = world.client.get(url + bad, headers={"HX-Request": "true"})
        assert answer.status_code == 422, bad
    english(world)
    answer = world.client.get(
        url + "&start=2020-01-01&end=2026-01-01", headers={"HX-Request": "true"}
    )
    assert 'data-code="range_too_long"' in answer.text and "366 days" in answer.text
    # The page itself still shows a device given a bad range, over the default one.
    page = world.client.get(f"/devices/{world.device_a}?range=2y")
    assert page.status_code == 200 and chart_config(page.text)["range"] == "24h"
    page = world.client.get(f"/devices/{world.device_a}?start=2026-01-01T08:00")
    assert 'value="2026-01-01T08:00"' in page.text


def test_attributes_are_listed_and_an_admin_sets_a_shared_one(world: World) -> None:
    answer = world.client.post(
        f"/api/v1/{world.device_token_a}/attributes", json={"firmware": "v2.1.0"}
    )
    assert answer.status_code == 200
    services_of(world).store.flush()
    sign_in(world.client, "viewer_a")
    page = world.client.get(f"/devices/{world.device_a}").text
    assert "firmware" in page and "v2.1.0" in page
    assert "shared-attribute-form" not in page
    csrf = sign_in(world.client, "viewer_a")
    refused = world.client.post(
        f"/devices/{world.device_a}/attributes/shared",
        data={"key": "report_period_s", "value": "10"},
        headers=csrf_headers(csrf),
    )
    assert refused.status_code == 403
    csrf = sign_in(world.client, "admin_a")
    assert "shared-attribute-form" in world.client.get(f"/devices/{world.device_a}").text
    answer = world.client.post(
        f"/devices/{world.device_a}/attributes/shared",
        data={"key": "report_period_s", "value": "10"},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 200
    assert 'data-testid="attributes-shared"' in answer.text and "report_period_s" in answer.text
    api = world.client.get(f"/api/devices/{world.device_a}/attributes").json()
    assert api["shared"] == {"report_period_s": 10}
    # A bare word is text; an empty key is a field error in the user's language.
    world.client.post(
        f"/devices/{world.device_a}/attributes/shared",
        data={"key": "mode", "value": "eco"},
        headers=csrf_headers(csrf),
    )
    assert (
        world.client.get(f"/api/devices/{world.device_a}/attributes").json()["shared"]["mode"]
        == "eco"
    )
    answer = world.client.post(
        f"/devices/{world.device_a}/attributes/shared",
        data={"key": " ", "value": "1"},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 422
    assert 'id="e-key"' in answer.text and "请填写属性名" in answer.text


def test_rejects_of_the_device_are_shown_to_its_administrators(world: World) -> None:
    answer = world.client.post(
        f"/api/v1/{world.device_token_a}/telemetry", json={"speed_rpm": 500, "bogus_metric": 1}
    )
    assert answer.status_code == 200
    services_of(world).store.flush()
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/devices/{world.device_a}").text
    assert 'data-testid="reject-samples"' in page and "bogus_metric" in page
    fragment = world.client.get(
        f"/devices/{world.device_a}/rejects", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "bogus_metric" in fragment.text
    sign_in(world.client, "viewer_a")
    assert "device-rejects" not in world.client.get(f"/devices/{world.device_a}").text
    assert world.client.get(f"/devices/{world.device_a}/rejects").status_code == 403


def test_a_command_to_an_offline_device_says_so(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    answer = world.client.post(
        f"/devices/{world.device_a}/rpc",
        data={"method": "setSpeed", "params": '{"speed": 600}'},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 200
    assert 'data-outcome="device_offline"' in answer.text
    english(world)
    answer = world.client.post(
        f"/devices/{world.device_a}/rpc",
        data={"method": "setSpeed", "params": "{bad json"},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 422
    assert 'id="e-params"' in answer.text and "Parameters are JSON" in answer.text
    assert "{bad json" in answer.text  # the form keeps what was typed


@pytest.mark.parametrize("oneway", [False, True])
def test_a_connected_device_answers_the_console(world: World, oneway: bool) -> None:
    hub = services_of(world).rpc
    sent: list[dict[str, Any]] = []

    def deliver(request_id: int, payload: bytes) -> bool:
        request = orjson.loads(payload)
        sent.append(request)
        answer = orjson.dumps({"accepted": True, "speed": request["params"]["speed"]})
        asyncio.get_running_loop().call_soon(hub.answer, world.device_a, request_id, answer)
        return True

    hub.attach(world.device_a, deliver)
    csrf = sign_in(world.client, "admin_a")
    form = {"method": "setSpeed", "params": '{"speed": 640}', "timeout_s": "5"}
    if oneway:
        form["oneway"] = "1"
    answer = world.client.post(
        f"/devices/{world.device_a}/rpc", data=form, headers=csrf_headers(csrf)
    )
    assert answer.status_code == 200
    assert sent == [{"method": "setSpeed", "params": {"speed": 640}}]
    assert 'data-outcome="ok"' in answer.text
    if oneway:
        assert "单向指令没有应答" in answer.text
    else:
        assert "&#34;speed&#34;: 640" in answer.text and "accepted" in answer.text


def test_only_those_who_may_command_see_the_console(world: World) -> None:
    csrf = sign_in(world.client, "viewer_a")
    assert 'data-testid="rpc-form"' not in world.client.get(f"/devices/{world.device_a}").text
    answer = world.client.post(
        f"/devices/{world.device_a}/rpc", data={"method": "reboot"}, headers=csrf_headers(csrf)
    )
    assert answer.status_code == 403


def test_the_alarm_badge_counts_open_alarms_with_the_worst(world: World) -> None:
    services = services_of(world)
    from datetime import UTC, datetime

    for rule, severity in (("loom:stop_burst", "minor"), ("loom:offline", "major")):
        services.registry.open_alarm(
            rule, world.device_a, world.ent_a, severity, datetime.now(UTC), None, {}
        )
    sign_in(world.client, "viewer_a")
    badge = world.client.get(f"/devices/{world.device_a}/alarm-badge")
    assert badge.status_code == 200
    assert 'data-count="2"' in badge.text and "sev-major" in badge.text
    assert f"/e/{world.ent_a}/alarms?device=loom-001" in badge.text


def test_a_metric_named_like_markup_stays_inert_in_the_page(world: World) -> None:
    device, token = world.registry.create_device(world.ent_a, "gw-7", "generic")
    name = "t</script><!--<script>"
    send(world, token, {"ts": now_ms(), "values": {name: 1.5}})
    sign_in(world.client, "admin_a")
    text = world.client.get(f"/devices/{device.id}").text
    assert "</script><!--" not in text
    assert [m["name"] for m in chart_config(text)["metrics"]] == [name]
