"""`shugu bench kpi`: how fast the KPI tables answer a region's month, against the raw scan.

The demo district (districts/changle.yaml: 40 weaving mills with their looms and a shed meter
each, a data hall with racks, air handlers and facility and IT meters, a cooling-tower firm)
scaled to 10,000 devices, with November 2026's points generated and fed through the telemetry
store day by day (``kpi_data`` says at which rates), so that the fact engine builds the month's
facts as it would have live. Then, in the same process (each key names its unit):

- region_month_ms: every enterprise's month of loom OEE, availability, performance, efficiency
  and kWh per metre (``KpiService.table``) plus every enterprise's energy per unit
  (``energy_table``): the median of several repeats; kpi_table_ms and energy_table_ms are its
  two parts.
- device_day_ms: one loom's day by hour.
- raw_region_month_ms: the same month's question answered from raw points by one DuckDB query
  (``kpi_raw``), the limit to beat; ratio_raw_to_region_month.
- late_point_ms: with the engine's thread running, a stop from the middle of the month stored
  late, until the loom's day shows it.
- the build: generate_s, store_s, facts_build_s (the engine's own time), compaction_s, the facts'
  rows (device-hours) and size, and whether the figures are believable (``district``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import say
from bench.kpi_build import FIRST_DAY, build, file_mib
from bench.kpi_measure import (
    device_day_figures,
    district_figures,
    late_point_figures,
    month_figures,
    raw_figures,
    region_month,
)

FULL_DEVICES, FULL_DAYS = 10_000, 30
QUICK_DEVICES, QUICK_DAYS = 1_000, 7


def run(
    *,
    quick: bool = False,
    devices: int | None = None,
    days: int | None = None,
    repeats: int = 11,
    raw_repeats: int = 3,
    late_points: int = 7,
    log: bool = True,
    keep: Path | None = None,
    mills: int | None = None,
) -> dict[str, Any]:
    """The bench's figures; ``keep`` keeps the store and facts there, ``mills`` makes the
    district smaller than its forty weaving firms (the tests)."""
    devices = devices or (QUICK_DEVICES if quick else FULL_DEVICES)
    days = days or (QUICK_DAYS if quick else FULL_DAYS)
    if quick:
        repeats, raw_repeats, late_points = (
            min(repeats, 5),
            min(raw_repeats, 2),
            min(late_points, 3),
        )
    if not 1 <= days <= 30:
        raise ValueError("days is between 1 and 30 (November 2026 is replayed)")
    folder = keep or Path(tempfile.mkdtemp(prefix="shugu-kpi-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    commit = head_commit()  # now: the code was loaded at the start, others may commit meanwhile
    built = build(folder, devices, days, log, mills)
    built.figures["fact_rows"] = fact_rows(built)
    built.figures["facts_mib"] = round(file_mib(folder / "analytics.duckdb"), 1)
    try:
        say(log, "timing the region's month, one loom's day and the raw scan")
        month = region_month(built)
        result: dict[str, Any] = {
            "commit": commit,
            "devices": built.district.devices,
            "enterprises": built.district.enterprises,
            "span_days": days,
            "first_day": FIRST_DAY.isoformat(),
            **month_figures(built, repeats),
            **device_day_figures(built, repeats),
        }
        raw = raw_figures(built, raw_repeats, month)
        result.update(raw)
        result["ratio_raw_to_region_month"] = round(
            result["raw_region_month_ms"] / result["region_month_ms"], 1
        )
        say(log, "late points with the engine running")
        result.update(late_point_figures(built, late_points))
        result["district"] = district_figures(month)
        result["build"] = built.figures
    finally:
        built.close()
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def head_commit() -> str | None:
    """The commit the code under test was checked out at, when it runs from a git tree."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def fact_rows(built: Any) -> int:
    """Device-hours the fact store holds, every profile together."""
    total = 0
    con = built.facts._con  # the fact store's size is not part of its interface
    for name in built.engine.profiles:
        total += int(con.execute(f"SELECT count(*) FROM facts_{name}").fetchall()[0][0])
    return total
