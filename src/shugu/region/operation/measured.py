"""What the platform measured of an enterprise, for setting beside what it reported: the kWh its
meters (or machines' own counters) recorded in a month or per day, and its machines' output in
the month (fabric metres for looms, MWh of heat for cooling towers).

``Meters`` is the question; ``AnalyticsMeters`` answers it from the fact engine through
``analytics/energy.py`` (a meter counts everything behind it; IT meters are PUE's denominator
and not added). An enterprise without any energy-counting device is "not measured": None, never
zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from shugu.analytics.energy import energy_table
from shugu.analytics.periods import DAY_MS
from shugu.analytics.query import KpiService
from shugu.region.operation import months


@dataclass(frozen=True, slots=True)
class Output:
    amount: float
    unit: str


class Meters(Protocol):
    def month_kwh(self, enterprise_id: int, month: str) -> float | None:
        """The enterprise's metered kWh in the month; None: nothing of it counts energy."""
        ...

    def month_output(self, enterprise_id: int, month: str) -> Output | None:
        """Its machines' output in the month; None: none produce in one unit."""
        ...

    def daily_kwh(self, enterprise_id: int, start_ms: int, days: int) -> list[float] | None:
        """Its metered kWh per local day from ``start_ms`` (a local midnight); None: not
        measured."""
        ...


class AnalyticsMeters:
    def __init__(self, kpis: KpiService) -> None:
        self._kpis = kpis

    def _counts_energy(self, enterprise_id: int) -> bool:
        places = self._kpis.places.current()
        scope = self._kpis.device_mask(places, None, frozenset({enterprise_id}), None)
        for name, kpis in self._kpis.profiles.items():
            if kpis.energy_fact and bool(np.any(scope & places.of_profile(name))):
                return True
        return False

    def month_kwh(self, enterprise_id: int, month: str) -> float | None:
        if not self._counts_energy(enterprise_id):
            return None
        start, end = months.bounds_ms(month)
        table = energy_table(self._kpis, "enterprise", start, end, None, frozenset({enterprise_id}))
        return float(table.energy_kwh.sum()) if table.groups else 0.0

    def month_output(self, enterprise_id: int, month: str) -> Output | None:
        start, end = months.bounds_ms(month)
        table = energy_table(self._kpis, "enterprise", start, end, None, frozenset({enterprise_id}))
        if not table.groups or table.output_unit[0] is None:
            return None
        amount = float(table.output[0].sum())
        return Output(amount, table.output_unit[0]) if amount > 0 else None

    def daily_kwh(self, enterprise_id: int, start_ms: int, days: int) -> list[float] | None:
        if not self._counts_energy(enterprise_id):
            return None
        end = start_ms + days * DAY_MS
        table = energy_table(
            self._kpis, "enterprise", start_ms, end, "day", frozenset({enterprise_id})
        )
        if not table.groups:
            return [0.0] * days
        return [float(v) for v in table.energy_kwh[0][:days]]
