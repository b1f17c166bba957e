"""Back-pressure: when points arrive faster than the disk takes them, shugu slows MQTT senders
(later PUBACKs, a paused socket) and refuses HTTP senders with 429 and Retry-After, holding a
bounded number of points in memory, and loses nothing it acknowledged.

The store's writer is held inside a commit by a gate (a batch listener that waits), which makes
"the disk is slower than the senders" exact and repeatable instead of a race between processes.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import uvicorn
from argon2 import PasswordHasher
from bench.faults.overload import OverloadSizes, run_overload
from paho.mqtt.enums import CallbackAPIVersion

from shugu.api.app import create_app
from shugu.api.services import Services
from shugu.config import Settings
from shugu.domain.batch import Batch
from shugu.ingest.mqtt.connection import CONGESTED_INFLIGHT
from shugu.runtime import open_services
from shugu.store.registry import Registry
from tests.server import free_port

MAX_BACKLOG = 1_000
NOW_MS = int(time.time() * 1000)


def _lower(headers: Message) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


class Gate:
    """A batch listener that holds the writer thread while closed."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self.held = threading.Event()

    def close(self) -> None:
        self._open.clear()
        self.held.clear()

    def open(self) -> None:
        self._open.set()

    def __call__(self, batch: Batch) -> None:
        if not self._open.is_set():
            self.held.set()
            self._open.wait(30)


@dataclass
class Running:
    services: Services
    gate: Gate
    http_port: int
    mqtt_port: int
    tokens: dict[str, str]
    device_ids: dict[str, int]

    def post(self, device: str, body: object) -> tuple[int, dict[str, str], dict[str, object]]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/api/v1/{self.tokens[device]}/telemetry",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, _lower(answer.headers), json.loads(answer.read())
        except urllib.error.HTTPError as err:
            return err.code, _lower(err.headers), json.loads(err.read())

    def stored(self, device: str) -> int:
        self.services.store.flush()
        got = self.services.store.latest([self.device_ids[device]])
        return int(got.num_rows)

    def wait_backlog(self, at_least: int) -> None:
        deadline = time.monotonic() + 20
        while self.services.store.backlog_rows < at_least:
            assert time.monotonic() < deadline, "the backlog never filled"
            time.sleep(0.01)


@pytest.fixture
def running(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    registry = Registry(
        f"sqlite:///{tmp_path / 'registry.sqlite'}",
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "滨海工业区")
    ent = registry.create_enterprise(park.id, "长乐纺织", "91110000600037341L")
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for name in ("box-http", "box-http-2", "box-mqtt"):
        record, token = registry.create_device(ent.id, name, "generic")
        tokens[name], ids[name] = token, record.id
    http_port, mqtt_port = free_port(), free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        mqtt_port=mqtt_port,
        max_backlog_points=MAX_BACKLOG,
        max_ingest_requests=getattr(request, "param", 32),
    )
    services = open_services(settings, registry)
    gate = Gate()
    services.store.add_listener(gate)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, services), port=http_port, log_level="warning", loop="asyncio"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started or services.mqtt_port is None:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield Running(services, gate, http_port, mqtt_port, tokens, ids)
    finally:
        gate.open()
        server.should_exit = True
        thread.join(30)
        services.close()
        registry.close()


def _points(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"ts": NOW_MS - 600_000 + start + i, "values": {"x": float(i)}} for i in range(n)]


def _in_background(fn: object) -> threading.Thread:
    assert callable(fn)
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


def test_http_is_refused_with_429_and_retry_after_while_the_backlog_is_full(
    running: Running,
) -> None:
    running.gate.close()
    answers: list[int] = []
    # The first batch is committed and holds the writer; the second waits in the queue.
    first = _in_background(lambda: answers.append(running.post("box-http", _points(1))[0]))
    assert running.gate.held.wait(30)  # generous: threads start late on a loaded machine
    second = _in_background(
        lambda: answers.append(running.post("box-http", _points(MAX_BACKLOG - 1, 1))[0])
    )
    running.wait_backlog(MAX_BACKLOG)

    status, headers, body = running.post("box-http-2", _points(10))
    assert status == 429
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "ingest_overloaded"
    assert int(headers["retry-after"]) >= 1
    assert running.services.store.backlog_rows <= MAX_BACKLOG

    running.gate.open()
    first.join(30)
    second.join(30)
    assert answers == [200, 200]
    # Retrying after the wait succeeds; the refused points were never half-stored.
    assert running.stored("box-http-2") == 0
    status, _, _ = running.post("box-http-2", _points(10))
    assert status == 200
    assert running.services.store.backlog_rows == 0
    assert running.services.store.overload_refusals >= 1


def test_a_batch_that_would_overflow_the_backlog_is_refused_whole(running: Running) -> None:
    running.gate.close()
    first = _in_background(lambda: running.post("box-http", _points(600)))
    running.wait_backlog(600)
    assert running.gate.held.wait(30)  # generous: threads start late on a loaded machine
    status, headers, body = running.post("box-http-2", _points(600))
    assert status == 429 and "retry-after" in headers, body
    running.gate.open()
    first.join(30)
    assert running.stored("box-http-2") == 0


@pytest.mark.parametrize("running", [2], indirect=True)
def test_requests_beyond_the_concurrency_limit_are_refused_before_being_read(
    running: Running,
) -> None:
    running.gate.close()
    held = [
        _in_background(lambda i=i: running.post("box-http", _points(5, i * 10))) for i in (0, 1)
    ]
    assert running.gate.held.wait(30)  # generous: threads start late on a loaded machine
    deadline = time.monotonic() + 30
    while running.services.door._requests_in_flight < 2:
        assert time.monotonic() < deadline, "the two requests never got in"
        time.sleep(0.01)
    status, headers, body = running.post("box-http-2", _points(5))
    assert status == 429 and headers["retry-after"] == "1", body
    error = body["error"]
    assert isinstance(error, dict) and error["in_flight"] == 2
    assert running.services.door.busy_refusals == 1
    running.gate.open()
    for thread in held:
        thread.join(30)
    assert running.post("box-http-2", _points(5))[0] == 200


def test_mqtt_senders_are_slowed_not_refused_and_nothing_is_lost(running: Running) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="flood", protocol=paho.MQTTv311)
    client.username_pw_set(running.tokens["box-mqtt"])
    acked: list[int] = []
    client.on_publish = lambda c, u, mid, rc, p: acked.append(mid)
    client.max_inflight_messages_set(1000)
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect("127.0.0.1", running.mqtt_port, keepalive=60)
    client.loop_start()
    try:
        assert connected.wait(10)
        # Fill the backlog past the congestion mark (half the bound) with a held HTTP batch.
        running.gate.close()
        held = _in_background(lambda: running.post("box-http", _points(MAX_BACKLOG // 2 + 10)))
        running.wait_backlog(MAX_BACKLOG // 2 + 10)
        messages = 300
        infos = [
            client.publish(
                "v1/devices/me/telemetry",
                json.dumps({"ts": NOW_MS - 300_000 + i, "values": {"y": float(i)}}),
                qos=1,
            )
            for i in range(messages)
        ]
        # While congested the connection takes a handful of publishes and stops reading.
        connection = next(iter(running.services.mqtt.connections))  # type: ignore[union-attr]
        deadline = time.monotonic() + 10
        while not connection._paused:
            assert time.monotonic() < deadline, "the connection was never paused"
            time.sleep(0.01)
        time.sleep(0.3)  # let it prove that it stays paused
        assert connection._inflight <= CONGESTED_INFLIGHT
        assert acked == []
        assert running.services.store.backlog_rows <= MAX_BACKLOG

        running.gate.open()
        held.join(30)
        for info in infos:
            info.wait_for_publish(30)
        assert len(acked) == messages
        assert running.services.store.overload_refusals == 0
        running.services.store.flush()
        stored = running.services.store.count_points()
        assert stored == MAX_BACKLOG // 2 + 10 + messages
    finally:
        client.loop_stop()
        client.disconnect()


FLOOD = OverloadSizes(
    flood_devices=4,
    mqtt_devices=6,
    units_per_request=500,
    requests_per_device=2,
    probe_connections=2,
    flood_connections=24,
    mqtt_window=4,
    probe_s=1.5,
    baseline_s=1.0,
    flood_s=3.0,
    max_backlog_points=100_000,
    max_ingest_requests=4,
    pin_cores=False,
    drain_s=60.0,
)


def _pushed_back_without_loss(out: dict[str, Any]) -> None:
    assert out["server_alive"] and out["drained"], out
    assert out["acked"] > 0 and out["lost"] == 0 and out["duplicated"] == 0, out
    assert out["verified"], out
    # The excess got 429, every one with a Retry-After; MQTT senders were held, never refused.
    assert out["http_statuses"].get("429", 0) > 0, out
    assert "missing" not in out["retry_after_values"], out
    assert out["mqtt_refused"] == {}, out


def test_a_flood_is_pushed_back_within_bounds_and_loses_nothing(tmp_path: Path) -> None:
    """Scaled down from ``shugu bench faults --scenario overload``, on a real ``shugu serve``."""
    out = run_overload(tmp_path, FLOOD)
    _pushed_back_without_loss(out)
    assert out["backlog_peak_points"] <= FLOOD.max_backlog_points


def test_with_two_workers_the_fronts_senders_are_pushed_back_by_mains_backlog(
    tmp_path: Path,
) -> None:
    """``--workers 2``: main's one writer falls behind for both processes. The front refuses
    its HTTP senders (429, Retry-After) and holds its MQTT senders on main's backlog, which it
    learns from main's answers on the channel; no process holds more than its share."""
    # A bound the flood fills (four requests of 5,000 points), so that the backlog, not the
    # requests at once, is what pushes back; ten MQTT devices, so that both processes get some.
    sizes = dataclasses.replace(
        FLOOD, mqtt_devices=10, max_backlog_points=20_000, max_ingest_requests=16
    )
    out = run_overload(tmp_path, sizes, workers=2)
    _pushed_back_without_loss(out)
    main, front = out["pushback_by_process"]
    # The front refused HTTP senders on main's backlog (its own figure and main's FULL) ...
    assert front["overload_refusals"] > 0, out["pushback_by_process"]
    # ... and every process that had MQTT devices held them instead of refusing them.
    devices = out["mqtt_devices_by_process"]
    assert devices["unknown"] == 0 and devices["main"] + devices["front"] == 10, devices
    for name, worker in (("main", main), ("front", front)):
        assert devices[name] == 0 or worker["mqtt_batches_held"] > 0, out["pushback_by_process"]
    # One bound for the node: main's backlog within it, and a front's rows in flight within
    # its share of it and the one request that may cross the share when admitted.
    request_points = sizes.units_per_request * 10
    assert out["backlog_peak_points"] <= sizes.max_backlog_points, out
    assert out["front_rows_in_flight_peak"] <= sizes.max_backlog_points // 2 + request_points
