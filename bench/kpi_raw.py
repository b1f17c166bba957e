"""The limit the KPI tables must beat: the same month's question answered from raw points by one
DuckDB query over the store's own tables, in the same run.

Per loom: running and stopped seconds from each ``running`` point to the next (LEAD over ts,
spans longer than the profile's gap left out, as the facts do), and the increase of each counter
(picks, fabric metres, kWh) from reading to reading (LAG over ts, a drop read as a restart from
zero, longer silences dropped). Per meter: its kWh the same way. Summed per enterprise, with each
enterprise's planned seconds from its calendar, they give loom efficiency, OEE and kWh per metre.

It is a lower bound of what answering from raw points costs: it reads every point once, does not
de-duplicate re-sent points, counts running time over all hours rather than within planned time
(the same here: the mills' looms stand when they are not planned to run) and leaves out the
cooling towers' integrals. DuckDB gets both cores and a generous memory limit for it.
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

SQL = """
WITH pts AS (
    SELECT device, metric, ts, value FROM points_sorted
    WHERE ts >= $lo AND ts < $hi AND metric IN ($running, $picks, $fabric, $energy)
    UNION ALL
    SELECT device, metric, ts, value FROM points
    WHERE ts >= $lo AND ts < $hi AND metric IN ($running, $picks, $fabric, $energy)
),
spans AS (
    SELECT device, value, lead(ts) OVER (PARTITION BY device ORDER BY ts) - ts AS span_ms
    FROM pts WHERE metric = $running
),
states AS (
    SELECT device,
           sum(span_ms) FILTER (WHERE value = 1) / 1000.0 AS run_s,
           sum(span_ms) FILTER (WHERE value = 0) / 1000.0 AS stop_s
    FROM spans WHERE span_ms <= $max_gap GROUP BY device
),
steps AS (
    SELECT device, metric, value,
           lag(value) OVER w AS before,
           ts - lag(ts) OVER w AS gap_ms
    FROM pts WHERE metric <> $running
    WINDOW w AS (PARTITION BY device, metric ORDER BY ts)
),
counters AS (
    SELECT device,
           sum(CASE WHEN value >= before THEN value - before ELSE value END)
               FILTER (WHERE metric = $picks) AS picks,
           sum(CASE WHEN value >= before THEN value - before ELSE value END)
               FILTER (WHERE metric = $fabric) AS fabric_m,
           sum(CASE WHEN value >= before THEN value - before ELSE value END)
               FILTER (WHERE metric = $energy) AS kwh
    FROM steps WHERE before IS NOT NULL AND gap_ms <= $counter_gap GROUP BY device
)
SELECT d.enterprise,
       count(*) FILTER (WHERE d.profile = 'loom') AS looms,
       sum(s.run_s) AS run_s,
       sum(s.stop_s) AS stop_s,
       sum(c.picks) FILTER (WHERE d.profile = 'loom') AS picks,
       sum(d.rated_rpm * s.run_s / 60.0) FILTER (WHERE d.profile = 'loom') AS ideal_picks,
       sum(c.fabric_m) FILTER (WHERE d.profile = 'loom') AS fabric_m,
       sum(c.kwh) FILTER (WHERE d.profile = 'power_meter' AND d.role <> 'it') AS meter_kwh
FROM bench_devices AS d
LEFT JOIN states AS s USING (device)
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
    cur.register("bench_devices", device_table(places))
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
    enterprise = table.column("enterprise").to_numpy().astype(np.int64)

    def column(name: str) -> F64:
        values: F64 = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        return np.nan_to_num(values, nan=0.0)

    run, stop = column("run_s"), column("stop_s")
    picks, ideal = column("picks"), column("ideal_picks")
    # Each loom is planned for its enterprise's planned time (all were there before the month).
    planned = column("looms") * np.array(
        [calendars.planned_ms(int(e), start_ms, end_ms) / 1000.0 for e in enterprise.tolist()]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        efficiency = 100.0 * run / (run + stop)
        oee = 100.0 * (run / planned) * (picks / ideal)
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
