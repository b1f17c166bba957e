"""The two races of revocation, made to happen on purpose.

- A device whose CONNECT is being checked when its credentials are revoked: the check may have
  read the old credentials, so the endpoint refuses the connection right after its CONNACK.
- A device-cache lookup that read the registry while the device was deleted: its answer, which
  may predate the deletion, is not kept.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from shugu.domain.entities import DeviceRef
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.mqtt.codec import Connect, Publish
from shugu.ingest.mqtt.connection import MqttConnection, Outcome
from shugu.ingest.mqtt.server import MqttEndpoint
from shugu.store.registry import Registry

DEVICE = DeviceRef(id=7, enterprise_id=1, name="loom-7", profile="generic")


class GatedApp:
    """Accepts every CONNECT as DEVICE, but only once the test opens the gate."""

    def __init__(self) -> None:
        self.checking = threading.Event()
        self.gate = threading.Event()

    def authenticate(self, connect: Connect) -> DeviceRef | None:
        self.checking.set()
        assert self.gate.wait(10)
        return DEVICE

    def may_subscribe(self, device: DeviceRef, topic_filter: str) -> bool:
        return False

    def on_publish(self, conn: MqttConnection, publish: Publish) -> Awaitable[Outcome]:
        async def stored() -> Outcome:
            return Outcome()

        return stored()

    def on_connected(self, conn: MqttConnection) -> None:
        pass

    def on_disconnected(self, conn: MqttConnection) -> None:
        pass

    def on_refused(self, device: DeviceRef | None, code: str, reason: str) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[MqttEndpoint, GatedApp, int]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = GatedApp()
    served = MqttEndpoint(app, max_packet_bytes=64 * 1024)
    port = asyncio.run_coroutine_threadsafe(served.start("127.0.0.1", 0), loop).result(10)
    try:
        yield served, app, port
    finally:
        app.gate.set()
        asyncio.run_coroutine_threadsafe(served.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_a_connect_checked_while_the_device_was_revoked_is_refused(
    endpoint: tuple[MqttEndpoint, GatedApp, int],
) -> None:
    served, app, port = endpoint
    events: list[tuple[str, int]] = []
    ended = threading.Event()

    def on_connect(
        c: paho.Client, u: object, f: object, rc: ReasonCode, p: Properties | None
    ) -> None:
        events.append(("connack", rc.value))

    def on_disconnect(
        c: paho.Client, u: object, f: object, rc: ReasonCode, p: Properties | None
    ) -> None:
        events.append(("disconnect", rc.value))
        ended.set()

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"race-{time.monotonic_ns()}", protocol=paho.MQTTv5
    )
    client.username_pw_set("the old token")
    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert app.checking.wait(10), "the CONNECT never reached the check"
        # Revoked from another thread (as a route does) while the check is under way.
        assert served.disconnect_device(DEVICE.id, "the device was deleted") == 0
        app.gate.set()
        assert ended.wait(10), "the connection checked against revoked credentials stays up"
        assert events == [("connack", 0), ("disconnect", 0x87)]
    finally:
        client.disconnect()
        client.loop_stop()


def test_other_devices_connecting_meanwhile_are_not_affected(
    endpoint: tuple[MqttEndpoint, GatedApp, int],
) -> None:
    served, app, port = endpoint
    connected = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="other", protocol=paho.MQTTv5)
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert app.checking.wait(10)
        served.disconnect_device(DEVICE.id + 1, "another device was deleted")
        app.gate.set()
        assert connected.wait(10)
        info = client.publish("v1/devices/me/telemetry", b"{}", qos=1)
        info.wait_for_publish(10)
        assert info.is_published()
        assert len(served.connections) == 1
    finally:
        client.disconnect()
        client.loop_stop()


class DeletingDuringLookup:
    """The registry, with a deletion slipped in after a lookup read it and before it returns."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.meanwhile: list[object] = []

    def _race(self) -> None:
        while self.meanwhile:
            action = self.meanwhile.pop()
            assert callable(action)
            action()

    def device_for_token(self, token: str) -> DeviceRef | None:
        return self.registry.device_for_token(token)

    def get_device_ref(self, device_id: int) -> DeviceRef | None:
        found = self.registry.get_device_ref(device_id)
        self._race()
        return found

    def device_ref_by_name(self, enterprise_id: int, name: str) -> DeviceRef | None:
        return self.registry.device_ref_by_name(enterprise_id, name)

    def device_refs_of_enterprise(self, enterprise_id: int) -> list[DeviceRef]:
        found = self.registry.device_refs_of_enterprise(enterprise_id)
        self._race()
        return found


@pytest.fixture
def small_registry(tmp_path: Path) -> Iterator[tuple[Registry, int, int]]:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "滨海工业区")
    ent = registry.create_enterprise(park.id, "长乐纺织", "91110000600037341L")
    device, _ = registry.create_device(ent.id, "loom-1", "loom")
    try:
        yield registry, ent.id, device.id
    finally:
        registry.close()


def test_the_cache_forgets_a_deleted_device_at_once(
    small_registry: tuple[Registry, int, int],
) -> None:
    registry, enterprise_id, device_id = small_registry
    cache = DeviceCache(registry, ttl_s=3600)
    assert cache.by_name(enterprise_id, "loom-1") is not None
    assert cache.by_id(device_id) is not None
    registry.delete_device(device_id)
    assert cache.by_name(enterprise_id, "loom-1") is not None  # cached: why forget is needed
    cache.forget(device_id)
    assert cache.by_name(enterprise_id, "loom-1") is None
    assert cache.by_id(device_id) is None


def test_a_lookup_that_raced_a_deletion_is_not_kept(
    small_registry: tuple[Registry, int, int],
) -> None:
    registry, enterprise_id, device_id = small_registry
    directory = DeletingDuringLookup(registry)
    cache = DeviceCache(directory, ttl_s=3600)

    def delete() -> None:
        registry.delete_device(device_id)
        cache.forget(device_id)

    directory.meanwhile.append(delete)
    assert cache.by_name(enterprise_id, "loom-1") is not None  # read before the deletion
    assert cache.by_name(enterprise_id, "loom-1") is None  # not served from the cache
    directory.meanwhile.append(lambda: cache.forget(device_id))
    cache.by_id(device_id)
    assert cache.by_id(device_id) is None
