"""Incidents (事件) end to end through the HTTP API: a CRAH trip's alarms, raised by the real
rule engine and alarm book from posted telemetry, form one incident with the CRAH as its probable
cause; one notice goes out for it, one acknowledgement handles all its alarms, another
enterprise cannot see it, and a new fault joining it after the acknowledgement opens it again
with one notice that names the new alarm.

The data centre, the webhook receiver and the clocks are those of ``test_monitor_api.py``
(``conftest.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_monitor_api import RULE_HIGH, DataCentre, HookServer, Json, put_notify

FAN_STOPPED = "crah.fan_stopped"


class Hall:
    """Enterprise B's hall A: a CRAH and four racks on one line of the asset tree."""

    def __init__(self, dc: DataCentre) -> None:
        self.dc = dc
        registry = dc.w.registry
        self.crah, self.crah_token = registry.create_device(
            dc.w.ent_b, "crah-A", "crah", asset_id=dc.line
        )
        for name in ("rack-A03", "rack-A04"):
            device, token = registry.create_device(
                dc.w.ent_b, name, "rack_sensor", asset_id=dc.line
            )
            dc.racks[name] = (device.id, token)
        dc.monitor.configure()  # the new devices and the topology they make

    def trip(self) -> None:
        """The CRAH's fan stops for longer than its rule's 30 s."""
        self.dc.send(self.crah_token, fan_running=0)
        self.dc._next_ts[0] += 31_000
        self.dc.send(self.crah_token, fan_running=0)

    def incidents(self, who: str = "admin_b", **params: Any) -> list[Json]:
        w = self.dc.w
        r = w.client.get(
            "/api/incidents", params={"enterprise": w.ent_b, **params}, headers=w.as_(who)
        )
        assert r.status_code == 200, r.text
        body: list[Json] = r.json()
        return body

    def incident(self, incident_id: int, who: str = "admin_b") -> Any:
        return self.dc.w.client.get(f"/api/incidents/{incident_id}", headers=self.dc.w.as_(who))

    def ack(self, incident_id: int, who: str = "admin_b", **body: Any) -> Any:
        return self.dc.w.client.post(
            f"/api/incidents/{incident_id}/ack", json=body, headers=self.dc.w.as_(who)
        )


@pytest.fixture
def hall(dc: DataCentre, hook: HookServer) -> Hall:
    channels = [{"kind": "webhook", "name": "ops", "url": hook.url("/ops")}]
    policy = {"first": ["ops"], "repeat_every_min": 1}
    assert put_notify(dc, channels, policy).status_code == 200
    return Hall(dc)


def test_a_crah_trip_is_one_incident_notified_and_acknowledged_once(
    hall: Hall, hook: HookServer
) -> None:
    dc = hall.dc
    hall.trip()
    for name in ("rack-A01", "rack-A02", "rack-A03"):
        dc.rack(name, inlet_c=29.0)
    alarms = dc.alarms()
    assert len(alarms) == 4 and {a["status"] for a in alarms} == {"active"}

    [incident] = hall.incidents()
    assert incident["state"] == "open" and incident["alarm_count"] == 4
    assert incident["severity"] == "critical"
    cause = incident["cause"]
    assert (cause["rule_ref"], cause["device_id"]) == (FAN_STOPPED, hall.crah.id)
    detail = hall.incident(incident["id"])
    assert detail.status_code == 200, detail.text
    assert {a["id"] for a in detail.json()["alarms"]} == {a["id"] for a in alarms}
    assert detail.json()["alarms"][0]["id"] == cause["id"]  # the probable cause first

    # One notice for the incident, naming its probable cause, not one per alarm.
    hook.wait_events("/ops", ["raised"])
    [raised] = hook.bodies("/ops")
    assert raised["alarm_id"] == cause["id"] and raised["incident_id"] == incident["id"]

    # Another enterprise's people do not learn that it exists.
    for who in ("admin_a", "viewer_a"):
        for answer in (hall.incident(incident["id"], who), hall.ack(incident["id"], who)):
            assert answer.status_code == 404, (who, answer.text)
            assert answer.json()["error"]["code"]
    assert dc.w.client.get("/api/incidents", headers=dc.w.as_("admin_a")).json() == []

    r = hall.ack(incident["id"], note="空调检修中")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "admin_b"
    after = dc.alarms()
    assert {a["status"] for a in after} == {"acknowledged"} and len(after) == 4
    assert {a["note"] for a in after} == {"空调检修中"}
    hook.wait_events("/ops", ["raised", "acknowledged"])
    again = hall.ack(incident["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "incident_not_active"
    # Acknowledged: no reminders.
    dc.now[0] += 5 * 60_000
    dc.monitor.book.tick()
    hook.wait_events("/ops", ["raised", "acknowledged"])


def test_a_new_fault_in_an_acknowledged_incident_opens_it_again_with_one_notice(
    hall: Hall, hook: HookServer
) -> None:
    dc = hall.dc
    hall.trip()
    dc.rack("rack-A01", inlet_c=29.0)
    [incident] = hall.incidents()
    assert hall.ack(incident["id"]).status_code == 200
    hook.wait_events("/ops", ["raised", "acknowledged"])

    dc.now[0] += 60_000
    dc.rack("rack-A04", inlet_c=30.0)  # a new fault on top of the one being handled
    new = dc.only_alarm(RULE_HIGH, dc.racks["rack-A04"][0])
    [reopened] = hall.incidents()
    assert reopened["id"] == incident["id"]
    assert reopened["state"] == "open" and reopened["alarm_count"] == 3
    assert reopened["acknowledged_by"] is None
    assert reopened["cause"]["rule_ref"] == FAN_STOPPED  # still the probable cause
    hook.wait_events("/ops", ["raised", "acknowledged", "raised"])
    notice = hook.bodies("/ops")[-1]
    assert notice["alarm_id"] == new["id"] and notice["device"] == "rack-A04"
    assert notice["incident_id"] == incident["id"] and notice["incident_reopened"] is True
    assert notice["incident_alarms"] == 3
    kinds = [e["kind"] for e in dc.alarm(new["id"])["history"]]
    assert kinds == ["raised", "reopened"]

    # More alarms joining the open incident send nothing more; reminders start over.
    dc.rack("rack-A02", inlet_c=30.0)
    dc.rack("rack-A03", inlet_c=30.0)
    assert hall.incidents()[0]["alarm_count"] == 5
    dc.now[0] += 60_000
    dc.monitor.book.tick()
    hook.wait_events("/ops", ["raised", "acknowledged", "raised", "repeated"])

    assert hall.ack(incident["id"]).status_code == 200
    assert {a["status"] for a in dc.alarms()} == {"acknowledged"}
    hook.wait_events("/ops", ["raised", "acknowledged", "raised", "repeated", "acknowledged"])
