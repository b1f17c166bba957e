"""Grouping alarms into incidents: topology, time, probable cause (monitor/incidents.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from shugu.monitor.incidents import AlarmFact, Topology, group, load_rules, probable_cause
from shugu.monitor.model import Severity
from shugu.store.registry.records import AssetRecord, DeviceRecord

T0 = 1_800_000_000_000
MIN = 60_000
WINDOW = load_rules().window_s * 1000
AT = datetime(2026, 12, 5, tzinfo=UTC)


def _asset(id_: int, parent: int | None, level: str, enterprise: int = 1) -> AssetRecord:
    return AssetRecord(id_, enterprise, parent, level, f"a{id_}", AT)  # type: ignore[arg-type]


def _device(
    id_: int,
    profile: str,
    asset: int | None,
    enterprise: int = 1,
    *,
    is_gateway: bool = False,
    carried_by: int | None = None,
) -> DeviceRecord:
    return DeviceRecord(id_, enterprise, asset, f"d{id_}", profile, is_gateway, AT, carried_by)


# Enterprise 1: a data hall (line 3) with CRAH 10 and racks 100..139; a second hall (line 5)
# with rack 200 that CRAH 10 also cools by its link; a gateway 1 carrying looms 300..329 on
# lines 6 and 7; a second gateway 2 carrying looms 330..339 on line 10; meters 500..504 that
# post over HTTP, on no line. Enterprise 2: a rack 400 on its own line 9.
ASSETS = [
    _asset(1, None, "site"),
    _asset(2, 1, "area"),
    _asset(3, 2, "line"),
    _asset(4, 3, "unit"),
    _asset(5, 2, "line"),
    _asset(6, 2, "line"),
    _asset(7, 2, "line"),
    _asset(8, None, "site", 2),
    _asset(9, 8, "line", 2),
    _asset(10, 2, "line"),
]
DEVICES = [
    _device(10, "crah", 3),
    *[_device(100 + i, "rack_sensor", 4 if i % 2 else 3) for i in range(40)],
    _device(200, "rack_sensor", 5),
    _device(1, "generic", None, is_gateway=True),
    *[_device(300 + i, "loom", 6 if i < 15 else 7, carried_by=1) for i in range(30)],
    _device(2, "generic", None, is_gateway=True),
    *[_device(330 + i, "loom", 10, carried_by=2) for i in range(10)],
    *[_device(500 + i, "power_meter", None) for i in range(5)],
    _device(400, "rack_sensor", 9, enterprise=2),
]
LINKS = [(200, "cooled_by", '["d10"]')]
TOPOLOGY = Topology.build(DEVICES, ASSETS, LINKS, load_rules())

_ids = iter(range(1, 1_000_000))


def alarm(
    device: int,
    at_ms: int,
    *,
    offline: bool = False,
    enterprise: int = 1,
    severity: Severity = Severity.major,
) -> AlarmFact:
    return AlarmFact(next(_ids), device, enterprise, at_ms, severity, offline)


def test_a_crah_trip_is_one_incident_with_the_crah_as_its_probable_cause() -> None:
    # Racks start warming before the fan-stopped alarm's 30 s have run out.
    racks = [alarm(100 + i, T0 + (i % 8) * 30_000, severity=Severity.warning) for i in range(40)]
    crah = alarm(10, T0 + 45_000, severity=Severity.critical)
    more = [alarm(100 + i, T0 + 4 * MIN, severity=Severity.critical) for i in range(1)]
    incidents = group([*racks, crah, *more], TOPOLOGY, WINDOW)
    assert len(incidents) == 1
    (members,) = incidents
    assert len(members) == 42
    assert probable_cause(members, TOPOLOGY) == crah


def test_a_rack_cooled_by_the_crah_in_another_hall_joins_by_its_link() -> None:
    crah = alarm(10, T0)
    linked = alarm(200, T0 + MIN)
    assert group([crah, linked], TOPOLOGY, WINDOW) == [[crah, linked]]


def test_devices_behind_a_gateway_going_silent_are_one_incident() -> None:
    silent = [alarm(300 + i, T0 + i * 1000, offline=True) for i in range(30)]
    incidents = group(silent, TOPOLOGY, WINDOW)
    assert [len(members) for members in incidents] == [30]


def test_a_gateways_own_alarm_is_the_cause_of_its_devices_alarms() -> None:
    looms = [alarm(300 + i, T0 + i * 1000, offline=True) for i in range(5)]
    gateway = alarm(1, T0 + 10_000, offline=True)
    (members,) = group([*looms, gateway], TOPOLOGY, WINDOW)
    assert probable_cause(members, TOPOLOGY) == gateway


def test_devices_behind_another_gateway_or_none_are_not_carried_by_this_one() -> None:
    # The mill's two gateways fail separately; its meters post over HTTP and carry on.
    first = [alarm(300 + i, T0 + i * 1000, offline=True) for i in range(0, 30, 3)]
    second = [alarm(330 + i, T0 + 500 + i * 1000, offline=True) for i in range(10)]
    meter = alarm(500, T0 + 2000, offline=True)
    gateway = alarm(1, T0 + 20_000, offline=True)
    incidents = group([*first, *second, meter, gateway], TOPOLOGY, WINDOW)
    assert sorted(len(members) for members in incidents) == [1, 10, 11]
    (with_gateway,) = [members for members in incidents if gateway in members]
    assert set(with_gateway) == {*first, gateway}
    assert probable_cause(with_gateway, TOPOLOGY) == gateway
    assert [meter] in incidents


def test_a_gateway_carries_nothing_it_has_not_been_seen_publishing_for() -> None:
    unseen = [_device(300 + i, "loom", 6 + i % 2) for i in range(30)]
    kept = [d for d in DEVICES if not 300 <= d.id < 330]
    topology = Topology.build([*kept, *unseen], ASSETS, LINKS, load_rules())
    gateway = alarm(1, T0, offline=True)
    looms = [alarm(300 + i, T0 + 1000, offline=True) for i in (0, 1)]
    assert group([gateway, *looms], topology, WINDOW) == [[gateway], looms[:1], looms[1:]]


def test_ordinary_alarms_on_different_lines_behind_one_gateway_stay_apart() -> None:
    first, other_line = alarm(300, T0), alarm(320, T0 + 1000)
    assert group([first, other_line], TOPOLOGY, WINDOW) == [[first], [other_line]]


def test_a_device_offline_is_the_cause_of_its_other_alarms() -> None:
    stalled = alarm(300, T0)
    offline = alarm(300, T0 + 2 * MIN, offline=True)
    (members,) = group([stalled, offline], TOPOLOGY, WINDOW)
    assert probable_cause(members, TOPOLOGY) == offline


def test_at_the_same_level_the_earlier_alarm_is_the_cause() -> None:
    later, earlier = alarm(101, T0 + MIN), alarm(102, T0)
    (members,) = group([later, earlier], TOPOLOGY, WINDOW)
    assert probable_cause(members, TOPOLOGY) == earlier


def test_alarms_further_apart_than_the_window_are_separate_incidents() -> None:
    first = alarm(101, T0)
    late = alarm(102, T0 + WINDOW + 1)
    assert group([first, late], TOPOLOGY, WINDOW) == [[first], [late]]


def test_the_window_runs_from_the_newest_alarm_of_the_incident() -> None:
    chain = [alarm(101 + i, T0 + i * (WINDOW - 1)) for i in range(4)]
    assert group(chain, TOPOLOGY, WINDOW) == [chain]


def test_another_enterprises_alarm_never_joins() -> None:
    mine = alarm(101, T0)
    theirs = alarm(400, T0 + 1000, enterprise=2)
    assert group([mine, theirs], TOPOLOGY, WINDOW) == [[mine], [theirs]]


def test_a_device_unknown_to_the_topology_stands_alone() -> None:
    known, unknown = alarm(101, T0), alarm(999, T0 + 1000)
    assert group([known, unknown], TOPOLOGY, WINDOW) == [[known], [unknown]]


def test_bad_link_attributes_are_ignored() -> None:
    links = [(200, "cooled_by", "not json"), (200, "fed_by", "42"), (200, "cooled_by", '"d200"')]
    topology = Topology.build(DEVICES, ASSETS, links, load_rules())
    crah, rack = alarm(10, T0), alarm(200, T0 + 1000)
    assert group([crah, rack], topology, WINDOW) == [[crah], [rack]]
