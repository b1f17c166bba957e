"""What the platform measures about each enterprise, as facts of the enterprise file: devices
registered, connected (sent data at least once) and online, since when, metered energy over the
last twelve months, this month's loom efficiency and energy per unit of output, and the quartile
of that energy per unit among enterprises of the same industry.

Enterprise-level figures only (never a machine's value), so the bureau and park officials read
them without an enterprise's consent. Computed for the whole district at once and kept for a
short while: the file list, the tier board and tag filters ask for every enterprise in turn.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import numpy as np

from shugu.analytics.energy import energy_table
from shugu.analytics.periods import DAY_MS, month_start
from shugu.analytics.query import KpiQuery
from shugu.analytics.service import Analytics
from shugu.domain.errors import ShuguError
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.enterprise_overview import device_counts
from shugu.monitor.liveness import LatestValues
from shugu.store.registry import Registry
from shugu.store.telemetry import TelemetryStore

#: How long a district-wide snapshot is reused before it is computed again.
SNAPSHOT_TTL_MS = 60_000
#: Fewer enterprises of an industry than this with a figure: no quartile (too few to rank).
MIN_PEERS_FOR_QUARTILE = 4


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def quartiles(values: Mapping[int, float]) -> dict[int, int]:
    """Each key's quartile by value among ``values`` (1 = lowest quarter, 4 = highest), for at
    least MIN_PEERS_FOR_QUARTILE values; an empty answer for fewer."""
    if len(values) < MIN_PEERS_FOR_QUARTILE:
        return {}
    ordered = sorted(values.values())
    n = len(ordered)
    out: dict[int, int] = {}
    for key, value in values.items():
        below = sum(1 for v in ordered if v < value)
        out[key] = min(4, 1 + (4 * below) // n)
    return out


class MeasuredFacts:
    """The platform's facts per enterprise (``measured(enterprise_id)``), from a snapshot."""

    def __init__(
        self,
        registry: Registry,
        store: TelemetryStore,
        analytics: Analytics | None,
        clock: Callable[[], int] = utc_now_ms,
    ) -> None:
        self._registry = registry
        self._store = store
        self._analytics = analytics
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: dict[int, dict[str, object]] = {}
        self._taken_ms: int | None = None

    def measured(self, enterprise_id: int) -> Mapping[str, object]:
        return self.snapshot().get(enterprise_id, {})

    def snapshot(self) -> dict[int, dict[str, object]]:
        now = self._clock()
        with self._lock:
            if self._taken_ms is None or now - self._taken_ms > SNAPSHOT_TTL_MS:
                self._snapshot = self._compute(now)
                self._taken_ms = now
            return self._snapshot

    def invalidate(self) -> None:
        with self._lock:
            self._taken_ms = None

    def _compute(self, now: int) -> dict[int, dict[str, object]]:
        files = self._registry.enterprise_files()
        out: dict[int, dict[str, object]] = {f.id: {} for f in files}
        last_seen = LatestValues(self._store.latest(None)).last_seen()
        for f in files:
            refs = [r for r in self._registry.device_refs_of_enterprise(f.id) if not r.is_gateway]
            facts = out[f.id]
            counts = device_counts(refs, last_seen, now)
            first = self._first_seen([r.id for r in refs])
            connected = [r.id for r in refs if r.id in last_seen or r.id in first]
            facts["devices_registered"] = len(refs)
            facts["devices_connected"] = len(connected)
            for name, value in (
                ("connected_share", _share(len(connected), len(refs))),
                ("online_share", _share(counts.online, counts.total)),
            ):
                if value is not None:
                    facts[name] = value
            if first:
                since = datetime.fromtimestamp(min(first.values()) / 1000, UTC)
                facts["connected_since"] = since.date()
        if self._analytics is not None:
            self._add_measures(out, now)
        by_industry: dict[str, dict[int, float]] = {}
        for f in files:
            per_unit = out[f.id].get("kwh_per_unit_month")
            industry = f.industry_code or f.nbs_category
            if isinstance(per_unit, float) and industry:
                by_industry.setdefault(industry, {})[f.id] = per_unit
        for peers in by_industry.values():
            for enterprise_id, quartile in quartiles(peers).items():
                out[enterprise_id]["energy_per_unit_quartile"] = quartile
        return out

    def _first_seen(self, device_ids: list[int]) -> dict[int, int]:
        if self._analytics is None or not device_ids:
            return {}
        seen = self._analytics.engine.first_seen(np.array(device_ids, dtype=np.int64))
        never = np.iinfo(np.int64).max
        return {d: int(s) for d, s in zip(device_ids, seen.tolist(), strict=True) if s != never}

    def _add_measures(self, out: dict[int, dict[str, object]], now: int) -> None:
        assert self._analytics is not None
        kpis = self._analytics.kpis
        month = month_start(now)
        try:
            year = energy_table(kpis, "enterprise", now - 365 * DAY_MS, now)
            this_month = energy_table(kpis, "enterprise", month, now)
            looms = kpis.table(KpiQuery("loom", month, now, "enterprise", kpis=("efficiency",)))
        except ShuguError:
            # A district too large for one table leaves these facts unknown, not the file broken.
            return
        for i, g in enumerate(year.groups):
            if g.id in out and year.energy_kwh.shape[1]:
                out[g.id]["energy_kwh_12m"] = round(float(year.energy_kwh[i].sum()), 1)
        for i, g in enumerate(this_month.groups):
            if g.id in out and this_month.per_unit.shape[1]:
                value = float(this_month.per_unit[i, 0])
                if not math.isnan(value):
                    out[g.id]["kwh_per_unit_month"] = round(value, 4)
        efficiency = looms.kpis.get("efficiency")
        if efficiency is not None and efficiency.shape[1]:
            for i, g in enumerate(looms.groups):
                value = float(efficiency[i, 0])
                if g.id in out and not math.isnan(value):
                    out[g.id]["loom_efficiency_month"] = round(value, 2)
