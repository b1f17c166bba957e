"""The ClickHouse store's queries, as text with ``%(name)s`` parameters (clickhouse-driver
escapes the values client-side).

Each builder returns the statement and its parameters so that tests can run every one of them on
Debian's 18.16 server and on a current ClickHouse (chdb). Two habits keep them portable: every
alias differs from every column name (18.16 substitutes an alias wherever its name appears, so
``argMax(value, seq) AS value`` would refer to itself), and list filters are tuples (``IN (1,
2)``), never arrays.

De-duplication: a re-sent point is another row with the same (device, metric, ts) and a higher
write sequence until the table's merges fold them; every read groups by the key and takes the
value of the highest sequence (``argMax``), which is what FINAL would do, without FINAL's single
thread on older servers.
"""

from __future__ import annotations

from collections.abc import Sequence

from shugu.store.buckets import MONDAY_SHIFT_MS, WEEK_MS
from shugu.store.clickhouse_schema import Layout
from shugu.store.telemetry import RangeQuery

Statement = tuple[str, dict[str, object]]

#: SQL for each aggregate over de-duplicated points ``v`` (value) at ``t`` (ts), and its alias.
AGGREGATE_SQL = {
    "avg": "avg(v)",
    "min": "min(v)",
    "max": "max(v)",
    "sum": "sum(v)",
    "count": "count()",
    "first": "argMin(v, t)",
    "last": "argMax(v, t)",
}


def dedup_points(layout: Layout, where: str) -> str:
    """Points matching ``where``, one row per (device, metric, ts), the last written winning;
    columns device, metric, t, v, q."""
    return (
        "SELECT device, metric, ts AS t, argMax(value, seq) AS v, argMax(quality, seq) AS q "
        f"FROM {layout.table('points')} WHERE {where} GROUP BY device, metric, ts"
    )


def range_where(query: RangeQuery, metric_ids: list[int] | None) -> Statement:
    where = "device IN %(devices)s AND ts >= %(start)s AND ts < %(end)s"
    params: dict[str, object] = {
        "devices": tuple(int(d) for d in query.devices),
        "start": query.start_ms,
        "end": query.end_ms,
    }
    if metric_ids is not None:
        where += " AND metric IN %(metrics)s"
        params["metrics"] = tuple(metric_ids)
    return where, params


def raw_range(layout: Layout, query: RangeQuery, metric_ids: list[int] | None) -> Statement:
    where, params = range_where(query, metric_ids)
    sql = (
        f"SELECT device, metric, t, v, q FROM ({dedup_points(layout, where)}) "
        "ORDER BY device, metric, t LIMIT %(limit)s"
    )
    return sql, {**params, "limit": query.limit}


def bucket_offset(query: RangeQuery) -> int:
    """Buckets align to local midnight; whole weeks to local Monday (1970-01-01 was a
    Thursday), as the embedded store's ``buckets.py`` does."""
    assert query.bucket_ms is not None
    offset = query.utc_offset_ms
    if query.bucket_ms % WEEK_MS == 0:
        offset += MONDAY_SHIFT_MS
    return offset


def bucketed_range(layout: Layout, query: RangeQuery, metric_ids: list[int] | None) -> Statement:
    """Buckets computed by the server: one row per (device, metric, bucket), aggregates named
    ``agg_<name>`` and ``flagged``, the count of values with a quality flag."""
    where, params = range_where(query, metric_ids)
    aggregates = "".join(f", {AGGREGATE_SQL[a]} AS agg_{a}" for a in query.aggregates)
    # intDiv truncates towards zero: exact for the non-negative times the store keeps.
    sql = (
        "SELECT device, metric, intDiv(t + %(offset)s, %(width)s) * %(width)s - %(offset)s "
        f"AS b{aggregates}, countIf(q != 0) AS flagged "
        f"FROM ({dedup_points(layout, where)}) GROUP BY device, metric, b "
        "ORDER BY device, metric, b LIMIT %(limit)s"
    )
    return sql, {
        **params,
        "offset": bucket_offset(query),
        "width": query.bucket_ms,
        "limit": query.limit,
    }


def latest(layout: Layout, devices: Sequence[int] | None) -> Statement:
    where = "" if devices is None else " WHERE device IN %(devices)s"
    sql = (
        "SELECT device, metric, maxMerge(last_ts) AS lt, argMaxMerge(last_value) AS lv, "
        f"argMaxMerge(last_quality) AS lq FROM {layout.table('latest')}{where} "
        "GROUP BY device, metric ORDER BY device, metric"
    )
    return sql, {} if devices is None else {"devices": tuple(int(d) for d in devices)}


def stale_series(layout: Layout, ts_ms: int) -> Statement:
    """Series whose newest point is older than ``ts_ms`` (forgotten by retention)."""
    sql = (
        f"SELECT device, metric FROM {layout.table('latest')} "
        "GROUP BY device, metric HAVING maxMerge(last_ts) < %(ts)s"
    )
    return sql, {"ts": ts_ms}


def values_before(
    layout: Layout, devices: Sequence[int], metric_ids: Sequence[int], ts_ms: int
) -> Statement:
    sql = (
        "SELECT device, metric, max(ts) AS lt, argMax(value, (ts, seq)) AS lv "
        f"FROM {layout.table('points')} "
        "WHERE device IN %(devices)s AND metric IN %(metrics)s AND ts < %(ts)s "
        "GROUP BY device, metric ORDER BY device, metric"
    )
    return sql, {
        "devices": tuple(int(d) for d in devices),
        "metrics": tuple(metric_ids),
        "ts": ts_ms,
    }


def first_after(
    layout: Layout, devices: Sequence[int], metric_ids: Sequence[int], ts_ms: int
) -> Statement:
    sql = (
        f"SELECT device, metric, min(ts) AS ft FROM {layout.table('points')} "
        "WHERE device IN %(devices)s AND metric IN %(metrics)s AND ts > %(ts)s "
        "GROUP BY device, metric ORDER BY device, metric"
    )
    return sql, {
        "devices": tuple(int(d) for d in devices),
        "metrics": tuple(metric_ids),
        "ts": ts_ms,
    }


def reject_counts(layout: Layout, devices: Sequence[int] | None) -> Statement:
    where = "" if devices is None else " WHERE device IN %(devices)s"
    sql = (
        f"SELECT device, code, sum(n) AS total, max(last_ms) AS latest_ms "
        f"FROM {layout.table('reject_counts')}{where} GROUP BY device, code ORDER BY device, code"
    )
    return sql, {} if devices is None else {"devices": tuple(int(d) for d in devices)}


def reject_samples(
    layout: Layout, devices: Sequence[int] | None, limit: int, deviceless: bool
) -> Statement:
    params: dict[str, object] = {"limit": limit}
    where = ""
    if devices is not None:
        where = " WHERE device IN %(devices)s" if devices else " WHERE 0"
        if deviceless:
            where += " OR isNull(device)"
        params["devices"] = tuple(int(d) for d in devices)
    sql = (
        "SELECT received_ms, device, code, reason, metric, ts, sample "
        f"FROM {layout.table('reject_samples')}{where} ORDER BY received_ms DESC LIMIT %(limit)s"
    )
    return sql, params


def attributes(layout: Layout, device: int, scope: str | None) -> Statement:
    params: dict[str, object] = {"device": device}
    where = "device = %(device)s"
    if scope is not None:
        where += " AND scope = %(scope)s"
        params["scope"] = scope
    sql = (
        "SELECT device, scope, key, argMax(value, seq) AS v, argMax(ts, seq) AS t "
        f"FROM {layout.table('attributes')} WHERE {where} "
        "GROUP BY device, scope, key ORDER BY scope, key"
    )
    return sql, params


def attributes_named(layout: Layout, keys: Sequence[str]) -> Statement:
    sql = (
        "SELECT device, scope, key, argMax(value, seq) AS v, argMax(ts, seq) AS t "
        f"FROM {layout.table('attributes')} WHERE key IN %(keys)s "
        "GROUP BY device, scope, key ORDER BY device, scope, key"
    )
    return sql, {"keys": tuple(keys)}


def metrics(layout: Layout) -> Statement:
    return f"SELECT id, any(name) AS n FROM {layout.table('metrics')} GROUP BY id ORDER BY id", {}


def max_seq(layout: Layout) -> Statement:
    return (
        f"SELECT max(s) AS top FROM (SELECT max(seq) AS s FROM {layout.table('points')} "
        f"UNION ALL SELECT max(seq) AS s FROM {layout.table('attributes')})",
        {},
    )


def count_points(layout: Layout) -> Statement:
    return f"SELECT count() AS n FROM {layout.table('points')}", {}


def count_by_device_hour(layout: Layout, start_ms: int, end_ms: int) -> Statement:
    """Stored rows per device and hour since ``start_ms``, re-sent rows not yet merged included."""
    sql = (
        "SELECT device, toInt32(intDiv(ts - %(start)s, 3600000)) AS h, count() AS n "
        f"FROM {layout.table('points')} WHERE ts >= %(start)s AND ts < %(end)s "
        "GROUP BY device, h ORDER BY device, h"
    )
    return sql, {"start": start_ms, "end": end_ms}


def count_before(layout: Layout, ts_ms: int) -> Statement:
    return f"SELECT count() AS n FROM {layout.table('points')} WHERE ts < %(ts)s", {"ts": ts_ms}


def purge(layout: Layout, ts_ms: int) -> list[Statement]:
    """Retention: mutations deleting old points and reject samples on every shard."""
    on = layout.on_cluster
    return [
        (f"ALTER TABLE {layout.local('points')}{on} DELETE WHERE ts < %(ts)s", {"ts": ts_ms}),
        (
            f"ALTER TABLE {layout.local('reject_samples')}{on} DELETE WHERE received_ms < %(ts)s",
            {"ts": ts_ms},
        ),
    ]


def forget_series(layout: Layout, series: Sequence[tuple[int, int]]) -> Statement:
    return (
        f"ALTER TABLE {layout.local('latest')}{layout.on_cluster} "
        "DELETE WHERE (device, metric) IN %(series)s",
        {"series": tuple((int(d), int(m)) for d, m in series)},
    )


def pending_mutations(layout: Layout) -> Statement:
    return (
        "SELECT count() AS n FROM system.mutations WHERE database = %(db)s AND is_done = 0",
        {"db": layout.database},
    )


def cluster_hosts(layout: Layout) -> Statement:
    """The shards of the layout's cluster, as the server's configuration names them."""
    return (
        "SELECT host_address, port FROM system.clusters WHERE cluster = %(cluster)s "
        "ORDER BY shard_num, replica_num",
        {"cluster": layout.cluster},
    )


def insert(layout: Layout, table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {layout.table(table)} ({', '.join(columns)}) VALUES"


#: The external table of device ids sent with a feed read (``feed_rows``).
OWNED_TABLE = "owned_devices"


def feed_rows(layout: Layout, low_seq: int, high_seq: int, *, of_devices: bool) -> Statement:
    """Feed rows with ``low_seq < seq <= high_seq``, in sequence order; ``of_devices``: only
    those of the devices in the external table ``OWNED_TABLE`` (a monitor worker's)."""
    only = f"AND device IN (SELECT device FROM {OWNED_TABLE}) " if of_devices else ""
    return (
        f"SELECT seq, device, metric, ts, value, quality FROM {layout.table('feed')} "
        f"WHERE seq > %(low)s AND seq <= %(high)s {only}ORDER BY seq",
        {"low": low_seq, "high": high_seq},
    )


def feed_partitions(layout: Layout) -> Statement:
    return (
        "SELECT DISTINCT partition FROM system.parts "
        "WHERE database = %(db)s AND table = %(table)s AND active",
        {"db": layout.database, "table": layout.local("feed").split(".", 1)[1]},
    )


def drop_partition(layout: Layout, table: str, partition: str) -> Statement:
    if not partition.isdigit():
        raise ValueError(f"not a day partition: {partition!r}")
    return f"ALTER TABLE {layout.local(table)}{layout.on_cluster} DROP PARTITION {partition}", {}
