"""The ClickHouse store's hourly roll-up cells: the same answers as a scan of the points for
every bucketed query, late and re-sent points included; retention removes them; and their SQL
gives the same answers on Debian's 18.16 server and on a current ClickHouse (chdb)."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from clickhouse_driver import Client

from shugu.domain.batch import Batch
from shugu.store import clickhouse_cells_sql as cells_sql
from shugu.store import clickhouse_sql as sql
from shugu.store.clickhouse_schema import HOUR_MS, Layout, schema_statements
from shugu.store.clickhouse_store import ClickHouseTelemetryStore
from shugu.store.telemetry import RangeQuery
from tests.clickhouse import ClickHouseServer
from tests.store.test_clickhouse_store import (
    MIDNIGHT_CST,
    SAMPLE_ROWS,
    _normalised,
    chdb_session,
    insert_statement,
)

__all__ = ["chdb_session"]

DAY = 86_400_000
AGGREGATES = ("avg", "min", "max", "sum", "count", "first", "last")


@pytest.fixture
def store(clickhouse_server: ClickHouseServer) -> Iterator[ClickHouseTelemetryStore]:
    opened = ClickHouseTelemetryStore(clickhouse_server.url())
    yield opened
    opened.close()


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Late points count as rolled by any roll that starts a second after them (the server
    stamps whole seconds), instead of a minute: the tests need not wait."""
    monkeypatch.setattr(cells_sql, "SETTLE_MS", 0)


def roll_settled(store: ClickHouseTelemetryStore) -> Any:
    time.sleep(1.1)
    return store.roll()


def random_points(metrics: list[int], n: int, start: int, span_ms: int, seed: int) -> Batch:
    """Whole-number values, so that a sum is exact in any order of addition."""
    rng = np.random.default_rng(seed)
    return Batch(
        rng.integers(1, 5, n).astype(np.int32),
        np.array(metrics, np.int32)[rng.integers(0, len(metrics), n)],
        start + rng.integers(0, span_ms, n).astype(np.int64),
        rng.integers(-50, 50, n).astype(np.float64),
        (rng.random(n) < 0.1).astype(np.uint8),
    )


def queries(metrics: list[int], names: list[str]) -> list[RangeQuery]:
    start, end = MIDNIGHT_CST - 3 * DAY, MIDNIGHT_CST + 4 * DAY
    every = [1, 2, 3, 4]
    return [
        RangeQuery(every, None, start, end, DAY, aggregates=AGGREGATES),
        RangeQuery(every, None, start, end, HOUR_MS, aggregates=AGGREGATES),
        RangeQuery(every, None, start, end, 7 * DAY, aggregates=AGGREGATES),
        RangeQuery(every, [names[0]], start, end, 6 * HOUR_MS, aggregates=AGGREGATES),
        # Starts and ends inside an hour: the partial hours come from points.
        RangeQuery([2, 3], None, start + 1_234_567, end - 7_654_321, DAY, aggregates=AGGREGATES),
        # UTC buckets, and a whole-hour offset west of UTC.
        RangeQuery(every, None, start, end, DAY, 0, aggregates=AGGREGATES),
        RangeQuery(every, None, start, end, DAY, -5 * HOUR_MS, aggregates=AGGREGATES),
        # Not whole hours (a half-hour offset, half-hour buckets): a scan, the same answer.
        RangeQuery(every, None, start, end, DAY, 330 * 60_000, aggregates=AGGREGATES),
        RangeQuery(every, None, start, end, 30 * 60_000, aggregates=("count", "avg")),
    ]


def both_ways(store: ClickHouseTelemetryStore, query: RangeQuery) -> tuple[pa.Table, pa.Table]:
    store.read_cells = False
    try:
        scan = store.query_range(query)
    finally:
        store.read_cells = True
    return scan, store.query_range(query)


def assert_same_as_scan(store: ClickHouseTelemetryStore, metrics: list[int]) -> None:
    names = [store.metric_name(m) for m in metrics]
    for query in queries(metrics, names):
        scan, cells = both_ways(store, query)
        assert scan.num_rows > 0
        assert cells.to_pylist() == scan.to_pylist(), query


def cell_rows(store: ClickHouseTelemetryStore) -> int:
    return int(store._rows((f"SELECT count() FROM {store.layout.table('cells')}", {}))[0][0])


def dirty_hours(store: ClickHouseTelemetryStore) -> int:
    """Device-hours that reads take from points because of a late point."""
    text = f"SELECT count() FROM ({cells_sql.dirty_hours(store.layout)})"
    return int(store._rows((text, {"dirty_from": 0, "dirty_to": 2**62}))[0][0])


def delete_points_behind_the_cells(store: ClickHouseTelemetryStore) -> None:
    """Delete points without touching cells: what a read still counts came from cells."""
    store._client().execute(f"ALTER TABLE {store.layout.local('points')} DELETE WHERE 1")
    while store._rows(sql.pending_mutations(store.layout))[0][0]:
        time.sleep(0.05)


WEEK = RangeQuery(
    [1, 2, 3, 4], None, MIDNIGHT_CST - 3 * DAY, MIDNIGHT_CST + 4 * DAY, DAY, aggregates=AGGREGATES
)


def test_rolled_hours_answer_as_the_scan_did(
    store: ClickHouseTelemetryStore, settled: None
) -> None:
    metrics = store.metric_ids(["temp", "power", "rh"]).tolist()
    store.submit(random_points(metrics, 20_000, MIDNIGHT_CST - 3 * DAY, 7 * DAY, 1)).result(30)
    report = roll_settled(store)
    assert report.spans and cell_rows(store) > 0
    assert_same_as_scan(store, metrics)
    # Day buckets now come from the cells alone: with the points gone they still count them.
    before = store.query_range(WEEK)
    delete_points_behind_the_cells(store)
    assert store.query_range(WEEK).to_pylist() == before.to_pylist()
    store.read_cells = False
    assert store.query_range(WEEK).num_rows == 0


def test_late_and_resent_points_are_read_from_points_until_rolled_again(
    store: ClickHouseTelemetryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = store.metric_ids(["temp", "power"]).tolist()
    first = random_points(metrics, 10_000, MIDNIGHT_CST - 3 * DAY, 7 * DAY, 2)
    store.submit(first).result(30)
    store.roll()
    # Rolled within the settling time of their insert, the hours are still read from points.
    assert dirty_hours(store) > 0
    assert_same_as_scan(store, metrics)
    # A re-send of some points with new values, some late points, some flagged.
    k = slice(0, 300)
    resent = Batch(
        first.device[k],
        first.metric[k],
        first.ts[k],
        first.value[k] + 7,
        (first.quality[k] ^ 1).astype(np.uint8),
    )
    store.submit(resent).result(30)
    store.submit(random_points(metrics, 500, MIDNIGHT_CST - DAY, DAY, 3)).result(30)
    store.submit(first).result(30)  # an exact re-send: nothing changes
    assert_same_as_scan(store, metrics)
    # Within the settling time the roller leaves late hours alone: read from points...
    report = store.roll()
    assert not report.late_days and dirty_hours(store) > 0
    assert_same_as_scan(store, metrics)
    # ...and once settled, from cells: with settling 0, a roll a second later settles them.
    monkeypatch.setattr(cells_sql, "SETTLE_MS", 0)
    assert roll_settled(store).late_days
    assert dirty_hours(store) == 0
    assert_same_as_scan(store, metrics)
    before = store.query_range(WEEK)
    delete_points_behind_the_cells(store)
    assert store.query_range(WEEK).to_pylist() == before.to_pylist()


def test_two_rollers_of_the_same_hours_do_no_harm(
    clickhouse_server: ClickHouseServer, store: ClickHouseTelemetryStore, settled: None
) -> None:
    metrics = store.metric_ids(["temp"]).tolist()
    store.submit(random_points(metrics, 5000, MIDNIGHT_CST - 3 * DAY, 7 * DAY, 4)).result(30)
    other = ClickHouseTelemetryStore(clickhouse_server.url(store.layout.database))
    try:
        roll_settled(store)
        other.roll()
        store.roll()
        assert_same_as_scan(store, metrics)
        assert_same_as_scan(other, metrics)
    finally:
        other.close()


def test_retention_removes_cells_and_the_cut_hour_is_read_from_points(
    store: ClickHouseTelemetryStore, settled: None
) -> None:
    metrics = store.metric_ids(["temp", "power"]).tolist()
    store.submit(random_points(metrics, 10_000, MIDNIGHT_CST - 3 * DAY, 7 * DAY, 5)).result(30)
    roll_settled(store)
    cells_before = cell_rows(store)
    cut = MIDNIGHT_CST - DAY + 1_800_000  # half way through an hour
    store.purge_before(cut)
    assert 0 < cell_rows(store) < cells_before
    oldest = store._rows((f"SELECT min(hour) FROM {store.layout.table('cells')}", {}))[0][0]
    assert oldest >= cut - HOUR_MS
    assert_same_as_scan(store, metrics)
    roll_settled(store)
    assert_same_as_scan(store, metrics)
    # What remains of the cut hour is counted once, from points.
    before = store.query_range(WEEK)
    delete_points_behind_the_cells(store)
    after = store.query_range(WEEK)
    assert sum(after.column("count").to_pylist()) < sum(before.column("count").to_pylist())


def test_a_store_with_nothing_rolls_nothing_and_reads_points(
    store: ClickHouseTelemetryStore, settled: None
) -> None:
    report = store.roll()
    assert report.spans == [] and cell_rows(store) == 0
    until, _ = store._roller.rolled()
    assert until > 0
    metrics = store.metric_ids(["temp"]).tolist()
    # Points that arrive after the first roll are late everywhere: read from points...
    store.submit(random_points(metrics, 2000, MIDNIGHT_CST - 3 * DAY, 7 * DAY, 6)).result(30)
    assert_same_as_scan(store, metrics)
    # ...until rolled as late hours.
    assert roll_settled(store).late_days
    assert cell_rows(store) > 0
    assert_same_as_scan(store, metrics)


# -- the same SQL on 18.16 and on a current ClickHouse -----------------------------------------

SPAN = (MIDNIGHT_CST - DAY, MIDNIGHT_CST + DAY)
#: A roll long after the sample rows' late points were stamped: their hours are clean.
SETTLED_ROLL = 4_000_000_000_000


def every_cells_read(layout: Layout) -> dict[str, sql.Statement]:
    day = RangeQuery(
        [1, 2], None, MIDNIGHT_CST - DAY, MIDNIGHT_CST + DAY, DAY, aggregates=AGGREGATES
    )
    hours = RangeQuery([1], None, MIDNIGHT_CST - DAY, MIDNIGHT_CST + DAY, HOUR_MS)
    return {
        "rolled": cells_sql.rolled(layout),
        "first_point": cells_sql.first_point(layout),
        "dirty_days": cells_sql.dirty_days(layout, MIDNIGHT_CST + DAY, SETTLED_ROLL),
        "bucketed_from_cells": cells_sql.bucketed_from_cells(layout, day, None, *SPAN),
        "bucketed_from_cells_metrics": cells_sql.bucketed_from_cells(layout, hours, [1], *SPAN),
    }


def every_cells_change(layout: Layout) -> list[sql.Statement]:
    return [
        cells_sql.roll_span(layout, *SPAN, 1),
        cells_sql.record_rolls(layout, SPAN[1], 0),
        cells_sql.roll_dirty(layout, *SPAN, 2, SETTLED_ROLL),
        cells_sql.mark_rolled(layout, *SPAN, 1000),
    ]


def test_every_cells_statement_is_checked() -> None:
    builders = {
        name
        for name, fn in inspect.getmembers(cells_sql, inspect.isfunction)
        if fn.__module__ == cells_sql.__name__
    }
    checked = {n.removesuffix("_metrics") for n in every_cells_read(Layout("x"))}
    checked |= {"roll_span", "record_rolls", "roll_dirty", "mark_rolled"}
    # Helpers of the above, the clock (differs by nature), retention (test_compatibility).
    helpers = {"hour_of", "dirty_hours", "cell_span", "server_now", "_roll", "purge_cells"}
    assert builders - helpers <= checked, builders - helpers - checked


def test_the_cells_sql_gives_the_same_answers_on_18_16_and_current(
    clickhouse_server: ClickHouseServer, chdb_session: Any
) -> None:
    layout = Layout(f"cells_{clickhouse_server.port}")
    old = Client(host="127.0.0.1", port=clickhouse_server.port)
    render = old.substitute_params
    context = old.connection.context

    def on_current(statement: sql.Statement) -> Any:
        text, params = statement
        return chdb_session.query(render(text, params, context) if params else text, "JSONCompact")

    old.execute(f"DROP DATABASE IF EXISTS {layout.database}")
    try:
        for ddl in schema_statements(layout):
            old.execute(ddl)
            on_current((ddl, {}))
        for table in ("metrics", "points"):
            old.execute(sql.insert(layout, table, SAMPLE_ROWS[table][0]), SAMPLE_ROWS[table][1])
            on_current(insert_statement(layout, table))
        for statement in every_cells_change(layout):
            old.execute(*statement)
            on_current(statement)
        q = RangeQuery([1, 2], None, *SPAN, DAY, aggregates=AGGREGATES)
        scan = sql.bucketed_range(layout, q, None)
        # First with the sample hours dirty (read from points), then clean (from cells).
        for settled in (False, True):
            if settled:
                change = cells_sql.mark_rolled(layout, *SPAN, SETTLED_ROLL)
                old.execute(*change)
                on_current(change)
            for name, (text, params) in every_cells_read(layout).items():
                want = _normalised(old.execute(text, params))
                got = _normalised(json.loads(str(on_current((text, params))))["data"])
                if not (settled and name == "dirty_days"):
                    assert want, f"{name} answers nothing on the sample rows"
                assert got == want, name
            # And the cells answer as the scan does, on both.
            day = every_cells_read(layout)["bucketed_from_cells"]
            want_scan = _normalised(old.execute(*scan))
            assert _normalised(old.execute(*day)) == want_scan
            got = json.loads(str(on_current(day)))["data"]
            assert _normalised(got) == want_scan
        assert not old.execute(*cells_sql.dirty_days(layout, SPAN[1], SETTLED_ROLL))
        for statement in cells_sql.purge_cells(layout, MIDNIGHT_CST):
            old.execute(*statement)
            on_current(statement)
    finally:
        old.execute(f"DROP DATABASE IF EXISTS {layout.database}")
        old.disconnect()
