"""What a district-wide view reads from the registry in a few queries, whatever the district's
size: every open alarm as (enterprise, device, severity), every active consent, every device's
place. Callers aggregate and scope these in memory; no query here runs per enterprise or device.
The rows are read as plain tuples on the session's connection, without the ORM's per-row work
(a third of the time for a district's 2,000 devices).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from shugu.store.registry.core import RegistryCore
from shugu.store.registry.models import Alarm, Asset, Consent, Device

#: Statuses of an alarm that is not cleared (as ``monitor.alarms.OPEN_STATUSES``).
_OPEN = ("active", "acknowledged")


@dataclass(frozen=True, slots=True)
class OpenAlarmRow:
    enterprise_id: int
    device_id: int
    severity: str


@dataclass(frozen=True, slots=True)
class DevicePlace:
    """A device as a district view places it: its enterprise, name and profile."""

    id: int
    enterprise_id: int
    name: str
    profile: str


@dataclass(frozen=True, slots=True)
class DeviceAssetRow:
    """A device with the asset it hangs under and when it was registered (ms)."""

    id: int
    enterprise_id: int
    asset_id: int | None
    name: str
    profile: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class AssetRow:
    id: int
    enterprise_id: int
    parent_id: int | None
    level: str
    name: str


class RegionCountsMixin(RegistryCore):
    def open_alarm_rows(self) -> list[OpenAlarmRow]:
        """Every open alarm, three columns each (no detail, no history)."""
        query = select(Alarm.enterprise_id, Alarm.device_id, Alarm.severity).where(
            Alarm.status.in_(_OPEN)
        )
        with self._session() as session:
            rows = session.connection().execute(query).all()
        return [OpenAlarmRow(int(e), int(d), str(s)) for e, d, s in rows]

    def active_consents(self) -> set[tuple[int, str]]:
        """(enterprise id, grantee) of every consent in force."""
        query = select(Consent.enterprise_id, Consent.grantee).where(Consent.revoked_at.is_(None))
        with self._session() as session:
            rows = session.connection().execute(query).all()
        return {(int(e), str(g)) for e, g in rows}

    def device_places(self) -> list[DevicePlace]:
        """Every device that is not deleted, by id."""
        query = (
            select(Device.id, Device.enterprise_id, Device.name, Device.profile)
            .where(Device.deleted_at.is_(None))
            .order_by(Device.id)
        )
        with self._session() as session:
            rows = session.connection().execute(query).all()
        return [DevicePlace(i, e, n, p) for i, e, n, p in rows]

    def device_asset_rows(self) -> list[DeviceAssetRow]:
        """Every device that is not deleted, with its asset and registration time."""
        query = (
            select(
                Device.id,
                Device.enterprise_id,
                Device.asset_id,
                Device.name,
                Device.profile,
                Device.created_at,
            )
            .where(Device.deleted_at.is_(None))
            .order_by(Device.id)
        )
        with self._session() as session:
            rows = session.execute(query).all()
        return [
            DeviceAssetRow(
                int(i),
                int(e),
                None if a is None else int(a),
                str(n),
                str(p),
                int(c.timestamp() * 1000),
            )
            for i, e, a, n, p, c in rows
        ]

    def asset_rows(self) -> list[AssetRow]:
        """Every asset of every enterprise."""
        query = select(Asset.id, Asset.enterprise_id, Asset.parent_id, Asset.level, Asset.name)
        with self._session() as session:
            rows = session.connection().execute(query).all()
        return [
            AssetRow(int(i), int(e), None if p is None else int(p), str(lv), str(n))
            for i, e, p, lv, n in rows
        ]
