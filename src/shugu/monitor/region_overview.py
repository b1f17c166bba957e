"""The region at a glance, for the bureau's wall display and enterprise list: enterprises and
devices online by park, open alarms by park and severity, points stored today, and the state of
each machine of the enterprises that let the caller read their machine values.

Counts name no machine and the bureau sees them for every enterprise (alarm counts as
``Access.can_count_alarms`` says); a machine's own state (running, stopped, in alarm) is a
machine value, shown only where ``Access.can_read_machines`` holds. An enterprise that has not
consented appears in counts only.

The whole overview is a handful of queries whatever the district's size: parks, regions,
enterprises, devices, open alarms (three columns) and consents, each read once; the devices'
latest values come from the store's in-memory cache in one call, today's points from a running
tally (``store/ingest_today.py``). Consents are read once and the caller's ``Access`` asked
against them, so no question is sent to the registry per enterprise.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shugu.domain.errors import ForbiddenError, ValidationError
from shugu.domain.profiles import MetricKind, get_profile
from shugu.domain.tenancy import Access, Grantee, Role
from shugu.monitor.alarm_counts import SeverityCounts, count_open_alarms
from shugu.monitor.liveness import LatestValues, Liveness, states
from shugu.monitor.model import SEVERITY_RANK, Severity
from shugu.store.ingest_today import CountedStore, ingest_today
from shugu.store.registry import EnterpriseRecord, ParkRecord, Registry
from shugu.store.registry.region_counts import DevicePlace


class MachineState(StrEnum):
    """What a machine is doing now, worst first as a wall display ranks them."""

    OFFLINE = "offline"
    ALARM = "alarm"
    STOPPED = "stopped"
    RUNNING = "running"
    #: Reporting, of a kind that has no run state (a meter, a rack sensor).
    NORMAL = "normal"


@dataclass(frozen=True, slots=True)
class Machine:
    id: int
    name: str
    state: MachineState
    worst: Severity | None


@dataclass(frozen=True, slots=True)
class EnterpriseOverview:
    enterprise: EnterpriseRecord
    park_name: str
    devices: int
    #: Devices that reported within their profile's offline window (stale ones included).
    online: int
    #: None where the caller may not count the enterprise's alarms.
    alarms: SeverityCounts | None
    bureau_consent: bool
    operator_consent: bool
    points_today: int
    #: None where the caller may not read the enterprise's machine values.
    machines: list[Machine] | None

    @property
    def online_share(self) -> float | None:
        return self.online / self.devices if self.devices else None


@dataclass(frozen=True, slots=True)
class ParkOverview:
    park: ParkRecord
    enterprises: int
    devices: int
    online: int
    #: Over the enterprises whose alarms the caller may count.
    alarms: SeverityCounts
    points_today: int
    #: Points stored in each hour of today (local time, hour 0 from midnight).
    points_by_hour: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RegionOverview:
    as_of_ms: int
    day_start_ms: int
    region_names: list[str]
    parks: list[ParkOverview]
    enterprises: list[EnterpriseOverview]

    @property
    def devices(self) -> int:
        return sum(p.devices for p in self.parks)

    @property
    def online(self) -> int:
        return sum(p.online for p in self.parks)

    @property
    def alarms(self) -> SeverityCounts:
        total: Counter[Severity] = Counter()
        for p in self.parks:
            total.update(p.alarms.counts)
        return SeverityCounts(dict(total))

    @property
    def points_today(self) -> int:
        return sum(p.points_today for p in self.parks)

    @property
    def alarms_counted(self) -> int:
        """Enterprises whose alarms the counts cover."""
        return sum(1 for e in self.enterprises if e.alarms is not None)

    def shared(self) -> list[EnterpriseOverview]:
        """Enterprises whose machines the caller may see, by park then name."""
        return [e for e in self.enterprises if e.machines is not None]

    def machine_states(self) -> StateCounts:
        """Machines per state over the enterprises the caller may see."""
        return StateCounts(Counter(m.state for e in self.shared() for m in e.machines or ()))


@dataclass(frozen=True, slots=True)
class StateCounts:
    """Machines per state."""

    counts: Counter[MachineState]

    def of(self, state: MachineState) -> int:
        return self.counts.get(state, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@functools.cache
def run_state(profile_name: str) -> tuple[str, frozenset[int]] | None:
    """The profile's metric that tells running from stopped, and its running codes: a state
    metric with a state named RUNNING (a loom's ``running``, a CRAH's ``fan_running``)."""
    try:
        profile = get_profile(profile_name)
    except ValidationError:
        return None
    for name, spec in profile.metrics.items():
        if spec.kind is not MetricKind.STATE or not spec.states:
            continue
        running = frozenset(
            code for code, s in spec.states.items() if (s.name or "").upper() == "RUNNING"
        )
        if running:
            return name, running
    return None


def machine_state(
    device: DevicePlace, liveness: Liveness, worst: Severity | None, run_value: float | None
) -> MachineState:
    """Offline first (its alarm follows from the silence), then in alarm, then what its run
    state says; a machine of a kind without one is "reporting"."""
    if liveness is Liveness.OFFLINE:
        return MachineState.OFFLINE
    if worst is not None:
        return MachineState.ALARM
    known = run_state(device.profile)
    if known is None or run_value is None:
        return MachineState.NORMAL
    return MachineState.RUNNING if round(run_value) in known[1] else MachineState.STOPPED


def run_values(latest: pa.Table, devices: Sequence[DevicePlace]) -> dict[int, float]:
    """Each device's latest value of its run-state metric, picked from the latest values of
    every series at once (a few thousand rows of tens of thousands, without a Python loop over
    the rest)."""
    wanted = {d.id: known[0] for d in devices if (known := run_state(d.profile)) is not None}
    if not wanted or latest.num_rows == 0:
        return {}
    metric = pc.cast(latest.column("metric"), pa.string())
    names = pa.array(sorted(set(wanted.values())), pa.string())
    keep = pc.and_(
        pc.is_in(metric, value_set=names),
        pc.is_in(latest.column("device"), value_set=pa.array(list(wanted), pa.int32())),
    )
    rows = zip(
        pc.filter(latest.column("device"), keep).to_pylist(),
        pc.filter(metric, keep).to_pylist(),
        pc.filter(latest.column("value"), keep).to_pylist(),
        strict=True,
    )
    return {d: float(v) for d, m, v in rows if wanted.get(d) == m}


def _worst_by_device(rows: Sequence[tuple[int, str]]) -> dict[int, Severity]:
    worst: dict[int, Severity] = {}
    for device_id, text in rows:
        try:
            severity = Severity(text)
        except ValueError:
            continue
        known = worst.get(device_id)
        if known is None or SEVERITY_RANK[severity] < SEVERITY_RANK[known]:
            worst[device_id] = severity
    return worst


class OverviewStore(CountedStore, Protocol):
    """What the overview reads of the telemetry store: latest values and today's points."""

    def latest(self, devices: Sequence[int] | None) -> pa.Table: ...


def region_overview(
    registry: Registry, store: OverviewStore, access: Access, now_ms: int
) -> RegionOverview:
    """The region as ``access`` may see it: a park official its own park only; 403 for
    callers without district-wide counts."""
    own_park = access.principal.park_id if access.role is Role.PARK_OFFICIAL else None
    if own_park is None and not access.can_read_aggregates():
        raise ForbiddenError(
            "the region overview is for the bureau, park officials and the platform operator",
            code="forbidden",
        )
    consents = registry.active_consents()
    parks = registry.list_parks()
    enterprises = registry.list_enterprises(own_park)
    if own_park is not None:
        parks = [p for p in parks if p.id == own_park]
    park_of = {e.id: e.park_id for e in enterprises}
    scoped = Access(access.principal, lambda e, g: (e, str(g)) in consents, park_of.get)
    devices = registry.device_places()
    alarm_rows = registry.open_alarm_rows()

    by_enterprise: dict[int, list[DevicePlace]] = defaultdict(list)
    for d in devices:
        by_enterprise[d.enterprise_id].append(d)
    table = store.latest(None)
    liveness = states({d.id: d.profile for d in devices}, LatestValues(table).last_seen(), now_ms)
    today = ingest_today(store)
    per_device = today.per_device()

    def counted(device_ids: Sequence[int]) -> npt.NDArray[np.int64]:
        """The ids the tally has rows for (a device that never sent has none)."""
        ids = np.asarray(device_ids, np.int64)
        return ids[(ids >= 0) & (ids < len(per_device))]

    def points_of(device_ids: Sequence[int]) -> int:
        return int(per_device[counted(device_ids)].sum())

    readable = {e.id for e in enterprises if scoped.can_read_machines(e.id)}
    values = run_values(table, [d for e in readable for d in by_enterprise.get(e, ())])
    worst = _worst_by_device(
        [(r.device_id, r.severity) for r in alarm_rows if r.enterprise_id in readable]
    )
    alarm_counts = count_open_alarms(alarm_rows, enterprises, parks, scoped)
    enterprise_alarms = {n.id: n.alarms for n in alarm_counts.enterprises}
    park_alarms = {n.id: n.alarms for n in alarm_counts.parks}

    park_names = {p.id: p.name for p in parks}
    overviews: list[EnterpriseOverview] = []
    for e in sorted(enterprises, key=lambda e: (e.park_id, e.name, e.id)):
        own = by_enterprise.get(e.id, [])
        machines = None
        if e.id in readable:
            machines = [
                Machine(
                    d.id,
                    d.name,
                    machine_state(d, liveness[d.id], worst.get(d.id), values.get(d.id)),
                    worst.get(d.id),
                )
                for d in sorted(own, key=lambda d: (d.name, d.id))
            ]
        overviews.append(
            EnterpriseOverview(
                enterprise=e,
                park_name=park_names.get(e.park_id, str(e.park_id)),
                devices=len(own),
                online=sum(1 for d in own if liveness[d.id] is not Liveness.OFFLINE),
                alarms=enterprise_alarms.get(e.id),
                bureau_consent=(e.id, Grantee.BUREAU.value) in consents,
                operator_consent=(e.id, Grantee.OPERATOR.value) in consents,
                points_today=points_of([d.id for d in own]),
                machines=machines,
            )
        )

    park_overviews = []
    for park in parks:
        members = [o for o in overviews if o.enterprise.park_id == park.id]
        ids = [d.id for o in members for d in by_enterprise.get(o.enterprise.id, [])]
        hours = tuple(int(n) for n in today.by_device_hour[counted(ids)].sum(axis=0))
        park_overviews.append(
            ParkOverview(
                park=park,
                enterprises=len(members),
                devices=sum(o.devices for o in members),
                online=sum(o.online for o in members),
                alarms=park_alarms.get(park.id, SeverityCounts()),
                points_today=sum(o.points_today for o in members),
                points_by_hour=hours,
            )
        )
    return RegionOverview(
        as_of_ms=now_ms,
        day_start_ms=today.day_start_ms,
        region_names=[r.name for r in registry.list_regions()],
        parks=park_overviews,
        enterprises=overviews,
    )
