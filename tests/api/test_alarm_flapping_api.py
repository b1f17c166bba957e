"""A flapping alarm as the API shows it: one open alarm, marked, with its flip count."""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.timeutil import utc_now_ms
from tests.api.conftest import World


def test_a_flapping_alarm_is_one_alarm_marked_with_its_flips(world: World) -> None:
    services = cast(Services, cast(FastAPI, world.client.app).state.services)
    services.monitor.stop()  # the test takes the monitor's turns itself
    device, token = world.registry.create_device(world.ent_b, "rack-flap", "rack_sensor")
    services.monitor.configure()
    start = utc_now_ms() - 1000
    # Around 27 °C only, so that `inlet_critical` (32 °C) stays quiet: 20 changes of one rule.
    body = [
        {"ts": start + i, "values": {"inlet_c": 29.0 if i % 2 == 0 else 25.0}} for i in range(20)
    ]
    r = world.client.post(f"/api/v1/{token}/telemetry", json=body)
    assert r.status_code == 200 and r.json()["accepted"] == 20, r.text
    while services.monitor.stats().pending_rows:
        services.monitor.process_pending()
    services.monitor.book.settle_flapping()

    r = world.client.get(
        "/api/alarms",
        params={"enterprise": world.ent_b, "device": device.id, "status": "all"},
        headers=world.as_("admin_b"),
    )
    assert r.status_code == 200, r.text
    alarms = [a for a in r.json() if a["rule_ref"] == "rack_sensor.inlet_high"]
    open_ = [(a["status"], a["flapping"], a["flips"]) for a in alarms if a["status"] != "cleared"]
    assert open_ == [("active", True, 20)]
    assert len(alarms) == 4  # the raises before it started flapping (8 changes by default)
    assert all(not a["flapping"] and a["flips"] == 0 for a in alarms if a["status"] == "cleared")
