"""The alarm book's incidents kept in memory (monitor/incidents_desk.py): a turn's incident writes
go with its alarms in one transaction, nothing is read back per alarm, and a restart or a failed
turn rebuilds the open incidents from the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from shugu.monitor.alarms import AlarmBook, NotifyConfig
from shugu.monitor.engine import DeviceInfo, Transition
from shugu.monitor.incidents import load_rules
from shugu.monitor.incidents_desk import build_topology
from shugu.monitor.model import AlarmNotice, NoticeEvent, Severity
from shugu.monitor.notify.channels import ChannelConfig, parse_channels
from shugu.monitor.notify.escalation import EscalationPolicy
from shugu.monitor.rules import default_rules
from shugu.store.registry import Registry
from shugu.store.registry import incidents as registry_incidents

T0 = 1_796_457_600_000
RACKS = 4


class _NoLinks:
    def attributes_named(self, keys: object) -> list[Any]:
        return []


class Hall:
    """A data hall (one line: a CRAH and its racks) and an alarm book over it, restartable."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        region = registry.create_region("350100", "福州市")
        park = registry.create_park(region.id, "长乐数字经济产业园", "350112")
        ent = registry.create_enterprise(park.id, "福州滨海云数据中心", "91350112MA000901XW")
        site = registry.create_asset(ent.id, "site", "一号楼")
        area = registry.create_asset(ent.id, "area", "二层", site.id)
        line = registry.create_asset(ent.id, "line", "一号数据机房", area.id)
        self.crah = registry.create_device(ent.id, "精密空调 02", "crah", asset_id=line.id)[0].id
        self.racks = [
            registry.create_device(ent.id, f"机柜 R{i:03d}", "rack_sensor", asset_id=line.id)[0].id
            for i in range(RACKS)
        ]
        self.rules = {ref: rule for ref, (_p, rule) in default_rules().items()}
        self.devices = {
            d.id: DeviceInfo(d.id, d.enterprise_id, d.name, d.profile)
            for d in registry.all_devices()
        }
        channels: dict[str, ChannelConfig] = parse_channels(
            [{"kind": "webhook", "name": "ops", "url": "https://hooks.example.com/shugu"}]
        )
        self.config = NotifyConfig(channels, EscalationPolicy(first=["ops"]))
        self.notices: list[AlarmNotice] = []
        self.now = T0
        self.book = self.start()

    def start(self) -> AlarmBook:
        """A new book on the same registry, as after a restart of the monitor."""
        book = AlarmBook(
            self.registry,
            rule_of=lambda ref, _d: self.rules.get(ref),
            device_of=self.devices.get,
            notify_config=lambda _e: self.config,
            notify=lambda notice, _c: self.notices.append(notice),
            clock=lambda: self.now,
        )
        topology = build_topology(self.registry, _NoLinks(), load_rules())  # type: ignore[arg-type]
        book.incidents.set_topology(topology)
        return book

    def raise_(self, device: int, ref: str = "rack_sensor.inlet_high") -> None:
        self.now += 10_000
        self.book.apply([Transition(ref, device, True, self.now, 29.0, Severity.major)])

    def clear(self, device: int, ref: str = "rack_sensor.inlet_high") -> None:
        self.now += 10_000
        self.book.apply([Transition(ref, device, False, self.now, 24.0, Severity.major)])

    def raised_notices(self) -> list[AlarmNotice]:
        return [n for n in self.notices if n.event is NoticeEvent.raised]


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        yield Hall(registry)
    finally:
        registry.close()


def test_an_alarm_joining_an_incident_costs_one_transaction_and_no_read(hall: Hall) -> None:
    hall.raise_(hall.racks[0])
    statements: list[str] = []
    engine = hall.registry._engine

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement.split()[0].upper())

    commits: list[int] = []

    def committed(_conn: Any) -> None:
        commits.append(len(statements))

    event.listen(engine, "before_cursor_execute", seen)
    event.listen(engine, "commit", committed)
    try:
        hall.raise_(hall.racks[1])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        event.remove(engine, "commit", committed)
    # The alarm, its history, the incident's new count and the alarm's link: one transaction.
    assert commits == [len(statements)] and "SELECT" not in statements, statements
    [incident] = hall.registry.list_incidents(None)
    assert incident.alarm_count == 2
    assert len(hall.registry.list_alarms(None, incident_id=incident.id)) == 2


def test_after_a_restart_open_incidents_are_rebuilt_from_the_registry(hall: Hall) -> None:
    hall.raise_(hall.racks[0])
    hall.raise_(hall.racks[1])
    [incident] = hall.registry.list_incidents(None)
    [first] = hall.raised_notices()
    assert first.incident_id == incident.id
    hall.book.acknowledge_incident(incident.id, "engineer")
    assert hall.registry.get_incident(incident.id).state == "acknowledged"

    hall.book = hall.start()
    # A new alarm on the same line joins the incident read back, and, it being acknowledged,
    # opens it again with one notice; its members and state came from the registry.
    hall.raise_(hall.crah, "crah.fan_stopped")
    [again] = hall.registry.list_incidents(None)
    assert (again.id, again.state, again.alarm_count) == (incident.id, "open", 3)
    crah_alarm = hall.registry.list_alarms(None, device_id=hall.crah)[0]
    assert again.cause_alarm_id == crah_alarm.id
    reopened = hall.raised_notices()[-1]
    assert (reopened.incident_id, reopened.incident_reopened) == (incident.id, True)
    hall.raise_(hall.racks[2])
    assert len(hall.raised_notices()) == 2
    # Its last alarm clearing, after another restart, closes it.
    hall.book = hall.start()
    for device in hall.racks[:3]:
        hall.clear(device)
    assert hall.registry.get_incident(incident.id).state == "open"
    hall.now += 10_000
    hall.book.apply(
        [Transition("crah.fan_stopped", hall.crah, False, hall.now, 1.0, Severity.critical)]
    )
    closed = hall.registry.get_incident(incident.id)
    assert closed.state == "closed" and closed.closed_at is not None


def test_a_turn_that_does_not_commit_leaves_no_trace_in_memory(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    hall.raise_(hall.racks[0])
    write_rows = registry_incidents.write_incident_rows

    def fails(session: Any, writes: Any) -> Any:
        write_rows(session, writes)  # planned and written, then the transaction fails
        raise RuntimeError("the registry went away")

    monkeypatch.setattr(registry_incidents, "write_incident_rows", fails)
    with pytest.raises(RuntimeError):
        hall.raise_(hall.racks[1])
    monkeypatch.undo()
    # The alarm was not kept, and the incident in memory is the registry's again.
    assert len(hall.registry.list_alarms(None)) == 1
    [incident] = hall.book.incidents.open_incidents()
    assert len(incident.members) == 1
    hall.raise_(hall.racks[1])
    [stored] = hall.registry.list_incidents(None)
    assert stored.alarm_count == 2
    assert len(hall.registry.list_alarms(None, incident_id=stored.id)) == 2


def _reminding(hall: Hall) -> None:
    hall.config = NotifyConfig(
        hall.config.channels, EscalationPolicy(first=["ops"], repeat_every_min=1)
    )


def test_a_reminder_does_not_undo_an_acknowledgement_made_meanwhile(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reminding(hall)
    hall.raise_(hall.racks[0])
    [incident] = hall.registry.list_incidents(None)
    list_incidents = hall.registry.list_incidents

    def then_acknowledged(*args: Any, **kwargs: Any) -> Any:
        found = list_incidents(*args, **kwargs)
        # A request's thread acknowledges it after the reminder's read.
        hall.book.acknowledge_incident(incident.id, "engineer")
        return found

    monkeypatch.setattr(hall.registry, "list_incidents", then_acknowledged)
    hall.now += 61_000
    hall.notices.clear()
    hall.book.incidents.tick(hall.now)
    monkeypatch.undo()
    assert hall.registry.get_incident(incident.id).state == "acknowledged"
    assert [n.event for n in hall.notices] == [NoticeEvent.acknowledged]


def test_an_acknowledgement_does_not_undo_an_alarm_a_turn_adds_meanwhile(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    hall.raise_(hall.racks[0])
    [incident] = hall.registry.list_incidents(None)
    registry = hall.registry

    def turn_first(name: str) -> Any:
        real = getattr(registry, name)

        def write(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.undo()
            # The monitor's turn adds an alarm to the incident just before the ack's write.
            hall.raise_(hall.racks[1])
            return real(*args, **kwargs)

        return write

    for name in ("write_incidents", "acknowledge_open_incident"):
        monkeypatch.setattr(registry, name, turn_first(name))
    hall.book.acknowledge_incident(incident.id, "engineer")
    stored = registry.get_incident(incident.id)
    assert (stored.state, stored.alarm_count) == ("open", 2)
    assert [i.state for i in hall.book.incidents.open_incidents()] == ["open"]


def test_acknowledging_an_incident_leaves_an_alarm_cleared_meanwhile_cleared(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    hall.raise_(hall.racks[0])
    hall.raise_(hall.racks[1])
    [incident] = hall.registry.list_incidents(None)
    registry = hall.registry

    def cleared_meanwhile(name: str, before: bool) -> Any:
        real = getattr(registry, name, None)

        def call(*args: Any, **kwargs: Any) -> Any:
            # The monitor's turn clears an alarm after the incident's alarms are read and
            # before they are written.
            monkeypatch.undo()
            if before:
                hall.clear(hall.racks[0])
            assert real is not None
            found = real(*args, **kwargs)
            if not before:
                hall.clear(hall.racks[0])
            return found

        return call

    monkeypatch.setattr(registry, "list_alarms", cleared_meanwhile("list_alarms", False))
    write = cleared_meanwhile("acknowledge_incident_alarms", True)
    monkeypatch.setattr(registry, "acknowledge_incident_alarms", write, raising=False)
    hall.book.acknowledge_incident(incident.id, "engineer")
    statuses = {a.device_id: a.status for a in registry.list_alarms(None)}
    assert statuses == {hall.racks[0]: "cleared", hall.racks[1]: "acknowledged"}


def test_a_reminder_speaks_through_an_alarm_not_shelved_or_waits(hall: Hall) -> None:
    _reminding(hall)
    hall.raise_(hall.racks[0])
    hall.raise_(hall.racks[1])
    [incident] = hall.registry.list_incidents(None)
    assert incident.cause_alarm_id is not None
    hall.book.shelve(incident.cause_alarm_id, 60, "engineer")
    [other] = [a for a in hall.registry.list_alarms(None) if a.id != incident.cause_alarm_id]
    hall.notices.clear()
    hall.now += 61_000
    hall.book.incidents.tick(hall.now)
    # The cause is shelved: the reminder names the incident's other alarm.
    assert [(n.event, n.alarm_id) for n in hall.notices] == [(NoticeEvent.repeated, other.id)]
    assert [e.kind for e in hall.registry.alarm_events(other.id)][-1] == "repeated"

    hall.book.shelve(other.id, 60, "engineer")
    before = hall.registry.get_incident(incident.id).escalation
    hall.notices.clear()
    hall.now += 61_000
    hall.book.incidents.tick(hall.now)
    # All of it shelved: nothing is sent, and the escalation does not advance unheard.
    assert hall.notices == []
    assert hall.registry.get_incident(incident.id).escalation == before
