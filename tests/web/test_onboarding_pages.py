"""Adding a device: the form with field errors in the user's language, the token shown once
with snippets that work as printed, and the hooks that show the first message live."""

from __future__ import annotations

import html
import json
import re
import shlex
from typing import cast

from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.profiles import get_profile
from shugu.web.onboarding_snippets import Endpoint, sample_payload, snippets
from tests.web.conftest import World, csrf_headers, sign_in


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


def _create(w: World, csrf: str, enterprise: int | None = None, **form: str) -> str:
    fields = {"name": "loom-900", "profile": "loom", "asset_id": str(w.site_a), **form}
    answer = w.client.post(
        f"/e/{enterprise or w.ent_a}/onboard", data=fields, headers=csrf_headers(csrf)
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def _token(page: str) -> str:
    found = re.search(r'id="device-token"[^>]*>([^<]+)<', page)
    assert found, "no token on the page"
    return html.unescape(found.group(1))


def _snippet(page: str, name: str) -> str:
    found = re.search(rf'id="snippet-{name}"[^>]*>(.*?)</pre>', page, re.S)
    assert found, f"no {name} snippet"
    return html.unescape(found.group(1))


def test_the_form_offers_the_profiles_and_the_enterprises_own_assets(world: World) -> None:
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/e/{world.ent_a}/onboard")
    assert page.status_code == 200
    assert "接入设备" in page.text and 'name="name"' in page.text
    # A weaving mill's likeliest next device is a loom.
    assert '<option value="loom" selected>织机 (loom)</option>' in page.text
    assert f'<option value="{world.site_a}">甲厂区 · 厂区</option>' in page.text
    assert f'value="{world.site_b}"' not in page.text  # B's site is not A's to use
    assert "onboard.js" in page.text


def test_a_created_device_gets_its_token_once_with_snippets_that_work(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    answer = world.client.post(
        f"/e/{world.ent_a}/onboard",
        data={"name": "loom-900", "profile": "loom", "asset_id": str(world.site_a)},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "location" not in answer.headers
    token = _token(answer.text)
    device = world.registry.device_for_token(token)
    assert device is not None and device.name == "loom-900" and device.enterprise_id == world.ent_a
    assert world.registry.get_device(device.id).asset_id == world.site_a
    # Copy buttons, the live hooks for the device, and the labels of its metrics.
    assert 'data-copy="device-token"' in answer.text and 'data-copy="snippet-curl"' in answer.text
    assert f'data-onboard-device="{device.id}"' in answer.text
    assert f'data-last-seen="{device.id}"' in answer.text
    assert "正在等待首条消息" in answer.text
    labels = re.search(r"data-metric-labels='([^']*)'", answer.text)
    assert labels, "the metrics' labels travel with the section (htmx drops script tags)"
    decoded = json.loads(html.unescape(labels.group(1)))
    assert decoded["speed_rpm"]["label"] == "车速" and decoded["running"]["states"]["1"] == "运行"

    # The curl snippet, as printed, stores every value it sends (a strict profile).
    curl = shlex.split(_snippet(answer.text, "curl"))
    url = curl[curl.index("-X") + 2]
    assert url == f"http://testserver/api/v1/{token}/telemetry"
    body = json.loads(curl[curl.index("-d") + 1])
    stored = world.client.post(url.removeprefix("http://testserver"), json=body)
    assert stored.status_code == 200
    assert stored.json() == {"accepted": len(body), "rejected": 0, "errors": []}

    # The token is in that answer only: the form page shows it no more.
    again = world.client.get(f"/e/{world.ent_a}/onboard")
    assert token not in again.text


def test_the_mqtt_snippet_publishes_as_the_device_on_thingsboards_topic() -> None:
    endpoint = Endpoint("mill.example", "https://mill.example", 1883, None)
    made = snippets(endpoint, "tok-123", get_profile("loom"), is_gateway=False)
    assert made.mqtt is not None
    args = shlex.split(made.mqtt)
    assert args[0] == "mosquitto_pub"
    assert args[args.index("-h") + 1] == "mill.example" and args[args.index("-p") + 1] == "1883"
    assert args[args.index("-t") + 1] == "v1/devices/me/telemetry"
    assert args[args.index("-u") + 1] == "tok-123"
    payload = json.loads(args[args.index("-m") + 1])
    assert payload == sample_payload(get_profile("loom"))
    assert set(payload) <= set(get_profile("loom").metrics)
    assert made.gateway is None
    # Without an MQTT endpoint there is no MQTT snippet; curl always works.
    assert (
        snippets(Endpoint("h", "http://h:8080", None, None), "t", get_profile("generic"), True).mqtt
        is None
    )


def test_a_gateway_gets_the_iot_gateways_configuration() -> None:
    endpoint = Endpoint("mill.example", "http://mill.example:8080", 1883, None)
    made = snippets(endpoint, "gw-token", get_profile("generic"), is_gateway=True)
    assert made.gateway is not None
    assert "  host: mill.example\n  port: 1883\n" in made.gateway
    assert "    accessToken: gw-token" in made.gateway
    assert "remoteConfiguration: false" in made.gateway


def test_the_gateway_checkbox_registers_a_gateway(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    page = _create(world, csrf, name="gw-1", profile="generic", asset_id="", is_gateway="1")
    device = world.registry.device_for_token(_token(page))
    assert device is not None and device.is_gateway
    plain = _create(world, csrf, name="plain-1", profile="generic", asset_id="")
    assert 'id="snippet-gateway"' not in plain
    assert "请在添加时勾选“网关”" in plain


def test_field_errors_are_shown_beside_their_field_in_the_users_language(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    url = f"/e/{world.ent_a}/onboard"
    cases = [
        ({"name": "loom-001", "profile": "loom"}, "name", "本企业已有同名设备。"),
        ({"name": "  ", "profile": "loom"}, "name", "名称不能为空。"),
        ({"name": "x-1", "profile": "toaster"}, "profile", "不存在该设备模型。"),
        ({"name": "x-2", "profile": "loom", "asset_id": str(world.site_b)}, "asset_id", None),
        ({"name": "x-3", "profile": "loom", "asset_id": "abc"}, "asset_id", None),
    ]
    for form, field, message in cases:
        answer = world.client.post(url, data=form, headers=csrf_headers(csrf))
        assert answer.status_code == 422, form
        error = re.search(rf'<p class="field-error" id="e-{field}">([^<]+)</p>', answer.text)
        assert error, (form, answer.text)
        if message is not None:
            assert error.group(1) == message
        assert 'aria-invalid="true"' in answer.text
        assert 'id="device-token"' not in answer.text
        assert f'value="{html.escape(form["name"])}"' in answer.text  # what was typed stays
    world.client.get("/lang?to=en&next=/")
    answer = world.client.post(
        url, data={"name": "loom-001", "profile": "loom"}, headers=csrf_headers(csrf)
    )
    assert answer.status_code == 422
    assert 'id="e-name"' in answer.text and "本企业" not in answer.text
    assert 'lang="en"' not in answer.text  # a fragment, swapped into the page
    assert "Device name" in answer.text


def test_a_form_without_scripts_gets_a_whole_page(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    answer = world.client.post(
        f"/e/{world.ent_a}/onboard",
        data={"name": "loom-901", "profile": "loom", "csrf_token": csrf},
    )
    assert answer.status_code == 200
    assert "<!doctype html>" in answer.text and 'id="device-token"' in answer.text
    refused = world.client.post(
        f"/e/{world.ent_a}/onboard", data={"name": "loom-902", "profile": "loom"}
    )
    assert refused.status_code == 403  # no CSRF token


def test_only_those_who_manage_the_enterprise_add_devices(world: World) -> None:
    csrf = sign_in(world.client, "viewer_a")
    assert world.client.get(f"/e/{world.ent_a}/onboard").status_code == 403
    answer = world.client.post(
        f"/e/{world.ent_a}/onboard",
        data={"name": "sneaky", "profile": "loom"},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 403
    csrf = sign_in(world.client, "admin_a")
    answer = world.client.post(
        f"/e/{world.ent_b}/onboard",
        data={"name": "sneaky", "profile": "crah"},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 404
    assert world.registry.device_by_name(world.ent_b, "sneaky") is None


def test_the_operator_adds_a_device_but_sees_no_value_without_consent(world: World) -> None:
    csrf = sign_in(world.client, "operator")
    page = _create(world, csrf, enterprise=world.ent_b, name="crah-09", profile="crah", asset_id="")
    token = _token(page)
    assert world.registry.device_for_token(token) is not None
    assert "data-onboard-device" not in page and "data-last-seen" not in page
    assert "未授权您查看设备数据" in page


def test_the_new_device_may_be_watched_live_by_its_enterprise(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    device = world.registry.device_for_token(_token(_create(world, csrf)))
    assert device is not None
    with world.client.stream("GET", f"/live?devices={device.id}") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
