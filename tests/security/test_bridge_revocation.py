"""Bridge mode: a device deleted through the API is refused on its next broker message, not
served from the worker's device cache. Against a real Mosquitto and a real ``shugu serve``."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from shugu.domain.tenancy import Role
from shugu.store.registry import Registry
from tests.ingest.test_bridge import Cluster, Worker, _publisher, _send, _wait_for
from tests.mosquitto import mosquitto


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, int]]:
    registry_url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    registry = Registry(
        registry_url, password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    try:
        region = registry.create_region("350112", "长乐区")
        park = registry.create_park(region.id, "滨海工业区")
        ent = registry.create_enterprise(park.id, "桥接测试", "91110108551385082Q")
        device, _ = registry.create_device(ent.id, "bridged", "generic")
        user = registry.create_user("operator", "a long password", Role.OPERATOR)
        token = registry.create_api_token(user.id, "tests")
        # The test reads the device's values as the operator: the enterprise consents.
        admin = registry.create_user("admin", "a long password", Role.ENTERPRISE_ADMIN, ent.id)
        registry.grant_consent(ent.id, admin.id, "bridge tests", "operator")
    finally:
        registry.close()
    with mosquitto(tmp_path) as broker:
        yield Cluster(tmp_path, broker, registry_url, ent.id, ent.uscc, token), device.id


def _api(worker: Worker, method: str, path: str) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{worker.port}{path}", method=method)
    request.add_header("Authorization", f"Bearer {worker.cluster.admin_token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_a_deleted_device_is_refused_on_its_next_message(cluster: tuple[Cluster, int]) -> None:
    setup, device_id = cluster
    worker = Worker(setup, "w1")
    worker.start()
    topic = f"shugu/v1/{setup.enterprise}/bridged/telemetry"
    t0 = int(time.time() * 1000) - 60_000
    try:
        client = _publisher(setup)
        _send(client, topic, t0, 1.0).wait_for_publish(10)

        def stored() -> bool:
            status, body = _api(worker, "GET", f"/api/devices/{device_id}/latest")
            return status == 200 and json.loads(body)["columns"]["value"] == [1.0]

        assert _wait_for(stored, 20)  # the worker's cache now knows the device
        assert _api(worker, "DELETE", f"/api/devices/{device_id}")[0] == 204
        _send(client, topic, t0 + 1, 2.0).wait_for_publish(10)
        client.loop_stop()
        client.disconnect()
        assert _wait_for(lambda: worker.rejects().get("unknown_device") == 1, 20)
    finally:
        worker.stop()
    stored = worker.keys()
    assert {ts for dev, _, ts in stored if dev == device_id} == {t0}
