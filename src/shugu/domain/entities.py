"""Plain records that cross room boundaries (the registry hands them to ingest and the api)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the hot path needs to know about a device: identity, tenant, profile."""

    id: int
    enterprise_id: int
    name: str
    profile: str
