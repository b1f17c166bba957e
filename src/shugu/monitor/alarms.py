"""The alarm book: rule transitions become alarms with a lifecycle, a history and notices.

One open alarm per (rule, device), enforced by the registry. An alarm is active while its
condition holds, acknowledged once a person has seen it, and cleared when the condition ends
(by the engine) or by a person. Shelving silences its notices for a while. Notices go to the
enterprise's channels through its escalation policy; delivery is the notifier's job and never
holds up this book.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeGuard

import numpy as np
import numpy.typing as npt

from shugu.domain.errors import ConflictError, ValidationError
from shugu.domain.timeutil import utc_datetime, utc_now_ms
from shugu.monitor.alarm_text import limit_line
from shugu.monitor.engine import DeviceInfo, Transition, describe
from shugu.monitor.flapping import FlapLimits, FlapTracker, FlapVerdict
from shugu.monitor.incidents import load_rules
from shugu.monitor.incidents_desk import IncidentDesk, IncidentTurn
from shugu.monitor.model import (
    SEVERITY_RANK,
    AlarmNotice,
    AlarmStatus,
    IncidentTag,
    NoticeEvent,
    Severity,
)
from shugu.monitor.notify.channels import ChannelConfig
from shugu.monitor.notify.escalation import (
    EscalationPolicy,
    EscalationState,
    audience,
    plan_all,
)
from shugu.monitor.rules import RuleSpec
from shugu.store.registry import Registry
from shugu.store.registry.incidents import IncidentWrite
from shugu.store.registry.monitoring import AlarmChange, AlarmRecord, NewAlarm

log = logging.getLogger(__name__)

#: Statuses of an alarm that is not cleared.
OPEN_STATUSES = (AlarmStatus.active.value, AlarmStatus.acknowledged.value)
MAX_SHELVE_MINUTES = 7 * 24 * 60
MAX_NOTE_LENGTH = 2000

Notify = Callable[[AlarmNotice, list[ChannelConfig]], None]


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    channels: dict[str, ChannelConfig]
    policy: EscalationPolicy | None


class AlarmBook:
    def __init__(
        self,
        registry: Registry,
        *,
        rule_of: Callable[[str, int], RuleSpec | None],
        device_of: Callable[[int], DeviceInfo | None],
        notify_config: Callable[[int], NotifyConfig],
        notify: Notify | None = None,
        forget: Callable[[str, int], None] | None = None,
        clock: Callable[[], int] = utc_now_ms,
        link: Callable[[int], str | None] = lambda _id: None,
    ) -> None:
        self._registry = registry
        self._rule_of = rule_of
        self._device_of = device_of
        self._notify_config = notify_config
        self._notify = notify
        self._forget = forget
        self._clock = clock
        self._link = link
        self._lock = threading.Lock()
        self._enterprise_names: dict[int, str] = {}
        #: (rule ref, device) → id of the open alarm.
        self._open: dict[tuple[str, int], int] = {}
        self._flaps = FlapTracker()
        self.reload_open()
        self.raised = 0
        self.cleared = 0
        #: Called with (transition, alarm id) once an alarm is kept, e.g. to measure latency.
        self.on_raised: Callable[[Transition, int], None] | None = None
        self._change_listeners: list[Callable[[int], None]] = []
        #: Alarms grouped into incidents; notices and escalation go per incident.
        self.incidents = IncidentDesk(
            registry,
            window_ms=load_rules().window_s * 1000,
            policy_of=lambda enterprise_id: self._notify_config(enterprise_id).policy,
            send=self._send_incident,
        )

    def reload_open(self) -> None:
        """Read the open alarms back from the registry (at start, and in a cluster when another
        process has acknowledged, cleared or raised some)."""
        open_alarms = self._registry.list_alarms(None, statuses=OPEN_STATUSES, limit=1_000_000)
        flaps = FlapTracker()
        started = self._clock()
        for record in open_alarms:
            if record.flapping:
                flaps.restore((record.rule_ref, record.device_id), record.flips, started)
        with self._lock:
            self._open = {(a.rule_ref, a.device_id): a.id for a in open_alarms}
            self._flaps = flaps

    def add_change_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener`` with an enterprise's id whenever one of its alarms is raised,
        cleared, acknowledged or shelved (open pages refresh their alarm lists). It is called on
        the monitor's thread or a request's, and must hand over and return at once."""
        self._change_listeners.append(listener)

    def _announce(self, enterprise_ids: Iterable[int]) -> None:
        for enterprise_id in set(enterprise_ids):
            for listener in self._change_listeners:
                try:
                    listener(enterprise_id)
                except Exception:
                    log.exception("an alarm change listener failed")

    def open_pairs(self) -> list[tuple[str, int]]:
        """Pairs whose condition the engine must take as holding: open alarms, except those
        held open by flapping while the condition does not hold."""
        with self._lock:
            return [key for key in self._open if not self._flaps.held_clear(key)]

    # -- from the engine ---------------------------------------------------------------------

    def apply(self, transitions: Iterable[Transition]) -> None:
        """Turn the engine's transitions into alarms, written together: one transaction for a
        turn's raises and clears (another only when an alarm raised in the turn changes again
        in it). A flapping rule's flips only count (``monitor/flapping.py``)."""
        now_ms = self._clock()
        writes = _Writes(utc_datetime(now_ms))
        for t in transitions:
            key = (t.ref, t.device_id)
            rule = self._rule_of(t.ref, t.device_id)
            verdict = FlapVerdict.normal
            if rule is not None:
                with self._lock:
                    verdict = self._flaps.change(
                        key, t.raised, t.ts_ms, FlapLimits.of(rule), now_ms
                    )
            if verdict is FlapVerdict.normal:
                if t.raised:
                    self._queue_raise(writes, t, rule, flapping=False)
                else:
                    self._queue_clear(writes, key, t.value)
            elif verdict is FlapVerdict.started and (key in self._open or key in writes.opening):
                if key in writes.opening:
                    self._flush(writes)  # the alarm's id is needed
                if key not in self._open:
                    continue  # another process holds it open
                writes.add(
                    AlarmChange(
                        self._open[key],
                        "flapping",
                        writes.at,
                        value=t.value,
                        flapping=True,
                        flips=self._flaps.flips(key),
                    )
                )
            elif t.raised and key not in self._open and key not in writes.opening:
                # Flapping without an open alarm (cleared by a person): hold one open again.
                self._queue_raise(writes, t, rule, flapping=True)
        # Flip counts are written by ``settle_flapping`` (each tick), not once per turn: a
        # flood is many short turns, and a transaction each would be most of their cost.
        self._flush(writes)

    def _queue_raise(
        self, writes: _Writes, t: Transition, rule: RuleSpec | None, *, flapping: bool
    ) -> None:
        key = (t.ref, t.device_id)
        device = self._device_of(t.device_id)
        if device is None or rule is None or key in self._open or key in writes.opening:
            return
        detail = {
            "rule_zh": rule.label_zh,
            "rule_en": rule.label_en,
            "text_zh": describe(
                rule,
                t.value,
                "zh",
                device=device.name,
                profile=device.profile,
                at_ms=t.ts_ms,
                driver=t.driver,
            ),
            "text_en": describe(
                rule,
                t.value,
                "en",
                device=device.name,
                profile=device.profile,
                at_ms=t.ts_ms,
                driver=t.driver,
            ),
            "limit": rule.limit_text(),
            "limit_zh": limit_line(rule, "zh"),
            "subject": rule.subject(),
            "unit": rule.unit,
            "point_ts_ms": t.ts_ms,
            "kind": rule.kind.value,
        }
        # Notices and their escalation belong to the alarm's incident (``incidents_desk.py``).
        write = NewAlarm(
            t.ref,
            t.device_id,
            device.enterprise_id,
            t.severity.value,
            writes.at,
            t.value,
            detail,
            None,
            flapping=flapping,
            flips=self._flaps.flips(key) if flapping else 0,
        )
        writes.add(write, t)

    def _queue_clear(self, writes: _Writes, key: tuple[str, int], value: float | None) -> None:
        if key in writes.opening:
            self._flush(writes)  # raised and cleared in one turn: the alarm's id is needed
        with self._lock:
            alarm_id = self._open.pop(key, None)
        if alarm_id is not None:
            writes.add(AlarmChange(alarm_id, "cleared", writes.at, value=value, clear=True))

    def _flush(self, writes: _Writes) -> None:
        if not writes.items:
            return
        items, writes.items, writes.opening = writes.items, [], set()
        turns: list[IncidentTurn] = []

        def incidents_of(records: list[AlarmRecord | None]) -> list[IncidentWrite]:
            if turns:
                self.incidents.abandon()  # written again after a rollback: place them afresh
            raised = [r for (w, _t), r in zip(items, records, strict=True) if _raises(r, w)]
            cleared = [r for (w, _t), r in zip(items, records, strict=True) if _clears(r, w)]
            turns.append(self.incidents.plan(raised, cleared, writes.at))
            return turns[-1].writes

        try:
            records, incidents = self._registry.write_alarm_turn(
                [w for w, _t in items], incidents_of
            )
        except Exception:
            if turns:
                self.incidents.abandon()
            raise
        now = to_ms(writes.at)
        for (write, t), record in zip(items, records, strict=True):
            if record is None:
                continue
            if isinstance(write, NewAlarm):
                with self._lock:
                    self._open[(record.rule_ref, record.device_id)] = record.id
                self.raised += 1
                if self.on_raised is not None and t is not None:
                    self.on_raised(t, record.id)
            elif write.clear:
                self.cleared += 1
                self._after_handled(record, NoticeEvent.cleared, now)
        self.incidents.settle(turns[-1], incidents)
        self._announce(r.enterprise_id for r in records if r is not None)

    def observe(self, device: npt.NDArray[np.integer], ts: npt.NDArray[np.int64]) -> None:
        """A turn's points, evaluated: they move their devices' clocks, by which flapping
        pairs settle (``monitor/flapping.py``)."""
        with self._lock:
            self._flaps.observe(device, ts, self._clock())

    def settle_flapping(self) -> None:
        """Write flapping alarms' new flip counts; pairs that stopped flapping settle into the
        rule's verdict: the alarm stays open (no longer marked) while the condition holds, and
        is cleared otherwise."""
        writes = _Writes(utc_datetime(self._clock()))
        with self._lock:
            settled = self._flaps.settle(to_ms(writes.at), self._flap_limits)
            dirty = self._flaps.dirty()
        for key, flips in dirty:
            alarm_id = self._open.get(key)
            if alarm_id is not None:
                writes.add(AlarmChange(alarm_id, None, writes.at, flips=flips))
        for done in settled:
            with self._lock:
                alarm_id = self._open.get(done.key)
                if alarm_id is not None and not done.condition:
                    del self._open[done.key]
            if alarm_id is None:
                continue
            writes.add(
                AlarmChange(
                    alarm_id,
                    "flapping_ended" if done.condition else "cleared",
                    writes.at,
                    note="" if done.condition else "flapping ended",
                    clear=not done.condition,
                    flapping=False,
                    flips=done.flips,
                )
            )
        self._flush(writes)

    def _flap_limits(self, key: tuple[str, int]) -> FlapLimits | None:
        rule = self._rule_of(*key)
        return None if rule is None else FlapLimits.of(rule)

    def clear_orphans(self, rule_refs: set[str]) -> None:
        """Clear open alarms whose rule no longer exists (deleted or renamed)."""
        with self._lock:
            gone = [(key, alarm) for key, alarm in self._open.items() if key[0] not in rule_refs]
            for key, _alarm in gone:
                del self._open[key]
        now = self._clock()
        for _key, alarm_id in gone:
            record = self._registry.update_alarm(
                alarm_id,
                event="cleared",
                at=utc_datetime(now),
                note="rule removed",
                status=AlarmStatus.cleared.value,
            )
            self.cleared += 1
            self._after_handled(record, NoticeEvent.cleared, now)
            self.incidents.cleared([record], utc_datetime(now))

    # -- from people -------------------------------------------------------------------------

    def acknowledge(self, alarm_id: int, by: str, note: str = "") -> AlarmRecord:
        record = self._registry.get_alarm(alarm_id)
        if record.status != AlarmStatus.active.value:
            raise ConflictError(
                f"the alarm is {record.status}; only an active alarm can be acknowledged",
                code="alarm_not_active",
            )
        now = self._clock()
        record = self._registry.update_alarm(
            alarm_id,
            event="acknowledged",
            at=utc_datetime(now),
            by=by,
            note=_note(note),
            status=AlarmStatus.acknowledged.value,
        )
        self._after_handled(record, NoticeEvent.acknowledged, now)
        self.incidents.acknowledged([record], utc_datetime(now), by)
        self._announce((record.enterprise_id,))
        return record

    def acknowledge_incident(self, incident_id: int, by: str, note: str = "") -> list[AlarmRecord]:
        """Acknowledge every active alarm of an incident, and so the incident, in one action:
        one ``acknowledged`` notice for the incident, none per alarm."""
        incident = self._registry.get_incident(incident_id)
        if incident.state == "closed":
            raise ConflictError("the incident is closed", code="incident_closed")
        at = utc_datetime(self._clock())
        # Only alarms still active at the write: one cleared since the incident was read stays
        # cleared.
        done = self._registry.acknowledge_incident_alarms(incident_id, at, by, _note(note))
        if not done:
            raise ConflictError(
                "the incident has no active alarm to acknowledge", code="incident_not_active"
            )
        self.incidents.acknowledged(done, at, by)
        self._announce((incident.enterprise_id,))
        return done

    def clear(self, alarm_id: int, by: str, note: str = "") -> AlarmRecord:
        """Clear by hand. If the condition still holds, the rule raises a new alarm."""
        record = self._registry.get_alarm(alarm_id)
        if record.status == AlarmStatus.cleared.value:
            raise ConflictError("the alarm is cleared already", code="alarm_cleared")
        now = self._clock()
        with self._lock:
            self._open.pop((record.rule_ref, record.device_id), None)
            # Should it still flap, it is held in one new alarm after ``flap_start`` changes.
            self._flaps.forget((record.rule_ref, record.device_id))
        record = self._registry.update_alarm(
            alarm_id,
            event="cleared",
            at=utc_datetime(now),
            by=by,
            note=_note(note),
            status=AlarmStatus.cleared.value,
        )
        if self._forget is not None:
            self._forget(record.rule_ref, record.device_id)
        self.cleared += 1
        self._after_handled(record, NoticeEvent.cleared, now)
        self.incidents.cleared([record], utc_datetime(now))
        self._announce((record.enterprise_id,))
        return record

    def shelve(self, alarm_id: int, minutes: int, by: str, note: str = "") -> AlarmRecord:
        """Silence an open alarm's notices for a while; it stays in the list, marked."""
        if not 1 <= minutes <= MAX_SHELVE_MINUTES:
            raise ValidationError(
                f"minutes must be between 1 and {MAX_SHELVE_MINUTES}",
                code="shelve_minutes_invalid",
                field="minutes",
            )
        record = self._registry.get_alarm(alarm_id)
        if record.status == AlarmStatus.cleared.value:
            raise ConflictError("a cleared alarm cannot be shelved", code="alarm_cleared")
        now = self._clock()
        until = utc_datetime(now) + timedelta(minutes=minutes)
        record = self._registry.update_alarm(
            alarm_id,
            event="shelved",
            at=utc_datetime(now),
            by=by,
            note=_note(note),
            shelved_until=until,
        )
        self._announce((record.enterprise_id,))
        return record

    # -- notices -----------------------------------------------------------------------------

    def tick(self) -> None:
        """Reminders and escalation: per incident, and for alarms raised before incidents were
        kept (those carry their own escalation state), per alarm."""
        now = self._clock()
        self.incidents.tick(now)
        for record in self._registry.list_alarms(
            None, statuses=(AlarmStatus.active.value,), limit=100_000
        ):
            if record.shelved_until is not None and to_ms(record.shelved_until) > now:
                continue
            config = self._notify_config(record.enterprise_id)
            if config.policy is None or not record.escalation:
                continue
            state = EscalationState(**record.escalation)
            due, new_state = plan_all(config.policy, state, False, False, now)
            if not due:
                continue
            for event, names in due:
                self._send(record, event, names, config, now)
            self._registry.update_alarm(
                record.id,
                event=due[-1][0].value,
                at=utc_datetime(now),
                escalation=asdict(new_state),
            )

    def _after_handled(self, record: AlarmRecord, event: NoticeEvent, now: int) -> None:
        config = self._notify_config(record.enterprise_id)
        if config.policy is None or not record.escalation:
            return
        state = EscalationState(**record.escalation)
        self._send(record, event, audience(config.policy, state), config, now)

    def _send(
        self,
        record: AlarmRecord,
        event: NoticeEvent,
        names: list[str],
        config: NotifyConfig,
        now: int,
        incident: IncidentTag | None = None,
    ) -> None:
        """``incident``: the incident the notice speaks for."""
        if self._notify is None:
            return
        if event in (NoticeEvent.raised, NoticeEvent.repeated, NoticeEvent.escalated) and (
            record.shelved_until is not None and to_ms(record.shelved_until) > now
        ):
            return
        channels = [config.channels[n] for n in names if n in config.channels]
        if channels:
            notice = self.notice(record, event, now)
            if incident is not None:
                notice = replace(
                    notice,
                    incident_id=incident.id,
                    incident_alarms=incident.alarms,
                    incident_reopened=incident.reopened,
                )
            self._notify(notice, channels)

    def _send_incident(
        self,
        cause: AlarmRecord,
        event: NoticeEvent,
        names: list[str],
        incident: IncidentTag,
        now: int,
    ) -> None:
        config = self._notify_config(cause.enterprise_id)
        self._send(cause, event, names, config, now, incident)

    def notice(self, record: AlarmRecord, event: NoticeEvent, now: int) -> AlarmNotice:
        device = self._device_of(record.device_id)
        detail = record.detail
        return AlarmNotice(
            alarm_id=record.id,
            event=event,
            severity=Severity(record.severity),
            rule_zh=str(detail.get("rule_zh", record.rule_ref)),
            rule_en=str(detail.get("rule_en", record.rule_ref)),
            enterprise=self.enterprise_name(record.enterprise_id),
            device=device.name if device is not None else f"#{record.device_id}",
            detail_zh=str(detail.get("text_zh", "")),
            detail_en=str(detail.get("text_en", "")),
            raised_at_ms=to_ms(record.raised_at),
            at_ms=now,
            value=record.value,
            link=self._link(record.id),
        )

    def enterprise_name(self, enterprise_id: int) -> str:
        name = self._enterprise_names.get(enterprise_id)
        if name is None:
            name = self._registry.get_enterprise(enterprise_id).name
            self._enterprise_names[enterprise_id] = name
        return name


@dataclass(slots=True)
class _Writes:
    """Alarm writes gathered for one transaction, at one moment."""

    at: datetime
    items: list[tuple[NewAlarm | AlarmChange, Transition | None]] = field(default_factory=list)
    #: Pairs raised by a write not yet made.
    opening: set[tuple[str, int]] = field(default_factory=set)

    def add(self, write: NewAlarm | AlarmChange, t: Transition | None = None) -> None:
        self.items.append((write, t))
        if isinstance(write, NewAlarm):
            self.opening.add((write.rule_ref, write.device_id))


def _raises(record: AlarmRecord | None, write: NewAlarm | AlarmChange) -> TypeGuard[AlarmRecord]:
    return record is not None and isinstance(write, NewAlarm)


def _clears(record: AlarmRecord | None, write: NewAlarm | AlarmChange) -> TypeGuard[AlarmRecord]:
    return record is not None and isinstance(write, AlarmChange) and write.clear


def _note(note: str) -> str:
    return note.strip()[:MAX_NOTE_LENGTH]


def worst(records: Iterable[AlarmRecord]) -> Severity | None:
    severities = [Severity(r.severity) for r in records]
    return min(severities, key=SEVERITY_RANK.__getitem__) if severities else None
