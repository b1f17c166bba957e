"""Plain records that cross room boundaries (the registry hands them to ingest and the api)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the hot path needs to know about a device: identity, tenant, profile."""

    id: int
    enterprise_id: int
    name: str
    profile: str
    #: A gateway publishes for the devices behind it (ThingsBoard's gateway API).
    is_gateway: bool = False
    #: The gateway that last published for it; None: it speaks for itself (or not seen yet).
    gateway_id: int | None = None


class DeviceDirectory(Protocol):
    """How ingest finds devices; the registry implements it."""

    def device_for_token(self, token: str) -> DeviceRef | None: ...

    def get_device_ref(self, device_id: int) -> DeviceRef | None: ...

    def device_ref_by_name(self, enterprise_id: int, name: str) -> DeviceRef | None: ...

    def device_refs_of_enterprise(self, enterprise_id: int) -> list[DeviceRef]: ...
