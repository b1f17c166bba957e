"""Every enterprise of the platform by park, with its devices (online, stale, offline) and its
accounts: what the platform operator looks after.

Counts only: they name no machine value, so the operator sees them without any enterprise's
consent. A device's state is told by when it last sent a value (``monitor/liveness.py``), read
for all devices at once from the store's cache of latest values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shugu.domain.entities import DeviceRef
from shugu.domain.tenancy import Role
from shugu.monitor.liveness import LatestValues, Liveness, states
from shugu.store.registry import EnterpriseRecord, ParkRecord, Registry
from shugu.store.telemetry import TelemetryStore


@dataclass(frozen=True, slots=True)
class DeviceCounts:
    total: int = 0
    online: int = 0
    stale: int = 0
    offline: int = 0


@dataclass(frozen=True, slots=True)
class EnterpriseFigures:
    enterprise: EnterpriseRecord
    devices: DeviceCounts
    users: int
    admins: int
    gateways: int


@dataclass(frozen=True, slots=True)
class ParkFigures:
    park: ParkRecord
    enterprises: list[EnterpriseFigures]

    @property
    def devices(self) -> DeviceCounts:
        return _sum(e.devices for e in self.enterprises)


def _sum(counts: Iterable[DeviceCounts]) -> DeviceCounts:
    total = online = stale = offline = 0
    for c in counts:
        total += c.total
        online += c.online
        stale += c.stale
        offline += c.offline
    return DeviceCounts(total, online, stale, offline)


def device_counts(
    refs: Sequence[DeviceRef], last_seen: dict[int, int], now_ms: int
) -> DeviceCounts:
    by_state = Counter(states({d.id: d.profile for d in refs}, last_seen, now_ms).values())
    return DeviceCounts(
        len(refs), by_state[Liveness.ONLINE], by_state[Liveness.STALE], by_state[Liveness.OFFLINE]
    )


def enterprise_overview(
    registry: Registry, store: TelemetryStore, now_ms: int, park_id: int | None = None
) -> list[ParkFigures]:
    """Parks in order, each with its enterprises and their figures; only the park ``park_id``
    when given (what a park official is shown of its own park)."""
    last_seen = LatestValues(store.latest(None)).last_seen()
    users = registry.list_users()
    user_count = Counter(u.enterprise_id for u in users if u.enterprise_id is not None)
    admin_count = Counter(
        u.enterprise_id
        for u in users
        if u.enterprise_id is not None and u.role is Role.ENTERPRISE_ADMIN
    )
    parks: list[ParkFigures] = []
    for park in registry.list_parks():
        if park_id is not None and park.id != park_id:
            continue
        figures = []
        for enterprise in registry.list_enterprises(park.id):
            refs = registry.device_refs_of_enterprise(enterprise.id)
            figures.append(
                EnterpriseFigures(
                    enterprise,
                    device_counts(refs, last_seen, now_ms),
                    user_count[enterprise.id],
                    admin_count[enterprise.id],
                    sum(1 for r in refs if r.is_gateway),
                )
            )
        parks.append(ParkFigures(park, figures))
    return parks
