"""What the monitor keeps in the registry: its documents, alarms with history, and rounds.

The registry stores monitoring documents (rules, overrides, channels, plans) as JSON text and
hands them back as records; their meaning and validation belong to the monitor room.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shugu.domain.errors import ConflictError
from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.devices import device_record
from shugu.store.registry.models import (
    Alarm,
    AlarmEvent,
    Device,
    InspectionRound,
    MonitorConfig,
)
from shugu.store.registry.records import DeviceRecord

CONFIG_KINDS = frozenset({"rule", "override", "channel", "escalation", "plan"})


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    id: int
    enterprise_id: int | None
    kind: str
    ref: str | None
    body: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    id: int
    rule_ref: str
    device_id: int
    enterprise_id: int
    severity: str
    status: str
    raised_at: datetime
    value: float | None
    detail: dict[str, Any]
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    shelved_until: datetime | None
    note: str
    escalation: dict[str, Any]
    #: Held open while its rule flips too often; ``flips`` counts the changes seen meanwhile.
    flapping: bool = False
    flips: int = 0
    #: The incident the alarm belongs to (None: raised before incidents were kept).
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewAlarm:
    """An alarm to raise; with ``escalation``, its first notices are recorded as sent."""

    rule_ref: str
    device_id: int
    enterprise_id: int
    severity: str
    raised_at: datetime
    value: float | None
    detail: dict[str, Any]
    escalation: dict[str, Any] | None = None
    flapping: bool = False
    flips: int = 0


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """A change to an open alarm from the monitor; ``event`` None changes it without history
    (a flapping alarm's flip count)."""

    alarm_id: int
    event: str | None
    at: datetime
    value: float | None = None
    note: str = ""
    clear: bool = False
    flapping: bool | None = None
    flips: int | None = None


@dataclass(frozen=True, slots=True)
class AlarmEventRecord:
    id: int
    alarm_id: int
    at: datetime
    kind: str
    by: str | None
    note: str
    value: float | None


@dataclass(frozen=True, slots=True)
class RoundRow:
    id: int
    plan_id: int
    enterprise_id: int
    at: datetime
    slot: str | None
    trigger: str
    by: str | None
    failed: int
    results: list[dict[str, Any]]


def _config(row: MonitorConfig) -> ConfigRecord:
    return ConfigRecord(
        row.id,
        row.enterprise_id,
        row.kind,
        row.ref,
        json.loads(row.body),
        row.created_at,
        row.updated_at,
    )


def alarm_record(row: Alarm) -> AlarmRecord:
    return AlarmRecord(
        id=row.id,
        rule_ref=row.rule_ref,
        device_id=row.device_id,
        enterprise_id=row.enterprise_id,
        severity=row.severity,
        status=row.status,
        raised_at=row.raised_at,
        value=row.value,
        detail=json.loads(row.detail),
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        cleared_at=row.cleared_at,
        cleared_by=row.cleared_by,
        shelved_until=row.shelved_until,
        note=row.note,
        escalation=json.loads(row.escalation),
        flapping=row.flapping,
        flips=row.flips,
        incident_id=row.incident_id,
    )


def _round(row: InspectionRound) -> RoundRow:
    return RoundRow(
        row.id,
        row.plan_id,
        row.enterprise_id,
        row.at,
        row.slot,
        row.trigger,
        row.by,
        row.failed,
        json.loads(row.results),
    )


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


class MonitorMixin(RegistryCore):
    # -- documents ---------------------------------------------------------------------------

    def put_config(
        self,
        kind: str,
        enterprise_id: int | None,
        body: dict[str, Any],
        *,
        ref: str | None = None,
        config_id: int | None = None,
    ) -> ConfigRecord:
        """Create a document, or replace the body of ``config_id`` (or of the one with ``ref``)."""
        if kind not in CONFIG_KINDS:
            raise ValueError(f"unknown monitor document kind {kind!r}")
        now = self._now()
        try:
            with self._session() as session:
                row: MonitorConfig | None = None
                if config_id is not None:
                    row = session.get(MonitorConfig, config_id)
                    if row is None or row.kind != kind:
                        raise missing(kind)
                elif ref is not None:
                    row = session.scalar(
                        select(MonitorConfig).where(
                            MonitorConfig.kind == kind, MonitorConfig.ref == ref
                        )
                    )
                if row is None:
                    row = MonitorConfig(
                        enterprise_id=enterprise_id,
                        kind=kind,
                        ref=ref,
                        body=_dumps(body),
                        created_at=now,
                        updated_at=now,
                    )
                    session.add(row)
                else:
                    row.body = _dumps(body)
                    row.updated_at = now
                session.flush()
                return _config(row)
        except IntegrityError as exc:
            raise ConflictError(f"a {kind} with this name exists already", code="conflict") from exc

    def get_config(self, config_id: int, kind: str) -> ConfigRecord:
        with self._session() as session:
            row = session.get(MonitorConfig, config_id)
            if row is None or row.kind != kind:
                raise missing(kind)
            return _config(row)

    def list_configs(
        self, kind: str, enterprise_ids: Iterable[int | None] | None = None
    ) -> list[ConfigRecord]:
        """Documents of a kind; ``enterprise_ids`` limits them (None in it: platform-wide)."""
        with self._session() as session:
            query = select(MonitorConfig).where(MonitorConfig.kind == kind)
            if enterprise_ids is not None:
                ids = list(enterprise_ids)
                numbered = [i for i in ids if i is not None]
                if None in ids:
                    query = query.where(
                        MonitorConfig.enterprise_id.in_(numbered)
                        | MonitorConfig.enterprise_id.is_(None)
                    )
                else:
                    query = query.where(MonitorConfig.enterprise_id.in_(numbered))
            return [_config(r) for r in session.scalars(query.order_by(MonitorConfig.id))]

    def delete_config(self, config_id: int, kind: str) -> None:
        with self._session() as session:
            row = session.get(MonitorConfig, config_id)
            if row is None or row.kind != kind:
                raise missing(kind)
            session.delete(row)

    def delete_config_ref(self, kind: str, ref: str) -> bool:
        with self._session() as session:
            result = session.execute(
                delete(MonitorConfig).where(MonitorConfig.kind == kind, MonitorConfig.ref == ref)
            )
            return bool(getattr(result, "rowcount", 0))

    def all_devices(self) -> list[DeviceRecord]:
        """Every device of every enterprise (the monitor maps rules onto all of them)."""
        with self._session() as session:
            live = select(Device).where(Device.deleted_at.is_(None)).order_by(Device.id)
            return [device_record(r) for r in session.scalars(live)]

    # -- alarms ------------------------------------------------------------------------------

    def open_alarm(
        self,
        rule_ref: str,
        device_id: int,
        enterprise_id: int,
        severity: str,
        raised_at: datetime,
        value: float | None,
        detail: dict[str, Any],
    ) -> AlarmRecord | None:
        """Raise an alarm; None when the rule already has an open alarm on the device."""
        try:
            with self._session() as session:
                row = Alarm(
                    rule_ref=rule_ref,
                    device_id=device_id,
                    enterprise_id=enterprise_id,
                    open_key=f"{rule_ref}@{device_id}",
                    severity=severity,
                    status="active",
                    raised_at=raised_at,
                    value=value,
                    detail=_dumps(detail),
                    note="",
                    escalation="{}",
                )
                session.add(row)
                session.flush()
                session.add(AlarmEvent(alarm_id=row.id, at=raised_at, kind="raised", value=value))
                return alarm_record(row)
        except IntegrityError:
            return None

    def write_alarms(self, writes: list[NewAlarm | AlarmChange]) -> list[AlarmRecord | None]:
        """Raise and change many alarms in one transaction, in order; one result per write
        (None: an alarm to raise that is open already). Should another process have opened
        one of them meanwhile, each write is retried in its own transaction."""
        try:
            with self._session() as session:
                return [write_alarm(session, w) for w in writes]
        except IntegrityError:
            out: list[AlarmRecord | None] = []
            for write in writes:
                try:
                    with self._session() as session:
                        out.append(write_alarm(session, write))
                except IntegrityError:
                    out.append(None)
            return out

    def get_alarm(self, alarm_id: int) -> AlarmRecord:
        with self._session() as session:
            row = session.get(Alarm, alarm_id)
            if row is None:
                raise missing("alarm")
            return alarm_record(row)

    def list_alarms(
        self,
        enterprise_ids: Iterable[int] | None,
        *,
        statuses: Iterable[str] | None = None,
        device_id: int | None = None,
        limit: int = 500,
        severities: Iterable[str] | None = None,
        device_name: str | None = None,
        raised_from: datetime | None = None,
        raised_to: datetime | None = None,
        shelved_after: datetime | None = None,
        incident_id: int | None = None,
    ) -> list[AlarmRecord]:
        """Newest first. ``device_name``: the device's name contains it, in any case;
        ``raised_from`` and ``raised_to`` bound the raise time, the end excluded;
        ``shelved_after``: only alarms shelved until later than that."""
        with self._session() as session:
            query = select(Alarm)
            if enterprise_ids is not None:
                query = query.where(Alarm.enterprise_id.in_(list(enterprise_ids)))
            if statuses is not None:
                query = query.where(Alarm.status.in_(list(statuses)))
            if device_id is not None:
                query = query.where(Alarm.device_id == device_id)
            if severities is not None:
                query = query.where(Alarm.severity.in_(list(severities)))
            if device_name:
                pattern = "%" + re.sub(r"([\\%_])", r"\\\1", device_name.lower()) + "%"
                named = select(Device.id).where(func.lower(Device.name).like(pattern, escape="\\"))
                query = query.where(Alarm.device_id.in_(named))
            if raised_from is not None:
                query = query.where(Alarm.raised_at >= raised_from)
            if raised_to is not None:
                query = query.where(Alarm.raised_at < raised_to)
            if shelved_after is not None:
                query = query.where(Alarm.shelved_until > shelved_after)
            if incident_id is not None:
                query = query.where(Alarm.incident_id == incident_id)
            query = query.order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit)
            return [alarm_record(r) for r in session.scalars(query)]

    def update_alarm(
        self,
        alarm_id: int,
        *,
        event: str,
        at: datetime,
        by: str | None = None,
        note: str = "",
        value: float | None = None,
        status: str | None = None,
        shelved_until: datetime | None = None,
        unshelve: bool = False,
        escalation: dict[str, Any] | None = None,
    ) -> AlarmRecord:
        """Move an alarm along its lifecycle and record the event in its history."""
        with self._session() as session:
            row = session.get(Alarm, alarm_id)
            if row is None:
                raise missing("alarm")
            if status is not None:
                row.status = status
                if status == "acknowledged":
                    row.acknowledged_at, row.acknowledged_by = at, by
                elif status == "cleared":
                    row.cleared_at, row.cleared_by, row.open_key = at, by, None
            if shelved_until is not None:
                row.shelved_until = shelved_until
            if unshelve:
                row.shelved_until = None
            if note:
                row.note = note
            if escalation is not None:
                row.escalation = _dumps(escalation)
            session.add(
                AlarmEvent(alarm_id=alarm_id, at=at, kind=event, by=by, note=note, value=value)
            )
            session.flush()
            return alarm_record(row)

    def alarm_events(self, alarm_id: int) -> list[AlarmEventRecord]:
        with self._session() as session:
            rows = session.scalars(
                select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)
            )
            return [
                AlarmEventRecord(r.id, r.alarm_id, r.at, r.kind, r.by, r.note, r.value)
                for r in rows
            ]

    # -- inspection rounds -------------------------------------------------------------------

    def add_round(
        self,
        plan_id: int,
        enterprise_id: int,
        at: datetime,
        *,
        slot: str | None,
        trigger: str,
        by: str | None,
        failed: int,
        results: list[dict[str, Any]],
    ) -> RoundRow | None:
        """Keep a round; None when the plan's ``slot`` has run already (another process)."""
        try:
            with self._session() as session:
                row = InspectionRound(
                    plan_id=plan_id,
                    enterprise_id=enterprise_id,
                    at=at,
                    slot=slot,
                    trigger=trigger,
                    by=by,
                    failed=failed,
                    results=_dumps(results),
                )
                session.add(row)
                session.flush()
                return _round(row)
        except IntegrityError:
            return None

    def get_round(self, round_id: int) -> RoundRow:
        with self._session() as session:
            row = session.get(InspectionRound, round_id)
            if row is None:
                raise missing("inspection round")
            return _round(row)

    def list_rounds(
        self,
        enterprise_ids: Iterable[int] | None,
        *,
        plan_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[RoundRow]:
        """Newest first."""
        with self._session() as session:
            query = select(InspectionRound)
            if enterprise_ids is not None:
                query = query.where(InspectionRound.enterprise_id.in_(list(enterprise_ids)))
            if plan_id is not None:
                query = query.where(InspectionRound.plan_id == plan_id)
            if since is not None:
                query = query.where(InspectionRound.at >= since)
            if until is not None:
                query = query.where(InspectionRound.at < until)
            query = query.order_by(InspectionRound.at.desc(), InspectionRound.id.desc())
            return [_round(r) for r in session.scalars(query.limit(limit))]

    def slots_run(self, plan_id: int, slots: Iterable[str]) -> set[str]:
        wanted = list(slots)
        with self._session() as session:
            rows = session.scalars(
                select(InspectionRound.slot).where(
                    InspectionRound.plan_id == plan_id, InspectionRound.slot.in_(wanted)
                )
            )
            return {s for s in rows if s is not None}


def write_alarm(session: Session, write: NewAlarm | AlarmChange) -> AlarmRecord:
    """Raise or change one alarm in the session's transaction."""
    if isinstance(write, NewAlarm):
        row = Alarm(
            rule_ref=write.rule_ref,
            device_id=write.device_id,
            enterprise_id=write.enterprise_id,
            open_key=f"{write.rule_ref}@{write.device_id}",
            severity=write.severity,
            status="active",
            raised_at=write.raised_at,
            value=write.value,
            detail=_dumps(write.detail),
            note="",
            escalation=_dumps(write.escalation or {}),
            flapping=write.flapping,
            flips=write.flips,
        )
        session.add(row)
        session.flush()
        at = write.raised_at
        session.add(AlarmEvent(alarm_id=row.id, at=at, kind="raised", value=write.value))
        if write.escalation is not None:
            session.add(AlarmEvent(alarm_id=row.id, at=at, kind="notified"))
        if write.flapping:
            session.add(AlarmEvent(alarm_id=row.id, at=at, kind="flapping"))
        session.flush()
        return alarm_record(row)
    found = session.get(Alarm, write.alarm_id)
    if found is None:
        raise missing("alarm")
    if write.clear:
        found.status, found.cleared_at, found.open_key = "cleared", write.at, None
    if write.flapping is not None:
        found.flapping = write.flapping
    if write.flips is not None:
        found.flips = write.flips
    if write.event is not None:
        session.add(
            AlarmEvent(
                alarm_id=found.id,
                at=write.at,
                kind=write.event,
                note=write.note,
                value=write.value,
            )
        )
    session.flush()
    return alarm_record(found)
