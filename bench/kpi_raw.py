"""The limit the KPI tables must beat: the same month's question answered from raw points by one
DuckDB query over the store's own tables, in the same run.

Per loom: running and stopped seconds within planned time from each ``running`` point to the next
(LEAD over ts, spans longer than the profile's gap left out, as the facts do; each span's planned
part from its enterprise's calendar, given to the query as planned intervals with their
cumulative planned time and looked up by an ASOF join at both ends), and the increase of each
counter (picks, fabric metres, kWh) from reading to reading (LAG over ts; a fall below half the
last reading is a restart, a smaller one nothing; longer silences dropped), the picks' increase
shared out to planned time the same way. Per meter: its kWh. Summed per enterprise, with each
enterprise's planned seconds, they give loom efficiency, OEE and kWh per metre: the figures the
region's month reads from the facts.

It is a lower bound of what answering from raw points costs: it does not de-duplicate re-sent
points and leaves out the cooling towers' integrals and the data hall; DuckDB gets both cores and
a generous memory limit for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.analytics.calendars import CalendarBook
from shugu.analytics.model import COUNTER_MAX_SPAN_S
from shugu.analytics.places import METER_ROLE, Places
from shugu.store.duckdb_store import DEFAULT_MEMORY_LIMIT_MIB, DuckDBTelemetryStore

F64 = npt.NDArray[np.float64]

#: The loom profile's max_gap_s (analytics/kpis/loom.yaml), in ms.
LOOM_MAX_GAP_MS = 120_000
RAW_MEMORY_LIMIT = "8GiB"

#: Planned ms of the enterprise's calendar up to an instant, from the plan row found at or
#: before it by an ASOF join (none: nothing planned before it).
PLANNED_UP_TO = "coalesce({p}.before_ms + least({t}, {p}.stop) - {p}.start, 0)"

SQL = f"""
WITH pts AS (
    SELECT device, metric, ts, value FROM points_sorted
    WHERE ts >= $lo AND ts < $hi AND metric IN ($running, $picks, $fabric, $energy)
    UNION ALL
    SELECT device, metric, ts, value FROM points
    WHERE ts >= $lo AND ts < $hi AND metric IN ($running, $picks, $fabric, $energy)
),
spans AS (
    SELECT device, value, ts, lead(ts) OVER (PARTITION BY device ORDER BY ts) AS next_ts
    FROM pts WHERE metric = $running
),
kept AS (
    SELECT s.device, d.enterprise, s.value, s.ts, s.next_ts
    FROM spans AS s JOIN bench_devices AS d USING (device)
    WHERE s.next_ts - s.ts <= $max_gap
),
planned_spans AS (
    SELECT k.device, k.value,
           {PLANNED_UP_TO.format(p="b", t="k.next_ts")} - {PLANNED_UP_TO.format(p="a", t="k.ts")}
               AS planned_ms
    FROM kept AS k
    ASOF LEFT JOIN bench_plan AS a ON k.enterprise = a.enterprise AND k.ts >= a.start
    ASOF LEFT JOIN bench_plan AS b ON k.enterprise = b.enterprise AND k.next_ts >= b.start
),
states AS (
    SELECT device,
           sum(planned_ms) FILTER (WHERE value = 1) / 1000.0 AS run_s,
           sum(planned_ms) FILTER (WHERE value = 0) / 1000.0 AS stop_s
    FROM planned_spans GROUP BY device
),
steps AS (
    SELECT device, metric, value, ts,
           lag(value) OVER w AS before, lag(ts) OVER w AS before_ts
    FROM pts WHERE metric <> $running
    WINDOW w AS (PARTITION BY device, metric ORDER BY ts)
),
increases AS (
    SELECT s.device, d.enterprise, s.metric, s.ts, s.before_ts,
           CASE WHEN s.value >= s.before THEN s.value - s.before
                WHEN s.value < 0.5 * s.before THEN s.value
                ELSE 0 END AS increase
    FROM steps AS s JOIN bench_devices AS d USING (device)
    WHERE s.before IS NOT NULL AND s.ts - s.before_ts <= $counter_gap
),
produced AS (
    SELECT i.device,
           sum(i.increase * ({PLANNED_UP_TO.format(p="b", t="i.ts")}
                             - {PLANNED_UP_TO.format(p="a", t="i.before_ts")})
               / (i.ts - i.before_ts)) AS produced
    FROM increases AS i
    ASOF LEFT JOIN bench_plan AS a ON i.enterprise = a.enterprise AND i.before_ts >= a.start
    ASOF LEFT JOIN bench_plan AS b ON i.enterprise = b.enterprise AND i.ts >= b.start
    WHERE i.metric = $picks GROUP BY i.device
),
counters AS (
    SELECT device,
           sum(increase) FILTER (WHERE metric = $fabric) AS fabric_m,
           sum(increase) FILTER (WHERE metric = $energy) AS kwh
    FROM increases GROUP BY device
)
SELECT d.enterprise,
       count(*) FILTER (WHERE d.profile = 'loom') AS looms,
       sum(s.run_s) AS run_s,
       sum(s.stop_s) AS stop_s,
       sum(q.produced) FILTER (WHERE d.profile = 'loom') AS produced,
       sum(d.rated_rpm * s.run_s / 60.0) FILTER (WHERE d.profile = 'loom') AS ideal,
       sum(c.fabric_m) FILTER (WHERE d.profile = 'loom') AS fabric_m,
       sum(c.kwh) FILTER (WHERE d.profile = 'power_meter' AND d.role <> 'it') AS meter_kwh
FROM bench_devices AS d
LEFT JOIN states AS s USING (device)
LEFT JOIN produced AS q USING (device)
LEFT JOIN counters AS c USING (device)
GROUP BY d.enterprise ORDER BY d.enterprise
"""


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """Per enterprise (ascending id): the month's figures from raw points."""

    enterprise: npt.NDArray[np.int64]
    efficiency_pct: F64
    oee_pct: F64
    kwh_per_m: F64


def device_table(places: Places) -> pa.Table:
    """Each loom and meter with its enterprise, its rated speed and a meter's role."""
    rated = places.numbers.get("rated_speed_rpm", np.full(len(places.device), np.nan))
    wanted = np.array([p in ("loom", "power_meter") for p in places.profile], np.bool_)
    pick = np.flatnonzero(wanted)
    return pa.table(
        {
            "device": pa.array(places.device[pick].astype(np.int32)),
            "enterprise": pa.array(places.enterprise[pick]),
            "profile": pa.array([places.profile[i] for i in pick.tolist()]),
            "rated_rpm": pa.array(rated[pick]),
            "role": pa.array([places.texts[METER_ROLE][i] for i in pick.tolist()]),
        }
    )


def plan_table(calendars: CalendarBook, enterprises: list[int], lo: int, hi: int) -> pa.Table:
    """Each enterprise's planned intervals over [lo, hi) with the planned ms before each."""
    rows: dict[str, list[int]] = {"enterprise": [], "start": [], "stop": [], "before_ms": []}
    for ent in enterprises:
        clock = calendars.clock(ent, lo, hi)
        starts = np.asarray(clock.starts, np.int64)
        stops = np.asarray(clock.ends, np.int64)
        lengths = stops - starts
        rows["enterprise"] += [ent] * len(starts)
        rows["start"] += starts.tolist()
        rows["stop"] += stops.tolist()
        rows["before_ms"] += (np.cumsum(lengths) - lengths).tolist()
    return pa.table({k: pa.array(v, pa.int64()) for k, v in rows.items()})


def raw_month(
    store: DuckDBTelemetryStore,
    places: Places,
    calendars: CalendarBook,
    start_ms: int,
    end_ms: int,
) -> RawAnswer:
    """The month's efficiency, OEE and kWh per metre of every enterprise, from raw points."""
    cur = store._cursor()  # the store's own database, read as any other reader would
    ids = {name: store.metric_id(name) for name in ("running", "picks", "fabric_m", "energy_kwh")}
    devices = device_table(places)
    owners = sorted(set(devices.column("enterprise").to_pylist()))
    cur.register("bench_devices", devices)
    cur.register("bench_plan", plan_table(calendars, owners, start_ms, end_ms))
    try:
        table = cur.sql(
            SQL,
            params={
                "lo": start_ms,
                "hi": end_ms,
                "running": ids["running"],
                "picks": ids["picks"],
                "fabric": ids["fabric_m"],
                "energy": ids["energy_kwh"],
                "max_gap": LOOM_MAX_GAP_MS,
                "counter_gap": COUNTER_MAX_SPAN_S * 1000,
            },
        ).to_arrow_table()
    finally:
        cur.unregister("bench_devices")
        cur.unregister("bench_plan")
    enterprise = table.column("enterprise").to_numpy().astype(np.int64)

    def column(name: str) -> F64:
        values: F64 = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        return np.nan_to_num(values, nan=0.0)

    run, stop = column("run_s"), column("stop_s")
    produced, ideal = column("produced"), column("ideal")
    # Each loom is planned for its enterprise's planned time (all were there before the month).
    planned = column("looms") * np.array(
        [calendars.planned_ms(int(e), start_ms, end_ms) / 1000.0 for e in enterprise.tolist()]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        efficiency = 100.0 * run / (run + stop)
        oee = 100.0 * (run / planned) * (produced / ideal)
        per_m = column("meter_kwh") / column("fabric_m")
    return RawAnswer(enterprise, efficiency, oee, np.where(np.isfinite(per_m), per_m, np.nan))


class GenerousMemory:
    """DuckDB's memory limit raised for the raw scan, the store's own limit restored after."""

    def __init__(self, store: DuckDBTelemetryStore) -> None:
        self._cur = store._cursor()

    def __enter__(self) -> GenerousMemory:
        self._cur.execute(f"SET memory_limit = '{RAW_MEMORY_LIMIT}'")
        return self

    def __exit__(self, *exc: object) -> None:
        self._cur.execute(f"SET memory_limit = '{DEFAULT_MEMORY_LIMIT_MIB}MiB'")
