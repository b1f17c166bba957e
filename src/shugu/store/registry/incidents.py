"""Incidents (事件) in the registry: alarms that share a cause, kept with their link to the alarms.

The monitor decides which alarms belong together (``monitor/incidents.py``); the registry only
keeps what it decided, a turn's decisions in one transaction: the same one as the turn's alarm
writes (``write_alarm_turn``), so booking an alarm costs one transaction, incidents or not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Alarm, AlarmEvent, Incident
from shugu.store.registry.monitoring import (
    AlarmChange,
    AlarmRecord,
    NewAlarm,
    alarm_record,
    write_alarm,
)


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    enterprise_id: int
    state: str
    severity: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cause_alarm_id: int | None
    alarm_count: int
    escalation: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IncidentWrite:
    """An incident to open (``incident_id`` None) or to change, and the alarms joining it."""

    incident_id: int | None
    enterprise_id: int
    state: str
    severity: str
    at: datetime
    cause_alarm_id: int | None
    alarm_count: int
    alarm_ids: tuple[int, ...] = ()
    #: Replaces the stored escalation state when given.
    escalation: dict[str, Any] | None = None
    #: An alarm (the cause) whose history records the incident's notice: the first one
    #: (``notified``), a reminder or an escalation.
    notified_alarm_id: int | None = None
    notice_kind: str = "notified"
    closed: bool = False
    acknowledged_by: str | None = None
    #: A new alarm joined it after it was acknowledged: nobody is on it any more.
    reopened: bool = False


#: Given a turn's alarm results (None: an alarm to raise that was open already), the incident
#: writes that follow from them.
IncidentsOf = Callable[[list[AlarmRecord | None]], list[IncidentWrite]]


def incident_record(row: Incident | Row[Any]) -> IncidentRecord:
    """From an ORM row or a ``RETURNING`` row of the same columns."""
    return IncidentRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        state=row.state,
        severity=row.severity,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        cause_alarm_id=row.cause_alarm_id,
        alarm_count=row.alarm_count,
        escalation=json.loads(row.escalation),
    )


class IncidentMixin(RegistryCore):
    def write_incidents(self, writes: list[IncidentWrite]) -> list[IncidentRecord]:
        """Open and change incidents and link alarms to them, in one transaction, in order."""
        with self._session() as session:
            return write_incident_rows(session, writes)

    def write_alarm_turn(
        self, writes: list[NewAlarm | AlarmChange], incidents_of: IncidentsOf
    ) -> tuple[list[AlarmRecord | None], list[IncidentRecord]]:
        """A turn's alarm writes (as ``write_alarms``) and the incident writes ``incidents_of``
        makes of their results, in one transaction. Should another process have opened one of
        the alarms meanwhile, the alarms are written as ``write_alarms`` retries them and the
        incidents after them; ``incidents_of`` is then called again with the new results."""
        try:
            with self._session() as session:
                alarms: list[AlarmRecord | None] = [write_alarm(session, w) for w in writes]
                return alarms, write_incident_rows(session, incidents_of(alarms))
        except IntegrityError:
            out: list[AlarmRecord | None] = []
            for write in writes:
                try:
                    with self._session() as session:
                        out.append(write_alarm(session, write))
                except IntegrityError:
                    out.append(None)
            return out, self.write_incidents(incidents_of(out))

    def advance_open_incident(
        self,
        incident_id: int,
        escalation: dict[str, Any],
        at: datetime,
        *,
        notified_alarm_id: int,
        notice_kind: str,
    ) -> IncidentRecord | None:
        """A reminder or escalation of an incident still open: only its escalation state and
        ``updated_at`` change, so an acknowledgement or a close written meanwhile stands.
        None: it is no longer open, and nothing is written."""
        with self._session() as session:
            found = session.execute(
                update(_INCIDENTS)
                .where(_INCIDENTS.c.id == incident_id, _INCIDENTS.c.state == "open")
                .values(escalation=json.dumps(escalation, separators=(",", ":")), updated_at=at)
                .returning(*_INCIDENTS.c)
            ).one_or_none()
            if found is None:
                return None
            session.add(AlarmEvent(alarm_id=notified_alarm_id, at=at, kind=notice_kind))
            return incident_record(found)

    def acknowledge_open_incident(
        self, incident_id: int, at: datetime, by: str
    ) -> IncidentRecord | None:
        """An open incident none of whose alarms is active is acknowledged: one conditional
        ``UPDATE`` of the acknowledgement's columns, so that an alarm a monitor turn adds
        meanwhile (its count, cause, severity) stands, and an incident it joined stays open.
        None: not open, or an alarm of it is active; nothing is written.

        On PostgreSQL the incident's row is locked first. Under read committed, an ``UPDATE``
        that waits for a turn holding the row re-checks only that row afterwards; its ``NOT
        EXISTS`` would keep the snapshot from before the wait and miss the alarm the turn
        added. Once the lock is held, the ``UPDATE`` is a new statement with a new snapshot."""
        active = (
            select(_ALARMS.c.id)
            .where(_ALARMS.c.incident_id == incident_id, _ALARMS.c.status == "active")
            .exists()
        )
        with self._session() as session:
            if self.dialect == "postgresql":
                session.execute(
                    select(_INCIDENTS.c.id).where(_INCIDENTS.c.id == incident_id).with_for_update()
                )
            found = session.execute(
                update(_INCIDENTS)
                .where(_INCIDENTS.c.id == incident_id, _INCIDENTS.c.state == "open", ~active)
                .values(state="acknowledged", acknowledged_at=at, acknowledged_by=by, updated_at=at)
                .returning(*_INCIDENTS.c)
            ).one_or_none()
            return None if found is None else incident_record(found)

    def acknowledge_incident_alarms(
        self, incident_id: int, at: datetime, by: str, note: str = ""
    ) -> list[AlarmRecord]:
        """Every alarm of the incident active at the write is acknowledged, in one transaction
        and one conditional ``UPDATE``: an alarm cleared meanwhile stays cleared. Newest first;
        empty: none was active."""
        values: dict[str, Any] = {
            "status": "acknowledged",
            "acknowledged_at": at,
            "acknowledged_by": by,
        }
        if note:
            values["note"] = note
        with self._session() as session:
            ids = list(
                session.scalars(
                    update(_ALARMS)
                    .where(_ALARMS.c.incident_id == incident_id, _ALARMS.c.status == "active")
                    .values(values)
                    .returning(_ALARMS.c.id)
                )
            )
            if not ids:
                return []
            session.add_all(
                AlarmEvent(alarm_id=i, at=at, kind="acknowledged", by=by, note=note) for i in ids
            )
            rows = session.scalars(
                select(Alarm)
                .where(Alarm.id.in_(ids))
                .order_by(Alarm.raised_at.desc(), Alarm.id.desc())
            )
            return [alarm_record(r) for r in rows]

    def get_incident(self, incident_id: int) -> IncidentRecord:
        with self._session() as session:
            row = session.get(Incident, incident_id)
            if row is None:
                raise missing("incident")
            return incident_record(row)

    def list_incidents(
        self,
        enterprise_ids: Iterable[int] | None,
        *,
        states: Iterable[str] | None = None,
        limit: int = 200,
    ) -> list[IncidentRecord]:
        """Newest first."""
        with self._session() as session:
            query = select(Incident)
            if enterprise_ids is not None:
                query = query.where(Incident.enterprise_id.in_(list(enterprise_ids)))
            if states is not None:
                query = query.where(Incident.state.in_(list(states)))
            query = query.order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
            return [incident_record(r) for r in session.scalars(query)]


def write_incident_rows(session: Session, writes: list[IncidentWrite]) -> list[IncidentRecord]:
    """Open and change incidents and link alarms to them in the session's transaction. A
    change is one ``UPDATE … RETURNING`` (the incident is not read first): a turn's incident
    writes cost a statement or two on top of its alarms'."""
    out: list[IncidentRecord] = []
    for write in writes:
        if write.incident_id is None:
            row = Incident(enterprise_id=write.enterprise_id, opened_at=write.at, escalation="{}")
            for key, value in _changed_columns(write).items():
                setattr(row, key, value)
            session.add(row)
            session.flush()
            record = incident_record(row)
        else:
            found = session.execute(
                update(_INCIDENTS)
                .where(_INCIDENTS.c.id == write.incident_id)
                .values(_changed_columns(write))
                .returning(*_INCIDENTS.c)
            ).one_or_none()
            if found is None:
                raise missing("incident")
            record = incident_record(found)
        if write.alarm_ids:
            session.execute(
                update(_ALARMS)
                .where(_ALARMS.c.id.in_(write.alarm_ids))
                .values(incident_id=record.id)
            )
        if write.notified_alarm_id is not None:
            session.add(
                AlarmEvent(alarm_id=write.notified_alarm_id, at=write.at, kind=write.notice_kind)
            )
        out.append(record)
    return out


_INCIDENTS = cast(Table, Incident.__table__)
_ALARMS = cast(Table, Alarm.__table__)


def _changed_columns(write: IncidentWrite) -> dict[str, Any]:
    """The columns a write sets."""
    values: dict[str, Any] = {
        "state": write.state,
        "severity": write.severity,
        "updated_at": write.at,
        "cause_alarm_id": write.cause_alarm_id,
        "alarm_count": write.alarm_count,
    }
    if write.escalation is not None:
        values["escalation"] = json.dumps(write.escalation, separators=(",", ":"))
    if write.closed:
        values["closed_at"] = write.at
    if write.acknowledged_by is not None:
        values["acknowledged_at"], values["acknowledged_by"] = write.at, write.acknowledged_by
    if write.reopened:
        values["acknowledged_at"], values["acknowledged_by"] = None, None
    return values
