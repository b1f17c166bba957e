"""`shugu bench clickhouse`: how fast the ClickHouse telemetry store takes points, next to
clickhouse-driver's own columnar insert into the same table measured in the same run.

Figures (medians of ``runs`` runs, each on a fresh database; _pps points per second):
- raw_insert_pps: the driver's columnar numpy insert of all the points into the store's points
  table in one call (blocks of 1,048,576 rows, as the store sends them), with the same columns:
  the limit any ingest path on this server can reach.
- store_submit_pps: ``ClickHouseTelemetryStore.submit`` of the same points in batches of
  ``batch_points`` (an HTTP payload's size), from first submit to the last future resolved, each
  future resolved only after the server confirmed the insert.
- ratio_store_to_raw: the median of each run's store_submit_pps / raw_insert_pps (the two are
  measured back to back, so a run's pair shares the machine's mood of the moment).
- latest_all_ms: latest values of every series (devices × 10 metrics) from the materialised view.
- rollup_1h_ms: 1-hour avg/min/max of every series over the whole range, computed by the server.
- month_scan_ms / month_cells_ms: a month (November 2026) of China-calendar daily
  avg/min/max/count of ``month_devices`` × 10 series, one point each every ``month_step_min``
  minutes, loaded into a fresh database once: read by a scan of the points, then from the hourly
  cells once rolled (medians of ``month_queries`` reads each); roll_month_s: the roll of the
  month into cells (``store/clickhouse_cells.py``).

Without ``url`` the bench starts a private server (Debian's clickhouse-server) on free ports.
"""

from __future__ import annotations

import shutil
import statistics
import time
import urllib.parse
from typing import Any

import numpy as np

from bench.clickhouse_server import ClickHouseServer, find_server_binary, started_server
from bench.common import say
from shugu.domain.batch import Batch
from shugu.store import clickhouse_cells_sql as cells_sql
from shugu.store import clickhouse_sql as sql
from shugu.store.clickhouse_schema import schema_statements
from shugu.store.clickhouse_store import ClickHouseTarget, ClickHouseTelemetryStore
from shugu.store.clickhouse_writer import POINT_COLUMNS
from shugu.store.telemetry import RangeQuery

METRICS = 10
T0 = 1_795_104_000_000  # 2026-11-20 00:00 China time


def make_points(n_points: int, n_devices: int) -> Batch:
    """``n_points`` unique points: every device's 10 metrics, one sample every 10 s."""
    per_step = n_devices * METRICS
    steps = max(1, n_points // per_step)
    n = steps * per_step
    idx = np.arange(n)
    rng = np.random.default_rng(7)
    return Batch(
        ((idx // METRICS) % n_devices + 1).astype(np.int32),
        (idx % METRICS + 1).astype(np.int32),
        (T0 + (idx // per_step) * 10_000).astype(np.int64),
        rng.normal(50.0, 10.0, n),
        np.zeros(n, np.uint8),
    )


def _fresh_database(url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``url``, dropped if it existed."""
    client = ClickHouseTarget.from_url(url).client()
    client.execute(f"DROP DATABASE IF EXISTS {name}")
    client.disconnect()
    return urllib.parse.urlsplit(url)._replace(path=f"/{name}").geturl()


def measure_raw(url: str, points: Batch) -> float:
    target = ClickHouseTarget.from_url(url)
    client: Any = target.client()
    for statement in schema_statements(target.layout):
        client.execute(statement)
    seq = np.arange(1, len(points) + 1, dtype=np.uint64)
    columns = [points.device, points.metric, points.ts, points.value, points.quality, seq]
    started = time.perf_counter()
    client.execute(
        sql.insert(target.layout, "points", POINT_COLUMNS),
        columns,
        columnar=True,
        settings={"use_numpy": True, "insert_block_size": 1_048_576},
    )
    elapsed = time.perf_counter() - started
    client.disconnect()
    return len(points) / elapsed


def measure_store(url: str, points: Batch, batch_points: int) -> tuple[float, dict[str, float]]:
    store = ClickHouseTelemetryStore(url, max_backlog_rows=len(points) + batch_points)
    try:
        store.metric_ids([f"m{i}" for i in range(METRICS)])
        batches = [
            Batch(
                points.device[i : i + batch_points],
                points.metric[i : i + batch_points],
                points.ts[i : i + batch_points],
                points.value[i : i + batch_points],
                points.quality[i : i + batch_points],
            )
            for i in range(0, len(points), batch_points)
        ]
        started = time.perf_counter()
        futures = [store.submit(b) for b in batches]
        stored = sum(f.result(timeout=600) for f in futures)
        elapsed = time.perf_counter() - started
        assert stored == len(points)
        reads: dict[str, float] = {}
        started = time.perf_counter()
        latest = store.latest(None)
        reads["latest_all_ms"] = (time.perf_counter() - started) * 1000
        devices = sorted(set(np.unique(points.device).tolist()))
        end = int(points.ts.max()) + 1
        query = RangeQuery(devices, None, T0, end, 3_600_000, aggregates=("avg", "min", "max"))
        started = time.perf_counter()
        store.query_range(query)
        reads["rollup_1h_ms"] = (time.perf_counter() - started) * 1000
        assert latest.num_rows == len(devices) * METRICS
        return len(points) / elapsed, reads
    finally:
        store.close()


NOV_1_CST = 1_793_462_400_000
DEC_1_CST = 1_796_054_400_000


def measure_month(
    url: str, devices: int, step_min: int, queries: int, log: bool
) -> dict[str, float]:
    store = ClickHouseTelemetryStore(url, max_backlog_rows=50_000_000)
    try:
        metric = store.metric_ids([f"m{i}" for i in range(METRICS)])
        ids = np.arange(1, devices + 1, dtype=np.int32)
        ts = np.arange(NOV_1_CST, DEC_1_CST, step_min * 60_000, dtype=np.int64)
        n = devices * METRICS * len(ts)
        rng = np.random.default_rng(7)
        month = Batch(
            np.repeat(ids, METRICS * len(ts)),
            np.tile(np.repeat(metric, len(ts)), devices),
            np.tile(ts, devices * METRICS),
            rng.normal(50.0, 10.0, n),
            np.zeros(n, np.uint8),
        )
        step = 1_000_000
        futures = [
            store.submit(
                Batch(
                    month.device[i : i + step],
                    month.metric[i : i + step],
                    month.ts[i : i + step],
                    month.value[i : i + step],
                    month.quality[i : i + step],
                )
            )
            for i in range(0, n, step)
        ]
        assert sum(f.result(timeout=600) for f in futures) == n
        query = RangeQuery(
            ids.tolist(),
            None,
            NOV_1_CST,
            DEC_1_CST,
            86_400_000,
            aggregates=("avg", "min", "max", "count"),
        )

        def median_ms() -> tuple[float, Any]:
            times = []
            for _ in range(queries):
                started = time.perf_counter()
                answer = store.query_range(query)
                times.append((time.perf_counter() - started) * 1000)
            return statistics.median(times), answer

        loaded = time.monotonic()
        store.read_cells = False
        scan_ms, scan = median_ms()
        # The month's points count as rolled by a roll that starts SETTLE_MS after they came.
        time.sleep(max(0.0, loaded + cells_sql.SETTLE_MS / 1000 + 2 - time.monotonic()))
        started = time.perf_counter()
        store.roll()
        roll_s = time.perf_counter() - started
        say(log, f"month of {n:,} points: scan {scan_ms:.0f} ms, rolled in {roll_s:.1f} s")
        store.read_cells = True
        cells_ms, cells = median_ms()
        assert cells.column("count").to_pylist() == scan.column("count").to_pylist()
        return {
            "month_points": n,
            "month_scan_ms": round(scan_ms, 1),
            "month_cells_ms": round(cells_ms, 1),
            "roll_month_s": round(roll_s, 2),
        }
    finally:
        store.close()


def run(
    *,
    quick: bool = False,
    url: str | None = None,
    n_points: int = 1_000_000,
    batch_points: int = 1_000,
    runs: int = 3,
    month_devices: int = 100,
    month_step_min: int = 30,
    month_queries: int = 5,
    log: bool = True,
) -> dict[str, Any]:
    if quick:
        n_points, runs, month_devices, month_queries = 100_000, 1, 10, 3
    server: ClickHouseServer | None = None
    if url is None:
        binary = find_server_binary()
        if binary is None:
            raise SystemExit("clickhouse-server is not installed; pass --url clickhouse://…")
        server = started_server(binary)
        url = server.url("bench")
        say(log, f"private ClickHouse server on port {server.port}")
    n_devices = 10_000 if n_points >= 1_000_000 else 1_000
    points = make_points(n_points, n_devices)
    raw: list[float] = []
    store: list[float] = []
    reads: list[dict[str, float]] = []
    try:
        version = ClickHouseTarget.from_url(url).client().execute("SELECT version()")[0][0]
        # Warm up: the driver loads its numpy and pandas code on the first numpy insert.
        measure_raw(_fresh_database(url, "bench_warmup"), make_points(10_000, 1_000))
        for k in range(runs):
            raw_url = _fresh_database(url, f"bench_raw_{k}")
            raw.append(measure_raw(raw_url, points))
            say(log, f"run {k + 1}: raw columnar insert {raw[-1]:,.0f} points/s")
            store_url = _fresh_database(url, f"bench_store_{k}")
            pps, figures = measure_store(store_url, points, batch_points)
            store.append(pps)
            reads.append(figures)
            say(log, f"run {k + 1}: store submit {pps:,.0f} points/s, {figures}")
        month = measure_month(
            _fresh_database(url, "bench_month"), month_devices, month_step_min, month_queries, log
        )
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)
    raw_pps = statistics.median(raw)
    store_pps = statistics.median(store)
    return {
        "server_version": version,
        "points": len(points),
        "devices": n_devices,
        "batch_points": batch_points,
        "runs": runs,
        "raw_insert_pps": round(raw_pps),
        "store_submit_pps": round(store_pps),
        "ratio_store_to_raw": round(
            statistics.median(s / r for s, r in zip(store, raw, strict=True)), 3
        ),
        "latest_all_ms": round(statistics.median(r["latest_all_ms"] for r in reads), 1),
        "rollup_1h_ms": round(statistics.median(r["rollup_1h_ms"] for r in reads), 1),
        **month,
        "raw_insert_pps_runs": [round(x) for x in raw],
        "store_submit_pps_runs": [round(x) for x in store],
    }
