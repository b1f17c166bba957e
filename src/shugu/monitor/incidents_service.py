"""Incidents as people see and handle them: listed with filters, one with its alarms, and
acknowledged in one action (which acknowledges its alarms through the alarm book, as the alarm
service does one by one). The API's incident routes and the console's alarm page call these
same functions; callers have already decided what the caller may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from shugu.monitor.alarm_service import AlarmView, Lang, alarm_view
from shugu.monitor.model import Severity
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry
from shugu.store.registry.incidents import IncidentRecord

#: Alarms shown under one incident; a larger one says how many more there are.
MAX_ALARMS_SHOWN = 500


class IncidentState(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    closed = "closed"


class IncidentStateFilter(StrEnum):
    """Which incidents a list shows: those not closed unless told otherwise."""

    unclosed = "unclosed"
    open = "open"
    acknowledged = "acknowledged"
    closed = "closed"
    all = "all"


_STATES: dict[IncidentStateFilter, tuple[str, ...] | None] = {
    IncidentStateFilter.unclosed: ("open", "acknowledged"),
    IncidentStateFilter.open: ("open",),
    IncidentStateFilter.acknowledged: ("acknowledged",),
    IncidentStateFilter.closed: ("closed",),
    IncidentStateFilter.all: None,
}


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An incident with its probable cause as people read it."""

    id: int
    enterprise_id: int
    state: IncidentState
    severity: Severity
    opened_at: datetime
    closed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    alarm_count: int
    #: The alarm taken as the probable cause (most upstream, then earliest).
    cause: AlarmView | None


@dataclass(frozen=True, slots=True)
class IncidentDetailView:
    incident: IncidentView
    #: Its alarms, the probable cause first, then newest first.
    alarms: list[AlarmView] = field(default_factory=list)


def incident_view(
    registry: Registry, monitor: Monitor, record: IncidentRecord, lang: Lang
) -> IncidentView:
    cause = None
    if record.cause_alarm_id is not None:
        cause = alarm_view(monitor, registry.get_alarm(record.cause_alarm_id), lang)
    return IncidentView(
        id=record.id,
        enterprise_id=record.enterprise_id,
        state=IncidentState(record.state),
        severity=Severity(record.severity),
        opened_at=record.opened_at,
        closed_at=record.closed_at,
        acknowledged_at=record.acknowledged_at,
        acknowledged_by=record.acknowledged_by,
        alarm_count=record.alarm_count,
        cause=cause,
    )


def list_incidents(
    registry: Registry,
    monitor: Monitor,
    enterprise_ids: Sequence[int],
    state: IncidentStateFilter,
    lang: Lang,
    limit: int = 200,
) -> list[IncidentView]:
    """Incidents of the enterprises, newest first."""
    records = registry.list_incidents(enterprise_ids, states=_STATES[state], limit=limit)
    return [incident_view(registry, monitor, r, lang) for r in records]


def incident_detail(
    registry: Registry, monitor: Monitor, record: IncidentRecord, lang: Lang
) -> IncidentDetailView:
    now = datetime.now(UTC)
    alarms = [
        alarm_view(monitor, a, lang, now)
        for a in registry.list_alarms(None, incident_id=record.id, limit=MAX_ALARMS_SHOWN)
    ]
    alarms.sort(key=lambda a: a.id != record.cause_alarm_id)
    return IncidentDetailView(incident_view(registry, monitor, record, lang), alarms)


def acknowledge(
    registry: Registry, monitor: Monitor, incident_id: int, by: str, note: str = ""
) -> IncidentRecord:
    """Someone is on the incident: its active alarms are acknowledged and its reminders stop."""
    monitor.book.acknowledge_incident(incident_id, by, note)
    return registry.get_incident(incident_id)
