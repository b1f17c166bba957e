"""SME digital-transformation projects (中小企业数字化转型) measured on the owner's machines:
the months before go-live against the months after (decision 0038).

The go-live month is the changeover and belongs to neither side; each side is
``window_months`` whole months (China time) next to it. A side counts only when the platform
covers it: it has ended, and the owner's machines of the profile had facts from its first week
on. Otherwise its figures are "not enough data" (None) rather than a part-quarter that would
flatter or blame the project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np

from shugu.analytics.energy import energy_table
from shugu.analytics.periods import DAY_MS, instant
from shugu.analytics.query import KpiQuery, KpiService
from shugu.region.projects.catalogue import Catalogue
from shugu.region.projects.overdue import next_month
from shugu.store.registry.region_projects import ProjectRecord

#: Machines that began sending within this long after a side's start still cover it.
GRACE_MS = 7 * DAY_MS

Missing = Literal["not_sme", "no_go_live", "no_owner", "no_machines"]


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    #: The first day after the window.
    end: date

    @property
    def start_ms(self) -> int:
        return instant(datetime(self.start.year, self.start.month, self.start.day))

    @property
    def end_ms(self) -> int:
        return instant(datetime(self.end.year, self.end.month, self.end.day))


@dataclass(frozen=True, slots=True)
class Change:
    profile: str
    kpi: str
    label_zh: str
    label_en: str
    unit: str
    #: None: not enough data on that side.
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class BeforeAfter:
    project_id: int
    go_live: date | None
    before: Window | None
    after: Window | None
    #: Why nothing is compared (None: see ``changes``).
    missing: Missing | None
    changes: tuple[Change, ...]


def windows(go_live: date, months: int) -> tuple[Window, Window]:
    start = go_live.replace(day=1)
    before = start
    for _ in range(months):
        before = (before - timedelta(days=1)).replace(day=1)
    after_start = next_month(start)
    after_end = after_start
    for _ in range(months):
        after_end = next_month(after_end)
    return Window(before, start), Window(after_start, after_end)


def _value(
    service: KpiService, profile: str, kpi: str, enterprise: int, side: Window
) -> float | None:
    query = KpiQuery(
        profile, side.start_ms, side.end_ms, "enterprise", None, (kpi,), frozenset({enterprise})
    )
    table = service.table(query)
    values = table.kpis.get(kpi)
    if not table.groups or values is None or not values.size:
        return None
    value = float(values[0, 0])
    return None if math.isnan(value) else round(value, 4)


def _covered(
    service: KpiService, profile: str | None, enterprise: int, side: Window, now_ms: int
) -> bool:
    if side.end_ms > now_ms:
        return False
    places = service.places.current()
    mask = service.device_mask(places, profile, frozenset({enterprise}), None)
    devices = places.device[mask]
    if not len(devices):
        return False
    first = int(np.min(service.engine.first_seen(devices)))
    return first <= side.start_ms + GRACE_MS


def before_after(
    project: ProjectRecord, service: KpiService, catalogue: Catalogue, now_ms: int
) -> BeforeAfter:
    if project.project_type != "sme_digital_transformation":
        return BeforeAfter(project.id, None, None, None, "not_sme", ())
    if project.go_live_on is None:
        return BeforeAfter(project.id, None, None, None, "no_go_live", ())
    before, after = windows(project.go_live_on, catalogue.window_months)
    if project.enterprise_id is None:
        return BeforeAfter(project.id, project.go_live_on, before, after, "no_owner", ())
    owner = project.enterprise_id
    places = service.places.current()
    changes: list[Change] = []
    for wanted in catalogue.compared_kpis:
        kpis = service.profiles.get(wanted.profile)
        specs = kpis.kpis if kpis is not None else ()
        spec = next((s for s in specs if s.name == wanted.kpi), None)
        if (
            spec is None
            or not service.device_mask(places, wanted.profile, frozenset({owner}), None).any()
        ):
            continue
        sides = [
            _value(service, wanted.profile, wanted.kpi, owner, side)
            if _covered(service, wanted.profile, owner, side, now_ms)
            else None
            for side in (before, after)
        ]
        changes.append(
            Change(wanted.profile, wanted.kpi, spec.label_zh, spec.label_en, spec.unit, *sides)
        )
    energy = _energy(service, owner, before, after, now_ms)
    if energy is not None:
        changes.append(energy)
    missing: Missing | None = None if changes else "no_machines"
    return BeforeAfter(project.id, project.go_live_on, before, after, missing, tuple(changes))


def _energy(
    service: KpiService, owner: int, before: Window, after: Window, now_ms: int
) -> Change | None:
    """Energy per unit of output across the owner's profiles and meters (analytics/energy.py)."""
    sides: list[float | None] = []
    unit: str | None = None
    for side in (before, after):
        table = energy_table(
            service, "enterprise", side.start_ms, side.end_ms, None, frozenset({owner})
        )
        if not table.groups:
            return None
        unit = unit or table.output_unit[0]
        value = float(table.per_unit[0, 0])
        covered = _covered(service, None, owner, side, now_ms)
        sides.append(round(value, 4) if covered and not math.isnan(value) else None)
    if unit is None:
        return None
    return Change(
        "", "energy_per_unit", "单位产出能耗", "Energy per unit of output", f"kWh/{unit}", *sides
    )
