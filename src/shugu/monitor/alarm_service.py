"""Alarms as people see and handle them: listed with filters, one with its history, counted by
park and enterprise; acknowledged, cleared, shelved.

An action changes the alarm in the registry, records the event in its history and lets the
monitor's alarm book follow (reminders stop, a cleared condition may raise anew, notices go
out). The API's alarm routes and the console's alarm pages call these same functions. Callers
have already decided what the caller may see, and that ``by`` may act on ``alarm_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from shugu.domain.tenancy import Access
from shugu.monitor.alarm_counts import NodeCounts, open_alarm_counts
from shugu.monitor.alarms import OPEN_STATUSES
from shugu.monitor.model import AlarmStatus, Severity
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import AlarmRecord

#: The language of the texts an alarm carries (its rule's label, what happened).
Lang = Literal["zh", "en"]


class StatusFilter(StrEnum):
    """Which alarms a list shows: open ones (active or acknowledged) unless told otherwise;
    ``shelved`` is the open ones whose notices are silenced right now."""

    open = "open"
    active = "active"
    acknowledged = "acknowledged"
    cleared = "cleared"
    shelved = "shelved"
    all = "all"


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    status: StatusFilter = StatusFilter.open
    #: Only these severities; empty: every severity.
    severities: tuple[Severity, ...] = ()
    device_id: int | None = None
    #: The device's name contains this, in any case.
    device_name: str = ""
    raised_from: datetime | None = None
    #: Raised before this (excluded).
    raised_to: datetime | None = None
    limit: int = 200


@dataclass(frozen=True, slots=True)
class AlarmView:
    """An alarm with what a person needs to read it: the device's name, the rule's label and
    what happened in their language, the limit, whether it is shelved right now."""

    id: int
    rule_ref: str
    rule: str
    device_id: int
    device: str
    enterprise_id: int
    severity: Severity
    status: AlarmStatus
    shelved: bool
    raised_at: datetime
    value: float | None
    detail: str
    limit: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    shelved_until: datetime | None
    note: str
    flapping: bool
    flips: int
    #: The unit of ``value`` (empty for a count or a state).
    unit: str = ""


@dataclass(frozen=True, slots=True)
class AlarmEventView:
    at: datetime
    kind: str
    by: str | None
    note: str
    value: float | None


@dataclass(frozen=True, slots=True)
class AlarmDetailView:
    alarm: AlarmView
    #: Oldest first: raised, notified, acknowledged, shelved, cleared.
    history: list[AlarmEventView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AlarmCount:
    """A park's or enterprise's open alarms and the worst of them."""

    id: int
    name: str
    open: int
    worst: Severity | None


@dataclass(frozen=True, slots=True)
class AlarmSummaryView:
    parks: list[AlarmCount]
    enterprises: list[AlarmCount]


def alarm_view(
    monitor: Monitor, record: AlarmRecord, lang: Lang, now: datetime | None = None
) -> AlarmView:
    """The alarm as people read it; shelved as of ``now`` (the present by default)."""
    now = now if now is not None else datetime.now(UTC)
    device = monitor.device(record.device_id)
    detail = record.detail
    return AlarmView(
        id=record.id,
        rule_ref=record.rule_ref,
        rule=str(detail.get(f"rule_{lang}", record.rule_ref)),
        device_id=record.device_id,
        device=device.name if device else f"#{record.device_id}",
        enterprise_id=record.enterprise_id,
        severity=Severity(record.severity),
        status=AlarmStatus(record.status),
        shelved=record.shelved_until is not None and record.shelved_until > now,
        raised_at=record.raised_at,
        value=record.value,
        detail=str(detail.get(f"text_{lang}", "")),
        # Alarms raised before the limit was kept in Chinese too have only "limit".
        limit=str(detail.get(f"limit_{lang}", detail.get("limit", ""))),
        acknowledged_at=record.acknowledged_at,
        acknowledged_by=record.acknowledged_by,
        cleared_at=record.cleared_at,
        cleared_by=record.cleared_by,
        shelved_until=record.shelved_until,
        note=record.note,
        flapping=record.flapping,
        flips=record.flips,
        unit=str(detail.get("unit", "")),
    )


def readable_enterprises(registry: Registry, access: Access) -> list[int]:
    """The enterprises whose alarms the caller may read, when they name none."""
    if access.role.bound_to_enterprise:
        return [access.principal.enterprise_id or 0]
    return [e.id for e in registry.list_enterprises() if access.can_read_machines(e.id)]


def list_alarms(
    registry: Registry,
    monitor: Monitor,
    enterprise_ids: Sequence[int],
    wanted: AlarmFilter,
    lang: Lang,
) -> list[AlarmView]:
    """Alarms of the enterprises newest first, as ``wanted`` filters them."""
    now = datetime.now(UTC)
    status = wanted.status
    statuses: tuple[str, ...] | None
    if status is StatusFilter.all:
        statuses = None
    elif status in (StatusFilter.open, StatusFilter.shelved):
        statuses = OPEN_STATUSES
    else:
        statuses = (status.value,)
    records = registry.list_alarms(
        enterprise_ids,
        statuses=statuses,
        device_id=wanted.device_id,
        limit=wanted.limit,
        severities=[s.value for s in wanted.severities] if wanted.severities else None,
        device_name=wanted.device_name or None,
        raised_from=wanted.raised_from,
        raised_to=wanted.raised_to,
        shelved_after=now if status is StatusFilter.shelved else None,
    )
    return [alarm_view(monitor, r, lang, now) for r in records]


def alarm_detail(
    registry: Registry, monitor: Monitor, record: AlarmRecord, lang: Lang
) -> AlarmDetailView:
    """The alarm and its history, oldest event first."""
    history = [
        AlarmEventView(at=e.at, kind=e.kind, by=e.by, note=e.note, value=e.value)
        for e in registry.alarm_events(record.id)
    ]
    return AlarmDetailView(alarm_view(monitor, record, lang), history)


def alarm_summary(registry: Registry, access: Access) -> AlarmSummaryView:
    """Each park's and enterprise's open alarms and the worst of them, over the enterprises
    whose alarms the caller may count (``Access.can_count_alarms``): counts name no machine.
    The roll-up is the region overview's (``monitor/alarm_counts.py``)."""
    counts = open_alarm_counts(registry, access)

    def count(node: NodeCounts) -> AlarmCount:
        return AlarmCount(node.id, node.name, node.alarms.open, node.alarms.worst)

    return AlarmSummaryView(
        parks=[count(p) for p in counts.parks],
        enterprises=[count(e) for e in counts.enterprises],
    )


def acknowledge(monitor: Monitor, alarm_id: int, by: str, note: str = "") -> AlarmRecord:
    """Someone has seen the alarm and is on it: reminders stop. Only an active alarm."""
    return monitor.book.acknowledge(alarm_id, by, note)


def clear(monitor: Monitor, alarm_id: int, by: str, note: str = "") -> AlarmRecord:
    """Clear by hand; a condition that still holds raises a new alarm."""
    return monitor.book.clear(alarm_id, by, note)


def shelve(monitor: Monitor, alarm_id: int, minutes: int, by: str, note: str = "") -> AlarmRecord:
    """Silence an open alarm's notices for ``minutes``; it stays listed, marked shelved."""
    return monitor.book.shelve(alarm_id, minutes, by, note)
