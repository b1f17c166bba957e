"""What only the ClickHouse store has: its URL, its cluster schema, the same SQL on Debian's
18.16 server and on a current ClickHouse (chdb, in-process), and pushing back while the server
is down without losing anything acknowledged. The protocol itself is tested for every store in
test_telemetry_store_protocol.py."""

from __future__ import annotations

import inspect
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clickhouse_driver import Client

from shugu.domain.batch import Batch
from shugu.domain.errors import UnavailableError, ValidationError
from shugu.store import clickhouse_sql as sql
from shugu.store.clickhouse_schema import Layout, schema_statements
from shugu.store.clickhouse_store import ClickHouseTarget, ClickHouseTelemetryStore
from shugu.store.telemetry import RangeQuery
from tests.binaries import in_ci
from tests.clickhouse import ClickHouseServer, require_clickhouse, started_server

MIDNIGHT_CST = 1_795_104_000_000
DAY = 86_400_000


def test_the_url_names_server_database_and_cluster() -> None:
    target = ClickHouseTarget.from_url("clickhouse://ops:s%40cret@ch1:9001/district")
    assert (target.host, target.port, target.user, target.password) == (
        "ch1",
        9001,
        "ops",
        "s@cret",
    )
    assert target.layout == Layout("district") and target.insert_settings == {}
    clustered = ClickHouseTarget.from_url("clickhouse://ch1/p?cluster=prov&insert_quorum=2")
    assert clustered.layout == Layout("p", "prov")
    assert clustered.insert_settings == {"insert_distributed_sync": 1, "insert_quorum": 2}
    for bad in (
        "clickhouse://h/bad-name;DROP",
        "postgresql://h/x",
        "clickhouse://h:port/x",
        "clickhouse://h:99999/x",
        "clickhouse://h/x?insert_quorum=two",
        "clickhouse://h/x?cluster=a b",
    ):
        with pytest.raises(ValidationError) as refused:
            ClickHouseTarget.from_url(bad)
        assert refused.value.code == "invalid_telemetry_url", bad


def test_a_cluster_schema_is_replicated_and_distributed_by_device() -> None:
    statements = schema_statements(Layout("prov", "two_shards"))
    assert all(" ON CLUSTER two_shards" in s for s in statements)
    points = next(s for s in statements if "prov.points_local ON" in s)
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/prov/points', "
        "'{replica}', seq) PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000), 'UTC')) "
        "ORDER BY (device, metric, ts)"
    ) in points
    distributed = next(
        s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS prov.points ")
    )
    assert "ENGINE = Distributed(two_shards, prov, points_local, intHash64(device))" in distributed
    # The metric dictionary is whole on every shard: one replication path for all of them.
    metrics = next(s for s in statements if "prov.metrics" in s)
    assert "'/clickhouse/tables/all/prov/metrics'" in metrics
    assert not any("prov.metrics_local" in s for s in statements)
    view = next(s for s in statements if "prov.latest_mv" in s)
    assert "TO prov.latest_local" in view and "FROM prov.points_local" in view
    feed = next(s for s in statements if "prov.feed_mv" in s)
    assert "TO prov.feed_local" in feed and "prov.points_local" in feed
    late = next(s for s in statements if "prov.late_mv" in s)
    assert "TO prov.late_hours_local" in late and "FROM prov.points_local" in late
    cells = next(s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS prov.cells "))
    assert "Distributed(two_shards, prov, cells_local, intHash64(device))" in cells
    single = schema_statements(Layout("d"))
    assert not any("Replicated" in s or "Distributed" in s or "ON CLUSTER" in s for s in single)


# -- the same SQL on 18.16 and on a current ClickHouse -----------------------------------------


def every_read(layout: Layout) -> dict[str, sql.Statement]:
    """Every statement of ``clickhouse_sql`` with arguments that match the sample rows."""
    q = RangeQuery([1, 2], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY)
    week = RangeQuery(
        [1], None, MIDNIGHT_CST - 7 * DAY, MIDNIGHT_CST + DAY, 7 * DAY, aggregates=sql.AGGREGATE_SQL
    )
    minutes = RangeQuery(
        [1, 2], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY, 60_000, aggregates=tuple(sql.AGGREGATE_SQL)
    )
    return {
        "raw_range": sql.raw_range(layout, q, None),
        "raw_range_metrics": sql.raw_range(layout, q, [1]),
        "bucketed_range": sql.bucketed_range(layout, minutes, [1, 2]),
        "bucketed_range_weeks": sql.bucketed_range(layout, week, None),
        "latest": sql.latest(layout, None),
        "latest_of": sql.latest(layout, [1]),
        "stale_series": sql.stale_series(layout, MIDNIGHT_CST + 30_000),
        "values_before": sql.values_before(layout, [1, 2], [1, 2], MIDNIGHT_CST + 30_000),
        "first_after": sql.first_after(layout, [1, 2], [1, 2], MIDNIGHT_CST),
        "reject_counts": sql.reject_counts(layout, None),
        "reject_counts_of": sql.reject_counts(layout, [7]),
        "reject_samples": sql.reject_samples(layout, None, 10, False),
        "reject_samples_of": sql.reject_samples(layout, [7], 10, True),
        "attributes": sql.attributes(layout, 1, None),
        "attributes_scope": sql.attributes(layout, 1, "shared"),
        "attributes_named": sql.attributes_named(layout, ["fw"]),
        "metrics": sql.metrics(layout),
        "max_seq": sql.max_seq(layout),
        "count_points": sql.count_points(layout),
        "count_before": sql.count_before(layout, MIDNIGHT_CST + 30_000),
        "count_by_device_hour": sql.count_by_device_hour(layout, MIDNIGHT_CST, MIDNIGHT_CST + DAY),
        "pending_mutations": sql.pending_mutations(layout),
        "feed_partitions": sql.feed_partitions(layout),
        "cluster_hosts": sql.cluster_hosts(Layout("x", "no_such_cluster")),
    }


#: Statements that rightly answer nothing on the sample rows.
EMPTY_ANSWERS = frozenset({"pending_mutations", "cluster_hosts"})


#: Counts of stored rows, duplicates not yet merged included: current releases fold a re-sent
#: point already in the insert (optimize_on_insert), 18.16 only when merging parts.
RAW_COUNTS = frozenset({"count_points", "count_before", "count_by_device_hour"})


def every_change(layout: Layout) -> list[sql.Statement]:
    return [
        *sql.purge(layout, 1000),
        sql.forget_series(layout, [(99, 1), (99, 2)]),
        sql.drop_partition(layout, "feed", "19700102"),
    ]


SAMPLE_ROWS: dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]] = {
    "metrics": (("id", "name"), [(1, "temp"), (2, "rh")]),
    "points": (
        ("device", "metric", "ts", "value", "quality", "seq"),
        [
            (1, 1, MIDNIGHT_CST + 1000, 20.5, 0, 1),
            (1, 1, MIDNIGHT_CST + 1000, 21.5, 0, 2),  # a re-send with a new value
            (1, 1, MIDNIGHT_CST + 61_000, 22.0, 1, 3),
            (1, 2, MIDNIGHT_CST + 2000, 40.0, 0, 4),
            (2, 1, MIDNIGHT_CST + 90_000, 19.0, 0, 5),
        ],
    ),
    "attributes": (
        ("device", "scope", "key", "value", "ts", "seq"),
        [
            (1, "client", "fw", '"1.0"', 5, 6),
            (1, "client", "fw", '"1.1"', 4, 7),
            (1, "shared", "period", "5", 5, 8),
        ],
    ),
    "reject_counts": (
        ("device", "code", "n", "last_ms"),
        [(7, "non_numeric", 2, 10), (7, "non_numeric", 3, 12), (-1, "bad_device_token", 1, 11)],
    ),
    "reject_samples": (
        ("received_ms", "device", "code", "reason", "metric", "ts", "sample"),
        [
            (10, 7, "non_numeric", "strings", "k", 3, '"x"'),
            (11, None, "bad_device_token", "unknown", None, None, None),
        ],
    ),
}


def insert_statement(layout: Layout, table: str) -> sql.Statement:
    """The sample rows as one INSERT with its values in the text (chdb takes text only)."""
    columns, rows = SAMPLE_ROWS[table]
    names = [f"r{i}" for i in range(len(rows))]
    values = ", ".join(f"%({n})s" for n in names)
    return f"{sql.insert(layout, table, columns)} {values}", dict(zip(names, rows, strict=True))


def test_every_read_and_change_is_listed() -> None:
    """A new statement builder in clickhouse_sql must join the compatibility check below."""
    builders = {
        name
        for name, fn in inspect.getmembers(sql, inspect.isfunction)
        if fn.__module__ == sql.__name__
    }
    listed = {name.split("_of")[0] for name in every_read(Layout("x"))}
    checked = {
        k.removesuffix("_metrics").removesuffix("_weeks").removesuffix("_scope") for k in listed
    }
    helpers = {"dedup_points", "range_where", "bucket_offset", "insert", "purge", "forget_series"}
    # Changes run by test_compatibility's every_change; the feed's read sends an external
    # table, which chdb cannot take: tests/monitor/test_cluster_feed.py reads it on a server.
    helpers |= {"drop_partition", "feed_rows"}
    assert builders - helpers <= checked, builders - helpers - checked


def _normalised(rows: list[Any]) -> list[tuple[object, ...]]:
    def one(value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return round(float(value), 9)
        if isinstance(value, str):
            try:
                return round(float(value), 9)  # JSON quotes 64-bit integers
            except ValueError:
                return value
        return value

    return [tuple(one(v) for v in row) for row in rows]


@pytest.fixture
def chdb_session(tmp_path: Path) -> Iterator[Any]:
    try:
        from chdb import session
    except ImportError:
        if in_ci():
            pytest.fail("CI must have chdb (a dev dependency)")
        pytest.skip("chdb is not installed (pip install chdb)")
    s = session.Session(str(tmp_path / "chdb"))
    yield s
    s.close()


def test_the_same_sql_gives_the_same_answers_on_18_16_and_current(
    clickhouse_server: ClickHouseServer, chdb_session: Any
) -> None:
    layout = Layout(f"compat_{clickhouse_server.port}")
    old = Client(host="127.0.0.1", port=clickhouse_server.port)
    render = old.substitute_params
    context = old.connection.context

    def on_current(statement: sql.Statement, fmt: str = "JSONCompact") -> Any:
        text, params = statement
        return chdb_session.query(render(text, params, context) if params else text, fmt)

    old.execute(f"DROP DATABASE IF EXISTS {layout.database}")
    try:
        for ddl in schema_statements(layout):
            old.execute(ddl)
            on_current((ddl, {}))
        for table, (columns, rows) in SAMPLE_ROWS.items():
            # The native protocol sends an INSERT's rows as a block after the statement.
            old.execute(sql.insert(layout, table, columns), rows)
            on_current(insert_statement(layout, table))
        for name, (text, params) in every_read(layout).items():
            want = _normalised(old.execute(text, params))
            got = _normalised(json.loads(str(on_current((text, params))))["data"])
            if name not in EMPTY_ANSWERS:
                assert want, f"{name} answers nothing on the sample rows"
            if name not in RAW_COUNTS:
                assert got == want, name
        for statement in every_change(layout):
            old.execute(*statement)
            on_current(statement)
    finally:
        old.execute(f"DROP DATABASE IF EXISTS {layout.database}")
        old.disconnect()


def test_answers_read_the_sample_rows_as_the_store_means_them(
    clickhouse_server: ClickHouseServer,
) -> None:
    layout = Layout(f"sample_{clickhouse_server.port}")
    client = Client(host="127.0.0.1", port=clickhouse_server.port)
    try:
        for ddl in schema_statements(layout):
            client.execute(ddl)
        for table, (columns, rows) in SAMPLE_ROWS.items():
            client.execute(sql.insert(layout, table, columns), rows)
        reads = every_read(layout)
        raw = client.execute(*reads["raw_range"])
        assert [(d, m, t - MIDNIGHT_CST, v) for d, m, t, v, _ in raw] == [
            (1, 1, 1000, 21.5),
            (1, 1, 61_000, 22.0),
            (1, 2, 2000, 40.0),
            (2, 1, 90_000, 19.0),
        ]
        latest = client.execute(*reads["latest"])
        assert [(d, m, v, q) for d, m, _, v, q in latest] == [
            (1, 1, 22.0, 1),
            (1, 2, 40.0, 0),
            (2, 1, 19.0, 0),
        ]
        weeks = client.execute(*reads["bucketed_range_weeks"])
        assert [row[2] for row in weeks] == [MIDNIGHT_CST - 4 * DAY] * 2
        assert not math.isnan(weeks[0][3])
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {layout.database}")
        client.disconnect()


# -- pushing back while the server is down ------------------------------------------------------


def points(n: int, metric: int, start: int) -> Batch:
    return Batch(
        np.ones(n, np.int32),
        np.full(n, metric, np.int32),
        np.arange(start, start + n, dtype=np.int64),
        np.arange(n, dtype=np.float64),
        np.zeros(n, np.uint8),
    )


def test_while_clickhouse_is_down_nothing_is_acknowledged_and_nothing_acknowledged_is_lost() -> (
    None
):
    server = started_server(require_clickhouse())
    store = None
    try:
        store = ClickHouseTelemetryStore(server.url("outage"), retry_s=0.5)
        (m,) = store.metric_ids(["x"]).tolist()
        assert store.submit(points(100, m, MIDNIGHT_CST)).result(10) == 100
        server.stop(crash=True)
        refused = store.submit(points(50, m, MIDNIGHT_CST + 100))
        with pytest.raises(UnavailableError) as caught:
            refused.result(10)
        assert caught.value.code == "store_unavailable"
        with pytest.raises(UnavailableError):  # reads too: 503, not a crash
            store.latest(None)
        server.start()
        assert store.submit(points(50, m, MIDNIGHT_CST + 100)).result(10) == 50
        q = RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY, DAY, aggregates=("count",))
        assert store.query_range(q).column("count").to_pylist() == [150]
    finally:
        if store is not None:
            store.close()
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def test_an_unreachable_server_refuses_to_open() -> None:
    with pytest.raises(UnavailableError):
        ClickHouseTelemetryStore("clickhouse://127.0.0.1:1/x")
