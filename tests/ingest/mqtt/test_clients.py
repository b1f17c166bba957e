"""The built-in MQTT endpoint against real clients that no one here wrote."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time

import aiomqtt
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.binaries import require_binary
from tests.server import ServedDistrict


def _paho(district: ServedDistrict, token: str, v5: bool) -> paho.Client:
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"test-{time.monotonic_ns()}",
        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
    )
    client.username_pw_set(token)
    return client


def _connect(client: paho.Client, district: ServedDistrict) -> None:
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect("127.0.0.1", district.mqtt_port, keepalive=30)
    client.loop_start()
    assert connected.wait(10)


@pytest.mark.parametrize("v5", [False, True], ids=["mqtt311", "mqtt5"])
def test_paho_publishes_telemetry_acknowledged_after_durable(
    district: ServedDistrict, v5: bool
) -> None:
    client = _paho(district, district.token("loom-1"), v5)
    _connect(client, district)
    try:
        ts = int(time.time() * 1000) - 1000
        info = client.publish(
            "v1/devices/me/telemetry",
            json.dumps({"ts": ts, "values": {"speed_rpm": 611 + v5, "power_kw": 3.2}}),
            qos=1,
        )
        info.wait_for_publish(10)
        assert info.is_published()
        # PUBACK came after the commit, so the value is readable at once.
        assert district.latest("loom-1")["speed_rpm"] == 611 + v5
    finally:
        client.loop_stop()
        client.disconnect()


def _record_reason_codes(client: paho.Client) -> tuple[list[int], threading.Event]:
    """The MQTT 5 reason codes of the client's PUBACKs, and an event set on each one."""
    codes: list[int] = []
    done = threading.Event()

    def on_publish(c: paho.Client, u: object, mid: int, rc: ReasonCode, p: Properties) -> None:
        codes.append(rc.value)
        done.set()

    client.on_publish = on_publish
    return codes, done


def test_paho_v5_gets_a_reason_code_for_a_bad_payload(district: ServedDistrict) -> None:
    client = _paho(district, district.token("loom-2"), v5=True)
    codes, done = _record_reason_codes(client)
    _connect(client, district)
    try:
        client.publish("v1/devices/me/telemetry", b'{"speed_rpm": "fast"', qos=1)
        assert done.wait(10)
        assert codes == [0x99]  # payload format invalid; the connection stays up
        info = client.publish("v1/devices/me/telemetry", b'{"speed_rpm": 700}', qos=1)
        info.wait_for_publish(10)
        assert district.latest("loom-2")["speed_rpm"] == 700
    finally:
        client.loop_stop()
        client.disconnect()
    _, body = district.http("GET", "/api/rejects")
    counts = {(r["device"], r["code"]) for r in body["counts"]}  # type: ignore[union-attr]
    assert (district.device_id("loom-2"), "malformed_json") in counts


# paho reports MQTT 3.1.1's return code 5 as the MQTT 5 reason code 0x87 ("Not authorized").
@pytest.mark.parametrize(
    ("v5", "expected"), [(False, 0x87), (True, 0x87)], ids=["mqtt311", "mqtt5"]
)
def test_bad_token_gets_not_authorised(district: ServedDistrict, v5: bool, expected: int) -> None:
    client = _paho(district, "not-a-token", v5)
    result: list[int] = []
    done = threading.Event()

    def on_connect(c: paho.Client, u: object, f: object, rc: ReasonCode, p: object) -> None:
        result.append(rc.value)
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", district.mqtt_port)
    client.loop_start()
    try:
        assert done.wait(10)
        assert result[0] == expected
    finally:
        client.loop_stop()


def test_bad_token_connack_bytes_in_mqtt311(district: ServedDistrict) -> None:
    user = b"nope"
    body = b"\x00\x04MQTT\x04\x82\x00\x3c" + b"\x00\x01c" + len(user).to_bytes(2, "big") + user
    with socket.create_connection(("127.0.0.1", district.mqtt_port), timeout=5) as raw:
        raw.sendall(bytes([0x10, len(body)]) + body)
        assert raw.recv(4) == b"\x20\x02\x00\x05"  # CONNACK: not authorised


def test_mosquitto_pub_and_sub_with_rpc(district: ServedDistrict) -> None:
    pub = require_binary("mosquitto_pub")
    sub = require_binary("mosquitto_sub")
    token = district.token("box-1")
    subprocess.run(
        [
            pub,
            "-h",
            "127.0.0.1",
            "-p",
            str(district.mqtt_port),
            "-u",
            token,
            "-q",
            "1",
            "-t",
            "v1/devices/me/telemetry",
            "-m",
            '{"temperature": 25.5}',
        ],
        check=True,
        timeout=20,
    )
    assert district.latest("box-1")["temperature"] == 25.5
    bad = subprocess.run(
        [
            pub,
            "-h",
            "127.0.0.1",
            "-p",
            str(district.mqtt_port),
            "-u",
            "wrong",
            "-q",
            "1",
            "-t",
            "v1/devices/me/telemetry",
            "-m",
            "{}",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert bad.returncode != 0 and "not authori" in bad.stderr.lower()
    listener = subprocess.Popen(
        [
            sub,
            "-h",
            "127.0.0.1",
            "-p",
            str(district.mqtt_port),
            "-u",
            token,
            "-q",
            "1",
            "-t",
            "v1/devices/me/rpc/request/+",
            "-C",
            "1",
            "-v",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 10
        while True:  # wait until the subscription is in place
            status, body = district.http(
                "POST",
                f"/api/devices/{district.device_id('box-1')}/rpc",
                {"method": "setFan", "params": {"on": True}, "oneway": True},
            )
            if status == 200 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert status == 200, body
        out, _ = listener.communicate(timeout=10)
    finally:
        listener.kill()
    topic, payload = out.strip().split(" ", 1)
    assert topic.startswith("v1/devices/me/rpc/request/")
    assert json.loads(payload) == {"method": "setFan", "params": {"on": True}}


def test_aiomqtt_two_way_rpc(district: ServedDistrict) -> None:
    token = district.token("box-2")

    async def device() -> None:
        async with aiomqtt.Client("127.0.0.1", district.mqtt_port, username=token) as client:
            await client.publish("v1/devices/me/telemetry", b'{"level": 3}', qos=1)
            await client.subscribe("v1/devices/me/rpc/request/+", qos=1)
            ready.set()
            async for message in client.messages:
                request = json.loads(message.payload)  # type: ignore[arg-type]
                request_id = str(message.topic).rsplit("/", 1)[1]
                answer = {"echo": request["params"], "method": request["method"]}
                await client.publish(
                    f"v1/devices/me/rpc/response/{request_id}", json.dumps(answer), qos=1
                )
                return

    ready = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(device()))
    thread.start()
    try:
        assert ready.wait(10)
        status, body = district.http(
            "POST",
            f"/api/devices/{district.device_id('box-2')}/rpc",
            {"method": "getLevel", "params": [1, 2], "timeout_ms": 5000},
        )
        assert status == 200, body
        assert body["response"] == {"echo": [1, 2], "method": "getLevel"}
        assert district.latest("box-2")["level"] == 3
    finally:
        thread.join(15)


def test_rpc_to_an_offline_device_and_a_silent_one(district: ServedDistrict) -> None:
    status, body = district.http(
        "POST", f"/api/devices/{district.device_id('box-3')}/rpc", {"method": "x"}
    )
    assert status == 409 and body["error"]["code"] == "device_offline"  # type: ignore[index]
    client = _paho(district, district.token("box-3"), v5=False)
    _connect(client, district)
    try:
        client.subscribe("v1/devices/me/rpc/request/+", qos=1)
        time.sleep(0.3)
        status, body = district.http(
            "POST",
            f"/api/devices/{district.device_id('box-3')}/rpc",
            {"method": "x", "timeout_ms": 300},
        )
        assert status == 504 and body["error"]["code"] == "rpc_timeout"  # type: ignore[index]
    finally:
        client.loop_stop()
        client.disconnect()


def test_attributes_are_kept_and_answered(district: ServedDistrict) -> None:
    client = _paho(district, district.token("box-1"), v5=False)
    answers: list[bytes] = []
    got = threading.Event()

    def on_message(c: paho.Client, u: object, message: paho.MQTTMessage) -> None:
        answers.append(message.payload)
        got.set()

    client.on_message = on_message
    _connect(client, district)
    try:
        client.subscribe("v1/devices/me/attributes/response/+", qos=1)
        client.publish(
            "v1/devices/me/attributes", '{"firmware": "1.4.2", "slots": 8}', qos=1
        ).wait_for_publish(10)
        client.publish("v1/devices/me/attributes/request/7", '{"clientKeys": "firmware"}', qos=1)
        assert got.wait(10)
    finally:
        client.loop_stop()
        client.disconnect()
    assert json.loads(answers[0]) == {"client": {"firmware": "1.4.2"}, "shared": {}}
    status, body = district.http("GET", f"/api/devices/{district.device_id('box-1')}/attributes")
    assert status == 200 and body["client"] == {"firmware": "1.4.2", "slots": 8}


def test_gateway_creates_and_feeds_its_devices(district: ServedDistrict) -> None:
    client = _paho(district, district.token("gw-1"), v5=False)
    _connect(client, district)
    try:
        client.publish(
            "v1/gateway/connect", '{"device": "Meter 9", "type": "power_meter"}', qos=1
        ).wait_for_publish(10)
        ts = int(time.time() * 1000) - 500
        doc = {"Meter 9": [{"ts": ts, "values": {"active_power_kw": 41.5}}], "Sensor X": {"t": 1}}
        client.publish("v1/gateway/telemetry", json.dumps(doc), qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
    _, devices = district.http("GET", f"/api/enterprises/{district.enterprise}/devices")
    by_name = {d["name"]: d for d in devices}  # type: ignore[union-attr, index]
    assert by_name["Meter 9"]["profile"] == "power_meter"
    assert by_name["Sensor X"]["profile"] == "generic"
    _, latest = district.http("GET", f"/api/devices/{by_name['Meter 9']['id']}/latest")
    assert latest["columns"]["value"] == [41.5]  # type: ignore[index]


def test_an_ordinary_device_may_not_speak_for_others(district: ServedDistrict) -> None:
    client = _paho(district, district.token("box-2"), v5=True)
    codes, done = _record_reason_codes(client)
    _connect(client, district)
    try:
        client.publish("v1/gateway/telemetry", '{"loom-1": {"speed_rpm": 1}}', qos=1)
        assert done.wait(10)
        done.clear()
        client.publish("v1/devices/loom-1/telemetry", '{"speed_rpm": 1}', qos=1)
        assert done.wait(10)
        refused = client.subscribe("v1/devices/+/rpc/request/+", qos=1)
        assert refused[0] == paho.MQTT_ERR_SUCCESS
    finally:
        client.loop_stop()
        client.disconnect()
    assert codes == [0x87, 0x90]  # not authorised; topic name invalid


def test_malformed_packets_close_only_their_connection(district: ServedDistrict) -> None:
    with socket.create_connection(("127.0.0.1", district.mqtt_port), timeout=5) as raw:
        raw.sendall(b"\x30\xff\xff\xff\xff\x7f")  # remaining length of five bytes
        assert raw.recv(10) == b""  # the server closed the connection
    with socket.create_connection(("127.0.0.1", district.mqtt_port), timeout=5) as raw:
        raw.sendall(b"\x82\x05\x00\x01\x00\x00\x00")  # SUBSCRIBE before CONNECT
        assert raw.recv(10) == b""
    client = _paho(district, district.token("loom-1"), v5=False)
    _connect(client, district)
    try:
        info = client.publish("v1/devices/me/telemetry", '{"power_kw": 2.5}', qos=1)
        info.wait_for_publish(10)
        assert info.is_published()
    finally:
        client.loop_stop()
        client.disconnect()


def test_persistent_session_keeps_subscriptions(district: ServedDistrict) -> None:
    token = district.token("box-3")
    first = paho.Client(
        CallbackAPIVersion.VERSION2, client_id="box-3-persistent", clean_session=False
    )
    first.username_pw_set(token)
    _connect(first, district)
    first.subscribe("v1/devices/me/rpc/request/+", qos=1)
    time.sleep(0.3)
    first.loop_stop()
    first.disconnect()
    second = paho.Client(
        CallbackAPIVersion.VERSION2, client_id="box-3-persistent", clean_session=False
    )
    second.username_pw_set(token)
    present: list[bool] = []
    got = threading.Event()
    second.on_message = lambda c, u, m: got.set()
    connected = threading.Event()

    def on_connect(
        c: paho.Client, u: object, flags: paho.ConnectFlags, rc: object, p: object
    ) -> None:
        present.append(flags.session_present)
        connected.set()

    second.on_connect = on_connect
    second.connect("127.0.0.1", district.mqtt_port)
    second.loop_start()
    try:
        assert connected.wait(10) and present == [True]
        status, _ = district.http(
            "POST",
            f"/api/devices/{district.device_id('box-3')}/rpc",
            {"method": "m", "oneway": True},
        )
        assert status == 200
        assert got.wait(10), "the resumed session delivers without subscribing again"
    finally:
        second.loop_stop()
        second.disconnect()


def test_packets_right_behind_connect_wait_for_authentication(district: ServedDistrict) -> None:
    token = district.token("box-2").encode()
    connect_body = (
        b"\x00\x04MQTT\x04\x82\x00\x3c" + b"\x00\x03raw" + len(token).to_bytes(2, "big") + token
    )
    topic = b"v1/devices/me/telemetry"
    publish_body = len(topic).to_bytes(2, "big") + topic + b"\x00\x07" + b'{"burst": 7}'
    stream = (
        bytes([0x10, len(connect_body)])
        + connect_body
        + bytes([0x32, len(publish_body)])
        + publish_body
    )
    with socket.create_connection(("127.0.0.1", district.mqtt_port), timeout=10) as raw:
        raw.sendall(stream)  # CONNECT and PUBLISH in one segment, before any CONNACK
        received = b""
        while len(received) < 8:
            chunk = raw.recv(64)
            if not chunk:
                break
            received += chunk
    assert received[:4] == b"\x20\x02\x00\x00"  # CONNACK: accepted
    assert received[4:8] == b"\x40\x02\x00\x07"  # then PUBACK for packet 7
    assert district.latest("box-2")["burst"] == 7
