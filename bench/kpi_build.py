"""The KPI bench's world: a telemetry store, the district registered, the analytics of one process
(fact engine, places, calendars, KPI service) as ``analytics/service.py`` assembles them, and the
month's points fed through the store day by day in time order so that the engine builds the facts
as it would have while the month was live.

The engine's clock follows the replay (the end of the day just stored), so that hours arrive while
they are recent and are added to, as live data is; once the month is stored the clock is the real
time again and the month is an ordinary past month.
"""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

from bench.common import say
from bench.kpi_data import DAY_MS, METRICS
from bench.kpi_district import District, build_district
from shugu.analytics.calendar_service import get_calendar
from shugu.analytics.calendars import CalendarBook
from shugu.analytics.definitions import load_kpis
from shugu.analytics.engine import FactEngine
from shugu.analytics.fact_store import FactStore
from shugu.analytics.places import PlaceBook, read_places
from shugu.analytics.query import KpiService
from shugu.domain.timeutil import CHINA_TZ, utc_now_ms
from shugu.store.duckdb_store import DuckDBTelemetryStore

#: The month replayed: November 2026 (30 days), local time.
FIRST_DAY = date(2026, 11, 1)
#: Points a live district's batches hold at most here (ten minutes of the whole district).
CHUNK_MS = 3_600_000
#: Points handed to the store and not yet committed, at most (its backlog bound is 2 M).
IN_FLIGHT_ROWS = 1_000_000


class ReplayClock:
    """The analytics' clock: the replay's time while the month is fed, then the real time."""

    def __init__(self, start_ms: int) -> None:
        self.now_ms: int | None = start_ms

    def __call__(self) -> int:
        return utc_now_ms() if self.now_ms is None else self.now_ms


@dataclass(slots=True)
class Built:
    folder: Path
    store: DuckDBTelemetryStore
    district: District
    engine: FactEngine
    facts: FactStore
    service: KpiService
    calendars: CalendarBook
    clock: ReplayClock
    start_ms: int
    end_ms: int
    figures: dict[str, object] = field(default_factory=dict)

    def close(self) -> None:
        self.engine.stop()
        self.store.close()
        self.facts.close()
        self.district.registry.close()


def day_start_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ).timestamp() * 1000)


def build(folder: Path, devices: int, days: int, log: bool, mills: int | None = None) -> Built:
    start_ms = day_start_ms(FIRST_DAY)
    end_ms = start_ms + days * DAY_MS
    store = DuckDBTelemetryStore(folder / "telemetry.duckdb", max_commit_rows=200_000)
    t = time.perf_counter()
    district = build_district(folder, store, devices, start_ms - DAY_MS, mills)
    registry_s = time.perf_counter() - t
    say(log, f"registered {district.devices} devices of {district.enterprises} enterprises")
    profiles = load_kpis()
    parameters = sorted(
        {spec.attribute or spec.name for kpis in profiles.values() for spec in kpis.parameters}
    )
    places = PlaceBook(partial(read_places, district.registry, store, parameters))
    calendars = CalendarBook(partial(get_calendar, district.registry))
    facts = FactStore(folder / "analytics.duckdb", profiles)
    clock = ReplayClock(start_ms)
    engine = FactEngine(store, places, facts, profiles, planned=calendars.planned_for, clock=clock)
    store.add_listener(engine.on_batch)
    engine.load()
    service = KpiService(engine, places, calendars, clock=clock)
    built = Built(
        folder, store, district, engine, facts, service, calendars, clock, start_ms, end_ms
    )
    built.figures["registry_setup_s"] = round(registry_s, 2)
    built.figures["profiles"] = dict(sorted(district.profiles.items()))
    feed(built, days, log)
    return built


def feed(built: Built, days: int, log: bool) -> None:
    """Store the month day by day; after each day the engine works off what was committed."""
    store, engine, clock = built.store, built.engine, built.clock
    metric_ids = store.metric_ids(list(METRICS))
    generate_s = store_s = facts_s = 0.0
    points = 0
    for k in range(days):
        day = FIRST_DAY + timedelta(days=k)
        day_ms = built.start_ms + k * DAY_MS
        t = time.perf_counter()
        batches = built.district.telemetry.day(day_ms, day.isoweekday()).batches(
            metric_ids, CHUNK_MS
        )
        generate_s += time.perf_counter() - t
        t = time.perf_counter()
        in_flight: deque[tuple[Future[int], int]] = deque()
        rows = 0
        for batch in batches:
            while in_flight and rows + len(batch) > IN_FLIGHT_ROWS:
                future, n = in_flight.popleft()
                future.result(timeout=600)
                rows -= n
            in_flight.append((store.submit(batch), len(batch)))
            rows += len(batch)
            points += len(batch)
        for future, _ in in_flight:
            future.result(timeout=600)
        store_s += time.perf_counter() - t
        clock.now_ms = day_ms + DAY_MS + 60_000
        t = time.perf_counter()
        engine.process_now()
        facts_s += time.perf_counter() - t
        say(log, f"day {k + 1}/{days}: {points:,} points stored, facts {facts_s:.0f} s so far")
    clock.now_ms = None
    t = time.perf_counter()
    engine.process_now()  # the month is past now: recent hours leave memory for the fact store
    facts_s += time.perf_counter() - t
    t = time.perf_counter()
    # The compactor's own steps, run to the end: the month's points sorted by device and each
    # day consolidated, as a store that has run through the month holds them.
    store.compactor.compact()
    store.compactor.consolidate_closed_days()
    compact_s = time.perf_counter() - t
    built.figures.update(
        {
            "points": points,
            "generate_s": round(generate_s, 1),
            "store_s": round(store_s, 1),
            "facts_build_s": round(facts_s, 1),
            "facts_build_points_per_s": round(points / max(facts_s, 1e-9)),
            "compaction_s": round(compact_s, 1),
            "telemetry_mib": round(file_mib(built.folder / "telemetry.duckdb"), 1),
        }
    )


def file_mib(path: Path) -> float:
    """A DuckDB file's size with its write-ahead log."""
    total = 0
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():
            total += os.path.getsize(candidate)
    return total / 2**20
