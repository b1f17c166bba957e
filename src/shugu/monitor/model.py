"""The monitor's shared vocabulary: severities, alarm states, notices and inspection results.

These are plain values passed between the rule engine, the alarm book, the notifiers and the
report writers, so each of those can be built and tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """Alarm severity, most urgent first (the order of ``SEVERITY_RANK``)."""

    critical = "critical"
    major = "major"
    minor = "minor"
    warning = "warning"


#: Lower is worse: sorting by rank puts the most urgent alarm first.
SEVERITY_RANK: dict[Severity, int] = {
    Severity.critical: 0,
    Severity.major: 1,
    Severity.minor: 2,
    Severity.warning: 3,
}

SEVERITY_LABEL: dict[Severity, tuple[str, str]] = {
    Severity.critical: ("紧急", "Critical"),
    Severity.major: ("重要", "Major"),
    Severity.minor: ("次要", "Minor"),
    Severity.warning: ("提示", "Warning"),
}


class AlarmStatus(StrEnum):
    """Lifecycle: active → acknowledged → cleared. Shelving is a separate time limit."""

    active = "active"
    acknowledged = "acknowledged"
    cleared = "cleared"


class NoticeEvent(StrEnum):
    """Why a notice is sent."""

    raised = "raised"
    #: Still not acknowledged after the re-notify interval.
    repeated = "repeated"
    #: Not acknowledged after the escalation delay: sent to the second group.
    escalated = "escalated"
    acknowledged = "acknowledged"
    cleared = "cleared"
    #: Sent on request to check a channel; about no alarm (its ``alarm_id`` is 0).
    test = "test"


@dataclass(frozen=True, slots=True)
class AlarmNotice:
    """One alarm event as a person reads it in a group chat or a mail."""

    alarm_id: int
    event: NoticeEvent
    severity: Severity
    #: The rule's label, e.g. "机柜进风温度超出 ASHRAE 推荐范围".
    rule_zh: str
    rule_en: str
    enterprise: str
    device: str
    #: A one-line account of the condition, e.g. "进风温度 29.4 °C > 27 °C".
    detail_zh: str
    detail_en: str
    raised_at_ms: int
    at_ms: int
    value: float | None = None
    #: Where a person can see and acknowledge the alarm, when shugu's address is known.
    link: str | None = None
    #: The incident the notice speaks for (its probable cause is this alarm, or the alarm that
    #: re-opened it), and how many alarms it holds so far; None for an alarm raised before
    #: incidents were kept.
    incident_id: int | None = None
    incident_alarms: int = 1
    #: The alarm is new in an incident someone had acknowledged: the incident is open again.
    incident_reopened: bool = False


@dataclass(frozen=True, slots=True)
class IncidentTag:
    """What a notice says of its incident."""

    id: int
    alarms: int
    reopened: bool = False


class CheckOutcome(StrEnum):
    passed = "pass"
    failed = "fail"
    no_data = "no_data"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one device in an inspection round (巡检)."""

    device_id: int
    device_name: str
    check_zh: str
    check_en: str
    #: The metric or expression checked, e.g. "inlet_c" or "chw_return_c - chw_supply_c".
    subject: str
    unit: str
    value: float | None
    #: The limit as a person reads it, e.g. "18–27" or "≤ 7".
    limit: str
    outcome: CheckOutcome
    #: Timestamp of the newest point the value came from (ms), None when there was none.
    observed_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """One inspection round: every check of a plan evaluated at one moment."""

    id: int
    plan_id: int
    plan_name: str
    enterprise_id: int
    enterprise_name: str
    #: When the round ran (ms since epoch, UTC); reports show it in China time.
    at_ms: int
    #: "schedule" or "manual".
    trigger: str
    #: Who ran a manual round (a username), None for a scheduled one.
    by: str | None
    results: tuple[CheckResult, ...] = field(default_factory=tuple)

    def count(self, outcome: CheckOutcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)
