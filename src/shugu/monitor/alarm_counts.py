"""Open alarms counted per park and enterprise, by severity: the roll-up that names no machine.

Who is counted is ``Access.can_count_alarms``: the bureau every enterprise, an enterprise's own
people their enterprise, the operator the enterprises that granted it consent. A park shows the
sum over its counted enterprises only, and only parks with a counted enterprise are listed.
Three queries whatever the district's size (enterprises, parks, open alarms in three columns).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shugu.domain.tenancy import Access
from shugu.monitor.model import SEVERITY_RANK, Severity
from shugu.store.registry import EnterpriseRecord, ParkRecord, Registry
from shugu.store.registry.region_counts import OpenAlarmRow

#: Most urgent first.
SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, key=SEVERITY_RANK.__getitem__))


@dataclass(frozen=True, slots=True)
class SeverityCounts:
    """Open alarms per severity."""

    counts: Mapping[Severity, int] = field(default_factory=dict)

    @property
    def open(self) -> int:
        return sum(self.counts.values())

    @property
    def worst(self) -> Severity | None:
        return next((s for s in SEVERITIES if self.counts.get(s, 0) > 0), None)

    def of(self, severity: Severity) -> int:
        return self.counts.get(severity, 0)

    @staticmethod
    def tally(severities: Iterable[str]) -> SeverityCounts:
        counts: dict[Severity, int] = {}
        for text in severities:
            try:
                severity = Severity(text)
            except ValueError:  # a severity this version does not know: count it as the least
                severity = SEVERITIES[-1]
            counts[severity] = counts.get(severity, 0) + 1
        return SeverityCounts(counts)


@dataclass(frozen=True, slots=True)
class NodeCounts:
    """A park's or an enterprise's open alarms."""

    id: int
    name: str
    alarms: SeverityCounts


@dataclass(frozen=True, slots=True)
class AlarmCounts:
    parks: list[NodeCounts]
    enterprises: list[NodeCounts]


def count_open_alarms(
    rows: Iterable[OpenAlarmRow],
    enterprises: Iterable[EnterpriseRecord],
    parks: Iterable[ParkRecord],
    access: Access,
) -> AlarmCounts:
    """The roll-up of already read rows (the region overview reads them once for everything)."""
    counted = [e for e in enterprises if access.can_count_alarms(e.id)]
    ids = {e.id for e in counted}
    by_enterprise: dict[int, list[str]] = {e.id: [] for e in counted}
    for row in rows:
        if row.enterprise_id in ids:
            by_enterprise[row.enterprise_id].append(row.severity)
    by_park: dict[int, list[str]] = {}
    for e in counted:
        by_park.setdefault(e.park_id, []).extend(by_enterprise[e.id])
    park_names = {p.id: p.name for p in parks}
    return AlarmCounts(
        parks=[
            NodeCounts(p, park_names.get(p, str(p)), SeverityCounts.tally(s))
            for p, s in sorted(by_park.items())
        ],
        enterprises=[
            NodeCounts(e.id, e.name, SeverityCounts.tally(by_enterprise[e.id])) for e in counted
        ],
    )


def open_alarm_counts(registry: Registry, access: Access) -> AlarmCounts:
    """Each park's and enterprise's open alarms that ``access`` may count."""
    return count_open_alarms(
        registry.open_alarm_rows(), registry.list_enterprises(), registry.list_parks(), access
    )
