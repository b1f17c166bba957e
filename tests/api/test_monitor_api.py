"""The monitor end to end through shugu's HTTP API: telemetry in, alarms, rules, overrides,
notices to a real local webhook, offline detection and the roll-ups.

The app's monitor thread is stopped by the ``dc`` fixture; each test evaluates what it posted
with ``monitor.process_pending()`` and drives time-based behaviour (offline, reminders,
escalation) with explicit clocks, so nothing here sleeps on a timer. One test keeps the
thread running to show the unassisted path.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.tenancy import Role
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.notify.senders import dingtalk_sign
from shugu.monitor.notify.targets import Resolver
from shugu.monitor.service import Monitor
from tests.api.conftest import PASSWORD, World
from tests.resolver import fixed

Json = dict[str, Any]

RULE_HIGH = "rack_sensor.inlet_high"


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


# -- the data centre of enterprise B -----------------------------------------------------------


@dataclass
class DataCentre:
    w: World
    services: Services
    area: int
    line: int
    spare_area: int
    racks: dict[str, tuple[int, str]]
    #: The alarm book's clock (ms); tests move it to drive reminders and escalation.
    now: list[int]
    _next_ts: list[int] = field(default_factory=lambda: [utc_now_ms() - 5 * 60_000])

    @property
    def monitor(self) -> Monitor:
        return self.services.monitor

    def ts(self) -> int:
        """Strictly increasing point times, a few minutes old: fresh for the monitor."""
        self._next_ts[0] += 1000
        return self._next_ts[0]

    def send(self, token: str, **values: float) -> None:
        r = self.w.client.post(
            f"/api/v1/{token}/telemetry", json={"ts": self.ts(), "values": values}
        )
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == len(values), r.text
        self.monitor.process_pending()

    def rack(self, name: str, **values: float) -> None:
        self.send(self.racks[name][1], **values)

    def alarms(self, who: str = "admin_b", **params: Any) -> list[Json]:
        r = self.w.client.get(
            "/api/alarms", params={"enterprise": self.w.ent_b, **params}, headers=self.w.as_(who)
        )
        assert r.status_code == 200, r.text
        body: list[Json] = r.json()
        return body

    def only_alarm(self, rule_ref: str, device: int) -> Json:
        mine = [a for a in self.alarms() if a["rule_ref"] == rule_ref and a["device_id"] == device]
        assert len(mine) == 1, mine
        return mine[0]

    def act(self, alarm_id: int, action: str, who: str = "admin_b", **body: Any) -> Any:
        return self.w.client.post(
            f"/api/alarms/{alarm_id}/{action}", json=body, headers=self.w.as_(who)
        )

    def alarm(self, alarm_id: int, who: str = "admin_b") -> Json:
        r = self.w.client.get(f"/api/alarms/{alarm_id}", headers=self.w.as_(who))
        assert r.status_code == 200, r.text
        body: Json = r.json()
        return body


@pytest.fixture
def dc(world: World) -> DataCentre:
    services = services_of(world)
    services.monitor.stop()  # the tests evaluate and tick themselves
    registry = world.registry
    b = world.ent_b
    area = registry.create_asset(b, "area", "一号机房", parent_id=world.site_b)
    line = registry.create_asset(b, "line", "A列", parent_id=area.id)
    spare = registry.create_asset(b, "area", "二号机房", parent_id=world.site_b)
    racks = {}
    for name in ("rack-A01", "rack-A02"):
        device, token = registry.create_device(b, name, "rack_sensor", asset_id=line.id)
        racks[name] = (device.id, token)
    viewer = registry.create_user("viewer_b", PASSWORD, Role.ENTERPRISE_VIEWER, b)
    world.tokens["viewer_b"] = registry.create_api_token(viewer.id, "tests")
    services.monitor.configure()
    now = [utc_now_ms()]
    services.monitor.book._clock = lambda: now[0]
    return DataCentre(world, services, area.id, line.id, spare.id, racks, now)


# -- lifecycle ---------------------------------------------------------------------------------


def test_alarm_lifecycle_raise_ack_deadband_auto_clear(dc: DataCentre) -> None:
    rack, _ = dc.racks["rack-A01"]
    dc.rack("rack-A01", inlet_c=29.0)
    alarms = dc.alarms()
    assert [(a["rule_ref"], a["device_id"]) for a in alarms] == [(RULE_HIGH, rack)]
    alarm = alarms[0]
    assert alarm["severity"] == "major" and alarm["status"] == "active"
    assert alarm["device"] == "rack-A01" and alarm["enterprise_id"] == dc.w.ent_b
    assert alarm["value"] == 29.0 and alarm["limit"] == "≤ 27"
    # What, where, how far from the limit (monitor/alarm_text.py).
    assert alarm["detail"] == "rack-A01 进风温度 29 °C，高于上限 27 °C（超出 2 °C）"
    assert alarm["rule"] == "机柜进风温度高于推荐上限"
    english = dc.alarms(lang="en")[0]
    assert english["rule"] == "Rack inlet above the recommended limit"
    assert english["detail"] == "rack-A01: Inlet temperature 29 °C, above the limit 27 °C by 2 °C"

    dc.rack("rack-A01", inlet_c=29.5)  # still violating: the same alarm, not a second one
    assert [a["id"] for a in dc.alarms(status="all")] == [alarm["id"]]

    r = dc.act(alarm["id"], "ack", note="  去看了，空调在检修  ")
    assert r.status_code == 200, r.text
    acked = r.json()
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "admin_b"
    assert acked["note"] == "去看了，空调在检修" and acked["acknowledged_at"] is not None
    r = dc.act(alarm["id"], "ack")
    assert r.status_code == 409 and r.json()["error"]["code"] == "alarm_not_active"

    dc.rack("rack-A01", inlet_c=26.8)  # below 27 but inside the 0.5 deadband: still open
    assert dc.only_alarm(RULE_HIGH, rack)["status"] == "acknowledged"

    dc.rack("rack-A01", inlet_c=26.0)
    assert dc.alarms() == []
    cleared = dc.alarms(status="cleared")
    assert [a["id"] for a in cleared] == [alarm["id"]]
    assert cleared[0]["cleared_by"] is None and cleared[0]["cleared_at"] is not None

    detail = dc.alarm(alarm["id"])
    assert detail["status"] == "cleared"
    assert [(e["kind"], e["by"]) for e in detail["history"]] == [
        ("raised", None),
        ("acknowledged", "admin_b"),
        ("cleared", None),
    ]
    assert detail["history"][0]["value"] == 29.0 and detail["history"][2]["value"] == 26.0


def test_manual_clear_while_the_condition_holds_raises_a_new_alarm(dc: DataCentre) -> None:
    rack, _ = dc.racks["rack-A01"]
    dc.rack("rack-A01", inlet_c=29.0)
    first = dc.only_alarm(RULE_HIGH, rack)
    r = dc.act(first["id"], "clear", note="传感器误报")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cleared" and r.json()["cleared_by"] == "admin_b"
    assert dc.alarms() == []
    r = dc.act(first["id"], "clear")
    assert r.status_code == 409 and r.json()["error"]["code"] == "alarm_cleared"

    dc.rack("rack-A01", inlet_c=29.2)
    second = dc.only_alarm(RULE_HIGH, rack)
    assert second["id"] != first["id"] and second["status"] == "active"
    assert second["value"] == 29.2
    history = dc.alarm(first["id"])["history"]
    assert [(e["kind"], e["by"], e["note"]) for e in history] == [
        ("raised", None, ""),
        ("cleared", "admin_b", "传感器误报"),
    ]


def test_old_points_are_history_not_alarms(dc: DataCentre) -> None:
    old = utc_now_ms() - 20 * 60_000
    r = dc.w.client.post(
        f"/api/v1/{dc.racks['rack-A01'][1]}/telemetry", json={"ts": old, "values": {"inlet_c": 35}}
    )
    assert r.json()["accepted"] == 1
    dc.monitor.process_pending()
    assert dc.alarms(status="all") == []


def test_shelve_validates_minutes_and_marks_the_alarm(dc: DataCentre) -> None:
    rack, _ = dc.racks["rack-A01"]
    dc.rack("rack-A01", inlet_c=29.0)
    alarm = dc.only_alarm(RULE_HIGH, rack)
    for minutes in (0, -5, 7 * 24 * 60 + 1, "soon"):
        r = dc.act(alarm["id"], "shelve", minutes=minutes)
        assert r.status_code == 422, (minutes, r.text)
        assert "minutes" in json.dumps(r.json()["error"]), r.text
    assert dc.act(alarm["id"], "shelve").status_code == 422  # minutes are required
    r = dc.act(alarm["id"], "shelve", minutes=30, note="维护窗口")
    assert r.status_code == 200, r.text
    shelved = r.json()
    assert shelved["shelved"] is True and shelved["status"] == "active"
    assert shelved["shelved_until"] is not None and shelved["note"] == "维护窗口"
    listed = dc.only_alarm(RULE_HIGH, rack)
    assert listed["shelved"] is True  # still listed, marked
    assert dc.act(alarm["id"], "clear").status_code == 200
    r = dc.act(alarm["id"], "shelve", minutes=30)
    assert r.status_code == 409 and r.json()["error"]["code"] == "alarm_cleared"


def test_who_may_handle_an_alarm(dc: DataCentre) -> None:
    w = dc.w
    rack, _ = dc.racks["rack-A01"]
    dc.rack("rack-A01", inlet_c=29.0)
    alarm_id = dc.only_alarm(RULE_HIGH, rack)["id"]

    # Outside the enterprise the alarm does not exist; the bureau reads only with consent.
    for who in ("admin_a", "viewer_a"):
        assert w.client.get(f"/api/alarms/{alarm_id}", headers=w.as_(who)).status_code == 404
        assert dc.act(alarm_id, "ack", who).status_code == 404
    assert (
        w.client.get(f"/api/alarms?enterprise={w.ent_b}", headers=w.as_("admin_a")).status_code
        == 404
    )
    assert dc.act(alarm_id, "ack", "bureau").status_code == 403
    w.registry.grant_consent(w.ent_b, w.user_ids["admin_b"], "监管")
    assert w.client.get(f"/api/alarms/{alarm_id}", headers=w.as_("bureau")).status_code == 200
    for action, body in (("ack", {}), ("clear", {}), ("shelve", {"minutes": 5})):
        r = dc.act(alarm_id, action, "bureau", **body)
        assert r.status_code == 403, (action, r.text)

    # A viewer of the enterprise acknowledges, but silencing is for its administrators.
    for action, body in (("clear", {}), ("shelve", {"minutes": 5})):
        r = dc.act(alarm_id, action, "viewer_b", **body)
        assert r.status_code == 403, (action, r.text)
    r = dc.act(alarm_id, "ack", "viewer_b")
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_by"] == "viewer_b"
    assert dc.alarm(alarm_id)["status"] == "acknowledged"
    # The operator runs the platform, but handles an enterprise's alarms (which show its
    # values) only with the enterprise's consent.
    refused = dc.act(alarm_id, "clear", "operator")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"
    w.registry.grant_consent(w.ent_b, w.user_ids["admin_b"], "值守", "operator")
    assert dc.act(alarm_id, "clear", "operator").status_code == 200


def test_the_monitor_thread_raises_alarms_on_its_own(world: World) -> None:
    """No test help: the app's own monitor thread evaluates a CRAH's hold-time rule."""
    now = utc_now_ms()
    r = world.client.post(
        f"/api/v1/{world.device_token_b}/telemetry",
        json=[
            {"ts": now - 200_000, "values": {"supply_air_pressure_pa": 2.0}},
            {"ts": now - 60_000, "values": {"supply_air_pressure_pa": 2.5}},
        ],
    )
    assert r.json()["accepted"] == 2

    def raised() -> bool:
        r = world.client.get(f"/api/alarms?enterprise={world.ent_b}", headers=world.as_("admin_b"))
        return bool(r.json())

    wait_until(raised)
    r = world.client.get(f"/api/alarms?enterprise={world.ent_b}", headers=world.as_("admin_b"))
    [alarm] = r.json()
    assert alarm["rule_ref"] == "crah.supply_pressure_band" and alarm["device"] == "crah-01"
    assert alarm["limit"] == "5–20 (120 s)" and alarm["value"] == 2.5


def test_a_device_registered_over_the_api_is_watched_from_its_first_point(
    dc: DataCentre,
) -> None:
    w = dc.w
    dc.monitor.configure()  # the monitor has just looked at the registry
    r = w.client.post(
        f"/api/enterprises/{w.ent_b}/devices",
        json={"name": "rack-A09", "profile": "rack_sensor", "asset_id": dc.line},
        headers=w.as_("admin_b"),
    )
    assert r.status_code == 201, r.text
    device, token = r.json()["device"]["id"], r.json()["token"]
    dc.send(token, inlet_c=30.0)
    assert [a["rule_ref"] for a in dc.alarms(device=device)] == [RULE_HIGH]


# -- per-device overrides ----------------------------------------------------------------------


def test_an_override_changes_one_device_limit(dc: DataCentre) -> None:
    w = dc.w
    a01, a02 = dc.racks["rack-A01"][0], dc.racks["rack-A02"][0]
    url = f"/api/devices/{a01}/rules/{RULE_HIGH}/override"
    r = w.client.put(url, json={"above": 30}, headers=w.as_("admin_b"))
    assert r.status_code == 200, r.text
    assert r.json()["limit"] == "≤ 30" and r.json()["overridden"] == {"above": 30}
    dc.monitor.process_pending()  # the monitor thread's next step applies the reload
    rules = w.client.get(f"/api/devices/{a01}/rules", headers=w.as_("viewer_b")).json()
    mine = {r["ref"]: r for r in rules}
    assert mine[RULE_HIGH]["limit"] == "≤ 30" and mine[RULE_HIGH]["overridden"] == {"above": 30}
    assert "rack_sensor.offline" in mine and "crah.offline" not in mine
    others = w.client.get(f"/api/devices/{a02}/rules", headers=w.as_("admin_b")).json()
    assert {r["ref"]: r["limit"] for r in others}[RULE_HIGH] == "≤ 27"

    dc.rack("rack-A01", inlet_c=29.0)
    dc.rack("rack-A02", inlet_c=29.0)
    assert [(a["rule_ref"], a["device_id"]) for a in dc.alarms()] == [(RULE_HIGH, a02)]

    # Only the enterprise's administrators change limits.
    assert w.client.put(url, json={"above": 35}, headers=w.as_("viewer_b")).status_code == 403
    assert w.client.put(url, json={"above": 35}, headers=w.as_("admin_a")).status_code == 404

    r = w.client.delete(url, headers=w.as_("admin_b"))
    assert r.status_code == 204, r.text
    assert w.client.delete(url, headers=w.as_("admin_b")).status_code == 404
    dc.rack("rack-A01", inlet_c=29.1)
    assert {a["device_id"] for a in dc.alarms()} == {a01, a02}


def test_an_override_clears_an_open_alarm_the_new_limit_no_longer_sees(dc: DataCentre) -> None:
    w = dc.w
    a01 = dc.racks["rack-A01"][0]
    dc.rack("rack-A01", inlet_c=29.0)
    assert dc.only_alarm(RULE_HIGH, a01)["status"] == "active"
    url = f"/api/devices/{a01}/rules/{RULE_HIGH}/override"
    assert w.client.put(url, json={"above": 31}, headers=w.as_("admin_b")).status_code == 200
    dc.rack("rack-A01", inlet_c=29.0)
    assert dc.alarms() == []


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"metric": "inlet_rh_pct"}, "metric", "override_invalid"),
        ({"kind": "rate"}, "kind", "override_invalid"),
        ({"above": "hot"}, "above", "rule_invalid"),
        ({"deadband": -1}, "deadband", "rule_invalid"),
        ({"severity": "apocalyptic"}, "severity", "rule_invalid"),
    ],
)
def test_an_invalid_override_names_the_field(
    dc: DataCentre, params: Json, field: str, code: str
) -> None:
    w = dc.w
    a01 = dc.racks["rack-A01"][0]
    url = f"/api/devices/{a01}/rules/{RULE_HIGH}/override"
    r = w.client.put(url, json=params, headers=w.as_("admin_b"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["field"] == field, error
    assert field in error["message"]
    # Nothing was kept: the device still has the profile's limit.
    rules = w.client.get(f"/api/devices/{a01}/rules", headers=w.as_("admin_b")).json()
    assert {r["ref"]: r["overridden"] for r in rules}[RULE_HIGH] == {}


def test_an_override_of_a_rule_the_device_does_not_have_is_not_found(dc: DataCentre) -> None:
    w = dc.w
    a01 = dc.racks["rack-A01"][0]
    for ref in ("crah.fan_stopped", "rack_sensor.no_such_rule"):
        r = w.client.put(
            f"/api/devices/{a01}/rules/{ref}/override", json={"above": 1}, headers=w.as_("admin_b")
        )
        assert r.status_code == 404 and r.json()["error"]["field"] == "rule_ref", r.text


# -- custom rules ------------------------------------------------------------------------------

ANOMALY_RULE: Json = {
    "key": "supply_air_odd",
    "kind": "anomaly",
    "metric": "supply_air_c",
    "severity": "minor",
    "label_zh": "送风温度异常",
    "label_en": "Supply air unusual",
}
DELTA_T_RULE: Json = {
    "key": "chw_dt_low",
    "kind": "expression",
    "expr": "chw_return_c - chw_supply_c",
    "below": 3,
    "deadband": 0.3,
    "unit": "K",
    "severity": "minor",
    "label_zh": "冷冻水温差过小（立即）",
    "label_en": "Chilled-water ΔT low (at once)",
}


def test_a_custom_expression_rule_alarms_on_a_low_delta_t(dc: DataCentre) -> None:
    w = dc.w
    r = w.client.post(
        f"/api/enterprises/{w.ent_b}/rules",
        json={"rule": DELTA_T_RULE, "scope": {"device_id": w.device_b}},
        headers=w.as_("admin_b"),
    )
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]
    assert ref == f"custom.{r.json()['id']}"
    listed = w.client.get(f"/api/enterprises/{w.ent_b}/rules", headers=w.as_("admin_b")).json()
    assert ref in {r["ref"] for r in listed} and RULE_HIGH in {r["ref"] for r in listed}
    # Another enterprise neither sees nor gets the rule.
    listed_a = w.client.get(f"/api/enterprises/{w.ent_a}/rules", headers=w.as_("admin_a")).json()
    assert ref not in {r["ref"] for r in listed_a}

    dc.send(w.device_token_b, chw_supply_c=7.0, chw_return_c=13.0)
    assert dc.alarms() == []
    # The inputs arrive in separate messages; the last value of each is used.
    dc.send(w.device_token_b, chw_return_c=9.0)
    alarm = dc.only_alarm(ref, w.device_b)
    assert alarm["severity"] == "minor" and alarm["value"] == 2.0
    assert alarm["limit"] == "≥ 3"
    assert alarm["detail"] == "crah-01 冷冻水温差过小（立即） 2 K，低于下限 3 K（差 1 K）"
    assert alarm["rule"] == "冷冻水温差过小（立即）"
    dc.send(w.device_token_b, chw_return_c=13.0)
    assert dc.alarms() == []

    # Viewers read rules but do not write them.
    body = {"rule": DELTA_T_RULE, "scope": {"profile": "crah"}}
    url = f"/api/enterprises/{w.ent_b}/rules"
    assert w.client.post(url, json=body, headers=w.as_("viewer_b")).status_code == 403
    assert w.client.post(url, json=body, headers=w.as_("admin_a")).status_code == 404
    rule_id = r.json()["id"]
    assert w.client.delete(f"/api/rules/{rule_id}", headers=w.as_("admin_a")).status_code == 404
    assert w.client.delete(f"/api/rules/{rule_id}", headers=w.as_("admin_b")).status_code == 204


def test_replacing_a_rule_clears_an_alarm_its_new_limit_no_longer_sees(dc: DataCentre) -> None:
    w = dc.w
    url = f"/api/enterprises/{w.ent_b}/rules"
    scope = {"device_id": w.device_b}
    r = w.client.post(url, json={"rule": DELTA_T_RULE, "scope": scope}, headers=w.as_("admin_b"))
    rule_id, ref = r.json()["id"], r.json()["ref"]
    dc.send(w.device_token_b, chw_supply_c=7.0, chw_return_c=9.0)
    assert dc.only_alarm(ref, w.device_b)["value"] == 2.0
    looser = {**DELTA_T_RULE, "below": 1.5}
    r = w.client.put(
        f"/api/rules/{rule_id}", json={"rule": looser, "scope": scope}, headers=w.as_("admin_b")
    )
    assert r.status_code == 200, r.text
    dc.send(w.device_token_b, chw_return_c=9.1)  # ΔT 2.1: fine under the new limit
    assert dc.alarms() == []


@pytest.mark.parametrize(
    ("rule", "scope", "field", "words"),
    [
        pytest.param(
            {"key": "hot", "kind": "threshold", "above": 30, "label_zh": "热", "label_en": "hot"},
            {"profile": "rack_sensor"},
            "metric",
            "needs metric",
            id="threshold-without-metric",
        ),
        (
            {**DELTA_T_RULE, "expr": "__import__('os')"},
            {"profile": "crah"},
            "expr",
            "only abs(), min() and max() may be called",
        ),
        (
            {**DELTA_T_RULE, "expr": "chw_return_c - boiler_c"},
            {"profile": "crah"},
            "rule.metric",
            "boiler_c",
        ),
        (
            {**DELTA_T_RULE, "kind": "threshold", "expr": None, "metric": "inlet_c"},
            {"profile": "crah"},
            "rule.metric",
            "inlet_c",
        ),
        ({**DELTA_T_RULE, "below": "cold"}, {"profile": "crah"}, "below", "below"),
        ({**DELTA_T_RULE, "colour": "red"}, {"profile": "crah"}, "colour", "colour"),
        (DELTA_T_RULE, {"profile": "crah", "asset_id": 1}, "scope", "exactly one"),
        (DELTA_T_RULE, {"profile": "no_such_profile"}, "profile", "no_such_profile"),
        (
            {**ANOMALY_RULE, "running_metric": "humidity_pct"},
            {"profile": "crah"},
            "rule.running_metric",
            "'humidity_pct' of profile crah is not an on/off metric",
        ),
        (
            {
                **ANOMALY_RULE,
                "kind": "plant",
                "metric": None,
                "metrics": ["supply_air_c", "return_air_c"],
                "running_metric": "humidity_pct",
            },
            {"profile": "crah"},
            "rule.running_metric",
            "not an on/off metric",
        ),
        (
            {
                **ANOMALY_RULE,
                "kind": "plant",
                "metric": None,
                "metrics": ["supply_air_c", "inlet_c"],
            },
            {"profile": "crah"},
            "rule.metrics",
            "inlet_c",
        ),
        (
            {
                **ANOMALY_RULE,
                "kind": "plant",
                "metric": None,
                "metrics": ["supply_air_c", "return_air_c"],
                "conditions": ["wet_bulb_c"],
            },
            {"profile": "crah"},
            "rule.conditions",
            "wet_bulb_c",
        ),
        (
            {
                **ANOMALY_RULE,
                "kind": "plant",
                "metric": None,
                "metrics": ["supply_air_c", "return_air_c"],
                "conditions": ["return_air_c"],
            },
            {"profile": "crah"},
            "conditions",
            "cannot be its condition too",
        ),
        (
            {**ANOMALY_RULE, "running_metric": "fan_spinning"},
            {"profile": "crah"},
            "rule.running_metric",
            "fan_spinning",
        ),
    ],
)
def test_an_invalid_custom_rule_names_the_field(
    dc: DataCentre, rule: Json, scope: Json, field: str, words: str
) -> None:
    w = dc.w
    r = w.client.post(
        f"/api/enterprises/{w.ent_b}/rules",
        json={"rule": {k: v for k, v in rule.items() if v is not None}, "scope": scope},
        headers=w.as_("admin_b"),
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert words in error["message"], error
    assert error.get("field") == field, error
    listed = w.client.get(f"/api/enterprises/{w.ent_b}/rules", headers=w.as_("admin_b")).json()
    assert not [r for r in listed if r["id"] is not None]


def test_a_device_s_rule_is_judged_only_while_an_on_off_metric_of_its_profile_is_on(
    dc: DataCentre,
) -> None:
    w = dc.w
    for running, status in (("humidity_pct", 422), ("fan_running", 201)):
        r = w.client.post(
            f"/api/enterprises/{w.ent_b}/rules",
            json={
                "rule": {**ANOMALY_RULE, "running_metric": running},
                "scope": {"device_id": w.device_b},
            },
            headers=w.as_("admin_b"),
        )
        assert r.status_code == status, r.text
    assert r.json()["rule"]["running_metric"] == "fan_running"


def test_a_custom_rule_cannot_watch_another_enterprise_s_machines(dc: DataCentre) -> None:
    w = dc.w
    for scope, named in (
        ({"device_id": w.device_a}, "scope.device_id"),
        ({"asset_id": w.site_a}, "scope.asset_id"),
    ):
        r = w.client.post(
            f"/api/enterprises/{w.ent_b}/rules",
            json={"rule": DELTA_T_RULE, "scope": scope},
            headers=w.as_("admin_b"),
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == named, r.text


# -- notifications to a real webhook -----------------------------------------------------------

#: Public addresses for the names the settings below use, answered without DNS.
NOTIFY_DNS = {"oapi.dingtalk.com": ["106.11.23.5"], "smtp.example.com": ["93.184.215.14"]}


@pytest.fixture
def world_settings() -> dict[str, Any]:
    # The webhook receiver below listens on loopback: notices may go there only when allowed.
    return {"notify_allow_networks": ("127.0.0.1/32",)}


@pytest.fixture
def world_resolver() -> Resolver:
    return fixed(NOTIFY_DNS)


class _Hook(BaseHTTPRequestHandler):
    server: HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.record(self, body)

    def log_message(self, *_args: object) -> None:
        pass


class HookServer(ThreadingHTTPServer):
    """Records every POST; answers 500 to the first ``fail_first[path]`` attempts of a path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.lock = threading.Lock()
        self.fail_first: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        #: Delivered (answered 200): (path, query, headers, JSON body).
        self.delivered: list[tuple[str, dict[str, list[str]], dict[str, str], Json]] = []

    def record(self, handler: _Hook, body: bytes) -> None:
        parts = urlsplit(handler.path)
        with self.lock:
            self.attempts[parts.path] = self.attempts.get(parts.path, 0) + 1
            failing = self.attempts[parts.path] <= self.fail_first.get(parts.path, 0)
            if not failing:
                self.delivered.append(
                    (parts.path, parse_qs(parts.query), dict(handler.headers), json.loads(body))
                )
        answer = b'{"errcode":0,"errmsg":"ok"}'
        handler.send_response(500 if failing else 200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def bodies(self, path: str) -> list[Json]:
        with self.lock:
            return [body for p, _q, _h, body in self.delivered if p == path]

    def events(self, path: str) -> list[str]:
        return [body["event"] for body in self.bodies(path)]

    def wait_events(self, path: str, expected: list[str]) -> None:
        try:
            wait_until(lambda: len(self.events(path)) >= len(expected))
        finally:
            assert self.events(path) == expected


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = HookServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def put_notify(dc: DataCentre, channels: list[Json], policy: Json | None) -> Any:
    r = dc.w.client.put(
        f"/api/enterprises/{dc.w.ent_b}/notify",
        json={"channels": channels, "policy": policy},
        headers=dc.w.as_("admin_b"),
    )
    dc.monitor.process_pending()  # picks up the reload
    return r


def test_a_webhook_gets_the_raised_notice_despite_two_failures(
    dc: DataCentre, hook: HookServer
) -> None:
    dc.services.notifier._base_delay_s = 0.02  # back-off in tens of ms, not seconds
    hook.fail_first["/ops"] = 2
    channel = {
        "kind": "webhook",
        "name": "ops",
        "url": hook.url("/ops"),
        "headers": {"X-Shugu-Key": "k1"},
    }
    r = put_notify(dc, [channel], {"first": ["ops"]})
    assert r.status_code == 200, r.text
    dc.rack("rack-A01", inlet_c=29.0)
    alarm = dc.only_alarm(RULE_HIGH, dc.racks["rack-A01"][0])

    hook.wait_events("/ops", ["raised"])
    assert hook.attempts["/ops"] == 3
    [(_path, _query, headers, body)] = hook.delivered
    assert headers["X-Shugu-Key"] == "k1" and headers["Content-Type"] == "application/json"
    assert body["alarm_id"] == alarm["id"] and body["event"] == "raised"
    assert body["enterprise"] == "乙数据中心" and body["device"] == "rack-A01"
    assert body["severity"] == "major" and body["rule"] == "机柜进风温度高于推荐上限"
    assert body["value"] == 29.0 and "29" in body["detail"] and body["lang"] == "zh"
    assert body["raised_at"].endswith("+08:00")

    kinds = [e["kind"] for e in dc.alarm(alarm["id"])["history"]]
    assert kinds == ["raised", "notified"]
    status = dc.w.client.get("/api/monitor/status", headers=dc.w.as_("operator")).json()
    ops = status["notifier"]["channels"]["ops"]
    assert (ops["delivered"], ops["retried"], ops["failing"]) == (1, 2, False)
    assert status["monitor"]["alarms_raised"] == 1
    r = dc.w.client.get("/api/monitor/status", headers=dc.w.as_("admin_b"))
    assert r.status_code == 403


def test_reminders_and_escalation_follow_the_policy(dc: DataCentre, hook: HookServer) -> None:
    channels = [
        {"kind": "webhook", "name": "ops", "url": hook.url("/ops")},
        {"kind": "webhook", "name": "boss", "url": hook.url("/boss"), "lang": "en"},
    ]
    policy = {"first": ["ops"], "repeat_every_min": 1, "escalate_after_min": 2, "second": ["boss"]}
    assert put_notify(dc, channels, policy).status_code == 200
    t0 = dc.now[0]
    dc.rack("rack-A01", inlet_c=29.0)
    alarm_id = dc.only_alarm(RULE_HIGH, dc.racks["rack-A01"][0])["id"]
    hook.wait_events("/ops", ["raised"])
    book = dc.monitor.book

    dc.now[0] = t0 + 30_000
    book.tick()  # nothing due yet
    dc.now[0] = t0 + 60_000
    book.tick()
    hook.wait_events("/ops", ["raised", "repeated"])
    dc.now[0] = t0 + 120_000
    book.tick()
    hook.wait_events("/boss", ["escalated"])
    hook.wait_events("/ops", ["raised", "repeated", "repeated"])
    escalated = hook.bodies("/boss")[0]
    assert (
        escalated["lang"] == "en" and escalated["rule"] == "Rack inlet above the recommended limit"
    )
    assert escalated["alarm_id"] == alarm_id

    dc.now[0] = t0 + 150_000
    assert dc.act(alarm_id, "ack", note="on it").status_code == 200
    hook.wait_events("/boss", ["escalated", "acknowledged"])
    hook.wait_events("/ops", ["raised", "repeated", "repeated", "acknowledged"])
    for minutes in (3, 5, 60):
        dc.now[0] = t0 + minutes * 60_000
        book.tick()  # acknowledged: no more reminders
    dc.rack("rack-A01", inlet_c=25.0)  # cleared: the last notice to both groups
    hook.wait_events("/ops", ["raised", "repeated", "repeated", "acknowledged", "cleared"])
    hook.wait_events("/boss", ["escalated", "acknowledged", "cleared"])

    kinds = [e["kind"] for e in dc.alarm(alarm_id)["history"]]
    assert kinds == ["raised", "notified", "repeated", "repeated", "acknowledged", "cleared"]


def test_a_shelved_alarm_sends_no_reminders_until_the_shelf_ends(
    dc: DataCentre, hook: HookServer
) -> None:
    channels = [{"kind": "webhook", "name": "ops", "url": hook.url("/ops")}]
    assert put_notify(dc, channels, {"first": ["ops"], "repeat_every_min": 1}).status_code == 200
    t0 = dc.now[0]
    dc.rack("rack-A01", inlet_c=29.0)
    alarm_id = dc.only_alarm(RULE_HIGH, dc.racks["rack-A01"][0])["id"]
    hook.wait_events("/ops", ["raised"])
    assert dc.act(alarm_id, "shelve", minutes=30).json()["shelved"] is True
    for minutes in (2, 10, 29):
        dc.now[0] = t0 + minutes * 60_000
        dc.monitor.book.tick()
    dc.now[0] = t0 + 31 * 60_000
    dc.monitor.book.tick()  # the shelf has ended: reminders again
    assert dc.act(alarm_id, "ack").status_code == 200
    hook.wait_events("/ops", ["raised", "repeated", "acknowledged"])


def test_notify_settings_validate_and_mask_secrets(dc: DataCentre, hook: HookServer) -> None:
    w = dc.w
    channels: list[Json] = [
        {"kind": "webhook", "name": "ops", "url": hook.url("/ops")},
        {
            "kind": "dingtalk",
            "name": "钉钉值班群",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=t0k",
            "secret": "SEC0123456789abcdef",
        },
        {
            "kind": "email",
            "name": "mail",
            "host": "smtp.example.com",
            "port": 465,
            "use_ssl": True,
            "username": "alarm@example.com",
            "password": "hunter2",
            "sender": "数谷告警 <alarm@example.com>",
            "recipients": ["ops@example.com"],
        },
    ]
    policy = {"first": ["ops", "钉钉值班群"], "escalate_after_min": 5, "second": ["mail"]}
    r = put_notify(dc, channels, policy)
    assert r.status_code == 200, r.text
    for body in (
        r.json(),
        w.client.get(f"/api/enterprises/{w.ent_b}/notify", headers=w.as_("admin_b")).json(),
    ):
        by_name = {c["name"]: c for c in body["channels"]}
        assert by_name["钉钉值班群"]["secret"] == "***"
        assert by_name["mail"]["password"] == "***"
        assert by_name["mail"]["username"] == "alarm@example.com"
        assert body["policy"]["second"] == ["mail"]
        assert "hunter2" not in json.dumps(body) and "SEC0123" not in json.dumps(body)

    url = f"/api/enterprises/{w.ent_b}/notify"
    assert w.client.get(url, headers=w.as_("viewer_b")).status_code == 403
    assert w.client.get(url, headers=w.as_("admin_a")).status_code == 404

    r = put_notify(dc, channels[:1], {"first": ["ops", "sms"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "policy", r.text
    assert "sms" in r.json()["error"]["message"]
    r = put_notify(dc, [{**channels[0], "url": "ftp://example.com/x"}], None)
    assert r.status_code == 422 and "url" in r.json()["error"]["message"], r.text
    r = put_notify(dc, channels[:1], {"first": ["ops"], "escalate_after_min": 5})
    assert r.status_code == 422 and "second" in r.json()["error"]["message"], r.text
    # The refused settings left the saved ones alone.
    saved = w.client.get(url, headers=w.as_("admin_b")).json()
    assert len(saved["channels"]) == 3 and saved["policy"]["first"] == ["ops", "钉钉值班群"]


def test_a_signed_dingtalk_robot_is_signed_with_the_saved_secret(
    dc: DataCentre, hook: HookServer
) -> None:
    secret = "SECc0ffee0123456789"
    robot = {
        "kind": "dingtalk",
        "name": "robot",
        "url": hook.url("/robot/send?access_token=t0k"),
        "secret": secret,
    }
    assert put_notify(dc, [robot], {"first": ["robot"]}).status_code == 200
    dc.rack("rack-A01", inlet_c=29.0)
    wait_until(lambda: len(hook.bodies("/robot/send")) == 1)
    [(_path, query, _headers, body)] = hook.delivered
    assert body["msgtype"] == "markdown" and query["access_token"] == ["t0k"]
    timestamp = int(query["timestamp"][0])
    # parse_qs undoes the URL encoding: the base64 signature itself is compared.
    assert query["sign"] == [unquote_plus(dingtalk_sign(secret, timestamp))]


# -- offline -----------------------------------------------------------------------------------


def test_a_silent_device_goes_offline_and_comes_back_with_a_point(dc: DataCentre) -> None:
    a01, a02 = dc.racks["rack-A01"][0], dc.racks["rack-A02"][0]
    dc.rack("rack-A01", inlet_c=22.0)
    monitor = dc.monitor
    seen = int(monitor.engine.last_seen[a01])
    assert seen > 0
    monitor.book.apply(monitor.engine.tick(seen + 299_000))
    assert dc.alarms() == []
    monitor.book.apply(monitor.engine.tick(seen + 301_000))
    alarm = dc.only_alarm("rack_sensor.offline", a01)
    assert alarm["severity"] == "warning" and alarm["value"] == pytest.approx(301.0)
    assert alarm["limit"] == "300 s" and "无数据" in alarm["detail"]
    assert [a["device_id"] for a in dc.alarms()] == [a01]  # rack-A02 never sent: not offline
    monitor.book.apply(monitor.engine.tick(seen + 900_000))
    assert len(dc.alarms()) == 1  # one alarm, however long the silence

    dc.rack("rack-A01", inlet_c=22.5)
    assert dc.alarms() == []
    [cleared] = dc.alarms(status="cleared")
    assert cleared["id"] == alarm["id"] and cleared["cleared_by"] is None
    assert a02 not in {a["device_id"] for a in dc.alarms(status="all")}


# -- roll-ups ----------------------------------------------------------------------------------


def test_alarm_summary_and_tree_show_the_worst_open_alarm(dc: DataCentre) -> None:
    w = dc.w
    a01 = dc.racks["rack-A01"][0]
    dc.rack("rack-A01", inlet_c=33.0)
    dc.rack("rack-A02", inlet_c=28.0)
    assert sorted(a["rule_ref"] for a in dc.alarms() if a["device_id"] == a01) == [
        "rack_sensor.inlet_critical",
        RULE_HIGH,
    ]

    def summary(who: str) -> Json:
        r = w.client.get("/api/alarms-summary", headers=w.as_(who))
        assert r.status_code == 200, r.text
        body: Json = r.json()
        return body

    body = summary("bureau")
    ents = {e["id"]: (e["name"], e["open"], e["worst"]) for e in body["enterprises"]}
    assert ents == {w.ent_a: ("甲纺织", 0, None), w.ent_b: ("乙数据中心", 3, "critical")}
    assert [(p["id"], p["name"], p["open"], p["worst"]) for p in body["parks"]] == [
        (w.park_id, "长乐纺织园", 3, "critical")
    ]
    # Counts under limits the operator may set with consent: without it, no enterprise's.
    assert summary("operator") == {"parks": [], "enterprises": []}
    own = summary("admin_b")
    assert [(e["id"], e["open"]) for e in own["enterprises"]] == [(w.ent_b, 3)]
    assert [(e["id"], e["open"]) for e in summary("admin_a")["enterprises"]] == [(w.ent_a, 0)]
    assert summary("admin_a")["parks"][0]["open"] == 0  # B's alarms are not A's to count

    tree_url = f"/api/enterprises/{w.ent_b}/alarm-tree"
    tree = {
        n["id"]: (n["name"], n["open"], n["worst"])
        for n in w.client.get(tree_url, headers=w.as_("viewer_b")).json()
    }
    assert tree == {
        w.site_b: ("乙机房", 3, "critical"),
        dc.area: ("一号机房", 3, "critical"),
        dc.line: ("A列", 3, "critical"),
        dc.spare_area: ("二号机房", 0, None),
    }
    assert w.client.get(tree_url, headers=w.as_("bureau")).status_code == 403
    assert w.client.get(tree_url, headers=w.as_("admin_a")).status_code == 404

    # Once the critical one is cleared, the worst is major.
    critical = dc.only_alarm("rack_sensor.inlet_critical", a01)
    assert dc.act(critical["id"], "clear").status_code == 200
    body = summary("bureau")
    assert {e["id"]: e["worst"] for e in body["enterprises"]}[w.ent_b] == "major"
    assert body["parks"][0]["worst"] == "major" and body["parks"][0]["open"] == 2
    after = w.client.get(tree_url, headers=w.as_("admin_b")).json()
    assert {n["id"]: n["worst"] for n in after}[dc.line] == "major"
