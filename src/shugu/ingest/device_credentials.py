"""A device's credentials: replacing its access token and deleting it, with the old token's
access ended at once everywhere this process holds it.

The registry stops taking the old token; this module then makes everything that already
accepted it let go: the lookup caches forget the device (its next message is refused), its live
MQTT connections are closed and its HTTP long polls end. The API's routes, the operator's pages
and the control socket call these functions; whoever calls has already decided that the caller
may manage the device.
"""

from __future__ import annotations

from typing import Protocol

from shugu.ingest.attributes import AttributeService
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.mqtt.server import MqttEndpoint
from shugu.ingest.rpc import RpcHub
from shugu.store.registry import Registry
from shugu.store.registry.records import DeviceRecord


class DeviceReach(Protocol):
    """Other processes that may hold the device's connections (the fronts of ``--workers``)."""

    def disconnect_device(self, device_id: int, reason: str) -> int: ...


class DeviceAccessHolders(Protocol):
    """What holds a device's access in one process (the runtime's services do)."""

    @property
    def registry(self) -> Registry: ...

    @property
    def device_cache(self) -> DeviceCache: ...

    @property
    def rpc(self) -> RpcHub: ...

    @property
    def attributes(self) -> AttributeService: ...

    @property
    def mqtt(self) -> MqttEndpoint | None: ...

    @property
    def fronts(self) -> DeviceReach | None: ...


def revoke_device_access(holders: DeviceAccessHolders, device_id: int, reason: str) -> int:
    """After a device's credentials were revoked in the registry (token rotated, device
    deleted): forget it in the lookup caches, so that its next message is refused, close its
    live MQTT connections and end its HTTP long polls. Returns how many connections were
    closed. Safe from any thread (sync routes and the control socket call it from workers)."""
    holders.device_cache.forget(device_id)
    closed = 0
    try:
        if holders.fronts is not None:
            holders.fronts.disconnect_device(device_id, reason)
        if holders.mqtt is not None:
            closed = holders.mqtt.disconnect_device(device_id, reason)
    finally:
        holders.rpc.forget(device_id)
        holders.attributes.forget(device_id)
    return closed


def rotate_device_token(holders: DeviceAccessHolders, device_id: int) -> str:
    """Give the device a new access token (returned, to be shown once); the old one stops
    working at once, its connections and polls included."""
    token = holders.registry.rotate_device_token(device_id)
    revoke_device_access(holders, device_id, "the device's access token was replaced")
    return token


def delete_device(holders: DeviceAccessHolders, device_id: int) -> DeviceRecord:
    """Delete the device: its token stops working and its live connections are closed at once.
    Its past points stay until retention removes them; its name may be given to a new device."""
    record = holders.registry.delete_device(device_id)
    revoke_device_access(holders, device_id, "the device was deleted")
    return record
