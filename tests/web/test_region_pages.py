"""The bureau's wall display and enterprise list: counts for every enterprise, machine states
only with consent, the operator by the same rules, enterprise accounts refused, both languages,
nothing the content security policy would block."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.region_overview import EnterpriseOverview, Machine, MachineState
from shugu.web.region_pages import PAGE_SPANS, tile_of, tile_pages
from tests.web.conftest import World, sign_in


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


def send(w: World, token: str, **values: float) -> None:
    answer = w.client.post(
        f"/api/v1/{token}/telemetry", json={"ts": utc_now_ms() - 1000, "values": values}
    )
    assert answer.status_code == 200, answer.text
    services_of(w).store.flush()


def raise_alarm(w: World, device: int, enterprise: int, severity: str, rule: str) -> None:
    opened = w.registry.open_alarm(
        rule, device, enterprise, severity, datetime.now(UTC), 1.0, {"label": rule}
    )
    assert opened is not None


def get(w: World, url: str, status: int = 200, **headers: str) -> str:
    answer = w.client.get(url, headers=headers)
    assert answer.status_code == status, answer.text
    return answer.text


def charts(w: World) -> dict[str, Any]:
    answer = w.client.get("/region/charts.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    return body


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-testid="figure-{name}">(.*?)</div>', html, re.S)
    assert found, f"no figure {name}"
    return re.sub(r"<[^>]+>", " ", found.group(1)).split()[0]


@pytest.fixture
def district(world: World) -> World:
    """Both enterprises reporting: A's loom running, B's CRAH fan stopped; B has a critical
    and a warning alarm open, A a minor one."""
    services_of(world).monitor.stop()  # the alarms here are the test's own
    send(world, world.device_token_a, running=1, speed_rpm=600)
    send(world, world.device_token_b, fan_running=0)
    raise_alarm(world, world.device_b, world.ent_b, "critical", "crah.fan_stopped")
    raise_alarm(world, world.device_b, world.ent_b, "warning", "crah.other")
    raise_alarm(world, world.device_a, world.ent_a, "minor", "loom.stop_burst")
    return world


def test_the_bureau_reads_the_region_in_counts_without_any_consent(district: World) -> None:
    w = district
    sign_in(w.client, "bureau")
    html = get(w, "/region")
    assert "福州市 · 区域总览" in html
    assert figure(html, "enterprises") == "2"
    assert figure(html, "devices") == "2"
    assert figure(html, "online") == "100.0%"
    assert figure(html, "alarms") == "3"  # the bureau counts every enterprise's alarms
    assert "紧急 1 条" in html
    assert figure(html, "points") == "3"  # three points stored today
    assert figure(html, "shared") == "0"
    # No consent: no machine tile, only counts.
    assert 'data-testid="tile-' not in html
    assert "暂无企业授权查看设备运行状态" in html
    assert "未授权企业 2 家：设备 2 台，在线 2 台" in html
    assert "loom-001" not in html and "crah-01" not in html

    options = charts(w)
    assert set(options) == {"online", "alarms", "ingest", "machines"}
    # The world's second park has no enterprise: a row of its own, all zero.
    assert options["online"]["yAxis"]["data"] == [
        "长乐纺织园\n{sub|2 家企业 · 在线 2/2 台}",
        "滨海数据园\n{sub|0 家企业 · 在线 0/0 台}",
    ]
    assert [s["data"] for s in options["online"]["series"]] == [[2, 0], [0, 0]]
    by_severity = {s["name"]: s["data"] for s in options["alarms"]["series"]}
    assert by_severity == {
        "紧急": [1, None],
        "重要": [None, None],
        "次要": [1, None],
        "提示": [1, None],
    }
    assert sum(sum(s["data"]) for s in options["ingest"]["series"]) == 3
    assert sum(d["value"] for d in options["machines"]["series"][0]["data"]) == 0


def test_machine_states_appear_for_the_enterprise_that_consents(district: World) -> None:
    w = district
    w.registry.grant_consent(w.ent_b, w.user_ids["admin_b"], "区域监管", "bureau")
    sign_in(w.client, "bureau")
    html = get(w, "/region/machines")
    tile = re.search(rf'data-testid="tile-{w.ent_b}">(.*?)</a>', html, re.S)
    assert tile, html
    assert f'href="/e/{w.ent_b}/tree"' in html
    # B's CRAH has a critical alarm: in alarm, whatever its fan does.
    assert re.findall(r'class="cell st-(\w+)" title="([^"]+)"', tile.group(1)) == [
        ("alarm", "crah-01 · 告警")
    ]
    assert f'data-testid="tile-{w.ent_a}"' not in html  # A has not consented
    assert "未授权企业 1 家：设备 1 台，在线 1 台" in html
    states = {d["name"]: d["value"] for d in charts(w)["machines"]["series"][0]["data"]}
    assert states == {"运行": 0, "正常上报": 0, "停机": 0, "告警": 1, "离线": 0}

    # Once the alarms clear, the stopped fan shows as stopped.
    for alarm in w.registry.list_alarms([w.ent_b], statuses=("active",)):
        w.registry.update_alarm(alarm.id, event="cleared", at=datetime.now(UTC), status="cleared")
    assert 'class="cell st-stopped" title="crah-01 · 停机"' in get(w, "/region/machines")


def test_the_operator_sees_by_its_own_consents(district: World) -> None:
    w = district
    sign_in(w.client, "operator")
    # No enterprise consents to the operator: no alarm is counted, and the wall says so
    # rather than showing "no open alarms".
    html = get(w, "/region")
    assert figure(html, "alarms") == "—" and "须经企业授权统计" in html
    empty = charts(w)["alarms"]["graphic"][0]["style"]["text"]
    assert empty == "告警数量须经企业授权方可统计"

    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "运维", "operator")
    w.registry.grant_consent(w.ent_b, w.user_ids["admin_b"], "区域监管", "bureau")
    sign_in(w.client, "operator")
    html = get(w, "/region")
    # Alarm counts only of enterprises that consent to the operator (A's one minor alarm).
    assert figure(html, "alarms") == "1"
    assert "统计 1 家企业" in html
    assert f'data-testid="tile-{w.ent_a}"' in html
    assert f'data-testid="tile-{w.ent_b}"' not in html  # B consents to the bureau only
    assert 'class="cell st-alarm" title="loom-001 · 告警"' in html

    listing = get(w, "/region/enterprises")
    row_b = re.search(rf'data-enterprise="{w.ent_b}">(.*?)</tr>', listing, re.S)
    assert row_b and "须经企业授权方可统计" in row_b.group(1)
    assert f'href="/e/{w.ent_b}/tree"' not in listing
    assert f'href="/e/{w.ent_a}/tree"' in listing


@pytest.mark.parametrize("who", ["admin_a", "viewer_a"])
@pytest.mark.parametrize(
    "url", ["/region", "/region/figures", "/region/machines", "/region/charts.json"]
)
def test_enterprise_accounts_are_refused(world: World, who: str, url: str) -> None:
    sign_in(world.client, who)
    answer = world.client.get(url)
    assert answer.status_code == 403
    assert "乙数据中心" not in answer.text and "长乐纺织园" not in answer.text  # nothing leaks


def test_the_enterprise_list_shows_registry_data_counts_and_consents(district: World) -> None:
    w = district
    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "区域监管", "bureau")
    sign_in(w.client, "bureau")
    html = get(w, "/region/enterprises")
    rows = dict(re.findall(r'<tr data-enterprise="(\d+)">(.*?)</tr>', html, re.S))
    row_a, row_b = rows[str(w.ent_a)], rows[str(w.ent_b)]
    assert f'<a href="/e/{w.ent_a}/tree">甲纺织</a>' in row_a
    assert "0502 智能制造" in row_a and "长乐纺织园" in row_a
    assert "乙数据中心" in row_b and "<a " not in row_b  # B has not consented: no link
    assert "0405" in row_b
    assert "sev-critical" in row_b and ">2 <" in row_b.replace("\n", "")
    assert re.findall(r"badge state-online\">已授权", row_a) and "未授权" in row_b
    assert "100.0%" in row_a

    filtered = get(w, f"/region/enterprises?park={w.park_id}")
    assert "甲纺织" in filtered
    other = w.registry.create_park(w.region_id, "空园区", "350112")
    assert "该园区暂无企业" in get(w, f"/region/enterprises?park={other.id}")


def test_bad_input_answers_422(world: World) -> None:
    sign_in(world.client, "bureau")
    assert world.client.get("/region/machines?page=-1").status_code == 422
    assert world.client.get("/region/enterprises?park=abc").status_code == 422


def test_the_wall_speaks_english_and_refreshes_itself(district: World) -> None:
    w = district
    sign_in(w.client, "bureau")
    w.client.cookies.set("shugu_lang", "en")
    html = get(w, "/region")
    assert "福州市 · Region overview" in html and "Data as of" in html
    assert "Enterprises without consent: 2; their devices: 2, online: 2 (counts only)" in html
    # Figures and tiles poll; the chart data comes from a page route, not the page.
    assert 'hx-get="/region/figures" hx-trigger="every 10s"' in html
    assert 'hx-get="/region/machines?page=0" hx-trigger="every 10s"' in html
    assert 'data-region-charts="/region/charts.json"' in html
    names = {s["name"] for s in charts(w)["alarms"]["series"]}
    assert names == {"Critical", "Major", "Minor", "Warning"}
    fragment = get(w, "/region/figures", **{"HX-Request": "true"})
    assert "<html" not in fragment and 'hx-swap-oob="true"' in fragment


def test_the_wall_has_nothing_the_content_policy_blocks(district: World) -> None:
    w = district
    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "区域监管", "bureau")
    sign_in(w.client, "bureau")
    for url in ("/region", "/region/enterprises"):
        html = get(w, url)
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url
        for script in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            attrs, body = script
            assert 'src="' in attrs or 'type="application/json"' in attrs, script
            assert not body.strip() or 'type="application/json"' in attrs
        assert "/static/web/region.css" in html


def _enterprise(eid: int, machines: int) -> EnterpriseOverview:
    from shugu.store.registry import EnterpriseRecord

    record = EnterpriseRecord(eid, 1, f"e{eid}", "x", True, None, None, datetime.now(UTC))
    return EnterpriseOverview(
        record,
        "p",
        machines,
        machines,
        None,
        True,
        False,
        0,
        [Machine(i, f"m{i}", MachineState.RUNNING, None) for i in range(machines)],
    )


def test_tiles_are_as_wide_as_their_machines_need_and_fill_pages() -> None:
    assert tile_of(_enterprise(1, 50)).span == 1
    assert tile_of(_enterprise(1, 13)).cells == "large"
    assert tile_of(_enterprise(1, 100)).span == 2
    hall = tile_of(_enterprise(1, 208))  # a data hall of 200 racks and its CRAHs
    assert hall.span == 3 and hall.cells == "" and len(hall.machines) == 208
    wide = tile_of(_enterprise(1, 2000))
    assert (
        wide.span == 3
        and wide.cells == "dense"
        and wide.hidden == 1360
        and len(wide.machines) == 640
    )
    pages = tile_pages([_enterprise(i, 50) for i in range(1, 14)])
    assert [len(p) for p in pages] == [PAGE_SPANS, PAGE_SPANS, 13 - 2 * PAGE_SPANS]
    # A two-column tile and nine of one column: a page is full when the next would not fit.
    mixed = tile_pages([_enterprise(1, 100), *[_enterprise(i, 10) for i in range(2, 11)]])
    assert [sum(t.span for t in p) for p in mixed] == [5, 5, 1]
    assert tile_pages([]) == []


def test_an_empty_district_draws_empty_charts() -> None:
    from shugu.monitor.region_overview import RegionOverview
    from shugu.web.i18n import Translator
    from shugu.web.region_charts import wall_charts

    options = wall_charts(RegionOverview(utc_now_ms(), 0, [], [], []), Translator("zh-CN"))
    assert options["online"]["yAxis"]["data"] == []
    assert options["alarms"]["graphic"][0]["style"]["text"] == "告警数量须经企业授权方可统计"
    assert options["machines"]["title"]["text"] == "{n|0}\n{u|台设备}"
    # The empty state sits in the plot area, right of the parks' labels, not over them.
    assert options["alarms"]["graphic"][0]["left"] > options["alarms"]["grid"]["left"]
    assert options["ingest"]["series"] == []


def test_chart_axes_keep_their_labels_apart_and_bars_their_numbers_inside() -> None:
    from shugu.web.i18n import Translator
    from shugu.web.region_charts import compact_scale, nice_axis, online_by_park

    # At most three steps: 0 / 100 / 200, not 0 / 30 / 60 … / 180 run together.
    assert nice_axis(164) == (200, 100)
    assert nice_axis(2) == (2, 1)
    assert nice_axis(0) == (1, 1)
    for largest in (1, 7, 17, 99, 164, 1234, 98_765):
        top, step = nice_axis(largest)
        assert top >= largest and top // step <= 3, (largest, top, step)
    # 25,000 points an hour label as 2.5万 / 25k.
    assert compact_scale(25_000, Translator("zh-CN")) == (10_000, "万")
    assert compact_scale(25_000, Translator("en")) == (1_000, "k")
    assert compact_scale(900, Translator("en")) == (1, "")

    from shugu.monitor.region_overview import RegionOverview

    overview = RegionOverview(utc_now_ms(), 0, [], [], [])
    option = online_by_park(overview, Translator("zh-CN"))
    assert option["xAxis"]["max"] == 1 and option["xAxis"]["interval"] == 1


def test_a_sliver_of_a_bar_goes_without_its_number() -> None:
    from shugu.web.region_charts import bar_segment

    assert bar_segment(123, 200) == 123
    # 16 of an axis to 200 is a few pixels wide: "16" would be cut, the park's label has it.
    assert bar_segment(16, 200) == {"value": 16, "label": {"show": False}}
    assert bar_segment(0, 200) == 0
