"""The asset tree and the device list: roll-ups, filters, pages, live hooks and scoping."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import pytest
from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.tenancy import Grantee
from shugu.domain.timeutil import utc_now_ms
from tests.web.conftest import World, sign_in


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


@dataclass
class Mill:
    """Enterprise A's plant: 甲厂区 → 织造区 → 一车间 (a rack sensor, 60 looms) and an empty
    二车间; a gateway placed on no asset; loom-001 on the site itself."""

    w: World
    services: Services
    area: int
    line: int
    empty_line: int
    sensor: int
    sensor_token: str
    looms: list[int]
    loom_tokens: list[str]
    gateway: int

    def send(self, token: str, **values: float) -> None:
        answer = self.w.client.post(
            f"/api/v1/{token}/telemetry", json={"ts": utc_now_ms() - 1000, "values": values}
        )
        assert answer.status_code == 200, answer.text
        self.services.store.flush()
        self.services.monitor.process_pending()


@pytest.fixture
def mill(world: World) -> Mill:
    services = services_of(world)
    services.monitor.stop()  # the tests evaluate what they send themselves
    registry = world.registry
    a = world.ent_a
    area = registry.create_asset(a, "area", "织造区", parent_id=world.site_a)
    line = registry.create_asset(a, "line", "一车间", parent_id=area.id)
    empty = registry.create_asset(a, "line", "二车间", parent_id=area.id)
    sensor, sensor_token = registry.create_device(a, "温湿度-1", "rack_sensor", asset_id=line.id)
    looms, tokens = [], []
    for i in range(2, 62):
        loom, token = registry.create_device(a, f"loom-{i:03d}", "loom", asset_id=line.id)
        looms.append(loom.id)
        tokens.append(token)
    gateway, _ = registry.create_device(a, "gw-1", "generic", is_gateway=True)
    services.monitor.configure()
    return Mill(
        world,
        services,
        area.id,
        line.id,
        empty.id,
        sensor.id,
        sensor_token,
        looms,
        tokens,
        gateway.id,
    )


def page(w: World, url: str, **headers: str) -> str:
    answer = w.client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.text


def node_status(html: str, key: object) -> str:
    found = re.search(rf'id="node-status-{key}"[^>]*>(.*?)</span>\s*</span>', html, re.S)
    assert found, f"no node {key}"
    return re.sub(r"\s+", " ", found.group(1))


def rows(html: str) -> list[int]:
    return [int(d) for d in re.findall(r'data-device-row="(\d+)"', html)]


# -- the asset tree ----------------------------------------------------------------------------


def test_the_tree_rolls_devices_online_counts_and_the_worst_alarm_up_to_the_site(
    mill: Mill,
) -> None:
    w = mill.w
    mill.send(mill.sensor_token, inlet_c=33.0)  # above the critical limit: two alarms
    mill.send(mill.loom_tokens[0], running=1, speed_rpm=800)
    sign_in(w.client, "viewer_a")
    html = page(w, f"/e/{w.ent_a}/tree")
    assert "甲厂区" in html and "织造区" in html and "一车间" in html
    assert "厂区" in html and "产线" in html  # ISA-95 levels in Chinese
    site = node_status(html, w.site_a)
    assert "62 台设备" in site and "2 台在线" in site
    assert "紧急 · 2" in site
    for asset in (mill.area, mill.line):
        assert "紧急 · 2" in node_status(html, asset)
    assert "0 台设备" in node_status(html, mill.empty_line)
    assert "正常" in node_status(html, mill.empty_line)
    assert "1 台设备" in node_status(html, "unplaced")  # the gateway
    # Each node leads to the device list of its subtree; the page listens for alarm changes.
    assert f'href="/e/{w.ent_a}/devices?asset={mill.line}"' in html
    assert "data-live-alarms" in html
    assert 'hx-trigger="shugu:alarms from:body' in html

    sign_in(w.client, "admin_a")
    w.client.get("/lang?to=en&next=/")
    english = page(w, f"/e/{w.ent_a}/tree")
    assert "Site" in english and "Devices: 62" in node_status(english, w.site_a)
    assert "Critical · 2" in node_status(english, mill.line)


def test_the_status_fragment_swaps_each_node_s_figures_by_id(mill: Mill) -> None:
    w = mill.w
    sign_in(w.client, "admin_a")
    before = page(w, f"/e/{w.ent_a}/tree/status", **{"HX-Request": "true"})
    assert "<html" not in before
    assert f'id="node-status-{mill.line}" hx-swap-oob="true"' in before
    assert "正常" in node_status(before, mill.line)
    mill.send(mill.sensor_token, inlet_c=33.0)
    after = page(w, f"/e/{w.ent_a}/tree/status", **{"HX-Request": "true"})
    assert "紧急 · 2" in node_status(after, mill.line)
    assert 'id="tree-kpis" hx-swap-oob="true"' in after


def test_the_alarm_tree_api_reads_the_same_roll_up(mill: Mill) -> None:
    w = mill.w
    mill.send(mill.sensor_token, inlet_c=28.0)  # above the recommended limit only
    answer = w.client.get(f"/api/enterprises/{w.ent_a}/alarm-tree", headers=w.as_("viewer_a"))
    assert answer.status_code == 200
    tree = {n["id"]: (n["open"], n["worst"]) for n in answer.json()}
    assert tree[w.site_a] == tree[mill.area] == tree[mill.line] == (1, "major")
    assert tree[mill.empty_line] == (0, None)


# -- the device list ---------------------------------------------------------------------------


def test_the_list_shows_live_values_state_last_seen_and_alarms(mill: Mill) -> None:
    w = mill.w
    mill.send(mill.loom_tokens[0], running=1, speed_rpm=812.5, stop_cause=0, power_kw=4.2)
    mill.send(mill.sensor_token, inlet_c=33.0, inlet_rh_pct=40)
    sign_in(w.client, "viewer_a")
    html = page(w, f"/e/{w.ent_a}/devices?profile=loom")
    loom = mill.looms[0]
    row = html[html.index(f'data-device-row="{loom}"') :]
    row = row[: row.index("</tr>")]
    assert f'href="/devices/{loom}"' in row
    assert "在线" in row and "state-online" in row
    assert f'data-device="{loom}" data-metric="speed_rpm"' in row and "812.5" in row
    assert "运行" in row  # the running state as a word, not 1
    assert f'data-last-seen="{loom}"' in row
    assert "甲厂区 / 织造区 / 一车间" in row
    # One profile listed: a column per listed metric.
    assert "车速" in html and "有功功率" in html
    never = html[html.index(f'data-device-row="{mill.looms[1]}"') :]
    assert "state-offline" in never[: never.index("</tr>")]

    mixed = page(w, f"/e/{w.ent_a}/devices?q=温湿度")
    assert rows(mixed) == [mill.sensor]
    assert "紧急 · 2" in mixed and "进风温度" in mixed


def test_filters_narrow_by_name_profile_asset_subtree_and_state(mill: Mill) -> None:
    w = mill.w
    mill.send(mill.loom_tokens[4], running=1)
    sign_in(w.client, "admin_a")
    base = f"/e/{w.ent_a}/devices"
    assert rows(page(w, f"{base}?q=LOOM-006")) == [mill.looms[4]]
    assert rows(page(w, f"{base}?profile=rack_sensor")) == [mill.sensor]
    assert rows(page(w, f"{base}?asset=unplaced")) == [mill.gateway]
    assert rows(page(w, f"{base}?asset={mill.empty_line}")) == []
    assert "没有符合筛选条件的设备" in page(w, f"{base}?asset={mill.empty_line}")
    in_area = page(w, f"{base}?asset={mill.area}&profile=rack_sensor")
    assert rows(in_area) == [mill.sensor]
    assert rows(page(w, f"{base}?state=online")) == [mill.looms[4]]
    assert mill.looms[4] not in rows(page(w, f"{base}?state=offline&q=loom-00"))


def test_the_list_is_paged_in_name_order_and_htmx_gets_the_table_only(mill: Mill) -> None:
    w = mill.w
    sign_in(w.client, "admin_a")
    base = f"/e/{w.ent_a}/devices?profile=loom"
    first = page(w, base)
    # loom-001 (on the site) and loom-002 … loom-061: natural order, 50 a page.
    assert len(rows(first)) == 50 and rows(first)[0] == w.device_a
    assert "第 1–50 台，共 61 台" in first and "第 1 页，共 2 页" in first
    assert f'href="/e/{w.ent_a}/devices?profile=loom&amp;page=2"' in first
    second = page(w, base + "&page=2", **{"HX-Request": "true"})
    assert "<html" not in second and 'id="device-results"' in second
    assert rows(second) == mill.looms[49:]
    assert rows(page(w, base + "&page=99")) == mill.looms[49:]  # past the end: the last page
    # The back button restores the whole page.
    restored = page(w, base, **{"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restored


@pytest.mark.parametrize(
    ("query", "field", "zh", "en"),
    [
        ("asset=abc", "asset", "该企业没有这个资产", "no such asset"),
        ("state=sleeping", "state", "设备状态只能是", "online, stale or offline"),
        ("page=0", "page", "页码须为", "whole number"),
        ("profile=toaster", "profile", "设备模型", "profile"),
    ],
)
def test_a_bad_filter_answers_422_with_the_field_s_error_in_the_user_s_language(
    mill: Mill, query: str, field: str, zh: str, en: str
) -> None:
    w = mill.w
    sign_in(w.client, "admin_a")
    url = f"/e/{w.ent_a}/devices?{query}"
    answer = w.client.get(url)
    assert answer.status_code == 422
    assert f'data-field="{field}"' in answer.text and zh in answer.text
    assert len(rows(answer.text)) == 50  # the bad field narrows nothing
    w.client.get("/lang?to=en&next=/")
    fragment = w.client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and en in fragment.text and "<html" not in fragment.text


def test_another_enterprise_s_asset_is_no_filter(mill: Mill) -> None:
    w = mill.w
    sign_in(w.client, "admin_a")
    answer = w.client.get(f"/e/{w.ent_a}/devices?asset={w.site_b}")
    assert answer.status_code == 422 and 'data-field="asset"' in answer.text


# -- who sees what -----------------------------------------------------------------------------


def test_the_operator_sees_the_plant_without_values_until_consent(mill: Mill) -> None:
    w = mill.w
    mill.send(mill.sensor_token, inlet_c=33.0)
    sign_in(w.client, "operator")
    tree = page(w, f"/e/{w.ent_a}/tree")
    assert "62 台设备" in node_status(tree, w.site_a)
    assert "紧急" not in tree and "data-live-alarms" not in tree and "台在线" not in tree
    assert 'data-testid="no-values"' in tree
    listed = page(w, f"/e/{w.ent_a}/devices")
    assert len(rows(listed)) == 50
    assert "data-device=" not in listed and "data-last-seen=" not in listed
    assert w.client.get(f"/e/{w.ent_a}/devices?state=online").status_code == 403
    assert w.client.get(f"/e/{w.ent_a}/tree/status").status_code == 403

    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], grantee=Grantee.OPERATOR)
    assert "紧急 · 2" in node_status(page(w, f"/e/{w.ent_a}/tree"), w.site_a)


def test_the_bureau_needs_consent_and_other_enterprises_see_nothing(mill: Mill) -> None:
    w = mill.w
    sign_in(w.client, "bureau")
    assert w.client.get(f"/e/{w.ent_a}/tree").status_code == 403
    assert w.client.get(f"/e/{w.ent_a}/devices").status_code == 403
    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], grantee=Grantee.BUREAU)
    assert "data-live-alarms" in page(w, f"/e/{w.ent_a}/tree")
    assert f'data-device-row="{mill.sensor}"' in page(w, f"/e/{w.ent_a}/devices?q=温湿度")

    sign_in(w.client, "admin_a")
    for url in (f"/e/{w.ent_b}/tree", f"/e/{w.ent_b}/devices", f"/e/{w.ent_b}/tree/status"):
        assert w.client.get(url).status_code == 404, url
