"""ThingsBoard's HTTP device API beyond telemetry, against a real `shugu serve` with httpx:
attributes (post, read, wait for shared ones), server-side RPC by long polling, client-side
RPC; and shared attributes set through the API reaching an MQTT device (paho)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.server import ServedDistrict, serve_district

DEVICES = {
    "loom-1": ("loom", False),
    "box-1": ("generic", False),
    "box-2": ("generic", False),
    "box-3": ("generic", False),
    "gw-1": ("generic", True),
}


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    data: Path = tmp_path_factory.mktemp("http-device-api")
    with serve_district(data, DEVICES) as served:
        yield served


@pytest.fixture
def http(district: ServedDistrict) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=district.base, timeout=30) as client:
        yield client


def _admin(district: ServedDistrict) -> dict[str, str]:
    return {"Authorization": f"Bearer {district.admin_token}"}


def _set_shared(
    http: httpx.Client, district: ServedDistrict, name: str, values: dict[str, Any]
) -> httpx.Response:
    return http.post(
        f"/api/devices/{district.device_id(name)}/attributes/shared",
        json=values,
        headers=_admin(district),
    )


# -- attributes ----------------------------------------------------------------------------


def test_client_attributes_posted_and_read_back(
    http: httpx.Client, district: ServedDistrict
) -> None:
    token = district.token("box-1")
    r = http.post(f"/api/v1/{token}/attributes", json={"firmware": "2.1.0", "slots": 4})
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "rejected": 0, "errors": []}
    assert _set_shared(http, district, "box-1", {"period_s": 10, "mode": "eco"}).status_code == 200

    r = http.get(f"/api/v1/{token}/attributes")
    assert r.json() == {
        "client": {"firmware": "2.1.0", "slots": 4},
        "shared": {"period_s": 10, "mode": "eco"},
    }
    # Naming one scope returns only what it names, as ThingsBoard does.
    r = http.get(f"/api/v1/{token}/attributes", params={"clientKeys": "firmware,nothing"})
    assert r.json() == {"client": {"firmware": "2.1.0"}, "shared": {}}
    r = http.get(
        f"/api/v1/{token}/attributes", params={"clientKeys": "slots", "sharedKeys": "mode"}
    )
    assert r.json() == {"client": {"slots": 4}, "shared": {"mode": "eco"}}


def test_bad_attributes_are_refused_with_reasons(
    http: httpx.Client, district: ServedDistrict
) -> None:
    token = district.token("box-1")
    r = http.post(f"/api/v1/{token}/attributes", content=b'{"ok": 1, "": 2}')
    assert r.status_code == 200
    assert r.json()["accepted"] == 1 and r.json()["errors"][0]["code"] == "bad_attribute"
    r = http.post(f"/api/v1/{token}/attributes", content=b"[1, 2]")
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_shape"
    r = http.post(f"/api/v1/{token}/attributes", content=b'{"a": ')
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    assert http.post("/api/v1/nope/attributes", json={"a": 1}).status_code == 401
    assert http.get("/api/v1/nope/attributes").status_code == 401


def test_shared_attributes_wake_a_waiting_http_device(
    http: httpx.Client, district: ServedDistrict
) -> None:
    token = district.token("box-2")
    _has_polled(http, f"/api/v1/{token}/attributes/updates")
    with ThreadPoolExecutor(1) as pool:
        waiting: Future[httpx.Response] = pool.submit(
            http.get, f"/api/v1/{token}/attributes/updates", params={"timeout": 20_000}
        )
        assert _set_shared(http, district, "box-2", {"target": 42}).status_code == 200
        r = waiting.result(30)
    assert r.status_code == 200 and r.json() == {"target": 42}
    # A change made between two polls waits for the next one.
    assert _set_shared(http, district, "box-2", {"target": 43}).status_code == 200
    r = http.get(f"/api/v1/{token}/attributes/updates", params={"timeout": 20_000})
    assert r.json() == {"target": 43}
    r = http.get(f"/api/v1/{token}/attributes/updates", params={"timeout": 200})
    assert r.status_code == 408 and r.json()["error"]["code"] == "poll_timeout"


def _has_polled(http: httpx.Client, url: str) -> None:
    """A short poll first: what comes for the device from now on waits for its next poll
    (or wakes it), whether or not the next poll has reached the server yet."""
    assert http.get(url, params={"timeout": 1}).status_code == 408


@dataclass
class _Subscription:
    client: paho.Client
    #: (topic, payload) of every message received, in order
    received: list[tuple[str, bytes]] = field(default_factory=list)
    got: threading.Event = field(default_factory=threading.Event)


@contextmanager
def _subscribed(district: ServedDistrict, device: str, topic: str) -> Iterator[_Subscription]:
    """An MQTT connection of ``device``, subscribed to ``topic`` (QoS 1) before this yields."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{device}-{time.monotonic_ns()}")
    client.username_pw_set(district.token(device))
    subscription = _Subscription(client)
    subscribed = threading.Event()

    def on_message(c: paho.Client, u: object, message: paho.MQTTMessage) -> None:
        subscription.received.append((message.topic, bytes(message.payload)))
        subscription.got.set()

    client.on_message = on_message
    client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
    client.connect("127.0.0.1", district.mqtt_port, keepalive=30)
    client.loop_start()
    try:
        client.subscribe(topic, qos=1)
        assert subscribed.wait(10)
        yield subscription
    finally:
        client.loop_stop()
        client.disconnect()


def test_shared_attributes_are_pushed_to_a_subscribed_mqtt_device(
    http: httpx.Client, district: ServedDistrict
) -> None:
    with _subscribed(district, "loom-1", "v1/devices/me/attributes") as device:
        r = _set_shared(http, district, "loom-1", {"target_speed_rpm": 650})
        assert r.status_code == 200, r.text
        assert r.json()["shared"] == {"target_speed_rpm": 650}
        assert device.got.wait(10)
    assert device.received == [("v1/devices/me/attributes", b'{"target_speed_rpm":650}')]


def test_shared_attributes_reach_a_device_behind_a_gateway(
    http: httpx.Client, district: ServedDistrict
) -> None:
    with _subscribed(district, "gw-1", "v1/gateway/attributes") as gateway:
        info = gateway.client.publish("v1/gateway/connect", '{"device": "Pump 3"}', qos=1)
        info.wait_for_publish(10)
        _, devices = district.http("GET", f"/api/enterprises/{district.enterprise}/devices")
        pump = {d["name"]: d["id"] for d in devices}["Pump 3"]  # type: ignore[index]
        r = http.post(
            f"/api/devices/{pump}/attributes/shared", json={"on": True}, headers=_admin(district)
        )
        assert r.status_code == 200, r.text
        assert gateway.got.wait(10)
    assert json.loads(gateway.received[0][1]) == {"device": "Pump 3", "data": {"on": True}}


def test_setting_shared_attributes_is_checked(http: httpx.Client, district: ServedDistrict) -> None:
    url = f"/api/devices/{district.device_id('box-3')}/attributes/shared"
    r = http.post(url, json={"": 1, "fine": 2}, headers=_admin(district))
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_attribute"
    assert http.post(url, json={}, headers=_admin(district)).status_code == 422
    assert http.post(url, json=[1], headers=_admin(district)).status_code == 422
    assert http.post(url, json={"a": 1}).status_code == 401
    # Nothing of the refused request was kept.
    r = http.get(f"/api/v1/{district.token('box-3')}/attributes", params={"sharedKeys": "fine"})
    assert r.json()["shared"] == {}


# -- RPC -----------------------------------------------------------------------------------


def test_server_side_rpc_by_long_polling(http: httpx.Client, district: ServedDistrict) -> None:
    token = district.token("box-3")
    device_id = district.device_id("box-3")
    # Never polled: offline, as an MQTT device that is not connected.
    status, body = district.http("POST", f"/api/devices/{device_id}/rpc", {"method": "x"})
    assert status == 409 and body["error"]["code"] == "device_offline"  # type: ignore[index]

    r = http.get(f"/api/v1/{token}/rpc", params={"timeout": 300})
    assert r.status_code == 408 and r.json()["error"]["code"] == "poll_timeout"

    with ThreadPoolExecutor(2) as pool:
        # The device polled a moment ago: a command for it waits for its next poll.
        call = pool.submit(
            district.http,
            "POST",
            f"/api/devices/{device_id}/rpc",
            {"method": "setValve", "params": {"open": 30}, "timeout_ms": 20_000},
        )
        r = http.get(f"/api/v1/{token}/rpc", params={"timeout": 20_000})
        assert r.status_code == 200, r.text
        request = r.json()
        assert request["method"] == "setValve" and request["params"] == {"open": 30}
        assert isinstance(request["id"], int)
        answer = http.post(f"/api/v1/{token}/rpc/{request['id']}", json={"opened": 30})
        assert answer.status_code == 200
        status, body = call.result(30)
    assert status == 200, body
    assert body["response"] == {"opened": 30}

    # An answer nobody waits for is taken and dropped, as ThingsBoard does.
    assert http.post(f"/api/v1/{token}/rpc/999999", json={}).status_code == 200


def test_a_command_a_polling_device_does_not_answer_times_out_as_documented(
    http: httpx.Client, district: ServedDistrict
) -> None:
    """A device that polled lately is sent the command; when no answer comes within
    timeout_ms the caller gets 504 rpc_timeout, which the API document declares with 409."""
    token = district.token("box-1")
    _has_polled(http, f"/api/v1/{token}/rpc")
    url = f"/api/devices/{district.device_id('box-1')}/rpc"
    status, body = district.http("POST", url, {"method": "setValve", "timeout_ms": 200})
    assert status == 504 and body["error"]["code"] == "rpc_timeout"  # type: ignore[index]
    assert "within 0.2 s" in body["error"]["message"]  # type: ignore[index]
    # The command waits in the mailbox no longer: the next poll finds nothing.
    assert http.get(f"/api/v1/{token}/rpc", params={"timeout": 1}).status_code == 408
    documented = http.get("/openapi.json").json()["paths"]["/api/devices/{device_id}/rpc"]
    assert {"409", "504"} <= set(documented["post"]["responses"])


def test_a_waiting_poll_receives_a_one_way_command(
    http: httpx.Client, district: ServedDistrict
) -> None:
    token = district.token("box-2")
    device_id = district.device_id("box-2")
    _has_polled(http, f"/api/v1/{token}/rpc")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(http.get, f"/api/v1/{token}/rpc", params={"timeout": 20_000})
        status, body = district.http(
            "POST", f"/api/devices/{device_id}/rpc", {"method": "reboot", "oneway": True}
        )
        assert status == 200, body
        r = waiting.result(30)
    assert r.status_code == 200
    assert r.json() == {"id": r.json()["id"], "method": "reboot", "params": None}


def test_client_side_rpc(http: httpx.Client, district: ServedDistrict) -> None:
    token = district.token("box-1")
    before = int(time.time() * 1000)
    r = http.post(f"/api/v1/{token}/rpc", json={"method": "getCurrentTime", "params": {}})
    assert r.status_code == 200
    assert before <= r.json() <= int(time.time() * 1000)
    r = http.post(f"/api/v1/{token}/rpc", json={"method": "getWeather", "params": {}})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_rpc_method"
    assert "getCurrentTime" in r.json()["error"]["message"]
    r = http.post(f"/api/v1/{token}/rpc", json={"params": {}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_shape"


def test_fractional_timestamps_are_cut_to_milliseconds(
    http: httpx.Client, district: ServedDistrict
) -> None:
    ts = int(time.time() * 1000) - 2000
    r = http.post(
        f"/api/v1/{district.token('box-1')}/telemetry",
        content=f'{{"ts": {ts}.75, "values": {{"level": 5}}}}'.encode(),
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    _, latest = district.http("GET", f"/api/devices/{district.device_id('box-1')}/latest")
    cols = latest["columns"]
    assert dict(zip(cols["metric"], cols["ts"], strict=True))["level"] == ts  # type: ignore[index]
