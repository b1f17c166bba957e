"""The rules watching a device and its own limits: listed for those who see the device, edited
by those who configure the enterprise's alarms, with errors beside their fields in the user's
language; and an enterprise's rules."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from httpx import Response

from shugu.domain.timeutil import to_iso, utc_now_ms
from shugu.monitor import rule_service
from shugu.monitor.anomaly_plant_rule import PlantEvaluator
from shugu.monitor.anomaly_rule import AnomalyEvaluator
from shugu.monitor.evaluators import DeviceParams, Evaluator
from shugu.monitor.rules import RuleSpec, fit_instant
from tests.web.conftest import World, csrf_headers, sign_in

RULE = "crah.chw_supply_high"  # B's air handler: chilled water supply above 12 °C for 300 s


def override_url(w: World, rule: str = RULE) -> str:
    return f"/devices/{w.device_b}/rules/{rule}/override"


def fragment(w: World) -> str:
    answer = w.client.get(f"/devices/{w.device_b}/rules", headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    return answer.text


def card_of(html: str, rule: str = RULE) -> str:
    start = html.index(f'data-rule="{rule}"')
    return html[start : html.find("</article>", start)]


def api_overrides(w: World) -> dict[str, dict[str, object]]:
    rules = w.client.get(f"/api/devices/{w.device_b}/rules", headers=w.as_("admin_b")).json()
    return {r["ref"]: r["overridden"] for r in rules}


def test_the_rules_watching_a_device_are_listed_with_their_limits(world: World) -> None:
    sign_in(world.client, "admin_b")
    html = fragment(world)
    card = card_of(html)
    assert "冷冻水供水温度过高" in card
    assert "≤ 12 (300 s)" in card
    assert 'data-testid="override-form"' in card
    assert 'placeholder="12"' in card  # an empty field keeps the rule's value
    assert "精密空调风机停机" in html  # every rule of the profile
    assert "rules.css" in html


def test_who_may_not_configure_alarms_reads_without_forms(world: World) -> None:
    sign_in(world.client, "operator")  # B has not granted the operator consent
    html = fragment(world)
    assert "冷冻水供水温度过高" in html
    assert "override-form" not in html
    csrf = sign_in(world.client, "operator")
    answer = world.client.post(
        override_url(world), data={"above": "14"}, headers=csrf_headers(csrf)
    )
    assert answer.status_code == 403
    assert api_overrides(world)[RULE] == {}


def test_saving_an_override_changes_the_devices_limit(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    answer = world.client.post(
        override_url(world),
        data={"above": "14.5", "deadband": "", "severity": "critical", "flap_start": "10"},
        headers=csrf_headers(csrf),
    )
    assert answer.status_code == 200, answer.text
    assert 'data-testid="rule-saved"' in answer.text
    assert "≤ 14.5 (300 s)" in answer.text and 'data-testid="overridden"' in answer.text
    # The API reads the same override, with numbers as numbers.
    assert api_overrides(world)[RULE] == {"above": 14.5, "severity": "critical", "flap_start": 10}
    card = card_of(fragment(world))
    assert 'value="14.5"' in card and 'value="10"' in card
    assert '<option value="critical" selected>' in card


def test_saving_reconfigures_the_monitor_off_the_event_loop(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitor reconfigures every device's rules under its engine's lock: on the event loop
    it would hold up every stream, MQTT session and request meanwhile."""
    on_loop: list[bool] = []

    def watched(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:
                on_loop.append(False)
            return original(*args, **kwargs)

        return call

    for name in ("save_override", "save_rule"):
        monkeypatch.setattr(rule_service, name, watched(getattr(rule_service, name)))
    csrf = sign_in(world.client, "admin_b")
    saved = world.client.post(override_url(world), data={"above": "14"}, headers=csrf_headers(csrf))
    assert saved.status_code == 200, saved.text
    made = world.client.post(
        f"/e/{world.ent_b}/rules",
        data={**own_rule_form(world), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert on_loop == [False, False]


def test_a_plain_form_post_returns_to_the_device(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    answer = world.client.post(
        override_url(world), data={"above": "13", "csrf_token": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/devices/{world.device_b}"
    assert api_overrides(world)[RULE] == {"above": 13.0}


def test_an_invalid_value_is_told_beside_its_field_in_chinese_and_english(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    band = "crah.supply_pressure_band"  # supply air pressure within 5–20 Pa
    cases = [
        (RULE, {"above": "热"}, "above", "请输入数字。"),
        (RULE, {"above": "nan"}, "above", "请输入数字。"),
        (RULE, {"flap_start": "2.5"}, "flap_start", "请输入整数。"),
        (RULE, {"deadband": "-1"}, "deadband", "规则配置有误。须大于或等于 0。"),
        (band, {"below": "25"}, "below", "规则配置有误。须低于上限。"),
        (RULE, {"flap_start": "4", "flap_stop": "5"}, "flap_stop", "且小于判定抖动的次数"),
    ]
    for rule, form, field, message in cases:
        answer = world.client.post(override_url(world, rule), data=form, headers=csrf_headers(csrf))
        assert answer.status_code == 422, form
        error = answer.text.split(f'data-testid="error-{field}">')[1].split("</p>")[0]
        assert message in error, (form, error)
        assert '<details class="rule-edit" open>' in answer.text  # the form stays open
        typed = next(iter(form.values()))
        assert f'value="{typed}"' in answer.text  # with what was typed
    assert api_overrides(world)[RULE] == {} and api_overrides(world)[band] == {}
    world.client.get("/lang?to=en&next=/")
    answer = world.client.post(
        override_url(world, band), data={"below": "25"}, headers=csrf_headers(csrf)
    )
    error = answer.text.split('data-testid="error-below">')[1].split("</p>")[0]
    assert error == "The rule is not valid. Must be below the upper limit."


def test_a_device_is_offered_the_limits_its_rule_has(world: World) -> None:
    sign_in(world.client, "admin_b")
    html = fragment(world)
    upper_only = card_of(html)
    assert 'name="above"' in upper_only and 'name="below"' not in upper_only
    band = card_of(html, "crah.supply_pressure_band")
    assert 'name="above"' in band and 'name="below"' in band


def test_resetting_brings_back_the_rules_limits(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    world.client.post(override_url(world), data={"above": "15"}, headers=csrf_headers(csrf))
    assert 'data-testid="override-reset"' in card_of(fragment(world))
    answer = world.client.post(override_url(world) + "/reset", headers=csrf_headers(csrf))
    assert answer.status_code == 200
    assert "≤ 12 (300 s)" in answer.text and 'data-testid="overridden"' not in answer.text
    assert api_overrides(world)[RULE] == {}
    # Saving with every field empty does the same.
    world.client.post(override_url(world), data={"above": "15"}, headers=csrf_headers(csrf))
    world.client.post(override_url(world), data={"above": ""}, headers=csrf_headers(csrf))
    assert api_overrides(world)[RULE] == {}


def test_another_enterprises_device_and_an_unknown_rule_are_not_found(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    assert world.client.get(f"/devices/{world.device_b}/rules").status_code == 404
    answer = world.client.post(
        override_url(world), data={"above": "30"}, headers=csrf_headers(csrf)
    )
    assert answer.status_code == 404
    csrf = sign_in(world.client, "admin_b")
    answer = world.client.post(
        override_url(world, "loom.offline"), data={"for_s": "60"}, headers=csrf_headers(csrf)
    )
    assert answer.status_code == 404


def test_the_enterprise_rules_page_lists_its_profiles_rules_and_its_own(world: World) -> None:
    world.client.post(
        f"/api/enterprises/{world.ent_b}/rules",
        json={
            "rule": {
                "key": "return_hot",
                "kind": "threshold",
                "metric": "return_air_c",
                "above": 35,
                "label_zh": "回风温度过高",
                "label_en": "Return air too hot",
            },
            "scope": {"device_id": world.device_b},
        },
        headers=world.as_("admin_b"),
    )
    sign_in(world.client, "admin_b")
    page = world.client.get(f"/e/{world.ent_b}/rules")
    assert page.status_code == 200
    own = page.text.split('data-testid="own-rules"')[1].split("</table>")[0]
    assert "回风温度过高" in own and "设备 crah-01" in own and "≤ 35" in own
    profile = page.text.split('data-testid="profile-rules"')[1].split("</table>")[0]
    assert "冷冻水供水温度过高" in profile and "全部精密空调设备" in profile
    assert "loom" not in profile  # a data centre has no looms


def own_rule_form(w: World, **changes: str) -> dict[str, str]:
    return {
        "label_zh": "回风温度过高",
        "label_en": "Return air too hot",
        "applies": f"device:{w.device_b}",
        "metric": "return_air_c",
        "kind": "threshold",
        "severity": "minor",
        "above": "35",
        **changes,
    }


def test_an_administrator_adds_changes_and_deletes_an_own_rule(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    assert 'data-testid="rule-form"' in page
    assert '<option value="profile:crah">全部精密空调</option>' in page
    made = world.client.post(
        f"/e/{world.ent_b}/rules",
        data={**own_rule_form(world), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    rules = world.client.get(
        f"/api/enterprises/{world.ent_b}/rules", headers=world.as_("admin_b")
    ).json()
    own = [r for r in rules if r["id"] is not None]
    assert [(r["rule"]["label_zh"], r["rule"]["above"], r["scope"]["device_id"]) for r in own] == [
        ("回风温度过高", 35.0, world.device_b)
    ]
    rule_id = own[0]["id"]
    edit = world.client.get(f"/e/{world.ent_b}/rules/{rule_id}")
    assert 'value="回风温度过高"' in edit.text and 'value="35"' in edit.text
    changed = world.client.post(
        f"/e/{world.ent_b}/rules/{rule_id}",
        data={**own_rule_form(world, above="38"), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    assert "≤ 38" in page.split('data-testid="own-rules"')[1]
    gone = world.client.post(
        f"/e/{world.ent_b}/rules/{rule_id}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert 'data-testid="own-rules"' not in world.client.get(f"/e/{world.ent_b}/rules").text


def refused(w: World, csrf: str, change: dict[str, str], field: str, message: str) -> str:
    """Sends the own-rule form with ``change``: refused, ``message`` beside ``field``; the page."""
    answer = w.client.post(
        f"/e/{w.ent_b}/rules", data={**own_rule_form(w, **change), "csrf_token": csrf}
    )
    assert answer.status_code == 422, change
    error = answer.text.split(f'data-testid="error-{field}">')[1].split("</p>")[0]
    assert message in error, (change, error)
    return answer.text


def test_an_own_rule_that_makes_no_sense_is_told_beside_its_field(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    cases = [
        ({"above": ""}, "above", "规则配置有误。请填写上限、下限或两者。"),
        ({"below": "40"}, "below", "规则配置有误。须低于上限。"),
        ({"metric": ""}, "metric", "规则配置有误。必填。"),
        ({"applies": f"device:{world.device_a}"}, "applies", "请选择规则的适用范围。"),
        ({"kind": "duration"}, "for_s", "规则配置有误。必填。"),
        ({"label_zh": ""}, "label_zh", "必填"),
    ]
    for change, field, message in cases:
        assert '<details class="rule-edit" open>' in refused(world, csrf, change, field, message)
    rules = world.client.get(
        f"/api/enterprises/{world.ent_b}/rules", headers=world.as_("admin_b")
    ).json()
    assert [r for r in rules if r["id"] is not None] == []


def test_only_who_configures_alarms_gets_the_rule_forms(world: World) -> None:
    csrf = sign_in(world.client, "operator")  # B has not granted the operator consent
    page = world.client.get(f"/e/{world.ent_b}/rules")
    assert page.status_code == 200 and "rule-form" not in page.text
    answer = world.client.post(
        f"/e/{world.ent_b}/rules", data={**own_rule_form(world), "csrf_token": csrf}
    )
    assert answer.status_code == 403
    csrf = sign_in(world.client, "admin_a")
    answer = world.client.post(
        f"/e/{world.ent_b}/rules", data={**own_rule_form(world), "csrf_token": csrf}
    )
    assert answer.status_code == 404


def own_rules(w: World) -> list[dict[str, Any]]:
    rules = w.client.get(f"/api/enterprises/{w.ent_b}/rules", headers=w.as_("admin_b")).json()
    return [r for r in rules if r["id"] is not None]


def post_anomaly_form(w: World, csrf: str, url: str, **fields: str) -> int:
    """Sends the own-rule form for an anomaly rule on the air handlers' supply air."""
    answer = w.client.post(
        url,
        data={
            **own_rule_form(w, kind="anomaly", above="", metric="supply_air_c"),
            **fields,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    return answer.status_code


def test_an_administrator_makes_an_anomaly_rule_from_the_form(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    assert '<option value="anomaly">异常检测</option>' in page
    # Only the chosen kind's fields are shown and sent; the anomaly fields wait hidden.
    sensitivity = page.split('<input id="rf-sensitivity"')[1].split(">")[0]
    assert "disabled" in sensitivity and 'placeholder="0.34"' in sensitivity
    made = post_anomaly_form(world, csrf, f"/e/{world.ent_b}/rules", sensitivity="0.3")
    assert made == 303
    [own] = own_rules(world)
    rule = own["rule"]
    assert (rule["kind"], rule["key"], rule["sensitivity"], rule.get("pattern")) == (
        "anomaly",
        "supply_air_c_anomaly",
        0.3,
        None,
    )
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    row = page.split('data-testid="own-rules"')[1].split("</table>")[0]
    assert "灵敏度 0.3" in row and "送风温度" in row and "supply_air_c" in row
    edit = world.client.get(f"/e/{world.ent_b}/rules/{own['id']}").text
    assert 'value="0.3"' in edit.split('id="rf-sensitivity"')[1].split(">")[0]
    assert "disabled" not in edit.split('id="rf-sensitivity"')[1].split(">")[0]
    assert "disabled" in edit.split('id="rf-above"')[1].split(">")[0]
    url = f"/e/{world.ent_b}/rules/{own['id']}"
    assert post_anomaly_form(world, csrf, url, pattern="no", clear_after_s="600") == 303
    [own] = own_rules(world)
    assert (own["rule"]["pattern"], own["rule"]["clear_after_s"]) == (False, 600.0)
    assert own["rule"].get("sensitivity") is None
    edit = world.client.get(f"/e/{world.ent_b}/rules/{own['id']}").text
    assert '<option value="no" selected>' in edit
    assert 'placeholder="0.4"' in edit.split('id="rf-sensitivity"')[1].split(">")[0]


def test_an_anomaly_rule_is_judged_only_while_the_fan_runs(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    running = page.split('id="rf-running_metric"')[1].split("</select>")[0]
    assert "disabled" in running.split(">")[0]  # until the anomaly kind is chosen
    assert '<option value="">始终判断（默认）</option>' in running
    assert '<option value="fan_running">风机运行 (fan_running)为运行时</option>' in running
    url = f"/e/{world.ent_b}/rules"
    assert post_anomaly_form(world, csrf, url, running_metric="fan_running") == 303
    [own] = own_rules(world)
    assert own["rule"]["running_metric"] == "fan_running"
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    row = page.split('data-testid="own-rules"')[1].split("</table>")[0]
    assert "灵敏度 0.34，仅在设备运行时判断" in row
    edit = world.client.get(f"/e/{world.ent_b}/rules/{own['id']}").text
    assert '<option value="fan_running" selected>' in edit
    for change, message in (
        ({"kind": "threshold", "running_metric": "fan_running"}, "此类规则不使用该项，请留空。"),
        (
            {"kind": "anomaly", "above": "", "running_metric": "supply_air_c"},
            "请选择设备的启停状态测点。",
        ),
    ):
        refused(world, csrf, change, "running_metric", message)
    assert len(own_rules(world)) == 1


def post_plant_form(w: World, csrf: str, url: str, **fields: object) -> Response:
    """Sends the own-rule form for a plant model of the air handler's supply and return air."""
    data: dict[str, object] = {
        **own_rule_form(w, kind="plant", above="", metric=""),
        "metrics": ["supply_air_c", "return_air_c"],
        **fields,
        "csrf_token": csrf,
    }
    return w.client.post(url, data=data, follow_redirects=False)  # type: ignore[arg-type]


def test_an_administrator_makes_a_plant_model_from_the_form(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    assert '<option value="plant">多传感器设备模型</option>' in page
    sensors = page.split('data-testid="rule-metrics"')[1].split("</fieldset>")[0]
    # Gauges only, hidden and not sent until the kind is chosen.
    assert 'value="supply_air_c" disabled' in sensors and "fan_running" not in sensors
    assert "hidden" in page.split('<fieldset class="field sensors"')[1].split(">")[0]
    url = f"/e/{world.ent_b}/rules"
    made = post_plant_form(world, csrf, url, fit_points="2880", running_metric="fan_running")
    assert made.status_code == 303, made.text
    [own] = own_rules(world)
    rule = own["rule"]
    assert (rule["kind"], rule["key"], rule["metrics"], rule["fit_points"]) == (
        "plant",
        "supply_air_c_plant",
        ["supply_air_c", "return_air_c"],
        2880,
    )
    assert rule["running_metric"] == "fan_running" and "metric" not in rule
    page = world.client.get(f"/e/{world.ent_b}/rules").text
    row = page.split('data-testid="own-rules"')[1].split("</table>")[0]
    assert "按前 2880 行拟合，灵敏度 0.4，仅在设备运行时判断" in row
    edit = world.client.get(f"{url}/{own['id']}").text
    assert 'data-testid="rule-form"' in edit
    sensors = edit.split('data-testid="rule-metrics"')[1].split("</fieldset>")[0]
    assert 'value="return_air_c" checked>' in sensors and 'value="humidity_pct">' in sensors
    assert 'value="2880"' in edit.split('id="rf-fit_points"')[1].split(">")[0]
    assert 'placeholder="0.4"' in edit.split('id="rf-sensitivity"')[1].split(">")[0]
    assert "disabled" in edit.split('id="rf-metric"')[1].split(">")[0]
    changed = post_plant_form(world, csrf, f"{url}/{own['id']}", metrics=["humidity_pct"])
    assert changed.status_code == 303, changed.text
    [own] = own_rules(world)
    # Left empty, the fit is a day of the air handler's rows (one every 30 s).
    assert own["rule"]["metrics"] == ["humidity_pct"] and own["rule"]["fit_points"] == 2880


def test_a_plant_model_left_without_a_fit_is_fitted_on_a_day_of_its_profile_s_rows(
    world: World,
) -> None:
    """A tower reports every 30 s, a loom every 10 s: left empty, the fit is a day of each
    one's rows, the placeholder says so before the form is sent, and a fit typed in stands."""
    world.registry.create_device(world.ent_b, "ct-01", "cooling_tower")
    world.registry.create_device(world.ent_b, "loom-01", "loom")
    csrf = sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules"
    page = world.client.get(url).text
    groups = page.split('data-testid="rule-metrics"')[1].split("</fieldset>")[0]
    for profile, rows in (("cooling_tower", 2880), ("loom", 8640), ("crah", 2880)):
        assert f'data-profile="{profile}" data-day-rows="{rows}"' in groups
    # A new form applies to its first choice, every cooling tower, until another is chosen.
    first = page.split('id="rf-applies"')[1].split("<option")[1]
    assert first.startswith(' value="profile:cooling_tower">')
    fit = page.split('id="rf-fit_points"')[1].split(">")[0]
    assert 'placeholder="2880"' in fit and 'data-default-fit="400"' in fit
    tower = ["hot_water_c", "fan_power_kw"]
    for applies, fields, expected in (
        ("profile:cooling_tower", {}, 2880),
        ("profile:loom", {"metrics": ["speed_rpm"]}, 8640),
        ("profile:cooling_tower", {"fit_points": "500"}, 500),
    ):
        made = post_plant_form(world, csrf, url, applies=applies, **{"metrics": tower, **fields})
        assert made.status_code == 303, made.text
        rule = own_rules(world)[-1]
        assert rule["rule"]["fit_points"] == expected, (applies, fields)
        edit = world.client.get(f"{url}/{rule['id']}").text
        assert f'value="{expected}"' in edit.split('id="rf-fit_points"')[1].split(">")[0]
    shown = world.client.get(f"{url}/{rule['id']}").text
    assert 'placeholder="2880"' in shown.split('id="rf-fit_points"')[1].split(">")[0]
    # A model saved without a fit (from the API) runs on 400: its form shows 400, so that
    # saving it again for its label does not refit every device on a day.
    body = {
        "rule": {"key": "tower_plant", "label_zh": "冷却塔模型", "label_en": "Tower model",
                 "kind": "plant", "metrics": tower},
        "scope": {"profile": "cooling_tower"},
    }  # fmt: skip
    edit = world.client.get(f"{url}/{api_rule(world, body)['id']}").text
    assert 'value="400"' in edit.split('id="rf-fit_points"')[1].split(">")[0]


def test_a_plant_model_is_judged_against_the_conditions_ticked(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules"
    page = world.client.get(url).text
    given = page.split('data-testid="rule-conditions"')[1].split("</fieldset>")[0]
    assert "传感器对照的工况（可选）" in given
    assert 'value="chw_supply_c" disabled' in given and "fan_running" not in given
    made = post_plant_form(world, csrf, url, conditions=["chw_supply_c"])
    assert made.status_code == 303, made.text
    [own] = own_rules(world)
    assert own["rule"]["conditions"] == ["chw_supply_c"]
    row = world.client.get(url).text.split('data-testid="own-rules"')[1].split("</table>")[0]
    assert "按前 2880 行拟合，灵敏度 0.4，对照工况 chw_supply_c" in row
    edit = world.client.get(f"{url}/{own['id']}").text
    given = edit.split('data-testid="rule-conditions"')[1].split("</fieldset>")[0]
    assert 'value="chw_supply_c" checked>' in given and 'value="humidity_pct">' in given
    # Unticked on the next save: the rule has no conditions any more.
    changed = post_plant_form(world, csrf, f"{url}/{own['id']}")
    assert changed.status_code == 303, changed.text
    [own] = own_rules(world)
    assert "conditions" not in own["rule"]


def test_the_form_marks_the_gauges_a_profile_declares_conditions_or_set_points(
    world: World,
) -> None:
    """A tower's wet bulb is what it is given, its cold water what its fan holds: the profile
    says so, and the form shows it beside their ticks, in Chinese and in English."""
    world.registry.create_device(world.ent_b, "ct-01", "cooling_tower")
    world.registry.create_device(world.ent_b, "pm-01", "power_meter")
    sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules"

    def marks(page: str) -> dict[str, str]:
        given = page.split('data-testid="rule-conditions"')[1].split("</fieldset>")[0]
        found: dict[str, str] = {}
        for tick in given.split('<label class="check">')[1:]:
            if 'data-testid="plant-role"' in tick:
                value = tick.split('value="')[1].split('"')[0]
                found[value] = tick.split('data-testid="plant-role">')[1].split("<")[0]
        return found

    page = world.client.get(url).text
    assert marks(page) == {
        "supply_air_c": "设定值",
        "return_air_c": "工况",
        "chw_supply_c": "工况",
        "cold_water_c": "设定值",
        "wet_bulb_c": "工况",
        "active_power_kw": "工况",
    }
    assert "设备模型已标出设备所承受的外部条件（工况）" in page
    world.client.get("/lang?to=en&next=/")
    assert marks(world.client.get(url).text) == {
        "supply_air_c": "set point",
        "return_air_c": "condition",
        "chw_supply_c": "condition",
        "cold_water_c": "set point",
        "wet_bulb_c": "condition",
        "active_power_kw": "condition",
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"conditions": ["fan_running"]}, "conditions", "请勾选设备上报的工况测点。"),
        ({"conditions": ["chw_supply_c", "chw_supply_c"]}, "conditions", "请勾选设备上报的工况"),
        ({"conditions": ["supply_air_c"]}, "conditions", "模型覆盖的传感器不能同时作为工况。"),
        (
            {
                "kind": "anomaly",
                "metric": "supply_air_c",
                "metrics": [],
                "conditions": ["chw_supply_c"],
            },
            "conditions",
            "此类规则不使用该项，请留空。",
        ),
        ({"metrics": []}, "metrics", "请勾选模型包含的传感器。"),
        ({"metrics": ["supply_air_c", "fan_running"]}, "metrics", "请勾选设备上报的传感器。"),
        ({"metrics": ["supply_air_c", "supply_air_c"]}, "metrics", "请勾选设备上报的传感器。"),
        ({"metric": "supply_air_c"}, "metric", "此类规则不使用该项，请留空。"),
        ({"fit_points": "3"}, "fit_points", "8 到 100,000 之间的整数行数。"),
        ({"fit_points": "400.5"}, "fit_points", "8 到 100,000 之间的整数行数。"),
        ({"clear_after_s": "60"}, "clear_after_s", "此类规则不使用该项，请留空。"),
        ({"running_metric": "fan_running", "metrics": ["fan_running"]}, "metrics", "请勾选"),
        (
            {"kind": "threshold", "above": "30", "metric": "supply_air_c"},
            "metrics",
            "此类规则不使用该项，请留空。",
        ),
    ],
)
def test_a_plant_model_that_makes_no_sense_is_told_beside_its_field(
    world: World, change: dict[str, object], field: str, message: str
) -> None:
    csrf = sign_in(world.client, "admin_b")
    answer = post_plant_form(world, csrf, f"/e/{world.ent_b}/rules", **change)
    assert answer.status_code == 422, (change, answer.text[:300])
    error = answer.text.split(f'data-testid="error-{field}">')[1].split("</p>")[0]
    assert message in error, (change, error)
    assert own_rules(world) == []


def test_an_anomaly_rule_refuses_limits_and_a_threshold_rule_a_sensitivity(world: World) -> None:
    csrf = sign_in(world.client, "admin_b")
    cases = [
        ({"kind": "anomaly"}, "above", "此类规则不使用该项，请留空。"),
        ({"kind": "anomaly", "above": "", "sensitivity": "2"}, "sensitivity", "取值 0 到 1"),
        (
            {"kind": "anomaly", "above": "", "pattern": "maybe"},
            "pattern",
            "请选择是否判断序列模式。",
        ),
        ({"sensitivity": "0.3"}, "sensitivity", "此类规则不使用该项，请留空。"),
        ({"kind": "anomaly", "above": "", "clear_after_s": "0"}, "clear_after_s", "须大于 0 秒。"),
    ]
    for change, field, message in cases:
        refused(world, csrf, change, field, message)
    assert own_rules(world) == []


def test_a_rule_of_a_kind_the_form_does_not_make_is_deleted_not_reshaped(world: World) -> None:
    made = world.client.post(
        f"/api/enterprises/{world.ent_b}/rules",
        json={
            "rule": {
                "key": "return_rising",
                "kind": "rate",
                "metric": "return_air_c",
                "max_rise_per_h": 5,
                "label_zh": "回风温度上升过快",
                "label_en": "Return air rising fast",
            },
            "scope": {"profile": "crah"},
        },
        headers=world.as_("admin_b"),
    )
    assert made.status_code == 201, made.text
    sign_in(world.client, "admin_b")
    edit = world.client.get(f"/e/{world.ent_b}/rules/{made.json()['id']}").text
    assert 'data-testid="rule-form"' not in edit
    assert "“变化速率”类规则通过接口修改；可在此删除。" in edit
    assert 'data-testid="rule-delete"' in edit


def test_a_device_gets_its_own_sensitivity_for_an_anomaly_rule(world: World) -> None:
    made = world.client.post(
        f"/api/enterprises/{world.ent_b}/rules",
        json={
            "rule": {
                "key": "supply_unusual",
                "kind": "anomaly",
                "metric": "supply_air_c",
                "label_zh": "送风温度异常",
                "label_en": "Unusual supply air",
            },
            "scope": {"profile": "crah"},
        },
        headers=world.as_("admin_b"),
    )
    assert made.status_code == 201, made.text
    ref = f"custom.{made.json()['id']}"
    csrf = sign_in(world.client, "admin_b")
    card = card_of(fragment(world), ref)
    assert 'name="sensitivity"' in card and 'name="above"' not in card
    assert "送风温度 <code>supply_air_c</code>" in card and "灵敏度 0.34" in card
    refused = world.client.post(
        override_url(world, ref), data={"sensitivity": "1.5", "csrf_token": csrf}
    )
    assert refused.status_code == 422
    error = refused.text.split('data-testid="error-sensitivity">')[1].split("</p>")[0]
    assert "取值 0 到 1" in error
    saved = world.client.post(
        override_url(world, ref),
        data={"sensitivity": "0.2", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200, saved.text
    assert "灵敏度 0.2" in saved.text
    assert api_overrides(world)[ref] == {"sensitivity": 0.2}


def api_rule(w: World, body: dict[str, Any]) -> dict[str, Any]:
    """An own rule of B made through the API by B's administrator: its listing (ref, id)."""
    made = w.client.post(f"/api/enterprises/{w.ent_b}/rules", json=body, headers=w.as_("admin_b"))
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


def save_state(w: World, ref: str, evaluator: Evaluator) -> None:
    """What the monitor would save of B's air handler under ``ref``: the evaluator's state."""
    layout = evaluator.state_layout()
    assert layout is not None
    blob = evaluator.export_states()[w.device_b]
    w.registry.save_detector_states([(ref, w.device_b, layout.key, blob)])


def test_a_device_s_plant_model_shows_how_far_its_fit_has_got(world: World) -> None:
    """Until a plant model has taken its fit rows it judges nothing: the device's card says so,
    and how far along it is as of the monitor's last save, in Chinese and in English."""
    body = {
        "rule": {
            "key": "air_plant", "label_zh": "送回风模型", "label_en": "Air model",
            "kind": "plant", "metrics": ["supply_air_c", "return_air_c"], "fit_points": 10,
        },
        "scope": {"device_id": world.device_b},
    }  # fmt: skip
    ref = str(api_rule(world, body)["ref"])
    sign_in(world.client, "admin_b")
    card = card_of(fragment(world), ref)
    assert "学习中：尚无保存的学习进度（监测服务每 5 分钟保存一次学到的内容）。" in card
    assert 'data-testid="rule-learning"' not in card_of(fragment(world))  # a limit rule

    # What a monitor would save after the device's first four rows.
    rule = RuleSpec.model_validate(body["rule"])
    evaluator = PlantEvaluator(rule, DeviceParams(world.device_b + 1))
    evaluator.reserve(world.device_b + 1)

    def rows(start: int, n: int) -> None:
        for i in range(start, start + n):
            values = {"supply_air_c": np.array([18.0 + 0.1 * i]), "return_air_c": np.array([24.0])}
            evaluator.step(np.array([world.device_b]), np.array([1_800_000_000_000 + i]), values)
        save_state(world, ref, evaluator)

    rows(0, 4)
    card = card_of(fragment(world), ref)
    assert "学习中：拟合所需 10 行已取 4 行（40%），取满之前不作判断。" in card
    assert '<progress max="100" value="40">' in card and "截至 " in card
    [api] = [
        r
        for r in world.client.get(
            f"/api/devices/{world.device_b}/rules", headers=world.as_("admin_b")
        ).json()
        if r["ref"] == ref
    ]
    learning = api["learning"]
    assert (learning["learned"], learning["percent"], learning["done"]) == (False, 40, 4)
    assert (learning["needed"], learning["unit"]) == (10, "rows") and learning["saved_at"]
    world.client.get("/lang?to=en&next=/")
    assert "Learning: 4 of 10 rows of its fit taken (40%)" in card_of(fragment(world), ref)
    world.client.get("/lang?to=zh-CN&next=/")

    rows(4, 6)
    card = card_of(fragment(world), ref)
    assert "已学习完毕，正在判断本设备。" in card and "<progress" not in card


def test_a_device_s_anomaly_rule_shows_its_learning_day_or_its_warm_up_readings(
    world: World,
) -> None:
    """An anomaly rule counts hours of its learning day; on a series slower than its warm-up
    readings (hourly), it counts readings instead."""
    body = {
        "rule": {
            "key": "supply_anomaly", "label_zh": "送风异常", "label_en": "Supply anomaly",
            "kind": "anomaly", "metric": "supply_air_c",
        },
        "scope": {"device_id": world.device_b},
    }  # fmt: skip
    ref = str(api_rule(world, body)["ref"])
    rule = RuleSpec.model_validate(body["rule"])
    sign_in(world.client, "admin_b")

    def saved_after(points: int, step_ms: int) -> str:
        evaluator = AnomalyEvaluator(rule, DeviceParams(world.device_b + 1))
        evaluator.reserve(world.device_b + 1)
        for i in range(points):
            values = {"supply_air_c": np.array([18.0 + 0.1 * (i % 5)])}
            ts = np.array([1_800_000_000_000 + i * step_ms])
            evaluator.step(np.array([world.device_b]), ts, values)
        save_state(world, ref, evaluator)
        return card_of(fragment(world), ref)

    # 721 readings a minute apart: 720 minutes of the day's 1,440.
    card = saved_after(721, 60_000)
    assert "学习中：需学习 24 小时的读数，已学 12 小时（50%），学满之前不告警。" in card
    card = saved_after(30, 3_600_000)
    assert "学习中：需 100 个读数，已收到 30 个（30%），收满之前不告警。" in card
    world.client.get("/lang?to=en&next=/")
    card = card_of(fragment(world), ref)
    assert "Learning: 30 of the 100 readings it needs received (30%)" in card


def send_history(w: World, rows: int, start_ms: int) -> None:
    """B's air handler's readings every 30 s from ``start_ms``, sent before any rule models it."""
    payload = [
        {
            "ts": start_ms + i * 30_000,
            "values": {"supply_air_c": 18.0 + 0.05 * (i % 7), "return_air_c": 24.0 + 0.1 * (i % 3)},
        }
        for i in range(rows)
    ]
    answer = w.client.post(f"/api/v1/{w.device_token_b}/telemetry", json=payload)
    assert answer.status_code == 200, answer.text


def test_a_plant_model_fitted_on_stored_readings_judges_at_once(world: World) -> None:
    """Given where to fit from, the form's plant model is fitted on the air handler's stored
    readings when it is saved: the rule list says so, and the device's card shows it judging."""
    # 17 s past a minute: the form keeps seconds it is given.
    start = utc_now_ms() // 60_000 * 60_000 - 3 * 3_600_000 + 17_000
    send_history(world, 120, start)
    csrf = sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules"
    page = world.client.get(url).text
    field = page.split('id="rf-fit_from"')[1].split(">")[0]
    assert 'type="datetime-local"' in field and "disabled" in field  # until plant is chosen
    assert "拟合起点（用已存数据）" in page
    when = to_iso(start)[:19]  # the form's date and time, China time
    made = post_plant_form(world, csrf, url, fit_points="100", fit_from=when)
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"{url}?fitted=1&of=1&alarms=0&alarmed=0"
    notice = world.client.get(made.headers["location"]).text
    assert "设备模型已用已存数据拟合全部 1 台设备，即刻开始判断。" in notice
    assert "回测：在拟合之后的已存数据上，它不会告警；模型从那里接着判断。" in notice
    row = notice.split('data-testid="own-rules"')[1].split("</table>")[0]
    assert f"按 {when[:10]} {when[11:16]} 起的 100 行拟合，灵敏度 0.4" in row
    [own] = own_rules(world)
    assert own["rule"]["fit_from"] == to_iso(start)[:19] + "+08:00"
    card = card_of(fragment(world), own["ref"])
    assert "已学习完毕，正在判断本设备。" in card
    edit = world.client.get(f"{url}/{own['id']}").text
    assert f'value="{when}"' in edit.split('id="rf-fit_from"')[1].split(">")[0]

    # Saved again unchanged, it keeps its model: no new fit, no notice.
    again = post_plant_form(world, csrf, f"{url}/{own['id']}", fit_points="100", fit_from=when)
    assert again.headers["location"] == url
    # More rows than the store holds: fitted partly, the rest is learned live.
    later = to_iso(start + 60 * 30_000)[:19]
    partly = post_plant_form(world, csrf, f"{url}/{own['id']}", fit_points="100", fit_from=later)
    assert partly.headers["location"] == f"{url}?fitted=0&of=1"
    world.client.get("/lang?to=en&next=/")
    shown = world.client.get(partly.headers["location"]).text
    assert "model&#39;s 1 devices had enough stored rows for its fit" in shown
    assert "Learning: 60 of 100 rows of its fit taken (60%)" in card_of(fragment(world), own["ref"])
    world.client.get("/lang?to=zh-CN&next=/")
    # A link edited by hand shows no notice.
    for query in ("fitted=2&of=1", "fitted=x&of=1", "fitted=1", "fitted=99999999&of=99999999",
                  "fitted=0&of=0"):  # fmt: skip
        assert 'data-testid="fitted-notice"' not in world.client.get(f"{url}?{query}").text
    # A back-test that does not add up, or of no fitted device, is left out of the notice.
    for query in ("1&alarms=0&alarmed=1", "1&alarms=3&alarmed=0", "1&alarms=x&alarmed=0",
                  "1&alarms=2", "0&alarms=0&alarmed=0"):  # fmt: skip
        shown = world.client.get(f"{url}?of=1&fitted={query}").text
        assert 'data-testid="fitted-notice"' in shown
        assert 'data-testid="fitted-backtest"' not in shown
    cut = world.client.get(f"{url}?fitted=1&of=1&alarms=0&alarmed=0&cut=1").text
    assert "回测读到单次上限后停止，未判到当前：此后的数据未经试判。" in cut


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fit_from": "yesterday"}, "请输入日期，或日期和时间。"),
        ({"fit_from": "2999-01-01T00:00"}, "早于当前、且此后有已存数据的日期和时间。"),
        ({"fit_from": "1900-01-01"}, "早于当前、且此后有已存数据的日期和时间。"),
        (
            {"kind": "threshold", "above": "30", "metric": "supply_air_c", "metrics": [],
             "fit_from": "2026-01-01"},
            "此类规则不使用该项，请留空。",
        ),
    ],
)  # fmt: skip
def test_a_fit_start_that_cannot_be_used_is_told_beside_its_field(
    world: World, change: dict[str, object], message: str
) -> None:
    csrf = sign_in(world.client, "admin_b")
    answer = post_plant_form(world, csrf, f"/e/{world.ent_b}/rules", **change)
    assert answer.status_code == 422, (change, answer.text[:300])
    error = answer.text.split('data-testid="error-fit_from">')[1].split("</p>")[0]
    assert message in error, (change, error)
    assert own_rules(world) == []


def air_model(w: World, fit_from: object, fit_points: int) -> dict[str, Any]:
    """An API body of a plant model of B's air handler fitted from ``fit_from``."""
    return {
        "rule": {
            "key": "air_plant", "label_zh": "送回风模型", "label_en": "Air model",
            "kind": "plant", "metrics": ["supply_air_c", "return_air_c"],
            "fit_points": fit_points, "fit_from": fit_from,
        },
        "scope": {"device_id": w.device_b},
    }  # fmt: skip


def air_model_fitted_from(w: World, start: int, fit_from: object) -> dict[str, Any]:
    """B's air handler with 50 readings stored from ``start``, and an API body of a plant
    model of it fitted on 30 rows from ``fit_from``."""
    send_history(w, 50, start)
    return air_model(w, fit_from, 30)


def test_the_api_tells_what_a_fit_on_stored_readings_took(world: World) -> None:
    start = utc_now_ms() // 1000 * 1000 - 3 * 3_600_000 + 250
    body = air_model_fitted_from(world, start, start)
    made = api_rule(world, body)
    backtest = made["history_fit"].pop("backtest")
    assert made["history_fit"] == {
        "devices": 1, "fitted": 1, "learning": 0, "fit_rows": {str(world.device_b): 30},
    }  # fmt: skip
    # The 20 stored rows after the fit are judged: steady, they raise nothing.
    assert (backtest["rows"], backtest["alarms"], backtest["complete"]) == (20, 0, True)
    listed = [r for r in own_rules(world) if r["id"] == made["id"]]
    assert listed[0]["rule"]["fit_from"] == start  # kept as the client gave it
    sign_in(world.client, "admin_b")
    edit = world.client.get(f"/e/{world.ent_b}/rules/{made['id']}")
    shown = edit.text.split('id="rf-fit_from"')[1].split(">")[0]
    assert f'value="{to_iso(start)[:23]}"' in shown
    body["rule"]["fit_from"] = "not a time"
    refused = world.client.post(
        f"/api/enterprises/{world.ent_b}/rules", json=body, headers=world.as_("admin_b")
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] in ("fit_from", "rule.fit_from")


def test_a_fit_on_too_many_stored_rows_is_told_without_the_field_s_hint(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rule_service, "MAX_HISTORY_ROWS", 99)
    csrf = sign_in(world.client, "admin_b")
    answer = post_plant_form(
        world, csrf, f"/e/{world.ent_b}/rules", fit_points="100", fit_from="2026-01-01"
    )
    assert answer.status_code == 422
    error = answer.text.split('data-testid="error-fit_from">')[1].split("</p>")[0]
    assert "设备数 × 拟合行数不得超过 2,000,000 行" in error
    assert "早于当前" not in error


def test_a_fit_start_given_to_the_millisecond_survives_the_form(world: World) -> None:
    """A fit start the API gave in milliseconds is shown to the millisecond, so that changing
    the label in the console keeps the model rather than fit it anew."""
    start = utc_now_ms() // 1000 * 1000 - 3 * 3_600_000 + 123
    made = api_rule(world, air_model_fitted_from(world, start, float(start)))
    assert made["history_fit"]["fitted"] == 1
    csrf = sign_in(world.client, "admin_b")
    url = f"/e/{world.ent_b}/rules/{made['id']}"
    field = world.client.get(url).text.split('id="rf-fit_from"')[1].split(">")[0]
    shown = to_iso(start)[:23]
    assert f'value="{shown}"' in field and 'step="0.001"' in field
    again = post_plant_form(
        world, csrf, url, label_zh="送回风温度模型", fit_points="30", fit_from=shown,
        applies=f"device:{world.device_b}",
    )  # fmt: skip
    # No fit was made again (the list says nothing of one), and the start is the same instant.
    assert again.status_code == 303 and again.headers["location"] == f"/e/{world.ent_b}/rules"
    [own] = [r for r in own_rules(world) if r["id"] == made["id"]]
    assert own["rule"]["label_zh"] == "送回风温度模型"
    assert fit_instant(own["rule"]["fit_from"]) == fit_instant(start)
