"""Bridge mode against a real Mosquitto: shared subscriptions, persistent sessions, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import paho.mqtt.client as paho
import pytest
from argon2 import PasswordHasher
from paho.mqtt.enums import CallbackAPIVersion

from shugu.domain.tenancy import Role
from shugu.store.registry import Registry
from tests.mosquitto import Mosquitto, mosquitto
from tests.server import free_port

DEVICES = [f"sensor-{i}" for i in range(20)]


@dataclass
class Cluster:
    root: Path
    broker: Mosquitto
    registry_url: str
    enterprise: int
    uscc: str
    admin_token: str


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    registry_url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    registry = Registry(
        registry_url, password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    try:
        region = registry.create_region("350112", "长乐区")
        park = registry.create_park(region.id, "滨海工业区")
        ent = registry.create_enterprise(park.id, "桥接测试", "91110108551385082Q")
        for name in DEVICES:
            registry.create_device(ent.id, name, "generic")
        # Refusals without a known device are the operator's to read.
        user = registry.create_user("operator", "a long password", Role.OPERATOR)
        token = registry.create_api_token(user.id, "tests")
    finally:
        registry.close()
    with mosquitto(tmp_path) as broker:
        yield Cluster(tmp_path, broker, registry_url, ent.id, ent.uscc, token)


class Worker:
    def __init__(self, cluster: Cluster, name: str) -> None:
        self.cluster = cluster
        self.name = name
        self.data = cluster.root / name
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shugu.cli",
                "serve",
                "--data",
                str(self.data),
                "--registry-url",
                self.cluster.registry_url,
                "--http-port",
                str(self.port),
                "--broker",
                self.cluster.broker.url,
                "--broker-client-id",
                self.name,
                # The broker's share is consumed by the main process alone: front processes
                # would serve no traffic here.
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/api/health", timeout=2
                ) as r:
                    if json.loads(r.read())["broker_connected"]:
                        time.sleep(0.3)  # the subscription follows the CONNACK
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} did not connect to the broker")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def keys(self) -> set[tuple[int, int, int]]:
        """Distinct (device, metric, ts) stored by this worker (read after it stopped)."""
        con = duckdb.connect(str(self.data / "telemetry.duckdb"), read_only=True)
        try:
            rows = con.sql(
                "SELECT DISTINCT device, metric, ts FROM "
                "(SELECT device, metric, ts FROM points UNION ALL "
                " SELECT device, metric, ts FROM points_sorted)"
            ).fetchall()
        finally:
            con.close()
        return {(int(d), int(m), int(t)) for d, m, t in rows}

    def rejects(self) -> dict[str, int]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/rejects")
        request.add_header("Authorization", f"Bearer {self.cluster.admin_token}")
        with urllib.request.urlopen(request, timeout=10) as r:
            body = json.loads(r.read())
        return {c["code"]: c["n"] for c in body["counts"]}


def _publisher(cluster: Cluster) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{time.monotonic_ns()}")
    client.max_inflight_messages_set(100)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect("127.0.0.1", cluster.broker.port)
    client.loop_start()
    assert connected.wait(10)
    return client


def _send(client: paho.Client, topic: str, ts: int, value: float) -> paho.MQTTMessageInfo:
    return client.publish(topic, json.dumps({"ts": ts, "values": {"v": value}}), qos=1)


def _wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_bridge_consumes_and_refuses_unknown_devices(cluster: Cluster) -> None:
    worker = Worker(cluster, "w1")
    worker.start()
    try:
        client = _publisher(cluster)
        t0 = int(time.time() * 1000) - 60_000
        for i, name in enumerate(DEVICES):
            _send(client, f"shugu/v1/{cluster.enterprise}/{name}/telemetry", t0 + i, float(i))
        _send(client, f"shugu/v1/{cluster.uscc}/{DEVICES[0]}/telemetry", t0 + 100, 1.0)
        _send(client, f"shugu/v1/{cluster.enterprise}/ghost/telemetry", t0, 1.0).wait_for_publish(
            10
        )
        client.loop_stop()
        client.disconnect()
        assert _wait_for(lambda: worker.rejects().get("unknown_device") == 1, 20)
    finally:
        worker.stop()
    assert len(worker.keys()) == len(DEVICES) + 1  # enterprise named by id or by USCC


def test_two_workers_share_the_load_and_lose_nothing_when_one_is_killed(cluster: Cluster) -> None:
    first, second = Worker(cluster, "w1"), Worker(cluster, "w2")
    first.start()
    second.start()
    total = 3000
    try:
        client = _publisher(cluster)
        t0 = int(time.time() * 1000) - 3_600_000
        infos = []
        for i in range(total):
            name = DEVICES[i % len(DEVICES)]
            infos.append(
                _send(client, f"shugu/v1/{cluster.enterprise}/{name}/telemetry", t0 + i, i)
            )
            if i == total // 3:
                first.kill()  # mid-stream, with messages in flight to it
            if i == 2 * total // 3:
                first.start()  # the same client id resumes the persistent session
        for info in infos:
            info.wait_for_publish(30)
        client.loop_stop()
        client.disconnect()
        # Every message the broker accepted ends up stored by one worker or the other.
        time.sleep(3)
    finally:
        first.stop()
        second.stop()
    keys_first, keys_second = first.keys(), second.keys()
    assert keys_first and keys_second, "both workers took a share"
    assert len(keys_first | keys_second) == total
