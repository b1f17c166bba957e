"""A gateway names its devices in every message: the names resolve from the enterprise's cached
directory, not by a registry query per name and message, and a revoked device is not served from
that cache."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from bench.fuzz_ingest import IngestWorld, _Connection

from shugu.ingest.mqtt.codec import Publish
from shugu.store.registry import Registry


@pytest.fixture
def world(tmp_path: Path) -> IngestWorld:
    opened = IngestWorld(tmp_path)
    yield opened  # type: ignore[misc]
    opened.close()


def _send(world: IngestWorld, names: list[str], value: float) -> None:
    doc = {
        name: [{"ts": int(time.time() * 1000) - 60_000 + int(value), "values": {"t": value}}]
        for name in names
    }
    publish = Publish("v1/gateway/telemetry", json.dumps(doc).encode(), 1, False, False, 1, {})
    outcome = world.run(world.app.on_publish(_Connection(world.devices["gw-1"]), publish))  # type: ignore[arg-type]
    assert not outcome.code, outcome.reason


def test_names_resolve_from_the_cached_directory(
    world: IngestWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"机台 {i:03d}" for i in range(50)]
    _send(world, names, 1.0)  # creates the 50 devices behind the gateway
    queries = {"by_name": 0, "directory": 0}
    by_name, directory = Registry.device_ref_by_name, Registry.device_refs_of_enterprise

    def counted_by_name(self: Registry, enterprise_id: int, name: str) -> object:
        queries["by_name"] += 1
        return by_name(self, enterprise_id, name)

    def counted_directory(self: Registry, enterprise_id: int) -> object:
        queries["directory"] += 1
        return directory(self, enterprise_id)

    monkeypatch.setattr(Registry, "device_ref_by_name", counted_by_name)
    monkeypatch.setattr(Registry, "device_refs_of_enterprise", counted_directory)
    for round_ in range(5):
        _send(world, names, 2.0 + round_)
    assert queries["by_name"] == 0
    assert queries["directory"] <= 1  # at most one reload of the whole directory


def test_a_deleted_device_behind_a_gateway_is_not_served_from_the_cache(
    world: IngestWorld,
) -> None:
    _send(world, ["机台 A"], 1.0)
    first = world.registry.device_ref_by_name(world.enterprise, "机台 A")
    assert first is not None
    world.registry.delete_device(first.id)
    world.app._devices.forget(first.id)  # what revoking a device's access does
    _send(world, ["机台 A"], 2.0)
    again = world.registry.device_ref_by_name(world.enterprise, "机台 A")
    # A gateway's data creates its device, as in ThingsBoard: a new one, never the deleted.
    assert again is not None and again.id != first.id
