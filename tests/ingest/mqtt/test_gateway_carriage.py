"""Ingest learns which gateway carries a device (``devices.gateway_id``) from the gateway that
publishes for it: on first sight and when it moves to another gateway, one registry write each;
every other message writes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.fuzz_ingest import IngestWorld, _Connection

from shugu.domain.entities import DeviceRef
from shugu.ingest.mqtt.codec import Publish
from shugu.store.registry import Registry


@pytest.fixture
def world(tmp_path: Path) -> Iterator[IngestWorld]:
    opened = IngestWorld(tmp_path)
    yield opened
    opened.close()


def _publish(world: IngestWorld, gateway: DeviceRef, topic: str, doc: object) -> None:
    publish = Publish(topic, json.dumps(doc).encode(), 1, False, False, 1, {})
    outcome = world.run(world.app.on_publish(_Connection(gateway), publish))  # type: ignore[arg-type]
    assert not outcome.code, outcome.reason


def _telemetry(world: IngestWorld, gateway: DeviceRef, name: str, value: float) -> None:
    ts = int(time.time() * 1000) - 60_000 + int(value)
    _publish(world, gateway, "v1/gateway/telemetry", {name: [{"ts": ts, "values": {"t": value}}]})


def _carrier(world: IngestWorld, name: str) -> int | None:
    found = world.registry.device_by_name(world.enterprise, name)
    assert found is not None
    return found.gateway_id


def test_the_gateway_publishing_for_a_device_is_recorded_once_and_when_it_changes(
    world: IngestWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[tuple[int, int | None]] = []
    recorded = Registry.set_device_gateway

    def counted(self: Registry, device_id: int, gateway_id: int | None) -> bool:
        writes.append((device_id, gateway_id))
        return recorded(self, device_id, gateway_id)

    monkeypatch.setattr(Registry, "set_device_gateway", counted)
    changes: list[None] = []
    world.app._carriage_changed = lambda: changes.append(None)
    first = world.devices["gw-1"]
    world.registry.create_device(world.enterprise, "gw-2", "generic", is_gateway=True)
    second = world.registry.device_ref_by_name(world.enterprise, "gw-2")
    assert second is not None

    for value in range(5):
        _telemetry(world, first, "机台 A", float(value))
    assert _carrier(world, "机台 A") == first.id
    assert len(writes) == 1 and len(changes) == 1

    _publish(world, second, "v1/gateway/connect", {"device": "机台 A", "type": "loom"})
    for value in range(5, 10):
        _telemetry(world, second, "机台 A", float(value))
    assert _carrier(world, "机台 A") == second.id
    assert len(writes) == 2 and len(changes) == 2

    _telemetry(world, first, "机台 A", 10.0)  # moved back while the cache still shows gw-1
    assert _carrier(world, "机台 A") == first.id
    assert len(writes) == 3 and len(changes) == 3


def test_a_device_posting_for_itself_is_carried_by_no_gateway(world: IngestWorld) -> None:
    assert _carrier(world, "loom-1") is None
    _telemetry(world, world.devices["gw-1"], "gw-1", 1.0)  # a gateway's own data
    assert _carrier(world, "gw-1") is None
