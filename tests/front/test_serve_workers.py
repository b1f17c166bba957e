"""``shugu serve --workers 2`` as a real process: MQTT devices spread over both processes by
the kernel, every acknowledged point read back through the API, /api/health counting each
process, RPC requests and shared attributes from main's API reaching devices on either
process, and a revocation on main cutting off a device held by the front process."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pyarrow.ipc as ipc
import pytest
from bench.faults.served import DeviceCredential, District, Served, make_district
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

DEVICES = 24
MESSAGES = 5
NOT_AUTHORIZED = 0x87
#: What a front says when main revokes (a front's own periodic re-check says "were revoked").
ROTATED = "the device's access token was replaced"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("workers")
    district = make_district(workdir / "data", DEVICES)
    server = Served(district, workers=2, log_path=workdir / "serve.log")
    server.start()
    try:
        server.wait_for_fronts()
        yield server
    finally:
        server.stop()


class Device:
    """One paho MQTT 5 client for one device, recording how its connection ended."""

    def __init__(
        self, port: int, cred: DeviceCredential, clean_start: bool = True, manual_ack: bool = False
    ) -> None:
        self.cred = cred
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"w-{cred.name}",
            protocol=paho.MQTTv5,
            # A connection closed by the server stays closed (a takeover must not ping-pong).
            reconnect_on_failure=False,
            # True: messages are never acknowledged, so the session keeps them.
            manual_ack=manual_ack,
        )
        self.client.username_pw_set(cred.token)
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.ended: tuple[int, str | None] | None = None
        self.pushed: list[dict[str, object]] = []
        self.answers: dict[str, dict[str, object]] = {}
        self.answered = threading.Event()
        self.session_present: bool | None = None
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30, clean_start=clean_start)
        self.client.loop_start()

    def _on_connect(
        self, c: paho.Client, u: object, flags: paho.ConnectFlags, rc: ReasonCode, p: object
    ) -> None:
        self.session_present = bool(flags.session_present)
        self.connected.set()

    def _on_message(self, c: paho.Client, u: object, message: paho.MQTTMessage) -> None:
        """Answers every RPC request with its parameters; keeps attribute changes."""
        body = json.loads(message.payload)
        if message.topic.startswith("v1/devices/me/rpc/request/"):
            request_id = message.topic.rsplit("/", 1)[1]
            answer = json.dumps({"echo": body["params"], "device": self.cred.name})
            c.publish(f"v1/devices/me/rpc/response/{request_id}", answer, qos=1)
        elif message.topic == "v1/devices/me/attributes":
            self.pushed.append(body)
        elif message.topic.startswith("v1/devices/me/attributes/response/"):
            self.answers[message.topic.rsplit("/", 1)[1]] = body
            self.answered.set()

    def subscribe(self) -> None:
        self.client.subscribe("v1/devices/me/rpc/request/+", qos=1)
        self.client.subscribe("v1/devices/me/attributes", qos=1)

    def _on_disconnect(
        self, c: paho.Client, u: object, f: object, rc: ReasonCode, p: Properties | None
    ) -> None:
        self.ended = (rc.value, getattr(p, "ReasonString", None) if p is not None else None)
        self.disconnected.set()

    def publish(self, ts: int, value: float) -> bool:
        body = json.dumps({"ts": ts, "values": {"v": value}})
        info = self.client.publish("v1/devices/me/telemetry", body, qos=1)
        info.wait_for_publish(30)
        return info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _points(server: Served, device_id: int, start: int, end: int) -> list[tuple[int, float]]:
    path = f"/api/devices/{device_id}/telemetry?start={start}&end={end}&format=arrow&metrics=v"
    status, body = server.request("GET", path)
    assert status == 200, body[:300]
    table = ipc.open_stream(io.BytesIO(body)).read_all()
    return sorted(
        zip(table.column("ts").to_pylist(), table.column("value").to_pylist(), strict=True)
    )


def _accepted(served: Served) -> list[int]:
    return [int(w["points_accepted"]) for w in served.health()["workers"]]


def test_http_ingest_spreads_over_both_processes_and_the_rest_is_answered_by_main(
    served: Served,
) -> None:
    district: District = served.district
    before = _accepted(served)
    start = int(time.time() * 1000) - 120_000
    rounds = 4
    # urllib opens a connection per request: the kernel spreads them over the processes.
    for k in range(rounds):
        for cred in district.devices:
            body = {"ts": start + k, "values": {"h": cred.index * 10 + k}}
            status, raw = served.request("POST", f"/api/v1/{cred.token}/telemetry", body)
            assert status == 200, raw
            assert json.loads(raw)["accepted"] == 1
    accepted = [after - b for after, b in zip(_accepted(served), before, strict=True)]
    assert all(n > 0 for n in accepted), accepted
    assert sum(accepted) == DEVICES * rounds

    # Reads are main's: those that land on the front are passed on, and answer the same.
    for cred in district.devices:
        path = f"/api/devices/{cred.id}/telemetry?start={start}&end={start + rounds}"
        status, raw = served.request("GET", path + "&format=arrow&metrics=h")
        assert status == 200, raw[:300]
        table = ipc.open_stream(io.BytesIO(raw)).read_all()
        assert table.column("value").to_pylist() == [cred.index * 10 + k for k in range(rounds)]
    front = served.health()["workers"][1]
    assert front["http_passed_to_main"] > 0, front
    # A bad token on the front is refused there, with the API's error body.
    status, raw = served.request("POST", "/api/v1/not-a-token/telemetry", {"h": 1})
    assert status == 401 and json.loads(raw)["error"]["code"] == "bad_device_token"


TAKEN_OVER = 0x8E


def test_a_second_connection_of_a_client_closes_the_first_on_whichever_process(
    served: Served,
) -> None:
    """MQTT takeover: the kernel puts each connection on either process, so of these pairs
    some have their two connections on different processes (all on one: 1 in 2**11)."""
    assert served.mqtt_port is not None
    for cred in served.district.devices[:12]:
        first = Device(served.mqtt_port, cred)
        assert first.connected.wait(10)
        second = Device(served.mqtt_port, cred)
        try:
            assert second.connected.wait(10)
            assert first.disconnected.wait(10), f"{cred.name}: the first connection stayed open"
            assert first.ended is not None and first.ended[0] == TAKEN_OVER
            assert not second.disconnected.is_set()
            assert second.publish(int(time.time() * 1000), 1.0)
        finally:
            first.close()
            second.close()
    deadline = time.monotonic() + 10
    while served.health()["mqtt_connections"] and time.monotonic() < deadline:
        time.sleep(0.05)


def test_attribute_requests_are_answered_from_main_on_either_process(served: Served) -> None:
    """A device asks for its client and shared attributes over MQTT and gets both, whichever
    process holds its connection (a front asks main, whose store keeps them)."""
    assert served.mqtt_port is not None
    devices = [Device(served.mqtt_port, cred) for cred in served.district.devices]
    try:
        for device in devices:
            assert device.connected.wait(10), f"{device.cred.name}: no CONNACK"
            device.client.subscribe("v1/devices/me/attributes/response/+", qos=1)
        counts = [w["mqtt_connections"] for w in served.health()["workers"]]
        assert all(n > 0 for n in counts), counts
        for device in devices:
            status, body = served.request(
                "POST",
                f"/api/devices/{device.cred.id}/attributes/shared",
                {"setpoint": device.cred.index},
            )
            assert status == 200, body
            firmware = json.dumps({"fw": f"1.{device.cred.index}"})
            info = device.client.publish("v1/devices/me/attributes", firmware, qos=1)
            info.wait_for_publish(10)
            # Right behind the write, on the same connection: the answer must include it.
            keys = json.dumps({"clientKeys": "fw", "sharedKeys": "setpoint"})
            ask = device.client.publish("v1/devices/me/attributes/request/7", keys, qos=1)
            ask.wait_for_publish(10)
        for device in devices:
            assert device.answered.wait(10), f"{device.cred.name}: no attribute answer"
            assert device.answers["7"] == {
                "client": {"fw": f"1.{device.cred.index}"},
                "shared": {"setpoint": device.cred.index},
            }, device.cred.name
    finally:
        for device in devices:
            device.close()
    deadline = time.monotonic() + 10
    while served.health()["mqtt_connections"] and time.monotonic() < deadline:
        time.sleep(0.05)


def _holder(served: Served) -> int:
    """The process (its index in /api/health's workers) holding the one open connection."""
    deadline = time.monotonic() + 10
    while True:
        counts = [w["mqtt_connections"] for w in served.health()["workers"]]
        if sum(counts) == 1:
            return counts.index(1)
        assert time.monotonic() < deadline, counts
        time.sleep(0.02)


def _all_closed(served: Served) -> None:
    deadline = time.monotonic() + 10
    while served.health()["mqtt_connections"]:
        assert time.monotonic() < deadline, "a connection stayed open"
        time.sleep(0.02)


def _wait_pushed(device: Device, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(device.pushed) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_persistent_session_resumes_on_the_other_process(served: Served) -> None:
    """Subscribed on one process, a shared attribute delivered and never acknowledged;
    reconnected with clean start off until the kernel puts the connection on the other process
    (each try resumes the session too). Every connection finds the session and gets the
    unacknowledged message again; on the other process the subscription also delivers a
    shared attribute set afterwards."""
    assert served.mqtt_port is not None
    _all_closed(served)
    cred = served.district.devices[0]
    first = Device(served.mqtt_port, cred, clean_start=False, manual_ack=True)
    assert first.connected.wait(10)
    first.client.subscribe("v1/devices/me/attributes", qos=1)
    # The SUBACK is in once a request on the same connection is answered.
    first.client.subscribe("v1/devices/me/attributes/response/+", qos=1)
    first.client.publish("v1/devices/me/attributes/request/1", "{}", qos=1).wait_for_publish(10)
    assert first.answered.wait(10)
    status, body = served.request("POST", f"/api/devices/{cred.id}/attributes/shared", {"m": 1})
    assert status == 200, body
    _wait_pushed(first, 1)
    assert first.pushed == [{"m": 1}]
    started_on = _holder(served)
    first.close()
    _all_closed(served)
    for _ in range(40):
        again = Device(served.mqtt_port, cred, clean_start=False, manual_ack=True)
        try:
            assert again.connected.wait(10)
            assert again.session_present, "the session was not found"
            _wait_pushed(again, 1)
            assert again.pushed == [{"m": 1}], "the unacknowledged message was not sent again"
            if _holder(served) != started_on:
                status, body = served.request(
                    "POST", f"/api/devices/{cred.id}/attributes/shared", {"m": 2}
                )
                assert status == 200, body
                _wait_pushed(again, 2)
                assert again.pushed == [{"m": 1}, {"m": 2}]
                return
        finally:
            again.close()
            _all_closed(served)
    pytest.fail("40 connections in a row landed on the same process")


def test_devices_on_both_processes_store_every_point_and_are_cut_off_from_main(
    served: Served,
) -> None:
    district: District = served.district
    assert served.mqtt_port is not None
    before = _accepted(served)
    devices = [Device(served.mqtt_port, cred) for cred in district.devices]
    try:
        for device in devices:
            assert device.connected.wait(10), f"{device.cred.name}: no CONNACK"
            device.subscribe()
        start = int(time.time() * 1000) - 60_000
        for i in range(MESSAGES):
            for device in devices:
                assert device.publish(start + i, device.cred.index * 100 + i)

        health = served.health()
        workers = health["workers"]
        assert [w["worker"] for w in workers] == [0, 1]
        # The kernel spread the connections: both processes hold and stored some.
        assert all(w["mqtt_connections"] > 0 for w in workers), workers
        accepted = [w["points_accepted"] - b for w, b in zip(workers, before, strict=True)]
        assert all(n > 0 for n in accepted), accepted
        assert health["mqtt_connections"] == DEVICES
        assert sum(accepted) == DEVICES * MESSAGES

        for device in devices:
            expected = [(start + i, float(device.cred.index * 100 + i)) for i in range(MESSAGES)]
            assert _points(served, device.cred.id, start, start + MESSAGES) == expected

        # Packets are handled in order: the subscriptions were in place before the PUBACKs.
        for device in devices:
            params = {"n": device.cred.index}
            status, body = served.request(
                "POST", f"/api/devices/{device.cred.id}/rpc", {"method": "ping", "params": params}
            )
            assert status == 200, body
            answer = json.loads(body)["response"]
            assert answer == {"echo": params, "device": device.cred.name}
            status, body = served.request(
                "POST", f"/api/devices/{device.cred.id}/attributes/shared", {"period": 10}
            )
            assert status == 200, body
        for device in devices:
            deadline = time.monotonic() + 10
            while not device.pushed and time.monotonic() < deadline:
                time.sleep(0.01)
            assert device.pushed == [{"period": 10}], device.cred.name

        # Every device's token replaced on main: each connection, on whichever process it
        # is, is closed with main's reason, not later by a front's periodic re-check.
        for device in devices:
            status, body = served.request("POST", f"/api/devices/{device.cred.id}/token")
            assert status == 200, body
            assert device.disconnected.wait(10), f"{device.cred.name} still connected"
            assert device.ended == (NOT_AUTHORIZED, ROTATED)
        assert served.health()["mqtt_connections"] == 0
    finally:
        for device in devices:
            device.close()


def test_the_per_address_limit_holds_for_the_node(tmp_path: Path) -> None:
    """The per-address limits are the node's: each of two processes admits half, so of 8
    connections from one address at most 4 stay open, however the kernel spreads them."""
    district = make_district(tmp_path / "data", 1)
    server = Served(
        district,
        workers=2,
        extra_args=[
            "--mqtt-max-connections-per-address",
            "4",
            "--http-max-connections-per-address",
            "4",
        ],
        log_path=tmp_path / "serve.log",
    )
    server.start()
    sockets: list[socket.socket] = []
    try:
        server.wait_for_fronts()
        assert server.mqtt_port is not None
        for _ in range(8):
            sockets.append(socket.create_connection(("127.0.0.1", server.mqtt_port), timeout=10))
        deadline = time.monotonic() + 10
        while True:
            health = server.health()
            open_now = health["mqtt_connections"]
            refused = health["mqtt_refused_over_address_limit"]
            if open_now + refused == 8:
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.05)
        assert open_now <= 4 and refused >= 4, health
        assert all(w["mqtt_connections"] <= 2 for w in health["workers"]), health["workers"]

        # HTTP the same: a connection over a process's share is answered 503 at once.
        refused_http = 0
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=10)
            sockets.append(sock)
            sock.settimeout(1.0)
            try:
                answer = sock.recv(64)
            except TimeoutError:
                continue  # admitted: the server waits for the request
            refused_http += answer.startswith(b"HTTP/1.1 503")
        assert refused_http >= 4
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
