"""Energy per unit of output for any group, across profiles, and PUE where a data hall has its
facility and IT meters.

Which kWh count: a meter stands for everything behind it, so a line (or a hall) with a meter
counts the meter and not its machines' own counters; a line without one counts its machines'.
A meter whose ``meter_role`` attribute is ``it`` measures the IT load behind a facility meter:
it is the denominator of PUE and is never added to the energy. The output of a group is that of
its producing profile (fabric metres for looms, MWh of heat rejected for cooling towers); a group
producing in two units has no single energy per unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from shugu.analytics.baseline_service import DailySeries
from shugu.analytics.model import Grain, Level
from shugu.analytics.periods import DAY_MS, Period, day_start
from shugu.analytics.places import METER_ROLE, Places
from shugu.analytics.query import Group, KpiQuery, KpiService
from shugu.domain.timeutil import utc_now_ms

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class EnergyTable:
    groups: list[Group]
    periods: list[Period]
    #: shape (groups, periods)
    energy_kwh: F64
    output: F64
    per_unit: F64
    facility_kwh: F64
    it_kwh: F64
    pue: F64
    #: Per group: the output's unit and the profile it comes from (None: no output, or mixed).
    output_unit: list[str | None]
    output_profile: list[str | None]


def energy_table(
    service: KpiService,
    level: Level,
    start_ms: int,
    end_ms: int,
    grain: Grain | None = None,
    enterprises: frozenset[int] | None = None,
    within: tuple[Level, int] | None = None,
) -> EnergyTable:
    places = service.places.current()
    scope = service.device_mask(places, None, enterprises, within)
    base = KpiQuery("", start_ms, end_ms, level, grain, None, enterprises, within)
    service.check_size(int(scope.sum()), base)
    covered = _behind_meters(service, places, scope) if level != "device" else None
    # Every device that counts for something, with its kWh and output per period.
    chunks: list[_Chunk] = []
    cut: list[Period] = []
    for name, kpis in service.profiles.items():
        if not (kpis.energy_fact or kpis.output_fact):
            continue
        positions = np.flatnonzero(places.of_profile(name) & scope).astype(np.int64)
        if not len(positions):
            continue
        facts = service.device_facts(name, places, positions, replace(base, profile=name))
        cut = facts.periods
        shape = (len(positions), len(cut))
        energy = facts.values[kpis.energy_fact] if kpis.energy_fact else np.zeros(shape)
        output = facts.values[kpis.output_fact] if kpis.output_fact else np.zeros(shape)
        facility = np.zeros(shape)
        it = np.zeros(shape)
        if kpis.is_meter:
            role = np.array([places.texts[METER_ROLE][p] for p in positions.tolist()])
            it = np.where((role == "it")[:, None], energy, 0.0)
            facility = np.where((role == "facility")[:, None], energy, 0.0)
            energy = np.where((role == "it")[:, None], 0.0, energy)
            if covered is not None:
                energy = np.where(covered[positions][:, None], 0.0, energy)
        elif covered is not None:
            energy = np.where(covered[positions][:, None], 0.0, energy)
        unit = kpis_output_unit(service, name)
        chunks.append(_Chunk(name, unit, positions, energy, output, facility, it))
    if not chunks:
        return _empty(service, places, base)
    positions = np.concatenate([c.positions for c in chunks])
    group_ids = places.group_ids(level)[positions]
    unique, index = np.unique(group_ids, return_inverse=True)
    n_groups, n_periods = len(unique), len(cut)

    def total(column: str) -> F64:
        out = np.zeros((n_groups, n_periods))
        np.add.at(out, index, np.concatenate([getattr(c, column) for c in chunks]))
        return out

    energy, output = total("energy"), total("output")
    facility, it = total("facility"), total("it")
    profile_of = [c.profile for c in chunks for _ in range(len(c.positions))]
    producing = np.concatenate([np.any(c.output > 0, axis=1) for c in chunks])
    unit_of = [c.unit for c in chunks for _ in range(len(c.positions))]
    output_unit: list[str | None] = []
    output_profile: list[str | None] = []
    for g in range(n_groups):
        members = np.flatnonzero((index == g) & producing)
        kinds = sorted({profile_of[m] for m in members.tolist()})
        output_profile.append(kinds[0] if len(kinds) == 1 else None)
        output_unit.append(unit_of[int(members[0])] if len(kinds) == 1 else None)
    single = np.array([p is not None for p in output_profile])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(single & (output > 0), energy / output, np.nan)
        pue = np.where((it > 0) & (facility > 0), facility / it, np.nan)
    counts = np.bincount(index, minlength=n_groups)
    groups = [
        Group(level, int(g), service.group_name(places, level, int(g)), int(c))
        for g, c in zip(unique.tolist(), counts.tolist(), strict=True)
    ]
    return EnergyTable(
        groups, cut, energy, output, per_unit, facility, it, pue, output_unit, output_profile
    )


def _behind_meters(service: KpiService, places: Places, scope: npt.NDArray[np.bool_]) -> Mask:
    """Per device, whether a meter in scope stands for it: a meter (other than an IT meter)
    covers everything under the asset it hangs on, or its whole enterprise when it hangs on
    none. A machine's own counter then does not add to a group's energy."""
    covering: set[int] = set()
    whole: set[int] = set()
    for name, kpis in service.profiles.items():
        if not kpis.is_meter:
            continue
        for r in np.flatnonzero(places.of_profile(name) & scope).tolist():
            if places.texts[METER_ROLE][r] == "it":
                continue
            if places.assets[r]:
                covering.add(places.assets[r][0])
            else:
                whole.add(int(places.enterprise[r]))
    meter = np.zeros(len(places.device), np.bool_)
    for name, kpis in service.profiles.items():
        if kpis.is_meter:
            meter |= places.of_profile(name)

    def behind(i: int) -> bool:
        chain = places.assets[i]
        if meter[i]:
            # A meter behind another one (a line's under the site's) is already counted there.
            return bool(chain) and (
                int(places.enterprise[i]) in whole or not covering.isdisjoint(chain[1:])
            )
        return int(places.enterprise[i]) in whole or not covering.isdisjoint(chain)

    return np.fromiter((behind(i) for i in range(len(places.device))), np.bool_, len(meter))


def kpis_output_unit(service: KpiService, profile: str) -> str | None:
    kpis = service.profiles[profile]
    if kpis.output_fact is None:
        return None
    for fact in kpis.facts:
        if fact.name == kpis.output_fact:
            return fact.unit
    for derived in kpis.derived:
        if derived.name == kpis.output_fact:
            return derived.unit
    return None


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One profile's devices in scope, their kWh and output per period."""

    profile: str
    unit: str | None
    positions: I64
    energy: F64
    output: F64
    facility: F64
    it: F64


def _empty(service: KpiService, places: Places, base: KpiQuery) -> EnergyTable:
    zero = np.zeros((0, 1))
    return EnergyTable([], [], zero, zero, zero, zero, zero, zero, [], [])


#: Facts a profile may declare for the weather its machines measure: an integral of a
#: temperature (°C·h) and the seconds it had values. An energy baseline may regress on it.
WEATHER_FACTS = ("weather_ch", "weather_s")
#: Days read per day table by ``EnergyDays`` (local midnights align, so chunks do not overlap).
CHUNK_DAYS = 366


class EnergyDays:
    """An enterprise's energy, output and weather per local day: the source its energy baseline
    is fitted on (``baseline_service.DailyEnergySource``)."""

    def __init__(self, service: KpiService) -> None:
        self._service = service

    def daily_energy_output(self, enterprise_id: int, start_ms: int, end_ms: int) -> DailySeries:
        """The enterprise's whole days whose local midnight lies in [start, end), read a year at
        a time (a day table covers at most 400 days). Today is not whole yet: it is left out,
        so that a baseline's daily intercept is never set against part of a day."""
        end_ms = min(end_ms, day_start(utc_now_ms()))
        if end_ms <= start_ms:
            return self._days(enterprise_id, start_ms, start_ms)
        parts: list[DailySeries] = []
        cursor = start_ms
        while True:
            until = min(end_ms, cursor + CHUNK_DAYS * DAY_MS)
            parts.append(self._days(enterprise_id, cursor, until))
            if until >= end_ms:
                break
            cursor = until
        if len(parts) == 1:
            return parts[0]
        named = next((p for p in parts if p.output_fact), parts[-1])
        return DailySeries(
            np.concatenate([p.days_ms for p in parts]),
            np.concatenate([p.energy_kwh for p in parts]),
            np.concatenate([p.output for p in parts]),
            np.concatenate([p.mean_temp_c for p in parts]),
            named.output_fact,
            named.output_unit,
        )

    def _days(self, enterprise_id: int, start_ms: int, end_ms: int) -> DailySeries:
        start = day_start(start_ms)
        if start < start_ms:
            start += DAY_MS
        end = day_start(end_ms - 1) + DAY_MS if end_ms > start else start
        if end <= start:
            empty = np.zeros(0)
            return DailySeries(np.zeros(0, np.int64), empty, empty, empty, "", "")
        table = energy_table(
            self._service, "enterprise", start, end, "day", frozenset({enterprise_id})
        )
        days = np.arange(start, end, DAY_MS, dtype=np.int64)
        if not table.groups:
            nan = np.full(len(days), np.nan)
            return DailySeries(days, nan, nan, nan.copy(), "", "")
        profile = table.output_profile[0] or ""
        kpis = self._service.profiles.get(profile)
        energy = table.energy_kwh[0].copy()
        output = table.output[0].copy()
        # A day without any energy or output recorded is a day without data, not a zero.
        empty_day = (energy == 0) & (output == 0)
        energy[empty_day] = np.nan
        output[empty_day] = np.nan
        return DailySeries(
            days,
            energy,
            output,
            self._weather(enterprise_id, start, end),
            kpis.output_fact or "" if kpis else "",
            (kpis_output_unit(self._service, profile) or "") if kpis else "",
        )

    def _weather(self, enterprise_id: int, start: int, end: int) -> F64:
        total = np.zeros((1, (end - start) // DAY_MS))
        seconds = np.zeros_like(total)
        for name, kpis in self._service.profiles.items():
            if not set(WEATHER_FACTS) <= set(kpis.fact_names):
                continue
            query = KpiQuery(
                name, start, end, "enterprise", "day", enterprises=frozenset({enterprise_id})
            )
            table = self._service.table(replace(query, kpis=()))
            if table.groups:
                total += table.facts["weather_ch"]
                seconds += table.facts["weather_s"]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean: F64 = np.where(seconds[0] > 0, 3600 * total[0] / seconds[0], np.nan)
        return mean
