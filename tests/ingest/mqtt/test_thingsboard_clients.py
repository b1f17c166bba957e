"""The built-in MQTT endpoint against ThingsBoard's own clients.

- the device SDK `tb-mqtt-client` (``TBDeviceMqttClient``): telemetry, client attributes and a
  two-way server-side RPC sent through the HTTP API;
- the IoT gateway `thingsboard-gateway` with its MQTT connector: it reads meters from a private
  Mosquitto and forwards them into shugu through the gateway API, and carries RPC back.

Both run as child processes of `.venv-tb/bin/python` (built by the Makefile from
requirements-tb.lock): the SDK brings its own fork of `paho`, which would overwrite the
`paho-mqtt` the other tests use. The helper scripts in ``tb/`` print JSON lines for the test.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.binaries import in_ci
from tests.mosquitto import Mosquitto, mosquitto
from tests.server import ServedDistrict

ROOT = Path(__file__).resolve().parents[3]
TB_PYTHON = ROOT / ".venv-tb" / "bin" / "python"
HELPERS = Path(__file__).resolve().parent / "tb"

#: The gateway's MQTT connector: one JSON message per meter on ``meters/{name}/data``.
METERS_CONNECTOR: dict[str, Any] = {
    "mapping": [
        {
            "topicFilter": "meters/+/data",
            "subscriptionQos": 1,
            "converter": {
                "type": "json",
                "deviceInfo": {
                    "deviceNameExpressionSource": "topic",
                    "deviceNameExpression": "(?<=meters/)(.*?)(?=/data)",
                    "deviceProfileExpressionSource": "constant",
                    "deviceProfileExpression": "power_meter",
                },
                "sendDataOnlyOnChange": False,
                "timeout": 60000,
                "attributes": [{"type": "string", "key": "model", "value": "${model}"}],
                "timeseries": [
                    {"type": "double", "key": "active_power_kw", "value": "${power}"},
                    {"type": "double", "key": "energy_kwh", "value": "${energy}"},
                ],
            },
        }
    ],
    "requestsMapping": {
        "serverSideRpc": [
            {
                "type": "twoWay",
                "deviceNameFilter": ".*",
                "methodFilter": "getRelay",
                "requestTopicExpression": "meters/${deviceName}/request/${methodName}/${requestId}",
                "responseTopicExpression": (
                    "meters/${deviceName}/response/${methodName}/${requestId}"
                ),
                "responseTopicQoS": 1,
                "responseTimeout": 10000,
                "valueExpression": "${params}",
            }
        ]
    },
}


def tb_python() -> str:
    if not TB_PYTHON.exists():
        reason = (
            f"{TB_PYTHON.parent.parent.name} is missing: `make .venv-tb/.installed-stamp` "
            "builds it from requirements-tb.lock"
        )
        if in_ci():
            pytest.fail(f"CI must have it: {reason}")
        pytest.skip(reason)
    return str(TB_PYTHON)


def child_env() -> dict[str, str]:
    """The environment of a `.venv-tb` child: nothing of this virtualenv leaks in, nothing is
    installed at run time, and no HTTP request leaves the machine."""
    leave_out = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in leave_out}
    return env | {
        "PYTHONUNBUFFERED": "1",
        "PIP_NO_INDEX": "1",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }


class Child:
    """A helper script in `.venv-tb`; its stdout is JSON lines, read with time limits."""

    def __init__(self, args: list[str], stderr_path: Path, logs: list[Path] | None = None) -> None:
        self._stderr_path = stderr_path
        self._logs = logs or []
        self._stderr: IO[bytes] = stderr_path.open("wb")
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=child_env()
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def diagnostics(self) -> str:
        parts = []
        for path in [self._stderr_path, *self._logs]:
            if path.exists():
                text = path.read_text(errors="replace")[-4000:]
                parts.append(f"--- {path.name}:\n{text}")
        return "\n".join(parts)

    def next(self, step: str, timeout: float) -> dict[str, Any]:
        """The next line with this step; fails on an error line, an exit or the time limit."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {step!r} within {timeout} s\n{self.diagnostics()}")
            if line is None:
                pytest.fail(f"exited before {step!r}\n{self.diagnostics()}")
            try:
                event: dict[str, Any] = json.loads(line)
            except ValueError:
                continue  # a line a library printed
            if event.get("step") == "error":
                pytest.fail(f"{event.get('error')}\n{self.diagnostics()}")
            if event.get("step") == step:
                return event

    def stop(self, timeout: float = 15) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._reader.join(5)
        self._stderr.close()
        return self.process.returncode


# -- the device SDK --------------------------------------------------------------------------


def test_tb_device_sdk_telemetry_attributes_and_rpc(
    district: ServedDistrict, tmp_path: Path
) -> None:
    device_id = district.device_id("loom-1")
    sdk = Child(
        [
            tb_python(),
            str(HELPERS / "device_sdk.py"),
            "127.0.0.1",
            str(district.mqtt_port),
            district.token("loom-1"),
        ],
        tmp_path / "device_sdk.stderr",
    )
    try:
        sent = sdk.next("telemetry", 30)
        assert sent["success"] and sent["acknowledged"], sent
        assert sent["plain_rc"] == 0 and sent["plain_acknowledged"], sent
        # The PUBACK came after the points were stored, so they are readable at once.
        latest = district.latest("loom-1")
        assert latest["speed_rpm"] == 642.0 and latest["power_kw"] == 4.25
        assert latest["running"] == 1.0 and latest["picks"] == 1234.0
        _, body = district.http("GET", f"/api/devices/{device_id}/latest")
        columns = body["columns"]
        assert isinstance(columns, dict)
        assert sent["ts"] in columns["ts"], "the timestamp the SDK sent is kept"

        attributes = sdk.next("attributes", 20)
        assert attributes["sent_rc"] == 0 and attributes["sent_acknowledged"], attributes
        assert attributes["answered"], attributes
        assert attributes["answers"] == [
            {
                "content": {"client": {"firmware": "2.7.1", "serial": "TB-0042"}, "shared": {}},
                "error": None,
            }
        ]
        status, stored = district.http("GET", f"/api/devices/{device_id}/attributes")
        assert status == 200
        assert stored["client"] == {"firmware": "2.7.1", "serial": "TB-0042", "slots": 12}

        sdk.next("ready", 20)
        status, answer = district.http(
            "POST",
            f"/api/devices/{device_id}/rpc",
            {"method": "setSpeed", "params": {"rpm": 700}, "timeout_ms": 10_000},
        )
        assert status == 200, answer
        assert answer["response"] == {"handled": "setSpeed", "params": {"rpm": 700}, "by": "tb-sdk"}
        handled = sdk.next("rpc", 10)
        assert handled["request"] == {"method": "setSpeed", "params": {"rpm": 700}}
        assert sdk.process.wait(timeout=15) == 0, sdk.diagnostics()
    finally:
        sdk.stop()

    # The device is in the registry and its values in the query API.
    listed = _devices_by_name(district)["loom-1"]
    assert listed["id"] == device_id and listed["profile"] == "loom"


def test_tb_device_sdk_reads_back_attributes_it_just_sent(
    district: ServedDistrict, tmp_path: Path
) -> None:
    rounds = 5
    sdk = Child(
        [
            tb_python(),
            str(HELPERS / "attributes_at_once.py"),
            "127.0.0.1",
            str(district.mqtt_port),
            district.token("box-1"),
            str(rounds),
        ],
        tmp_path / "attributes_at_once.stderr",
    )
    try:
        answers = sdk.next("rounds", 60)["answers"]
        assert sdk.process.wait(timeout=15) == 0, sdk.diagnostics()
    finally:
        sdk.stop()
    assert answers == list(range(1, rounds + 1))


# -- the IoT gateway ---------------------------------------------------------------------------


@dataclass
class Gateway:
    broker: Mosquitto
    child: Child


def gateway_config(district: ServedDistrict) -> dict[str, Any]:
    return {
        "thingsboard": {
            "host": "127.0.0.1",
            "port": district.mqtt_port,
            "remoteShell": False,
            "remoteConfiguration": False,
            "latencyDebugMode": False,
            "statistics": {"enable": False, "enableCustom": False},
            "deviceFiltering": {"enable": False},
            "checkConnectorsConfigurationInSeconds": 60,
            "handleDeviceRenaming": False,
            "security": {"type": "accessToken", "accessToken": district.token("gw-1")},
            "qos": 1,
            "reportStrategy": {"type": "ON_RECEIVED"},
            "checkingDeviceActivity": {"checkDeviceInactivity": False},
        },
        "storage": {"type": "memory", "read_records_count": 100, "max_records_count": 10000},
        "grpc": {"enabled": False},
        "connectors": [{"type": "mqtt", "name": "Meters", "configuration": "meters.json"}],
    }


LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "file": {
            "class": "logging.FileHandler",
            "formatter": "plain",
            "filename": "gateway.log",
            "level": "DEBUG",
        }
    },
    "root": {"level": "INFO", "handlers": ["file"]},
}


@pytest.fixture(scope="module")
def gateway(
    district: ServedDistrict, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    python = tb_python()
    workdir = tmp_path_factory.mktemp("tb-gateway")
    with mosquitto(workdir) as broker:
        connector = {
            "broker": {
                "host": "127.0.0.1",
                "port": broker.port,
                "clientId": "tb-gateway-meters",
                "version": 5,
                "maxMessageNumberPerWorker": 10,
                "maxNumberOfWorkers": 4,
                "cleanSession": True,
                "cleanStart": True,
                "sessionExpiryInterval": 0,
                "security": {"type": "anonymous"},
            },
            **METERS_CONNECTOR,
        }
        (workdir / "tb_gateway.json").write_text(json.dumps(gateway_config(district)))
        (workdir / "meters.json").write_text(json.dumps(connector))
        (workdir / "logs.json").write_text(json.dumps(LOGGING))
        child = Child(
            [python, str(HELPERS / "gateway.py"), str(workdir)],
            workdir / "gateway.stderr",
            logs=[workdir / "gateway.log"],
        )
        try:
            child.next("starting", 30)
            yield Gateway(broker, child)
        finally:
            child.stop()


def _broker_client(broker: Mosquitto) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"meter-{time.monotonic_ns()}")
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect("127.0.0.1", broker.port, keepalive=30)
    client.loop_start()
    assert connected.wait(10)
    return client


def _devices_by_name(district: ServedDistrict) -> dict[str, dict[str, Any]]:
    _, devices = district.http("GET", f"/api/enterprises/{district.enterprise}/devices")
    assert isinstance(devices, list)
    return {d["name"]: d for d in devices}


def latest_by_id(district: ServedDistrict, device_id: int) -> dict[str, float]:
    status, body = district.http("GET", f"/api/devices/{device_id}/latest")
    assert status == 200, body
    columns = body["columns"]
    assert isinstance(columns, dict)
    return dict(zip(columns["metric"], columns["value"], strict=True))


def forward_meters(
    district: ServedDistrict, gateway: Gateway, meters: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Publish each meter's reading to Mosquitto until shugu has created the meter and stored
    the reading (the gateway may still be connecting); the meters' registry entries."""
    client = _broker_client(gateway.broker)
    try:
        deadline = time.monotonic() + 45
        while True:
            for name, reading in meters.items():
                client.publish(f"meters/{name}/data", json.dumps(reading), qos=1).wait_for_publish(
                    10
                )
            time.sleep(0.5)
            found = _devices_by_name(district)
            if all(name in found for name in meters):
                values = {name: latest_by_id(district, found[name]["id"]) for name in meters}
                if all(
                    values[name].get("active_power_kw") == reading["power"]
                    for name, reading in meters.items()
                ):
                    return {name: found[name] for name in meters}
            if time.monotonic() > deadline:
                pytest.fail(f"the gateway forwarded nothing in time\n{gateway.child.diagnostics()}")
    finally:
        client.loop_stop()
        client.disconnect()


def test_tb_gateway_forwards_mqtt_connector_data(
    district: ServedDistrict, gateway: Gateway
) -> None:
    meters = {
        "DTSU-7": {"power": 12.5, "energy": 3456.0, "model": "DTSU666"},
        "DTSU-8": {"power": 7.25, "energy": 812.5, "model": "DTSU666-H"},
    }
    created = forward_meters(district, gateway, meters)
    for name, reading in meters.items():
        device = created[name]
        # Created inside the gateway's enterprise, with the profile the gateway named.
        assert device["enterprise_id"] == district.enterprise
        assert device["profile"] == "power_meter" and not device["is_gateway"]
        assert latest_by_id(district, device["id"]) == {
            "active_power_kw": reading["power"],
            "energy_kwh": reading["energy"],
        }
        status, attributes = district.http("GET", f"/api/devices/{device['id']}/attributes")
        assert status == 200
        assert isinstance(attributes["client"], dict)
        assert attributes["client"]["model"] == reading["model"]


def _relay_rpc(
    district: ServedDistrict,
    gateway: Gateway,
    device_id: int,
    channel: int,
    reply: Callable[[Any], object],
) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """Call ``getRelay`` on a meter behind the gateway while the meter, on the gateway's broker,
    answers each request with ``reply(its params)``; asserts the call succeeded and returns the
    API's body and the requests the meter received."""
    requests: list[tuple[str, bytes]] = []
    client = _broker_client(gateway.broker)

    def answer(c: paho.Client, u: object, message: paho.MQTTMessage) -> None:
        requests.append((message.topic, bytes(message.payload)))
        response = message.topic.replace("/request/", "/response/")
        c.publish(response, json.dumps(reply(json.loads(message.payload))), 1)

    client.on_message = answer
    subscribed = threading.Event()
    client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
    client.subscribe("meters/+/request/+/+", qos=1)
    try:
        assert subscribed.wait(10)
        status, body = district.http(
            "POST",
            f"/api/devices/{device_id}/rpc",
            {"method": "getRelay", "params": {"channel": channel}, "timeout_ms": 15_000},
        )
    finally:
        client.loop_stop()
        client.disconnect()
    assert status == 200, f"{body}\n{gateway.child.diagnostics()}"
    return body, requests


def test_tb_gateway_carries_rpc_to_a_device_behind_it(
    district: ServedDistrict, gateway: Gateway
) -> None:
    device = forward_meters(district, gateway, {"DTSU-9": {"power": 3.5, "energy": 1.0}})["DTSU-9"]
    body, requests = _relay_rpc(
        district, gateway, device["id"], 2, lambda params: {"relay": "on", "channel": params}
    )
    assert len(requests) == 1
    topic, payload = requests[0]
    assert topic.startswith("meters/DTSU-9/request/getRelay/")
    assert json.loads(payload) == {"channel": 2}
    assert body["response"] == {"relay": "on", "channel": {"channel": 2}}


def test_tb_gateway_commands_reach_its_devices_after_shugu_restarts(
    district: ServedDistrict, gateway: Gateway
) -> None:
    """The gateway sends ``v1/gateway/connect`` once per device and process: after shugu
    restarts it reconnects and forwards the meter's data without announcing it again, which
    shugu takes as the device's connect (as ThingsBoard does), so commands reach it again.
    Runs last in this module: it restarts the server."""
    meter = {"DTSU-11": {"power": 4.5, "energy": 2.0}}
    device = forward_meters(district, gateway, meter)["DTSU-11"]
    assert district.server is not None
    district.server.stop(timeout_s=30)
    district.server.start(timeout_s=60)
    # Only data, no announcement: the gateway knows the meter already.
    forward_meters(district, gateway, {"DTSU-11": {"power": 4.75, "energy": 2.5}})
    body, _ = _relay_rpc(district, gateway, device["id"], 1, lambda _params: {"relay": "off"})
    assert body["response"] == {"relay": "off"}
