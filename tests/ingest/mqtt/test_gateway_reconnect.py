"""A gateway that reconnects sends data for the devices it knows without announcing them again.

The ThingsBoard IoT Gateway sends ``v1/gateway/connect`` once per device and process; after a
reconnect it only sends telemetry. Data for a device is an implicit connect, as in ThingsBoard,
so that server-side RPC reaches the device through the gateway's new session.
"""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.server import ServedDistrict


class GatewaySession:
    """One MQTT session of gateway ``gw-1`` that answers every RPC it is given."""

    def __init__(self, district: ServedDistrict) -> None:
        self.requests: list[dict[str, object]] = []
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"gw-{time.monotonic_ns()}",
            protocol=paho.MQTTv311,
        )
        self.client.username_pw_set(district.token("gw-1"))
        connected = threading.Event()
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: connected.set()
        self.client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", district.mqtt_port, keepalive=30)
        self.client.loop_start()
        assert connected.wait(10)
        self.client.subscribe("v1/gateway/rpc", qos=1)
        assert subscribed.wait(10)

    def _on_message(self, c: paho.Client, u: object, message: paho.MQTTMessage) -> None:
        request = json.loads(message.payload)
        self.requests.append(request)
        data = request["data"]
        answer = {"device": request["device"], "id": data["id"], "data": {"relay": "on"}}
        self.client.publish("v1/gateway/rpc", json.dumps(answer), qos=1)

    def publish(self, topic: str, doc: object) -> None:
        info = self.client.publish(topic, json.dumps(doc), qos=1)
        info.wait_for_publish(10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _rpc(district: ServedDistrict, name: str) -> tuple[int, dict[str, object]]:
    _, devices = district.http("GET", f"/api/enterprises/{district.enterprise}/devices")
    device_id = {d["name"]: d["id"] for d in devices}[name]  # type: ignore[union-attr, index]
    return district.http(
        "POST", f"/api/devices/{device_id}/rpc", {"method": "getRelay", "timeout_ms": 5000}
    )


def test_telemetry_after_a_reconnect_connects_the_device_again(district: ServedDistrict) -> None:
    first = GatewaySession(district)
    try:
        first.publish("v1/gateway/connect", {"device": "Meter R", "type": "power_meter"})
        status, body = _rpc(district, "Meter R")
        assert status == 200, body
    finally:
        first.close()
    # The gateway's session ended: its devices are offline until it is back.
    status, body = _rpc(district, "Meter R")
    assert status == 409 and body["error"]["code"] == "device_offline"  # type: ignore[index]

    second = GatewaySession(district)
    try:
        ts = int(time.time() * 1000) - 500
        second.publish(
            "v1/gateway/telemetry", {"Meter R": [{"ts": ts, "values": {"active_power_kw": 7.5}}]}
        )
        status, body = _rpc(district, "Meter R")
        assert status == 200, body
        assert body["response"] == {"relay": "on"}
        assert second.requests[-1]["device"] == "Meter R"
    finally:
        second.close()


def test_attributes_of_an_unannounced_device_connect_it(district: ServedDistrict) -> None:
    session = GatewaySession(district)
    try:
        session.publish("v1/gateway/attributes", {"Valve Q": {"model": "DN50"}})
        status, body = _rpc(district, "Valve Q")
        assert status == 200, body
        assert session.requests[-1]["device"] == "Valve Q"
    finally:
        session.close()
