"""An API node of a cluster sees no batches: its facts come from recomputing each closed hour
from the store, and equal what an engine fed batch by batch computes."""

from __future__ import annotations

from pathlib import Path

from shugu.analytics.closed_hours import FIRST_HOURS, SETTLE_S, ClosedHours
from shugu.analytics.engine import FactEngine
from shugu.analytics.fact_store import FactStore
from shugu.analytics.places import PlaceBook
from shugu.store.duckdb_store import DuckDBTelemetryStore
from tests.analytics.test_engine import T0, H, brute_force, engine_cells, places_of, same, submit
from tests.analytics.test_facts import KPIS, LunchBreak
from tests.clock import ManualClock


def rows_for(hours: int) -> list[tuple[int, str, int, float]]:
    rows: list[tuple[int, str, int, float]] = []
    for device in (1, 2, 3):
        for minute in range(0, hours * 60, 5):
            ts = T0 + minute * 60_000 + device * 1000
            rows.append((device, "running", ts, float((minute // 15 + device) % 2)))
            rows.append((device, "energy", ts, 100.0 + minute * 0.5 * device))
    return rows


def test_closed_hours_give_the_facts_an_engine_fed_live_gives(tmp_path: Path) -> None:
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    clock = ManualClock(T0 + 3 * H + SETTLE_S * 1000 + 1)
    engine = FactEngine(
        store,
        PlaceBook(lambda: places_of([1, 2, 3])),
        FactStore(None, {"test": KPIS}),
        {"test": KPIS},
        planned=lambda places: LunchBreak(),
        clock=clock,
    )
    try:
        engine.load()
        rows = rows_for(4)  # the fourth hour is still open
        submit(store, rows)  # stored by another process: the engine is not listening
        hours = ClosedHours(engine, clock=clock)
        assert hours.tick() == (T0 + 3 * H - FIRST_HOURS * H, T0 + 3 * H)
        assert hours.tick() is None  # nothing closed since
        engine.process_now()
        # The closed hours as the whole series makes them (their last stretches run up to the
        # first points of the open hour, which the store has).
        want = {k: v for k, v in brute_force(rows).items() if k[1] < T0 + 3 * H}
        assert want and same(engine_cells(engine, T0, T0 + 3 * H), want)
        clock.now += H
        assert hours.tick() == (T0 + 3 * H, T0 + 4 * H)
        engine.process_now()
        assert same(engine_cells(engine, T0, T0 + 4 * H), brute_force(rows))
    finally:
        engine.stop()
        store.close()
