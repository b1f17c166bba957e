"""What the KPI bench times: the region's month (every enterprise's OEE and energy per unit), one
machine's day by hour, the same month from raw points, and how soon a late point shows.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.kpi_build import Built
from bench.kpi_raw import GenerousMemory, RawAnswer, raw_month
from shugu.analytics.energy import EnergyTable, energy_table
from shugu.analytics.model import HOUR_MS
from shugu.analytics.query import KpiQuery, KpiTable
from shugu.domain.batch import Batch

#: The loom KPIs of the region's month.
MONTH_KPIS = ("oee", "availability", "performance", "efficiency", "kwh_per_m")
DAY_MS = 86_400_000
#: How often the late-point probe asks the KPI table (it shares the interpreter with the engine).
POLL_S = 0.005
LATE_TIMEOUT_S = 30.0
#: The engine's flush cycle (FactEngine's default): late points are recomputed once a cycle.
FLUSH_S = 0.5


def timed(work: Callable[[], object], repeats: int) -> list[float]:
    """Milliseconds of each call."""
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        work()
        out.append((time.perf_counter() - t) * 1000)
    return out


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


@dataclass(slots=True)
class Month:
    kpis: KpiTable
    energy: EnergyTable


def region_month(built: Built) -> Month:
    query = KpiQuery("loom", built.start_ms, built.end_ms, level="enterprise", kpis=MONTH_KPIS)
    table = built.service.table(query)
    energy = energy_table(built.service, "enterprise", built.start_ms, built.end_ms)
    return Month(table, energy)


def month_figures(built: Built, repeats: int) -> dict[str, object]:
    """region_month: the KPI table and the energy table, as a region page asks for them."""
    first = timed(lambda: region_month(built), 1)
    kpi_ms: list[float] = []
    energy_ms: list[float] = []
    both_ms: list[float] = []
    for _ in range(repeats):
        t = time.perf_counter()
        built.service.table(
            KpiQuery("loom", built.start_ms, built.end_ms, level="enterprise", kpis=MONTH_KPIS)
        )
        t1 = time.perf_counter()
        energy_table(built.service, "enterprise", built.start_ms, built.end_ms)
        t2 = time.perf_counter()
        kpi_ms.append((t1 - t) * 1000)
        energy_ms.append((t2 - t1) * 1000)
        both_ms.append((t2 - t) * 1000)
    return {
        "region_month_ms": median(both_ms),
        "region_month_runs_ms": [round(x, 2) for x in both_ms],
        "region_month_first_ms": round(first[0], 2),
        "kpi_table_ms": median(kpi_ms),
        "energy_table_ms": median(energy_ms),
    }


def sample_loom(built: Built, index: int) -> int:
    ids = sorted(built.district.loom_rated_rpm)
    return ids[(index * 7919) % len(ids)]


def device_day_query(built: Built, device: int, day_ms: int) -> KpiQuery:
    return KpiQuery(
        "loom", day_ms, day_ms + DAY_MS, level="device", grain="hour", within=("device", device)
    )


def device_day_figures(built: Built, repeats: int) -> dict[str, object]:
    device = sample_loom(built, 1)
    days = (built.end_ms - built.start_ms) // DAY_MS
    day_ms = built.start_ms + (days // 2) * DAY_MS
    query = device_day_query(built, device, day_ms)
    table = built.service.table(query)
    runs = timed(lambda: built.service.table(query), repeats)
    return {
        "device_day_ms": median(runs),
        "device_day_runs_ms": [round(x, 2) for x in runs],
        "device_day_hours": len(table.periods),
    }


def raw_figures(built: Built, repeats: int, month: Month) -> dict[str, object]:
    places = built.service.places.current()
    answers: list[RawAnswer] = []

    def scan() -> None:
        answers.append(
            raw_month(built.store, places, built.calendars, built.start_ms, built.end_ms)
        )

    with GenerousMemory(built.store):
        runs = timed(scan, repeats)
    return {
        "raw_region_month_ms": median(runs),
        "raw_region_month_runs_ms": [round(x, 1) for x in runs],
        **agreement(answers[-1], month),
    }


def agreement(raw: RawAnswer, month: Month) -> dict[str, object]:
    """How far the facts' answer is from the raw scan's, per mill (percentage points, kWh/m)."""
    kpis = month.kpis
    row = {g.id: i for i, g in enumerate(kpis.groups)}
    energy_row = {g.id: i for i, g in enumerate(month.energy.groups)}
    eff, oee, per_m = [], [], []
    for i, ent in enumerate(raw.enterprise.tolist()):
        if ent not in row or np.isnan(raw.oee_pct[i]):
            continue
        j = row[ent]
        eff.append(abs(float(kpis.kpis["efficiency"][j, 0]) - float(raw.efficiency_pct[i])))
        oee.append(abs(float(kpis.kpis["oee"][j, 0]) - float(raw.oee_pct[i])))
        if ent in energy_row:
            facts_per_m = float(month.energy.per_unit[energy_row[ent], 0])
            per_m.append(abs(facts_per_m - float(raw.kwh_per_m[i])) / float(raw.kwh_per_m[i]))
    return {
        "raw_vs_facts_efficiency_max_diff_pct": round(max(eff), 4) if eff else None,
        "raw_vs_facts_oee_max_diff_pct": round(max(oee), 4) if oee else None,
        "raw_vs_facts_energy_intensity_max_diff_share": round(max(per_m), 6) if per_m else None,
    }


def late_stop(built: Built, device: int, at_ms: int) -> Batch:
    """A one-minute mechanical stop of ``device`` from ``at_ms``, reported late."""
    ids = built.store.metric_ids(["running", "stop_cause"])
    return Batch(
        np.full(4, device, np.int32),
        np.array([ids[0], ids[1], ids[0], ids[1]], np.int32),
        np.array([at_ms, at_ms, at_ms + 60_000, at_ms + 60_000], np.int64),
        np.array([0.0, 3.0, 1.0, 0.0]),
        np.zeros(4, np.uint8),
    )


def late_point_figures(built: Built, count: int) -> dict[str, object]:
    """A late stop stored for a loom's day in the middle of the month, then the day asked for
    until its facts show it.

    First the work alone: the engine processes the batch and recomputes the hours it touched on
    this thread, right after the commit. Then as it runs: with the engine's thread started, each
    stop is stored after a random pause (so that it lands anywhere in the engine's flush cycle,
    as a late point from outside does) and the day is asked for every 5 ms until it changes."""
    pause = random.Random(13)
    work: list[float] = []
    for i in range(count):
        query, batch = late_case(built, 1000 + i)
        before = built.service.table(query).facts
        t = time.perf_counter()
        built.store.submit(batch).result(timeout=LATE_TIMEOUT_S)
        built.engine.process_now()
        if not changed(before, built.service.table(query).facts):
            raise RuntimeError("a late stop did not change its loom's day")
        work.append((time.perf_counter() - t) * 1000)
    built.engine.start()
    latencies: list[float] = []
    for i in range(count):
        query, batch = late_case(built, i)
        before = built.service.table(query).facts
        time.sleep(pause.uniform(0.0, 2 * FLUSH_S))
        t = time.perf_counter()
        built.store.submit(batch)
        while not changed(before, built.service.table(query).facts):
            if time.perf_counter() - t > LATE_TIMEOUT_S:
                raise RuntimeError("a late stop did not show within 30 s")
            time.sleep(POLL_S)
        latencies.append((time.perf_counter() - t) * 1000)
    return {
        "late_point_ms": median(latencies),
        "late_point_max_ms": round(max(latencies), 1),
        "late_point_runs_ms": [round(x, 1) for x in latencies],
        "late_point_work_ms": median(work),
    }


def late_case(built: Built, i: int) -> tuple[KpiQuery, Batch]:
    """The ``i``-th late stop: another loom each time, at 14:00 and some minutes, on a day in
    the middle of the span; and the query of that loom's day."""
    days = (built.end_ms - built.start_ms) // DAY_MS
    day_ms = built.start_ms + ((days // 2) + i % max(days // 2, 1)) % days * DAY_MS
    at_ms = day_ms + 14 * HOUR_MS + (i % 6) * 600_000 + 7_000
    # A loom whose mill works then: a stop on a rest day is no stop of the loom's figures.
    places = built.service.places.current()
    for attempt in range(1000):
        device = sample_loom(built, 100 + i + attempt * 1009)
        enterprise = int(places.enterprise[places.index_of[device]])
        if built.service.calendars.planned_ms(enterprise, at_ms, at_ms + 60_000) == 60_000:
            break
    query = KpiQuery(
        "loom", day_ms, day_ms + DAY_MS, level="device", kpis=(), within=("device", device)
    )
    return query, late_stop(built, device, at_ms)


def changed(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> bool:
    return any(not np.array_equal(before[name], after[name]) for name in before)


def district_figures(month: Month) -> dict[str, object]:
    """Whether the figures are believable: the mills' month, and the data hall's PUE."""
    kpis = month.kpis
    oee = kpis.kpis["oee"][:, 0]
    efficiency = kpis.kpis["efficiency"][:, 0]
    per_unit = month.energy.per_unit[:, 0]
    mills = [i for i, p in enumerate(month.energy.output_profile) if p == "loom"]
    pue = month.energy.pue[:, 0]
    pue = pue[~np.isnan(pue)]

    def spread(values: np.ndarray) -> list[float]:
        values = values[~np.isnan(values)]
        if not len(values):
            return []
        return [
            round(float(np.min(values)), 2),
            round(float(np.median(values)), 2),
            round(float(np.max(values)), 2),
        ]

    return {
        "mills": len(kpis.groups),
        "mill_oee_pct": spread(oee),
        "mill_efficiency_pct": spread(efficiency),
        "mill_kwh_each_metre": spread(per_unit[mills]),
        "data_hall_pue_ratio": round(float(pue[0]), 3) if len(pue) else None,
    }
