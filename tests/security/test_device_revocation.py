"""A revoked device is cut off: rotating its token or deleting it closes its live MQTT
connections at once (MQTT 5 clients are told why), and its old token is refused afterwards.

Against a real ``shugu serve`` with paho clients over MQTT 3.1.1 and 5.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.server import ServedDistrict, serve_district

NOT_AUTHORIZED = 0x87
DEVICES = {
    f"{action}-{version}": ("generic", False)
    for action in ("rotate", "delete")
    for version in ("mqtt311", "mqtt5")
} | {"bystander": ("generic", False)}


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    with serve_district(tmp_path_factory.mktemp("revocation"), DEVICES) as served:
        yield served


class Device:
    """A paho client that records how its connection began and ended."""

    def __init__(self, port: int, token: str, v5: bool) -> None:
        self.port = port
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"revocation-{time.monotonic_ns()}",
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        self.client.username_pw_set(token)
        self.connack: list[int] = []
        self.connected = threading.Event()
        self.disconnects: list[tuple[int, str | None]] = []
        self.disconnected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(
        self, c: paho.Client, u: object, f: object, rc: ReasonCode, p: Properties | None
    ) -> None:
        self.connack.append(rc.value)
        self.connected.set()

    def _on_disconnect(
        self, c: paho.Client, u: object, f: object, rc: ReasonCode, p: Properties | None
    ) -> None:
        reason = getattr(p, "ReasonString", None) if p is not None else None
        self.disconnects.append((rc.value, reason))
        self.disconnected.set()

    def connect(self) -> int:
        """Connect and return the CONNACK's reason code (0: accepted)."""
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(10), "no CONNACK"
        return self.connack[0]

    def publish(self, value: float) -> bool:
        info = self.client.publish("v1/devices/me/telemetry", json.dumps({"v": value}), qos=1)
        info.wait_for_publish(10)
        return info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("v5", [False, True], ids=["mqtt311", "mqtt5"])
@pytest.mark.parametrize("action", ["rotate", "delete"])
def test_a_revoked_device_is_disconnected_at_once(
    district: ServedDistrict, action: str, v5: bool
) -> None:
    name = f"{action}-{'mqtt5' if v5 else 'mqtt311'}"
    device_id, old_token = district.devices[name]
    victim = Device(district.mqtt_port, old_token, v5)
    bystander = Device(district.mqtt_port, district.token("bystander"), v5)
    assert victim.connect() == 0
    assert bystander.connect() == 0
    try:
        assert victim.publish(1.0)
        if action == "rotate":
            status, body = district.http("POST", f"/api/devices/{device_id}/token")
            assert status == 200, body
            new_token = str(body["token"])
        else:
            status, body = district.http("DELETE", f"/api/devices/{device_id}")
            assert status == 204, body
        # The answer came after the connection was closed: the client learns at once.
        assert victim.disconnected.wait(10), "the revoked device is still connected"
        code, reason = victim.disconnects[0]
        if v5:
            assert code == NOT_AUTHORIZED
            assert reason is not None and ("replaced" in reason or "deleted" in reason)
        # Other devices keep their connections.
        assert bystander.publish(2.0)
        assert not bystander.disconnected.is_set()
    finally:
        victim.close()
        bystander.close()

    again = Device(district.mqtt_port, old_token, v5)
    try:
        assert again.connect() == NOT_AUTHORIZED
    finally:
        again.close()
    assert district.post_telemetry(old_token, {"v": 1}) == 401

    if action == "rotate":
        renewed = Device(district.mqtt_port, new_token, v5)
        try:
            assert renewed.connect() == 0
            assert renewed.publish(3.0)
        finally:
            renewed.close()
        assert district.latest(name)["v"] == 3.0
    else:
        status, _ = district.http("GET", f"/api/devices/{device_id}")
        assert status == 404
        listed = district.http("GET", f"/api/enterprises/{district.enterprise}/devices")[1]
        assert name not in [d["name"] for d in listed]  # type: ignore[index, union-attr]


def test_a_deleted_device_name_can_be_given_to_a_new_device(district: ServedDistrict) -> None:
    status, body = district.http(
        "POST",
        f"/api/enterprises/{district.enterprise}/devices",
        {"name": "reused", "profile": "generic"},
    )
    assert status == 201, body
    first = body["device"]["id"]  # type: ignore[index]
    assert district.http("DELETE", f"/api/devices/{first}")[0] == 204
    assert district.http("DELETE", f"/api/devices/{first}")[0] == 404
    status, body = district.http(
        "POST",
        f"/api/enterprises/{district.enterprise}/devices",
        {"name": "reused", "profile": "generic"},
    )
    assert status == 201, body
    assert body["device"]["id"] != first  # type: ignore[index]
