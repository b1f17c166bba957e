"""Things the browser tests need the demo district to hold, made through the public API as an
enterprise's administrator would: a device of their own that is hot and the alarm it raises, a
round of the data centre's inspection plan."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tests.browser.demo import Api, Demo, post_telemetry

ALARM_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class HotDevice:
    enterprise_id: int
    device_id: int
    name: str
    token: str
    alarm_id: int


def new_device_name(api: Api, stem: str) -> str:
    """``stem`` numbered after the enterprise's devices of that name (names are unique)."""
    devices = api.get(f"/api/enterprises/{api.enterprise_id}/devices")
    taken = {d["name"] for d in devices}
    return next(
        f"{stem} {n:02d}" for n in range(1, len(taken) + 2) if f"{stem} {n:02d}" not in taken
    )


def hot_device(demo: Demo, username: str = "mill-admin") -> HotDevice:
    """A new device with its own temperature limit, which it reports above: one open alarm."""
    api = demo.api(username)
    enterprise = api.enterprise_id
    assert enterprise is not None
    name = new_device_name(api, "车间温度计")
    created = api.post(
        f"/api/enterprises/{enterprise}/devices", {"name": name, "profile": "generic"}
    )
    device_id, token = int(created["device"]["id"]), str(created["token"])
    api.post(
        f"/api/enterprises/{enterprise}/rules",
        {
            "rule": {
                "key": f"too_hot_{device_id}",
                "kind": "threshold",
                "metric": "temp_c",
                "above": 50,
                "unit": "°C",
                "severity": "major",
                "label_zh": "温度过高",
                "label_en": "Too hot",
            },
            "scope": {"device_id": device_id},
        },
    )
    deadline = time.monotonic() + ALARM_TIMEOUT_S
    while time.monotonic() < deadline:
        assert post_telemetry(demo.base, token, {"temp_c": 80.5}) == 200
        alarms = api.get(f"/api/alarms?enterprise={enterprise}&device={device_id}")
        if alarms:
            return HotDevice(enterprise, device_id, name, token, int(alarms[0]["id"]))
        time.sleep(0.5)
    raise AssertionError(f"no alarm on {name} within {ALARM_TIMEOUT_S:.0f} s")


def inspection_round(demo: Demo, username: str = "dc-admin") -> dict[str, object]:
    """A round of the enterprise's first inspection plan, run now."""
    api = demo.api(username)
    plans = api.get(f"/api/enterprises/{api.enterprise_id}/inspection-plans")
    round_: dict[str, object] = api.post(f"/api/inspection-plans/{plans[0]['id']}/run")
    return round_


def hot_line(demo: Demo, username: str = "mill-admin", count: int = 3) -> int:
    """A new line with ``count`` thermometers that all report above the line's temperature
    limit: their alarms form one incident (one line of the asset tree). Its id."""
    api = demo.api(username)
    enterprise = api.enterprise_id
    assert enterprise is not None
    assets = api.get(f"/api/enterprises/{enterprise}/assets")
    area = next(a for a in assets if a["level"] == "area")
    line = api.post(
        f"/api/enterprises/{enterprise}/assets",
        {"level": "line", "name": f"测温线 {len(assets) + 1:02d}", "parent_id": area["id"]},
    )
    tokens = []
    for _ in range(count):
        name = new_device_name(api, "车间温度计")
        created = api.post(
            f"/api/enterprises/{enterprise}/devices",
            {"name": name, "profile": "generic", "asset_id": line["id"]},
        )
        tokens.append(str(created["token"]))
    api.post(
        f"/api/enterprises/{enterprise}/rules",
        {
            "rule": {
                "key": f"line_hot_{line['id']}",
                "kind": "threshold",
                "metric": "temp_c",
                "above": 50,
                "unit": "°C",
                "severity": "major",
                "label_zh": "车间温度过高",
                "label_en": "Shed too hot",
            },
            "scope": {"asset_id": line["id"]},
        },
    )
    deadline = time.monotonic() + ALARM_TIMEOUT_S
    while time.monotonic() < deadline:
        for i, token in enumerate(tokens):
            assert post_telemetry(demo.base, token, {"temp_c": 78.5 + i}) == 200
        found = [
            i
            for i in api.get(f"/api/incidents?enterprise={enterprise}")
            if i["alarm_count"] >= count
        ]
        if found:
            return int(found[0]["id"])
        time.sleep(0.5)
    raise AssertionError(f"the line's {count} alarms formed no incident")
