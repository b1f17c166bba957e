"""The monitor's batched alarm writes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, cast

from argon2 import PasswordHasher
from sqlalchemy import Table, update

from shugu.store.registry import Registry
from shugu.store.registry.incidents import IncidentRecord, IncidentWrite
from shugu.store.registry.models import Alarm, Incident
from shugu.store.registry.monitoring import AlarmChange, AlarmRecord, NewAlarm
from tests.pg import PostgresServer

AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def _device(registry: Registry) -> tuple[int, int]:
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "数字经济产业园", "350112")
    ent = registry.create_enterprise(park.id, "甲数据中心", "91350112MA000901XW", "0405")
    return ent.id, registry.create_device(ent.id, "rack-01", "rack_sensor")[0].id


def _new(
    ent: int,
    device: int,
    ref: str,
    escalation: dict[str, Any] | None = None,
    *,
    flapping: bool = False,
    flips: int = 0,
) -> NewAlarm:
    detail = {"rule_en": ref}
    return NewAlarm(ref, device, ent, "major", AT, 29.0, detail, escalation, flapping, flips)


def test_writes_in_one_call_raise_mark_and_clear_in_order(registry: Registry) -> None:
    ent, device = _device(registry)
    [high, low] = registry.write_alarms(
        [_new(ent, device, "r.high", escalation={"level": 1}), _new(ent, device, "r.low")]
    )
    assert high is not None and low is not None
    [marked, cleared, counted] = registry.write_alarms(
        [
            AlarmChange(high.id, "flapping", AT, flapping=True, flips=8),
            AlarmChange(low.id, "cleared", AT, value=20.0, clear=True),
            AlarmChange(high.id, None, AT, flips=9),
        ]
    )
    assert marked is not None and cleared is not None and counted is not None
    assert (counted.flapping, counted.flips, counted.status) == (True, 9, "active")
    assert cleared.status == "cleared" and cleared.cleared_at is not None
    assert [e.kind for e in registry.alarm_events(high.id)] == ["raised", "notified", "flapping"]
    assert [e.kind for e in registry.alarm_events(low.id)] == ["raised", "cleared"]
    # Cleared, the pair can be raised again; a flapping raise records its mark.
    [again] = registry.write_alarms([_new(ent, device, "r.low", flapping=True, flips=8)])
    assert again is not None and again.flapping and again.flips == 8
    assert [e.kind for e in registry.alarm_events(again.id)] == ["raised", "flapping"]


def test_an_alarm_open_already_is_refused_alone(registry: Registry) -> None:
    """Another process opened the same (rule, device): only that write is refused."""
    ent, device = _device(registry)
    assert registry.open_alarm("r.high", device, ent, "major", AT, 29.0, {}) is not None
    results = registry.write_alarms([_new(ent, device, "r.high"), _new(ent, device, "r.low")])
    assert results[0] is None and results[1] is not None
    open_refs = sorted(a.rule_ref for a in registry.list_alarms(None, statuses=("active",)))
    assert open_refs == ["r.high", "r.low"]


def test_a_turn_writes_its_alarms_and_their_incident_in_one_go(registry: Registry) -> None:
    ent, device = _device(registry)
    seen: list[list[AlarmRecord | None]] = []

    def incidents_of(alarms: list[AlarmRecord | None]) -> list[IncidentWrite]:
        seen.append(alarms)
        ids = tuple(a.id for a in alarms if a is not None)
        return [IncidentWrite(None, ent, "open", "major", AT, ids[0], len(ids), ids)]

    alarms, [opened] = registry.write_alarm_turn(
        [_new(ent, device, "r.high"), _new(ent, device, "r.low")], incidents_of
    )
    assert len(seen) == 1 and all(a is not None for a in alarms)
    assert (opened.state, opened.alarm_count) == ("open", 2)
    linked = registry.list_alarms(None, incident_id=opened.id)
    assert sorted(a.rule_ref for a in linked) == ["r.high", "r.low"]
    # A change updates the incident in place and returns it whole.
    [high, _low] = alarms
    assert high is not None
    _alarms, [changed] = registry.write_alarm_turn(
        [AlarmChange(high.id, "cleared", AT, clear=True)],
        lambda _a: [IncidentWrite(opened.id, ent, "closed", "major", AT, high.id, 2, closed=True)],
    )
    assert (changed.id, changed.state, changed.opened_at) == (opened.id, "closed", opened.opened_at)
    assert changed.closed_at is not None and registry.get_incident(opened.id) == changed


def test_a_turn_refused_in_part_is_written_again_with_its_incident(registry: Registry) -> None:
    """Another process opened one of the turn's alarms: the rest are written, and the incident
    is made again from what was kept."""
    ent, device = _device(registry)
    assert registry.open_alarm("r.high", device, ent, "major", AT, 29.0, {}) is not None
    seen: list[list[AlarmRecord | None]] = []

    def incidents_of(alarms: list[AlarmRecord | None]) -> list[IncidentWrite]:
        seen.append(alarms)
        ids = tuple(a.id for a in alarms if a is not None)
        return [IncidentWrite(None, ent, "open", "major", AT, ids[0], len(ids), ids)]

    alarms, [incident] = registry.write_alarm_turn(
        [_new(ent, device, "r.high"), _new(ent, device, "r.low")], incidents_of
    )
    assert alarms[0] is None and alarms[1] is not None
    assert seen[-1] == alarms and incident.alarm_count == 1
    assert [a.rule_ref for a in registry.list_alarms(None, incident_id=incident.id)] == ["r.low"]
    assert len(registry.list_incidents(None)) == 1


def test_an_incident_acknowledged_while_a_turn_adds_an_active_alarm_stays_open(
    postgres_server: PostgresServer, password_hasher: PasswordHasher
) -> None:
    """On PostgreSQL: the acknowledgement waits for a turn holding the incident and then sees the
    alarm it added. A single conditional ``UPDATE`` would not: read committed re-checks only the
    incident's own row after the wait, and its ``NOT EXISTS`` keeps the snapshot taken before."""
    registry = Registry(postgres_server.create_database(), password_hasher=password_hasher)
    try:
        ent, device = _device(registry)

        def one_incident(alarms: list[AlarmRecord | None]) -> list[IncidentWrite]:
            ids = tuple(a.id for a in alarms if a is not None)
            return [IncidentWrite(None, ent, "open", "major", AT, ids[0], len(ids), ids)]

        [first], [incident] = registry.write_alarm_turn([_new(ent, device, "r.high")], one_incident)
        assert first is not None
        assert registry.acknowledge_incident_alarms(incident.id, AT, "eng")  # none active now
        [second] = registry.write_alarms([_new(ent, device, "r.low")])
        assert second is not None
        alarms, incidents = cast(Table, Alarm.__table__), cast(Table, Incident.__table__)
        answer: list[IncidentRecord | None] = []
        with registry._engine.connect() as turn, turn.begin():
            # A monitor turn, not yet committed: the new alarm joins the incident.
            turn.execute(
                update(alarms).where(alarms.c.id == second.id).values(incident_id=incident.id)
            )
            turn.execute(
                update(incidents).where(incidents.c.id == incident.id).values(alarm_count=2)
            )
            acknowledging = threading.Thread(
                target=lambda: answer.append(
                    registry.acknowledge_open_incident(incident.id, AT, "eng")
                )
            )
            acknowledging.start()
            acknowledging.join(0.5)
            assert acknowledging.is_alive(), "the acknowledgement did not wait for the turn"
        acknowledging.join(10)
        assert answer == [None]
        kept = registry.get_incident(incident.id)
        assert (kept.state, kept.acknowledged_by, kept.alarm_count) == ("open", None, 2)
    finally:
        registry.close()
