"""Incidents (事件) in the registry: alarms that share a cause, kept with their link to the alarms.

The monitor decides which alarms belong together (``monitor/incidents.py``); the registry only
keeps what it decided, a turn's decisions in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Alarm, AlarmEvent, Incident


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


def incident_record(row: Incident) -> IncidentRecord:
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
        out: list[IncidentRecord] = []
        with self._session() as session:
            for write in writes:
                row = (
                    None if write.incident_id is None else session.get(Incident, write.incident_id)
                )
                if write.incident_id is not None and row is None:
                    raise missing("incident")
                if row is None:
                    row = Incident(
                        enterprise_id=write.enterprise_id,
                        opened_at=write.at,
                        escalation="{}",
                    )
                    session.add(row)
                row.state = write.state
                row.severity = write.severity
                row.updated_at = write.at
                row.cause_alarm_id = write.cause_alarm_id
                row.alarm_count = write.alarm_count
                if write.escalation is not None:
                    row.escalation = json.dumps(write.escalation, separators=(",", ":"))
                if write.closed:
                    row.closed_at = write.at
                if write.acknowledged_by is not None:
                    row.acknowledged_at, row.acknowledged_by = write.at, write.acknowledged_by
                if write.reopened:
                    row.acknowledged_at, row.acknowledged_by = None, None
                session.flush()
                if write.alarm_ids:
                    session.execute(
                        update(Alarm)
                        .where(Alarm.id.in_(write.alarm_ids))
                        .values(incident_id=row.id)
                    )
                if write.notified_alarm_id is not None:
                    session.add(
                        AlarmEvent(
                            alarm_id=write.notified_alarm_id, at=write.at, kind=write.notice_kind
                        )
                    )
                out.append(incident_record(row))
        return out

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
