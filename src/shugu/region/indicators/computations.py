"""The computed indicators: each a named function from what the platform measures and registers
to one figure for a span of time, with its parts (by park, by category) where it has some.

A computation is asked for a span ``[start, end)``; ``end`` beyond now means "as of now". Counts
that can be told for a past moment are (a device was connected by then if its first hour of
data came before); what only exists now (devices online) answers for the live span only, and
its past is kept by the month-end snapshots (decision 0040).

The register (``register.yaml``) names a computation by its key in ``COMPUTATIONS``; the bureau
can define new indicators over these, not new computations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from shugu.analytics.energy import energy_table
from shugu.analytics.periods import local
from shugu.analytics.service import Analytics
from shugu.domain.classification import NBS_CATEGORIES
from shugu.monitor.liveness import LatestValues, Liveness, states
from shugu.store.registry import Registry
from shugu.store.telemetry import TelemetryStore

#: The profile whose output an energy per unit of output is counted against (metres of fabric).
WEAVING_PROFILE: Final = "loom"
#: kWh per metre shown per 100 metres, as mills quote it.
PER_METRES: Final = 100.0


@dataclass(frozen=True, slots=True)
class Sources:
    """What computations read: the registry, the telemetry store and the analytics."""

    registry: Registry
    store: TelemetryStore
    analytics: Analytics


@dataclass(frozen=True, slots=True)
class Span:
    start_ms: int
    end_ms: int
    now_ms: int

    @property
    def live(self) -> bool:
        """The span reaches the present: figures are as of now."""
        return self.end_ms > self.now_ms

    @property
    def as_of_ms(self) -> int:
        return min(self.end_ms, self.now_ms)


@dataclass(frozen=True, slots=True)
class Computed:
    value: float | None
    #: The figure's parts by name, in order (a park's name, a category's).
    parts: dict[str, float | None] = field(default_factory=dict)
    #: Why there is no value: ``live_only``, ``no_figures``, ``no_key_enterprises``, ``no_output``.
    missing: str | None = None


Computation = Callable[[Sources, Span], Computed]


def _connected(sources: Sources, span: Span) -> set[int]:
    """Devices (not deleted) that had sent data by the span's end: their first hour of facts
    came before it, or, for the live span, the store holds a latest value of theirs."""
    places = sources.registry.device_places()
    ids = np.array([d.id for d in places], np.int64)
    first = sources.analytics.engine.first_seen(ids) if len(ids) else np.array([], np.int64)
    connected = {
        int(d) for d, f in zip(ids.tolist(), first.tolist(), strict=True) if f < span.end_ms
    }
    if span.live:
        connected |= set(LatestValues(sources.store.latest(None)).last_seen()) & set(ids.tolist())
    return connected


def _park_names(sources: Sources) -> dict[int, str]:
    return {p.id: p.name for p in sources.registry.list_parks()}


def _by_park(sources: Sources, counts: dict[int, int]) -> dict[str, float | None]:
    names = _park_names(sources)
    return {names[p]: float(counts.get(p, 0)) for p in sorted(names)}


def enterprises_on_platform(sources: Sources, span: Span) -> Computed:
    connected = _connected(sources, span)
    on = {d.enterprise_id for d in sources.registry.device_places() if d.id in connected}
    per_park: dict[int, int] = defaultdict(int)
    for e in sources.registry.list_enterprises():
        if e.id in on:
            per_park[e.park_id] += 1
    return Computed(float(len(on)), _by_park(sources, per_park))


def devices_connected(sources: Sources, span: Span) -> Computed:
    connected = _connected(sources, span)
    park_of = {e.id: e.park_id for e in sources.registry.list_enterprises()}
    per_park: dict[int, int] = defaultdict(int)
    for d in sources.registry.device_places():
        if d.id in connected:
            per_park[park_of.get(d.enterprise_id, 0)] += 1
    return Computed(float(len(connected)), _by_park(sources, per_park))


def _online(sources: Sources, span: Span) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """Devices online now and registered, in all and per park (online, registered)."""
    places = sources.registry.device_places()
    seen = LatestValues(sources.store.latest(None)).last_seen()
    now = states({d.id: d.profile for d in places}, seen, span.now_ms)
    park_of = {e.id: e.park_id for e in sources.registry.list_enterprises()}
    per_park: dict[int, tuple[int, int]] = {}
    online = 0
    for d in places:
        up = now[d.id] is not Liveness.OFFLINE
        online += up
        park = park_of.get(d.enterprise_id, 0)
        was = per_park.get(park, (0, 0))
        per_park[park] = (was[0] + up, was[1] + 1)
    return online, len(places), per_park


def devices_online(sources: Sources, span: Span) -> Computed:
    if not span.live:
        return Computed(None, missing="live_only")
    online, _, per_park = _online(sources, span)
    return Computed(float(online), _by_park(sources, {p: n for p, (n, _) in per_park.items()}))


def device_online_rate(sources: Sources, span: Span) -> Computed:
    if not span.live:
        return Computed(None, missing="live_only")
    online, registered, per_park = _online(sources, span)
    names = _park_names(sources)
    parts: dict[str, float | None] = {}
    for park in sorted(names):
        up, total = per_park.get(park, (0, 0))
        parts[names[park]] = 100.0 * up / total if total else None
    return Computed(100.0 * online / registered if registered else None, parts)


def key_enterprises_connected_share(sources: Sources, span: Span) -> Computed:
    key = {f.id: f.park_id for f in sources.registry.enterprise_files() if f.key_enterprise}
    if not key:
        return Computed(None, missing="no_key_enterprises")
    connected = _connected(sources, span)
    on = {d.enterprise_id for d in sources.registry.device_places() if d.id in connected}
    names = _park_names(sources)
    parts: dict[str, float | None] = {}
    for park in sorted(names):
        members = [e for e, p in key.items() if p == park]
        if members:
            parts[names[park]] = 100.0 * sum(e in on for e in members) / len(members)
    return Computed(100.0 * sum(e in on for e in key) / len(key), parts)


def energy_per_unit_output_by_park(sources: Sources, span: Span) -> Computed:
    """kWh per 100 m of fabric, per park and in all, over the enterprises whose whole output
    is fabric (a mill that also rejects heat has no single unit of output)."""
    table = energy_table(
        sources.analytics.kpis, "enterprise", span.start_ms, min(span.end_ms, span.now_ms)
    )
    park_of = {e.id: e.park_id for e in sources.registry.list_enterprises()}
    energy: dict[int, float] = defaultdict(float)
    output: dict[int, float] = defaultdict(float)
    for g, group in enumerate(table.groups):
        if table.output_profile[g] != WEAVING_PROFILE:
            continue
        park = park_of.get(group.id)
        if park is None:
            continue
        energy[park] += float(table.energy_kwh[g].sum())
        output[park] += float(table.output[g].sum())
    names = _park_names(sources)
    parts: dict[str, float | None] = {
        names[p]: PER_METRES * energy[p] / output[p]
        for p in sorted(output)
        if output[p] > 0 and p in names
    }
    total_output = sum(output.values())
    if total_output <= 0:
        return Computed(None, missing="no_output")
    return Computed(PER_METRES * sum(energy.values()) / total_output, parts)


def _core_category(code: str | None) -> str | None:
    """The core top category (01-04) an NBS code falls in, None outside the core."""
    if not code:
        return None
    category = NBS_CATEGORIES.get(code)
    if category is None or not category.is_core_industry:
        return None
    return category.top_code


def _category_label(top: str) -> str:
    category = NBS_CATEGORIES.get(top)
    return f"{top} {category.name_zh}" if category else top


def core_digital_enterprises(sources: Sources, span: Span) -> Computed:
    counts: dict[str, int] = defaultdict(int)
    for e in sources.registry.list_enterprises():
        top = _core_category(e.nbs_category)
        registered = int(e.created_at.timestamp() * 1000)
        if top is not None and (span.live or registered < span.end_ms):
            counts[top] += 1
    parts: dict[str, float | None] = {_category_label(t): float(counts[t]) for t in sorted(counts)}
    return Computed(float(sum(counts.values())), parts)


def core_digital_revenue_by_category(sources: Sources, span: Span) -> Computed:
    """Revenue (万元) of the core enterprises in the span's year, from the enterprise files'
    yearly figures; "no figures" where none of them has the year's revenue."""
    year = _year_of(span)
    core = {
        e.id: top
        for e in sources.registry.list_enterprises()
        if (top := _core_category(e.nbs_category)) is not None
    }
    sums: dict[str, float] = defaultdict(float)
    found = False
    for enterprise_id, rows in sources.registry.all_year_figures().items():
        top = core.get(enterprise_id)
        if top is None:
            continue
        for row in rows:
            revenue = row.values.get("revenue_wan")
            if row.year == year and isinstance(revenue, int | float):
                sums[top] += float(revenue)
                found = True
    if not found:
        return Computed(None, missing="no_figures")
    parts: dict[str, float | None] = {_category_label(t): sums[t] for t in sorted(sums)}
    return Computed(sum(sums.values()), parts)


def _year_of(span: Span) -> int:
    return local(span.start_ms).year


COMPUTATIONS: Final[dict[str, Computation]] = {
    "enterprises_on_platform": enterprises_on_platform,
    "devices_connected": devices_connected,
    "devices_online": devices_online,
    "device_online_rate": device_online_rate,
    "key_enterprises_connected_share": key_enterprises_connected_share,
    "energy_per_unit_output_by_park": energy_per_unit_output_by_park,
    "core_digital_enterprises": core_digital_enterprises,
    "core_digital_revenue_by_category": core_digital_revenue_by_category,
}
