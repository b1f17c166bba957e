"""The alarm book's incidents: raised alarms placed into incidents, written, and notified once.

The first alarm of an incident sends the ``raised`` notice; later alarms joining it send none
(the incident's summary, its count and probable cause, changes instead). Reminders and
escalation run per incident, not per alarm; ``acknowledged`` and ``cleared`` go out when the
incident is acknowledged or its last alarm clears. Grouping is ``monitor/incidents.py``; this
module keeps the registry and the notices in step with it, on the monitor's thread or a
request's, under one lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from shugu.domain.timeutil import utc_datetime
from shugu.monitor.incidents import (
    LINK_ATTRIBUTES,
    AlarmFact,
    GroupingRules,
    IncidentGrouper,
    OpenIncident,
    Topology,
)
from shugu.monitor.model import IncidentTag, NoticeEvent, Severity
from shugu.monitor.notify.escalation import EscalationPolicy, EscalationState, audience, plan_all
from shugu.store.registry import Registry
from shugu.store.registry.incidents import IncidentRecord, IncidentWrite
from shugu.store.registry.monitoring import AlarmRecord
from shugu.store.telemetry import TelemetryStore

log = logging.getLogger(__name__)

#: States of an incident not closed.
UNCLOSED_STATES = ("open", "acknowledged")

#: Sends a notice about an incident: (the alarm it names, event, channel names, the incident,
#: now in ms). The book resolves channels and shelving.
SendIncident = Callable[[AlarmRecord, NoticeEvent, list[str], IncidentTag, int], None]


def fact_of(record: AlarmRecord) -> AlarmFact:
    return AlarmFact(
        alarm_id=record.id,
        device_id=record.device_id,
        enterprise_id=record.enterprise_id,
        raised_ms=int(record.raised_at.timestamp() * 1000),
        severity=Severity(record.severity),
        offline=record.detail.get("kind") == "no_data",
    )


def build_topology(registry: Registry, store: TelemetryStore, rules: GroupingRules) -> Topology:
    """Every device's place from the registry's devices and assets and the link attributes."""
    assets = [a for e in registry.list_enterprises() for a in registry.list_assets(e.id)]
    links = [(a.device, a.key, a.value_json) for a in store.attributes_named(LINK_ATTRIBUTES)]
    return Topology.build(registry.all_devices(), assets, links, rules)


@dataclass(slots=True)
class _Planned:
    """One incident write of a turn and what follows once it is kept."""

    incident: OpenIncident
    #: The alarm its ``raised`` notice names; None: no notice.
    named: AlarmRecord | None = None
    reopened: bool = False
    #: Its last open alarm cleared: the write closes it.
    closing: bool = False


@dataclass(slots=True)
class IncidentTurn:
    """A turn's incident writes, planned from its alarms' results inside their transaction;
    ``IncidentDesk.settle`` takes the kept records and sends the notices."""

    at: datetime
    writes: list[IncidentWrite] = field(default_factory=list)
    planned: list[_Planned] = field(default_factory=list)


class IncidentDesk:
    """Open incidents in memory: read from the registry once (``set_topology``'s first call)
    and kept current by the desk's own writes, so that booking an alarm reads nothing back;
    the writes go into the alarms' own transaction (``Registry.write_alarm_turn``)."""

    def __init__(
        self,
        registry: Registry,
        *,
        window_ms: int,
        policy_of: Callable[[int], EscalationPolicy | None],
        send: SendIncident,
    ) -> None:
        self._registry = registry
        self._policy_of = policy_of
        self._send = send
        self._lock = threading.Lock()
        self._grouper = IncidentGrouper(Topology({}), window_ms)
        self._restored = False

    def set_topology(self, topology: Topology) -> None:
        """New devices, assets or links; on the first call, open incidents are read back."""
        with self._lock:
            self._grouper.topology = topology
            if not self._restored:
                self._restored = True
                self._restore()

    def open_incidents(self) -> list[OpenIncident]:
        with self._lock:
            return self._grouper.open_incidents()

    def _restore(self) -> None:
        for incident in self._registry.list_incidents(
            None, states=UNCLOSED_STATES, limit=1_000_000
        ):
            alarms = self._registry.list_alarms(None, incident_id=incident.id, limit=100_000)
            if alarms:
                self._grouper.restore(
                    incident.id,
                    [(fact_of(a), a.status != "cleared") for a in alarms],
                    incident.state,
                )

    def abandon(self) -> None:
        """A turn's transaction did not commit: what its plan placed in memory is read back
        from the registry, as at a restart."""
        with self._lock:
            self._grouper = IncidentGrouper(self._grouper.topology, self._grouper.window_ms)
            if self._restored:
                # Should the registry fail this read too, the next ``set_topology`` retries.
                self._restored = False
                self._restore()
                self._restored = True

    # -- from the book -----------------------------------------------------------------------

    def plan(
        self, raised: Sequence[AlarmRecord], cleared: Sequence[AlarmRecord], at: datetime
    ) -> IncidentTurn:
        """The incident writes for a turn's alarms, from memory alone: each alarm raised joins
        or opens an incident, and an incident whose last open alarm cleared closes. Called
        inside the turn's transaction; ``settle`` once it commits, ``abandon`` if not."""
        turn = IncidentTurn(at)
        with self._lock:
            self._place(raised, turn)
            self._close(cleared, turn)
        return turn

    def settle(self, turn: IncidentTurn, written: Sequence[IncidentRecord]) -> None:
        """The turn's incidents are kept: new ones learn their id, and notices go out."""
        now = _ms(turn.at)
        raised: list[tuple[AlarmRecord, IncidentTag]] = []
        closed: list[IncidentRecord] = []
        with self._lock:
            for planned, kept in zip(turn.planned, written, strict=True):
                if planned.closing:
                    closed.append(kept)
                    continue
                planned.incident.id = kept.id
                planned.incident.state = kept.state
                if planned.named is not None:
                    tag = IncidentTag(kept.id, kept.alarm_count, planned.reopened)
                    raised.append((planned.named, tag))
        for record, tag in raised:
            policy = self._policy_of(record.enterprise_id)
            if policy is not None:
                self._send(record, NoticeEvent.raised, list(policy.first), tag, now)
        for incident in closed:
            self._after_handled(incident, NoticeEvent.cleared, now)

    def _place(self, records: Sequence[AlarmRecord], turn: IncidentTurn) -> None:
        """A new incident is notified; so is an acknowledged one that a new alarm joins: it
        opens again (a new fault on top of one being handled is news), with one notice naming
        the new alarm, and its reminders start over. A flapping alarm re-opens quietly: its
        flips are counted, not announced."""
        if not records:
            return
        now = _ms(turn.at)
        by_id = {r.id: r for r in records}
        touched: dict[int, tuple[OpenIncident, list[int], bool]] = {}
        for record in records:
            placement = self._grouper.place(fact_of(record))
            key = id(placement.incident)
            _inc, ids, opened = touched.get(key, (placement.incident, [], False))
            touched[key] = (placement.incident, [*ids, record.id], opened or placement.opened)
        for incident, ids, opened in touched.values():
            escalation = None
            notified = None
            reopened = False
            policy = self._policy_of(incident.enterprise_id)
            if opened and incident.id is None:
                if policy is not None:
                    escalation = asdict(EscalationState.opened(now))
                    notified = incident.cause.alarm_id
            elif incident.id is not None and incident.state == "acknowledged":
                reopened = True
                loud = [i for i in ids if not by_id[i].flapping]
                if policy is not None:
                    escalation = asdict(EscalationState.opened(now))
                    if loud:
                        notified = incident.most_upstream(loud).alarm_id
            turn.writes.append(
                IncidentWrite(
                    incident_id=incident.id,
                    enterprise_id=incident.enterprise_id,
                    state="open",
                    severity=incident.severity.value,
                    at=turn.at,
                    cause_alarm_id=incident.cause.alarm_id,
                    alarm_count=len(incident.members),
                    alarm_ids=tuple(ids),
                    escalation=escalation,
                    notified_alarm_id=notified,
                    notice_kind="reopened" if reopened else "notified",
                    reopened=reopened,
                )
            )
            named = None if notified is None else by_id.get(notified)
            turn.planned.append(_Planned(incident, named, reopened))

    def _close(self, records: Sequence[AlarmRecord], turn: IncidentTurn) -> None:
        for record in records:
            incident = self._grouper.alarm_closed(record.id)
            if incident is None or incident.open_alarms or incident.id is None:
                continue
            turn.writes.append(
                IncidentWrite(
                    incident_id=incident.id,
                    enterprise_id=incident.enterprise_id,
                    state="closed",
                    severity=incident.severity.value,
                    at=turn.at,
                    cause_alarm_id=incident.cause.alarm_id,
                    alarm_count=len(incident.members),
                    closed=True,
                )
            )
            turn.planned.append(_Planned(incident, closing=True))

    def cleared(self, records: Sequence[AlarmRecord], at: datetime) -> None:
        """Alarms cleared outside a turn (by a person, or their rule removed): an incident
        whose last open alarm it was is closed, in a transaction of its own."""
        turn = self.plan((), records, at)
        if not turn.writes:
            return
        try:
            written = self._registry.write_incidents(turn.writes)
        except Exception:
            self.abandon()
            raise
        self.settle(turn, written)

    def acknowledged(self, records: Sequence[AlarmRecord], at: datetime, by: str) -> None:
        """Alarms acknowledged: an incident none of whose open alarms is still active is
        acknowledged too, and says so once."""
        incident_ids = {r.incident_id for r in records if r.incident_id is not None}
        for incident_id in sorted(incident_ids):
            done = self._registry.acknowledge_open_incident(incident_id, at, by)
            if done is None:
                continue
            with self._lock:
                for incident in self._grouper.open_incidents():
                    if incident.id == incident_id:
                        incident.state = done.state
            self._after_handled(done, NoticeEvent.acknowledged, _ms(at))

    def tick(self, now: int) -> None:
        """Reminders and escalation for incidents nobody has acknowledged."""
        for incident in self._registry.list_incidents(None, states=("open",), limit=100_000):
            policy = self._policy_of(incident.enterprise_id)
            if policy is None or not incident.escalation or incident.cause_alarm_id is None:
                continue
            state = EscalationState(**incident.escalation)
            due, new_state = plan_all(policy, state, False, False, now)
            if not due:
                continue
            speaker = self._speaker(incident, now)
            if speaker is None:
                # Every active alarm of it is shelved: no reminder would go out, so the
                # escalation waits for the shelf to end instead of advancing unheard.
                continue
            # Written before the notices, and only while it is still open: an acknowledgement
            # or a close on a request's thread since the read above stands, and nobody is told.
            kept = self._registry.advance_open_incident(
                incident.id,
                asdict(new_state),
                utc_datetime(now),
                notified_alarm_id=speaker.id,
                notice_kind=due[-1][0].value,
            )
            if kept is None:
                continue
            tag = IncidentTag(kept.id, kept.alarm_count)
            for event, names in due:
                self._send(speaker, event, names, tag, now)

    def _speaker(self, incident: IncidentRecord, now: int) -> AlarmRecord | None:
        """The alarm a reminder of the incident names: its cause if active and not shelved,
        else its oldest such alarm; None: there is none."""
        heard = [
            a
            for a in self._registry.list_alarms(
                None, incident_id=incident.id, statuses=("active",), limit=100_000
            )
            if a.shelved_until is None or _ms(a.shelved_until) <= now
        ]
        for alarm in heard:
            if alarm.id == incident.cause_alarm_id:
                return alarm
        return heard[-1] if heard else None

    def _after_handled(self, incident: IncidentRecord, event: NoticeEvent, now: int) -> None:
        policy = self._policy_of(incident.enterprise_id)
        if policy is None or not incident.escalation or incident.cause_alarm_id is None:
            return
        state = EscalationState(**incident.escalation)
        cause = self._registry.get_alarm(incident.cause_alarm_id)
        tag = IncidentTag(incident.id, incident.alarm_count)
        self._send(cause, event, audience(policy, state), tag, now)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
