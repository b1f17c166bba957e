"""KPI tables: a profile's facts summed per group (machine, line, enterprise, park, industry,
region) and period, and its KPIs recomputed from those sums.

Whole local days come from the engine's day totals, so a month of a whole region sums about 30
arrays; hours at a span's ragged ends, hour and shift periods come from hour cells. Planned time
(``planned_s``) comes from each enterprise's calendar, from when a device was registered up to
now. Facts a profile derives per machine (ideal output from its rated speed) are derived before
machines are summed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from shugu.analytics.calendars import CalendarBook
from shugu.analytics.engine import FactEngine
from shugu.analytics.formulas import derive, evaluate
from shugu.analytics.model import HOUR_MS, LEVELS, PLANNED_FACT, Grain, KpiSpec, Level, ProfileKpis
from shugu.analytics.periods import DAY_MS, Period, add_months, day_start, month_start, periods
from shugu.analytics.places import PlaceBook, Places, industry_text
from shugu.domain.classification import check_nbs_category
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import utc_now_ms

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

#: The longest span a table answers, by grain (hours and shifts are read from hour cells).
MAX_SPAN_DAYS: dict[Grain | None, int] = {
    None: 800,
    "hour": 31,
    "shift": 62,
    "day": 400,
    "week": 800,
    "month": 800,
}
#: Machines × periods a table computes at most (its memory is about 8 bytes × facts × cells).
MAX_CELLS = 400_000


@dataclass(frozen=True, slots=True)
class KpiQuery:
    profile: str
    start_ms: int
    end_ms: int
    level: Level = "enterprise"
    grain: Grain | None = None
    kpis: tuple[str, ...] | None = None
    #: Only these enterprises' machines (None: every enterprise); the caller's scope.
    enterprises: frozenset[int] | None = None
    #: Only the machines under one group, e.g. ("line", 12).
    within: tuple[Level, int] | None = None


@dataclass(frozen=True, slots=True)
class Group:
    level: Level
    id: int
    name: str
    devices: int
    #: The enterprise of a machine or line group (None above the enterprise).
    enterprise_id: int | None = None


@dataclass(frozen=True, slots=True)
class KpiTable:
    query: KpiQuery
    groups: list[Group]
    periods: list[Period]
    #: fact (and planned_s, derived facts) → values, shape (groups, periods)
    facts: dict[str, F64]
    #: KPI → values for display (a percentage as 96.15), shape (groups, periods); NaN: undefined
    kpis: dict[str, F64]
    specs: tuple[KpiSpec, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """Facts per device and period before grouping: values[fact] has shape (devices, periods)."""

    positions: I64
    periods: list[Period]
    values: dict[str, F64]


def bad_query(message: str, code: str, field_name: str) -> ValidationError:
    return ValidationError(message, code=code, field=field_name)


class KpiService:
    def __init__(
        self,
        engine: FactEngine,
        places: PlaceBook,
        calendars: CalendarBook,
        clock: Callable[[], int] = utc_now_ms,
    ) -> None:
        self.engine = engine
        self.places = places
        self.calendars = calendars
        self._clock = clock

    @property
    def profiles(self) -> dict[str, ProfileKpis]:
        return self.engine.profiles

    def kpis_of(self, profile: str) -> ProfileKpis:
        found = self.engine.profiles.get(profile)
        if found is None:
            known = ", ".join(sorted(self.engine.profiles))
            raise bad_query(
                f"no KPIs are defined for profile {profile!r}; profiles with KPIs: {known}",
                "kpi_profile_unknown",
                "profile",
            )
        return found

    # Tables ----------------------------------------------------------------------------------

    def table(self, query: KpiQuery) -> KpiTable:
        kpis = self.kpis_of(query.profile)
        specs = self._specs(kpis, query)
        query = self._check(query)
        places = self.places.current()
        mask = self.device_mask(places, query.profile, query.enterprises, query.within)
        positions = np.flatnonzero(mask).astype(np.int64)
        self.check_size(len(positions), query)
        facts = self.device_facts(query.profile, places, positions, query)
        groups, group_index = self._groups(places, positions, query.level)
        sums = {
            name: _group_sum(values, group_index, len(groups))
            for name, values in facts.values.items()
        }
        values = evaluate(kpis, sums, [s.name for s in specs]) if groups else {}
        return KpiTable(query, groups, facts.periods, sums, values, specs)

    def device_mask(
        self,
        places: Places,
        profile: str | None,
        enterprises: frozenset[int] | None,
        within: tuple[Level, int] | None,
    ) -> Mask:
        mask = np.ones(len(places.device), np.bool_)
        if profile is not None:
            mask &= places.of_profile(profile)
        if enterprises is not None:
            mask &= np.isin(places.enterprise, np.fromiter(enterprises, np.int64, len(enterprises)))
        if within is not None:
            mask &= places.group_ids(within[0]) == within[1]
        return mask

    def device_facts(
        self, profile: str, places: Places, positions: I64, query: KpiQuery
    ) -> DeviceFacts:
        """Facts of the devices at ``positions`` per period of the query, derived facts and
        planned time included."""
        kpis = self.kpis_of(profile)
        devices = places.device[positions]
        clock = None
        if query.grain == "shift":
            owners = np.unique(places.enterprise[positions])
            if not len(owners) and query.enterprises is not None and len(query.enterprises) == 1:
                owners = np.array(sorted(query.enterprises), np.int64)  # no machines yet
            if len(owners) != 1:
                raise bad_query(
                    "figures by shift are for the machines of one enterprise (each has its own "
                    "shifts); choose one enterprise or a line",
                    "kpi_shift_needs_enterprise",
                    "grain",
                )
            clock = self.calendars.clock(int(owners[0]), query.start_ms, query.end_ms)
        cut = periods(query.grain, query.start_ms, query.end_ms, clock)
        matrix = np.zeros((len(devices), len(cut), len(kpis.facts)))
        plans = [_period_plan(period) for period in cut]
        hours = _HourCells(self.engine, profile, devices, [e for _, edges in plans for e in edges])
        for p, (days, edges) in enumerate(plans):
            if days:
                matrix[:, p, :] = self.engine.day_matrix(profile, days, devices)
            for lo, hi in edges:
                matrix[:, p, :] += hours.summed(lo, hi)
        values = {name: matrix[:, :, j] for j, name in enumerate(kpis.fact_names)}
        values[PLANNED_FACT] = self._planned_seconds(places, positions, cut)
        parameters = {
            spec.name: places.numbers.get(
                spec.attribute or spec.name, np.full(len(places.device), np.nan)
            )[positions][:, None]
            for spec in kpis.parameters
        }
        return DeviceFacts(positions, cut, derive(kpis, values, parameters))

    def _planned_seconds(self, places: Places, positions: I64, cut: list[Period]) -> F64:
        """Planned seconds per device and period: the enterprise's calendar from when the device
        came (its registration, or its first data when history was sent from before it) up to
        now."""
        now = self._clock()
        out = np.zeros((len(positions), len(cut)))
        if not len(positions) or not cut:
            return out
        enterprise = places.enterprise[positions]
        came = np.minimum(
            places.created_ms[positions], self.engine.first_seen(places.device[positions])
        )
        span_lo, span_hi = cut[0].start_ms, max(p.end_ms for p in cut)
        for ent in np.unique(enterprise).tolist():
            rows = np.flatnonzero(enterprise == ent)
            clock = self.calendars.clock(int(ent), span_lo, span_hi)
            for p, period in enumerate(cut):
                hi = np.full(len(rows), min(period.end_ms, now), np.int64)
                lo = np.minimum(np.maximum(came[rows], period.start_ms), hi)
                out[rows, p] = (clock.cumulative(hi) - clock.cumulative(lo)) / 1000.0
        return out

    def _groups(self, places: Places, positions: I64, level: Level) -> tuple[list[Group], I64]:
        ids = places.group_ids(level)[positions]
        unique, index = np.unique(ids, return_inverse=True)
        counts = np.bincount(index, minlength=len(unique))
        enterprise_of = {}
        if level in ("device", "line"):
            for gid, ent in zip(ids.tolist(), places.enterprise[positions].tolist(), strict=True):
                enterprise_of[gid] = ent
        groups = [
            Group(
                level,
                int(g),
                self.group_name(places, level, int(g)),
                int(c),
                enterprise_of.get(int(g))
                if level in ("device", "line")
                else (int(g) if level == "enterprise" else None),
            )
            for g, c in zip(unique.tolist(), counts.tolist(), strict=True)
        ]
        return groups, index.astype(np.int64)

    @staticmethod
    def group_name(places: Places, level: Level, group: int) -> str:
        if level == "device":
            return places.device_names.get(group, f"#{group}")
        if level == "line":
            return places.line_names.get(group, "") if group >= 0 else "—"
        if level == "enterprise":
            return places.enterprise_names.get(group, f"#{group}")
        if level == "park":
            return places.park_names.get(group, f"#{group}")
        if level == "industry":
            if group < 0:
                return "—"
            code = industry_text(group)
            try:
                return f"{code} {check_nbs_category(code).name_zh}"
            except ValidationError:
                return code
        return "全区"

    def _specs(self, kpis: ProfileKpis, query: KpiQuery) -> tuple[KpiSpec, ...]:
        rank = {level: i for i, level in enumerate(LEVELS)}
        if query.kpis is None:
            return tuple(s for s in kpis.kpis if rank[s.up_to] >= rank[query.level])
        out = []
        for name in query.kpis:
            spec = kpis.kpi_index.get(name)
            if spec is None:
                known = ", ".join(k.name for k in kpis.kpis)
                raise bad_query(
                    f"profile {kpis.profile} has no KPI {name!r}; its KPIs: {known}",
                    "unknown_kpi",
                    "kpis",
                )
            out.append(spec)
        return tuple(out)

    @staticmethod
    def _check(query: KpiQuery) -> KpiQuery:
        """The query checked, its span widened to whole hours: facts are kept per hour, and
        planned time must cover the same hours as the facts it is set against."""
        if query.level not in LEVELS:
            raise bad_query(f"unknown level {query.level!r}", "kpi_level_unknown", "level")
        if query.end_ms <= query.start_ms:
            raise bad_query("the span must end after it starts", "kpi_span_invalid", "end")
        longest = MAX_SPAN_DAYS[query.grain]
        if query.end_ms - query.start_ms > longest * DAY_MS:
            raise bad_query(
                f"a table by {query.grain or 'span'} covers at most {longest} days",
                "kpi_span_too_long",
                "end",
            )
        start = (query.start_ms // HOUR_MS) * HOUR_MS
        end = -(-query.end_ms // HOUR_MS) * HOUR_MS
        return replace(query, start_ms=start, end_ms=end)

    @staticmethod
    def check_size(devices: int, query: KpiQuery) -> None:
        """A table is answered in memory: machines × periods stays bounded."""
        span_h = (query.end_ms - query.start_ms) / HOUR_MS
        per_period = {None: span_h, "hour": 1, "shift": 8, "day": 24, "week": 168, "month": 720}
        periods_count = max(1.0, span_h / per_period[query.grain])
        if devices * periods_count > MAX_CELLS:
            raise bad_query(
                f"{devices} machines × {periods_count:.0f} periods is more than a table holds "
                f"({MAX_CELLS:,} cells): choose a coarser level or grain, or a shorter span",
                "kpi_table_too_large",
                "grain",
            )

    # League tables and comparisons -----------------------------------------------------------

    def league(self, query: KpiQuery, kpi: str, size: int = 10) -> League:
        """Groups ranked by one KPI over the whole span, best first (undefined values last)."""
        table = self.table(replace(query, grain=None, kpis=(kpi,)))
        spec = table.specs[0]
        values = table.kpis[kpi][:, 0] if table.groups else np.zeros(0)
        defined = np.flatnonzero(~np.isnan(values))
        order = defined[np.argsort(values[defined], kind="stable")]
        if spec.better != "lower":
            order = order[::-1]
        ranked = [(table.groups[i], float(values[i])) for i in order.tolist()]
        undefined = [table.groups[i] for i in np.flatnonzero(np.isnan(values)).tolist()]
        return League(
            spec,
            ranked[:size],
            ranked[::-1][:size] if len(ranked) > size else [],
            ranked,
            undefined,
        )

    def compare(self, query: KpiQuery) -> Comparison:
        """The span against the one before it (环比: the previous month for a calendar month,
        else the same length before) and the same span a year earlier (同比). A period still
        running (today, this month) is set against the same part of the earlier ones: today
        until now against yesterday until the same hour, so that quantities compare."""
        whole = replace(query, grain=None)
        current = self.table(whole)
        before_start, before_end = previous_span(query.start_ms, query.end_ms)
        year_start, year_end = add_months(query.start_ms, -12), add_months(query.end_ms, -12)
        now = -(-self._clock() // HOUR_MS) * HOUR_MS
        if query.start_ms < now < query.end_ms:
            elapsed = now - query.start_ms
            before_end = min(before_end, before_start + elapsed)
            year_end = min(year_end, year_start + elapsed)
        previous = self.table(replace(whole, start_ms=before_start, end_ms=before_end))
        last_year = self.table(replace(whole, start_ms=year_start, end_ms=year_end))
        return Comparison(current, previous, last_year)


@dataclass(frozen=True, slots=True)
class League:
    spec: KpiSpec
    best: list[tuple[Group, float]]
    worst: list[tuple[Group, float]]
    ranked: list[tuple[Group, float]]
    undefined: list[Group]


@dataclass(frozen=True, slots=True)
class Comparison:
    current: KpiTable
    previous: KpiTable
    last_year: KpiTable

    def change(self, kpi: str, against: KpiTable) -> dict[int, float]:
        """Per group id of the current table: current − earlier (NaN where either is undefined)."""
        earlier = {g.id: i for i, g in enumerate(against.groups)}
        out: dict[int, float] = {}
        for i, group in enumerate(self.current.groups):
            j = earlier.get(group.id)
            now = float(self.current.kpis[kpi][i, 0])
            before = float(against.kpis[kpi][j, 0]) if j is not None else float("nan")
            out[group.id] = now - before
        return out


def previous_span(start_ms: int, end_ms: int) -> tuple[int, int]:
    """The span a 环比 compares with: the month before a calendar month, else the same length
    just before."""
    if month_start(start_ms) == start_ms and add_months(start_ms, 1) == end_ms:
        return add_months(start_ms, -1), start_ms
    return start_ms - (end_ms - start_ms), start_ms


def _period_plan(period: Period) -> tuple[list[int], list[tuple[int, int]]]:
    """What a period's facts are summed from: whole local days (the engine's day totals) and
    the hours around them (hour cells), as [lo, hi) spans."""
    start = (period.start_ms // HOUR_MS) * HOUR_MS
    end = -(-period.end_ms // HOUR_MS) * HOUR_MS
    first_day = day_start(start)
    if first_day < start:
        first_day += DAY_MS
    days = list(range(first_day, end - DAY_MS + 1, DAY_MS))
    edges = [(start, days[0]), (days[-1] + DAY_MS, end)] if days else [(start, end)]
    return days, [(lo, hi) for lo, hi in edges if hi > lo]


class _HourCells:
    """The hour cells a table's periods need, read once per run of adjacent spans (a day by hour
    is one read, not 24) and summed per device for any span inside a run."""

    def __init__(
        self, engine: FactEngine, profile: str, devices: I64, spans: list[tuple[int, int]]
    ) -> None:
        self._devices = devices
        runs: list[list[int]] = []
        for lo, hi in sorted(spans):
            if runs and lo <= runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], hi)
            else:
                runs.append([lo, hi])
        self._starts = [lo for lo, _ in runs]
        self._runs: list[tuple[I64, I64, F64]] = []
        for lo, hi in runs:
            cells = engine.hour_cells(profile, devices, lo, hi)
            order = np.argsort(cells.hour, kind="stable")
            self._runs.append((cells.hour[order], cells.device[order], cells.values[order]))

    def summed(self, lo: int, hi: int) -> F64:
        """Facts per device (in the order of ``devices``) over the hours in [lo, hi)."""
        hour, device, values = self._runs[bisect_right(self._starts, lo) - 1]
        first, last = np.searchsorted(hour, [lo, hi])
        return _by_device(device[first:last], values[first:last], self._devices)


def _by_device(device: I64, values: F64, devices: I64) -> F64:
    """Rows summed per device, in the order of ``devices``."""
    out = np.zeros((len(devices), values.shape[1] if values.ndim == 2 else 0))
    if not len(device):
        return out
    order = np.argsort(devices)
    where = np.searchsorted(devices[order], device)
    where = np.minimum(where, len(devices) - 1)
    hit = devices[order][where] == device
    np.add.at(out, order[where[hit]], values[hit])
    return out


def _group_sum(values: F64, index: I64, groups: int) -> F64:
    """Per group and period, the sum over its devices (values: devices × periods). Facts are
    never undefined; a fact derived per machine may be (a tower's blowdown without a sound
    conductivity): such a machine adds nothing to its group's sum."""
    out = np.zeros((groups, values.shape[1]))
    np.add.at(out, index, np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0))
    return out
