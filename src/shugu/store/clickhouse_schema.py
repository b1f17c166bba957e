"""The ClickHouse telemetry store's tables, as DDL for one server or for a cluster.

Every statement here must run on Debian's ClickHouse 18.16 and on current releases alike
(tests run them on both): no ``SETTINGS`` clauses on tables, no ``SimpleAggregateFunction``,
no ``Map`` or ``LowCardinality``, aggregate-state columns named apart from the source columns
(18.16 resolves an alias before a column of the same name, so ``maxState(ts) AS ts`` nests).

Points go to a ReplacingMergeTree whose version is the row's write sequence: a re-sent point
(same device, metric, ts) is one row after merges, and reads group by the key and take the value
of the highest sequence, so it never counts twice before merges either. Partitions are months
(retention drops old ones), rows are ordered by (device, metric, ts), which is also how ranges
are read. Latest values come from a materialised view into an AggregatingMergeTree holding
``argMax`` states per series, so "latest of every metric" reads one row per series. Roll-ups of
whole hours come from ``cells``, one row per series and closed hour, rolled from the points by
the store (``clickhouse_cells.py``); a second view records the hours that receive points after
they closed (``late_hours``), which are read from points until rolled again.

In a cluster every table is a Replicated engine on each shard and a Distributed table of the
same name in front of it, keyed by device so a device's series live on one shard; the metric
dictionary is replicated to every shard whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Month partitions of millisecond timestamps, in UTC.
MONTH_OF_TS = "toYYYYMM(toDateTime(intDiv(ts, 1000), 'UTC'))"
MONTH_OF_HOUR = "toYYYYMM(toDateTime(intDiv(hour, 1000), 'UTC'))"
MONTH_OF_RECEIVED = "toYYYYMM(toDateTime(intDiv(received_ms, 1000), 'UTC'))"

#: Low bits of a row sequence that name the ingest node that wrote it:
#: ``seq = counter << NODE_BITS | node``. Sequences are unique across the nodes of a cluster and
#: grow on each node, which the monitors' feed relies on (``monitor/feed.py``).
NODE_BITS = 10
#: A day of the feed, from the microseconds in a row sequence.
DAY_OF_SEQ = f"toYYYYMMDD(toDateTime(intDiv(seq, {1_000_000 << NODE_BITS}), 'UTC'))"
#: Days of feed kept for monitor workers to catch up on; older days are dropped.
FEED_KEEP_DAYS = 2

#: An hour in milliseconds: the width of the roll-up cells (``clickhouse_cells.py``).
HOUR_MS = 3_600_000
#: A point whose hour had ended more than this long before it was inserted is recorded as late
#: (``late_hours``): its hour may have been rolled into cells already. Less than the roller's
#: grace (``clickhouse_cells.GRACE_MS``), so that a point the roller could have missed is late.
LATE_AFTER_MS = 60_000

#: Tables copied whole to every shard of a cluster, with no Distributed table in front.
EVERYWHERE = frozenset({"metrics"})


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the store's tables live: a database, and for a cluster its name in the servers'
    ``remote_servers`` configuration (each server's macros name its ``{shard}`` and
    ``{replica}``)."""

    database: str = "shugu"
    cluster: str | None = None
    #: Replicated tables and ``ON CLUSTER`` DDL (both need ZooKeeper). Without, each shard
    #: holds one copy and the store creates and purges the tables on every shard itself.
    replicated: bool = True
    zookeeper_root: str = "/clickhouse/tables"

    def __post_init__(self) -> None:
        for name in (self.database, self.cluster):
            if name is not None and not _IDENT.match(name):
                raise ValueError(f"not a plain ClickHouse identifier: {name!r}")

    def table(self, name: str) -> str:
        """The table reads and writes address (the Distributed one in a cluster)."""
        return f"{self.database}.{name}"

    def local(self, name: str) -> str:
        """The table that holds the rows on this server (the shard's own in a cluster)."""
        suffix = "_local" if self.cluster and name not in EVERYWHERE else ""
        return f"{self.database}.{name}{suffix}"

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER {self.cluster}" if self.cluster and self.replicated else ""

    @property
    def per_shard(self) -> bool:
        """Whether DDL and retention must be run on every shard by the store itself."""
        return bool(self.cluster) and not self.replicated


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    columns: str
    #: The engine's name without "Replicated" and its arguments after the replication ones.
    engine: str
    engine_args: str
    order_by: str
    partition_by: str | None = None
    #: Distributed sharding key (ignored for tables copied to every shard).
    shard_key: str = "intHash64(device)"


TABLES = (
    _Table(
        "metrics",
        "id Int32, name String",
        "ReplacingMergeTree",
        "",
        "id",
    ),
    _Table(
        "points",
        "device Int32, metric Int32, ts Int64, value Float64, quality UInt8, seq UInt64",
        "ReplacingMergeTree",
        "seq",
        "(device, metric, ts)",
        partition_by=MONTH_OF_TS,
    ),
    _Table(
        "latest",
        "device Int32, metric Int32, last_ts AggregateFunction(max, Int64), "
        "last_value AggregateFunction(argMax, Float64, Tuple(Int64, UInt64)), "
        "last_quality AggregateFunction(argMax, UInt8, Tuple(Int64, UInt64))",
        "AggregatingMergeTree",
        "",
        "(device, metric)",
    ),
    # The monitors' feed: every point again, ordered by its sequence, so that a monitor worker
    # reads what is new since its watermark as a range. Replacing: a retried insert that did
    # reach the server writes the same sequences twice.
    _Table(
        "feed",
        "seq UInt64, device Int32, metric Int32, ts Int64, value Float64, quality UInt8",
        "ReplacingMergeTree",
        "",
        "seq",
        partition_by=DAY_OF_SEQ,
    ),
    # Roll-ups of closed hours, one row per series and hour: count, sum, extremes, the first and
    # last point and the flagged count, as the de-duplicated points had them when rolled
    # (``clickhouse_cells.py``). Re-rolling an hour writes a row with a higher version.
    _Table(
        "cells",
        "device Int32, metric Int32, hour Int64, n UInt64, total Float64, lo Float64, "
        "hi Float64, first_ts Int64, first_v Float64, last_ts Int64, last_v Float64, "
        "flagged UInt64, version UInt64",
        "ReplacingMergeTree",
        "version",
        "(device, metric, hour)",
        partition_by=MONTH_OF_HOUR,
    ),
    # Device-hours that received a point after they had closed (from ``late_mv``), and when the
    # roller last rolled them: an hour is dirty while a late point may be missing from its cells.
    _Table(
        "late_hours",
        "device Int32, hour Int64, late_at AggregateFunction(max, UInt64), "
        "rolled_at AggregateFunction(max, UInt64)",
        "AggregatingMergeTree",
        "",
        "(device, hour)",
    ),
    # How far the roller has rolled every device, and where retention last cut: one row.
    _Table(
        "rolls",
        "k UInt8, until AggregateFunction(max, Int64), purged AggregateFunction(max, Int64)",
        "AggregatingMergeTree",
        "",
        "k",
        shard_key="rand()",
    ),
    _Table(
        "attributes",
        "device Int32, scope String, key String, value String, ts Int64, seq UInt64",
        "ReplacingMergeTree",
        "seq",
        "(device, scope, key)",
    ),
    _Table(
        "reject_counts",
        "device Int32, code String, n UInt64, last_ms Int64",
        "MergeTree",
        "",
        "(device, code)",
    ),
    _Table(
        "reject_samples",
        "received_ms Int64, device Nullable(Int32), code String, reason String, "
        "metric Nullable(String), ts Nullable(Int64), sample Nullable(String)",
        "MergeTree",
        "",
        "received_ms",
        partition_by=MONTH_OF_RECEIVED,
        shard_key="rand()",
    ),
)

LATEST_VIEW_SELECT = (
    "SELECT device, metric, maxState(ts) AS last_ts, "
    "argMaxState(value, (ts, seq)) AS last_value, "
    "argMaxState(quality, (ts, seq)) AS last_quality "
    "FROM {points} GROUP BY device, metric"
)


LATE_VIEW_SELECT = (
    f"SELECT device, intDiv(ts, {HOUR_MS}) * {HOUR_MS} AS hour, "
    "maxState(toUInt64(now()) * 1000) AS late_at, maxState(toUInt64(0)) AS rolled_at "
    f"FROM {{points}} WHERE intDiv(ts, {HOUR_MS}) * {HOUR_MS} + {HOUR_MS + LATE_AFTER_MS} "
    "< toInt64(now()) * 1000 GROUP BY device, hour"
)


def _engine(layout: Layout, table: _Table) -> str:
    if not (layout.cluster and layout.replicated):
        return f"{table.engine}({table.engine_args})" if table.engine_args else table.engine
    shard = "all" if table.name in EVERYWHERE else "{shard}"
    path = f"'{layout.zookeeper_root}/{shard}/{layout.database}/{table.name}'"
    args = ", ".join(a for a in (path, "'{replica}'", table.engine_args) if a)
    return f"Replicated{table.engine}({args})"


def create_table(layout: Layout, table: _Table) -> list[str]:
    local = layout.local(table.name)
    partition = f" PARTITION BY {table.partition_by}" if table.partition_by else ""
    statements = [
        f"CREATE TABLE IF NOT EXISTS {local}{layout.on_cluster} ({table.columns}) "
        f"ENGINE = {_engine(layout, table)}{partition} ORDER BY {table.order_by}"
    ]
    if layout.cluster and table.name not in EVERYWHERE:
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {layout.table(table.name)}{layout.on_cluster} "
            f"AS {local} ENGINE = Distributed({layout.cluster}, {layout.database}, "
            f"{table.name}_local, {table.shard_key})"
        )
    return statements


def schema_statements(layout: Layout) -> list[str]:
    """Every statement that creates the store's database, tables and view, in order; each is
    idempotent (``IF NOT EXISTS``)."""
    statements = [f"CREATE DATABASE IF NOT EXISTS {layout.database}{layout.on_cluster}"]
    for table in TABLES:
        statements += create_table(layout, table)
    # The view feeds each shard's own latest table from its own points, as they are inserted.
    statements.append(
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {layout.database}.latest_mv{layout.on_cluster} "
        f"TO {layout.local('latest')} AS "
        + LATEST_VIEW_SELECT.format(points=layout.local("points"))
    )
    # And the monitors' feed, the same way.
    statements.append(
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {layout.database}.feed_mv{layout.on_cluster} "
        f"TO {layout.local('feed')} AS "
        f"SELECT seq, device, metric, ts, value, quality FROM {layout.local('points')}"
    )
    # And the late hours, so that the roller re-rolls them and reads take them raw meanwhile.
    statements.append(
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {layout.database}.late_mv{layout.on_cluster} "
        f"TO {layout.local('late_hours')} AS "
        + LATE_VIEW_SELECT.format(points=layout.local("points"))
    )
    return statements
