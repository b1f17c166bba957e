"""Incidents (事件): alarms that share a cause, grouped as they are raised.

One fault shows as many alarms: a CRAH trips and thirty racks in its hall warm; a gateway drops
and every device behind it goes silent. Each alarm joins the open incident it is related to,
or opens one:

- related by topology: the same device (a device and its offline alarm), the same line of the
  asset tree (site → area → line → unit), a device and the ones it cools or feeds (and those
  cooled by the same unit), a gateway and the devices it carries (the gateway ingest last saw
  publishing for each, ``devices.gateway_id``; for offline alarms, also the other devices behind
  the same gateway);
- related by time: raised within ``window_ms`` of the newest alarm already in the incident.

The probable cause is the most upstream alarm: the lowest rank of the device's kind (a gateway
before a CRAH before a rack sensor, ``incidents.yaml``), a device's offline alarm before its
other alarms, then the earliest. Everything here is pure and in memory: it runs only when an
alarm changes, never per point (decision 0044).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

from shugu.monitor.model import SEVERITY_RANK, Severity
from shugu.store.registry.records import AssetRecord, DeviceRecord

#: Device attributes that name, by device name, the units upstream of a device: what cools it
#: (a rack's CRAHs) and what feeds it (a pump's supply). A name or a list of names.
LINK_ATTRIBUTES = ("cooled_by", "fed_by")


class GroupingRules(BaseModel):
    """The grouping's tunables, as data (``incidents.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: int = Field(ge=1, le=24 * 3600)
    #: Rank of a device kind: lower is further upstream. ``gateway`` ranks gateways.
    ranks: dict[str, int]
    #: Rank of a profile not listed.
    default_rank: int


def load_rules() -> GroupingRules:
    text = resources.files("shugu.monitor").joinpath("incidents.yaml").read_text("utf-8")
    return GroupingRules.model_validate(yaml.safe_load(text))


@dataclass(frozen=True, slots=True)
class Place:
    """Where a device sits for grouping."""

    device_id: int
    enterprise_id: int
    #: The line (or unit) asset its alarms group by; None: above any line, or no asset.
    line: int | None
    #: Devices that cool or feed it: their faults reach it physically.
    physical_up: frozenset[int]
    #: The gateway that carries its data (``devices.gateway_id``): its faults silence it.
    carriers: frozenset[int]
    rank: int


class Topology:
    """Each device's place, built from the registry's devices and assets and the link
    attributes; rebuilt when the monitor rereads its configuration."""

    def __init__(self, places: Mapping[int, Place]) -> None:
        self._places = dict(places)

    @classmethod
    def build(
        cls,
        devices: Sequence[DeviceRecord],
        assets: Sequence[AssetRecord],
        links: Iterable[tuple[int, str, str]],
        rules: GroupingRules,
    ) -> Topology:
        """``links``: (device id, attribute key, JSON value) of the ``LINK_ATTRIBUTES``."""
        by_id = {a.id: a for a in assets}
        by_name = {(d.enterprise_id, d.name): d.id for d in devices}
        owner = {d.id: d.enterprise_id for d in devices}
        ups: dict[int, set[int]] = {}
        for device_id, _key, raw in links:
            enterprise_id = owner.get(device_id)
            if enterprise_id is None:
                continue
            for name in _names(raw):
                up = by_name.get((enterprise_id, name))
                if up is not None and up != device_id:
                    ups.setdefault(device_id, set()).add(up)
        places: dict[int, Place] = {}
        for d in devices:
            rank = rules.ranks.get(
                "gateway" if d.is_gateway else d.profile,
                rules.default_rank,
            )
            # Carried by the gateway ingest last saw publishing for it (``devices.gateway_id``),
            # not by every gateway of its enterprise: a device that posts over HTTP, or sits
            # behind the mill's other gateway, does not fall silent with this one.
            carriers = () if d.gateway_id is None or d.gateway_id == d.id else (d.gateway_id,)
            places[d.id] = Place(
                d.id,
                d.enterprise_id,
                _line_of(d.asset_id, by_id),
                frozenset(ups.get(d.id, ())),
                frozenset(carriers),
                rank,
            )
        return cls(places)

    def place(self, device_id: int, enterprise_id: int) -> Place:
        """The device's place; a device not known yet stands alone."""
        found = self._places.get(device_id)
        if found is None:
            return Place(device_id, enterprise_id, None, frozenset(), frozenset(), 1_000)
        return found


def _line_of(asset_id: int | None, assets: Mapping[int, AssetRecord]) -> int | None:
    """The line above (or at) the asset; a unit's own line. Devices hung on a site or an area
    group with nothing by the tree: a whole building is too wide a cause."""
    seen: set[int] = set()
    while asset_id is not None and asset_id not in seen:
        seen.add(asset_id)
        asset = assets.get(asset_id)
        if asset is None:
            return None
        if asset.level == "line":
            return asset.id
        asset_id = asset.parent_id
    return None


def _names(raw: str) -> list[str]:
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


@dataclass(frozen=True, slots=True)
class AlarmFact:
    """What grouping needs of an alarm."""

    alarm_id: int
    device_id: int
    enterprise_id: int
    raised_ms: int
    severity: Severity
    #: The device's offline (no data) alarm.
    offline: bool


@dataclass(slots=True)
class OpenIncident:
    """An incident not closed, as the grouper keeps it: its members and what they touch."""

    #: The registry's id; None until the incident is written.
    id: int | None
    enterprise_id: int
    #: ``open`` or ``acknowledged``, as last written (the desk keeps it, so that an alarm
    #: joining needs no read of the registry).
    state: str = "open"
    members: list[tuple[AlarmFact, Place]] = field(default_factory=list)
    open_alarms: set[int] = field(default_factory=set)
    devices: set[int] = field(default_factory=set)
    lines: set[int] = field(default_factory=set)
    physical_up: set[int] = field(default_factory=set)
    carriers: set[int] = field(default_factory=set)
    #: Gateways of members whose alarm is an offline one.
    silent_carriers: set[int] = field(default_factory=set)
    newest_ms: int = 0

    def add(self, fact: AlarmFact, place: Place, *, still_open: bool = True) -> None:
        self.members.append((fact, place))
        if still_open:
            self.open_alarms.add(fact.alarm_id)
        self.devices.add(place.device_id)
        if place.line is not None:
            self.lines.add(place.line)
        self.physical_up |= place.physical_up
        self.carriers |= place.carriers
        if fact.offline:
            self.silent_carriers |= place.carriers
        self.newest_ms = max(self.newest_ms, fact.raised_ms)

    def related(self, fact: AlarmFact, place: Place) -> bool:
        d = place.device_id
        return (
            d in self.devices
            or (place.line is not None and place.line in self.lines)
            or bool(place.physical_up & (self.devices | self.physical_up))
            or d in self.physical_up
            or d in self.carriers
            or bool(place.carriers & self.devices)
            or (fact.offline and bool(place.carriers & self.silent_carriers))
        )

    @property
    def cause(self) -> AlarmFact:
        return min(self.members, key=_upstream_first)[0]

    def most_upstream(self, alarm_ids: Iterable[int]) -> AlarmFact:
        """The most upstream of some of its alarms (those new in a turn)."""
        wanted = set(alarm_ids)
        return min((m for m in self.members if m[0].alarm_id in wanted), key=_upstream_first)[0]

    @property
    def severity(self) -> Severity:
        return min((f.severity for f, _p in self.members), key=SEVERITY_RANK.__getitem__)


def _upstream_first(member: tuple[AlarmFact, Place]) -> tuple[int, int, int, int]:
    fact, place = member
    return (place.rank, 0 if fact.offline else 1, fact.raised_ms, fact.alarm_id)


@dataclass(frozen=True, slots=True)
class Placement:
    incident: OpenIncident
    #: The alarm opened the incident (its notice goes out).
    opened: bool
    #: The probable cause changed with this alarm.
    cause_changed: bool


class IncidentGrouper:
    """Open incidents by enterprise; ``place`` puts a raised alarm into one."""

    def __init__(self, topology: Topology, window_ms: int) -> None:
        self.topology = topology
        self.window_ms = window_ms
        self._open: dict[int, list[OpenIncident]] = {}
        self._of_alarm: dict[int, OpenIncident] = {}

    def place(self, fact: AlarmFact) -> Placement:
        where = self.topology.place(fact.device_id, fact.enterprise_id)
        candidates = [
            incident
            for incident in self._open.get(fact.enterprise_id, ())
            if abs(fact.raised_ms - incident.newest_ms) <= self.window_ms
            and incident.related(fact, where)
        ]
        if candidates:
            # The most recently active one: a fault spreading now belongs with what just happened.
            incident = max(candidates, key=lambda i: i.newest_ms)
            before = incident.cause.alarm_id
            incident.add(fact, where)
            self._of_alarm[fact.alarm_id] = incident
            return Placement(incident, False, incident.cause.alarm_id != before)
        incident = OpenIncident(None, fact.enterprise_id)
        incident.add(fact, where)
        self._open.setdefault(fact.enterprise_id, []).append(incident)
        self._of_alarm[fact.alarm_id] = incident
        return Placement(incident, True, True)

    def restore(
        self, incident_id: int, members: Sequence[tuple[AlarmFact, bool]], state: str = "open"
    ) -> None:
        """An incident not closed, read back from the registry after a restart: its alarms
        with whether each is still open."""
        incident = OpenIncident(incident_id, members[0][0].enterprise_id, state)
        for fact, still_open in sorted(members, key=lambda m: m[0].raised_ms):
            incident.add(
                fact, self.topology.place(fact.device_id, fact.enterprise_id), still_open=still_open
            )
            if still_open:
                self._of_alarm[fact.alarm_id] = incident
        self._open.setdefault(incident.enterprise_id, []).append(incident)

    def incident_of(self, alarm_id: int) -> OpenIncident | None:
        return self._of_alarm.get(alarm_id)

    def alarm_closed(self, alarm_id: int) -> OpenIncident | None:
        """The alarm is cleared: its incident, which closed if it was its last open alarm."""
        incident = self._of_alarm.pop(alarm_id, None)
        if incident is None:
            return None
        incident.open_alarms.discard(alarm_id)
        if not incident.open_alarms:
            self._open[incident.enterprise_id].remove(incident)
        return incident

    def forget(self, incident: OpenIncident) -> None:
        """Drop an incident the registry could not keep."""
        kept = self._open.get(incident.enterprise_id, [])
        if incident in kept:
            kept.remove(incident)
        for alarm_id in incident.open_alarms:
            self._of_alarm.pop(alarm_id, None)

    def open_incidents(self) -> list[OpenIncident]:
        return [i for kept in self._open.values() for i in kept]


def group(facts: Sequence[AlarmFact], topology: Topology, window_ms: int) -> list[list[AlarmFact]]:
    """The alarms as incidents, in order of raising: the grouping as one call (tests, bench).
    Each group's first alarm opened it; ``probable_cause`` names its cause."""
    grouper = IncidentGrouper(topology, window_ms)
    order: list[OpenIncident] = []
    for fact in sorted(facts, key=lambda f: (f.raised_ms, f.alarm_id)):
        placement = grouper.place(fact)
        if placement.opened:
            order.append(placement.incident)
    return [[f for f, _p in incident.members] for incident in order]


def probable_cause(members: Sequence[AlarmFact], topology: Topology) -> AlarmFact:
    return min(
        ((f, topology.place(f.device_id, f.enterprise_id)) for f in members),
        key=_upstream_first,
    )[0]
