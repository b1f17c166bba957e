"""`shugu bench ingest`: how fast telemetry goes in, and how fast it comes back.

Figures (each key names its unit: _pps points per second, _ms milliseconds):
- raw_append_pps: DuckDB's own bulk append of the same rows into the same table, in 100,000-row
  transactions: the limit any ingest path on this store can reach.
- http_batch_pps: end to end through `shugu serve`: Arrow IPC payloads of 1,000 points, several
  concurrent keep-alive clients, each request answered only after its points are durable.
- http_batch_server_cpu_ms_per_request: CPU time of the server (every process and thread: the
  event loop, the store's writer, the monitor, the KPI engine) per Arrow request answered 200;
  steadier than the rate on a shared machine.
- http_gateway_json_pps: the same through ThingsBoard's gateway JSON form (per-value validation).
- latest_all_ms: latest values of 50,000 series (5,000 devices × 10 metrics), from the store.
- latest_all_json_ms: the same, serialised to the API's JSON.
- rollup_1m_device_day_ms: 1-minute avg/min/max of one closed device-day (10 metrics every
  10 s) in a table holding the same day of many devices; _open_ms: the same while the day is
  still open (compacted in 15-minute chunks, the last quarter not yet compacted).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from bench.common import free_port, say
from bench.httpload import build_request, run_load
from bench.mqtt_load import proc_cpu_s
from shugu.api.tabular import table_response
from shugu.domain.batch import Batch
from shugu.domain.tenancy import Role
from shugu.ingest.arrow_codec import write_stream
from shugu.store.duckdb_store import SCHEMA, DuckDBTelemetryStore
from shugu.store.registry import Registry

METRICS = [f"m{i}" for i in range(10)]
DAY_MS = 86_400_000
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def make_payloads(
    n_payloads: int, devices_per_payload: int, n_devices: int, t0: int
) -> list[pa.Table]:
    """Payloads of devices_per_payload × 10 metrics; every point (device, metric, ts) unique."""
    rng = np.random.default_rng(7)
    names = pa.array([f"dev{i:05d}" for i in range(n_devices)])
    metric_dict = pa.array(METRICS)
    per = devices_per_payload * len(METRICS)
    groups = n_devices // devices_per_payload
    out = []
    for k in range(n_payloads):
        g = k % groups
        dev_idx = np.repeat(
            np.arange(g * devices_per_payload, (g + 1) * devices_per_payload), len(METRICS)
        )
        met_idx = np.tile(np.arange(len(METRICS)), devices_per_payload)
        ts = np.full(per, t0 + (k // groups) * 1000, np.int64)
        out.append(
            pa.table(
                {
                    "device": pa.DictionaryArray.from_arrays(
                        pa.array(dev_idx.astype(np.int32)), names
                    ),
                    "metric": pa.DictionaryArray.from_arrays(
                        pa.array(met_idx.astype(np.int32)), metric_dict
                    ),
                    "ts": pa.array(ts),
                    "value": pa.array(rng.normal(20.0, 5.0, per)),
                }
            )
        )
    return out


def gateway_json(table: pa.Table) -> bytes:
    doc: dict[str, list[dict[str, Any]]] = {}
    devs = table.column("device").to_pylist()
    mets = table.column("metric").to_pylist()
    ts = table.column("ts").to_pylist()
    vals = table.column("value").to_pylist()
    rows: dict[str, dict[str, float]] = {}
    for d, m, v in zip(devs, mets, vals, strict=True):
        rows.setdefault(d, {})[m] = v
    for d, values in rows.items():
        doc[d] = [{"ts": ts[0], "values": values}]
    return orjson.dumps(doc)


def measure_raw_append(tables: list[pa.Table], commit_rows: int = 100_000) -> float:
    """Rows/s of DuckDB inserting the same rows (as store columns) in large transactions."""
    tmp = Path(tempfile.mkdtemp(prefix="shugu-raw-"))
    con = duckdb.connect(str(tmp / "raw.duckdb"))
    con.execute(SCHEMA)
    per = tables[0].num_rows
    group = max(1, commit_rows // per)
    prepared = []
    seq = 0
    for i in range(0, len(tables), group):
        chunk = pa.concat_tables(tables[i : i + group])
        n = chunk.num_rows
        prepared.append(
            pa.table(
                {
                    "device": chunk.column("device").combine_chunks().indices,
                    "metric": chunk.column("metric").combine_chunks().indices,
                    "ts": chunk.column("ts"),
                    "value": chunk.column("value"),
                    "quality": pa.array(np.zeros(n, np.uint8)),
                    "seq": pa.array(np.arange(seq, seq + n, dtype=np.int64)),
                }
            )
        )
        seq += n
    t = time.perf_counter()
    for tbl in prepared:
        con.execute("BEGIN TRANSACTION")
        con.register("incoming", tbl)
        con.execute("INSERT INTO points SELECT * FROM incoming")
        con.unregister("incoming")
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return seq / elapsed


def _setup_registry(data: Path, n_devices: int) -> str:
    registry = Registry(f"sqlite:///{data / 'registry.sqlite'}")
    region = registry.create_region(code="350112", name="长乐区")
    park = registry.create_park(region_id=region.id, name="滨海工业区")
    ent = registry.create_enterprise(
        park_id=park.id, name="长乐纺织基准有限公司", uscc="91110000600037341L"
    )
    for i in range(n_devices):
        registry.create_device(ent.id, f"dev{i:05d}", "generic")
    user = registry.create_user(
        username="bench",
        password="bench-password-1",
        role=Role.ENTERPRISE_ADMIN,
        enterprise_id=ent.id,
    )
    token = registry.create_api_token(user.id, "bench", ttl_seconds=None)
    registry.close()
    return token


class Server:
    """`shugu serve` in a child process, on a free port (``workers``: its --workers)."""

    def __init__(self, data: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.workers = workers
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shugu.cli",
                "serve",
                "--data",
                str(data),
                "--http-port",
                str(self.port),
                "--log-level",
                "warning",
                "--workers",
                str(workers),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        url = f"http://127.0.0.1:{self.port}/api/health"
        while time.time() < deadline:
            try:
                health = orjson.loads(urllib.request.urlopen(url, timeout=1).read())
                # With fronts: once every one of them has joined main.
                if len(health.get("workers", [None])) == workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("shugu serve did not start")

    def pids(self) -> list[int]:
        """The main process and its front processes (``--workers``)."""
        if self.workers == 1:
            return [self.proc.pid]
        url = f"http://127.0.0.1:{self.port}/api/health"
        health = orjson.loads(urllib.request.urlopen(url, timeout=5).read())
        return [int(w["pid"]) for w in health["workers"]]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass(frozen=True, slots=True)
class HttpFigures:
    points_per_s: float
    statuses: dict[int, int]
    p50_ms: float
    #: CPU time of every server process (all threads) per request answered 200, in ms: less
    #: noisy than the rate when the machine is shared, since waiting for a core costs none.
    server_cpu_ms_per_request: float


def measure_http(
    data: Path,
    token: str,
    payloads: list[bytes],
    content_type: str,
    clients: int,
    seconds: float,
    workers: int = 1,
) -> HttpFigures:
    server = Server(data, workers)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
        requests = [build_request("/api/v1/batch", body, headers) for body in payloads]
        pids = server.pids()
        cpu_before = sum(proc_cpu_s(pid) for pid in pids)
        result = asyncio.run(run_load("127.0.0.1", server.port, requests, clients, seconds))
        cpu_s = sum(proc_cpu_s(pid) for pid in pids) - cpu_before
    finally:
        server.stop()
    p50 = statistics.median(result.latencies_ms) if result.latencies_ms else float("nan")
    return HttpFigures(
        result.ok * 1000 / result.elapsed_s,
        result.statuses,
        p50,
        cpu_s * 1e3 / max(result.statuses.get(200, 0), 1),
    )


def _store_with(rows: Batch, path: Path) -> DuckDBTelemetryStore:
    store = DuckDBTelemetryStore(path)
    step = 1_000_000
    futures = [
        store.submit(
            Batch(
                rows.device[i : i + step],
                rows.metric[i : i + step],
                rows.ts[i : i + step],
                rows.value[i : i + step],
                rows.quality[i : i + step],
            )
        )
        for i in range(0, len(rows), step)
    ]
    for f in futures:
        f.result()
    return store


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure_latest(tmp: Path) -> tuple[float, float]:
    n_dev, n_met = 5000, 10
    dev = np.repeat(np.arange(n_dev, dtype=np.int32), n_met)
    met = np.tile(np.arange(1, n_met + 1, dtype=np.int32), n_dev)
    now = int(time.time() * 1000)
    reps = 3
    rows = Batch(
        np.tile(dev, reps),
        np.tile(met, reps),
        np.repeat(np.arange(reps, dtype=np.int64) * 1000 + now - 10_000, len(dev)),
        np.random.default_rng(1).normal(20, 5, len(dev) * reps),
        np.zeros(len(dev) * reps, np.uint8),
    )
    store = _store_with(rows, tmp / "latest.duckdb")
    store.metric_ids(METRICS)
    assert len(store.latest_cache) == n_dev * n_met
    store_ms = _median_ms(lambda: store.latest(None), 21)
    json_ms = _median_ms(lambda: table_response(store.latest(None), "json"), 11)
    store.close()
    return store_ms, json_ms


def measure_rollup(tmp: Path, n_devices: int) -> tuple[float, float]:
    """1-minute avg/min/max of one device-day (10 metrics every 10 s) among n_devices.

    Rows arrive interleaved across devices, as from a live district, and are compacted every
    15 minutes (the store's age threshold). Measured twice: while the day is open (95 sorted
    chunks plus 15 minutes not yet compacted), and once the closed day has been consolidated.
    """
    n_met, step, quarter = 10, 10_000, 900_000
    day0 = (int(time.time() * 1000) // DAY_MS - 2) * DAY_MS - 8 * 3600 * 1000
    store = DuckDBTelemetryStore(tmp / "rollup.duckdb", compact_min_rows=10**12)
    store.compactor._settle_ms = 10**12  # consolidate only when told to, below
    rng = np.random.default_rng(2)
    per_tick = n_devices * n_met
    for q in range(96):
        ts = np.arange(day0 + q * quarter, day0 + (q + 1) * quarter, step, dtype=np.int64)
        dev = np.tile(np.repeat(np.arange(n_devices, dtype=np.int32), n_met), len(ts))
        met = np.tile(np.arange(1, n_met + 1, dtype=np.int32), n_devices * len(ts))
        values = rng.normal(20, 5, len(dev))
        store.submit(Batch(dev, met, np.repeat(ts, per_tick), values, np.zeros(len(dev), np.uint8)))
        store.flush(timeout=300)
        if q < 95:
            store.compactor.compact()
    from shugu.store.telemetry import RangeQuery

    query = RangeQuery(
        devices=[n_devices // 2],
        metrics=None,
        start_ms=day0,
        end_ms=day0 + DAY_MS,
        bucket_ms=60_000,
        aggregates=("avg", "min", "max"),
    )
    table = store.query_range(query)
    assert table.num_rows == n_met * 1440, table.num_rows
    open_ms = _median_ms(lambda: store.query_range(query), 11)
    store.compactor.compact()
    store.compactor._settle_ms = 0
    store.compactor.consolidate_closed_days()
    after = store.query_range(query)
    assert after.num_rows == table.num_rows
    assert np.allclose(after.column("avg").to_numpy(), table.column("avg").to_numpy())
    closed_ms = _median_ms(lambda: store.query_range(query), 11)
    store.close()
    return open_ms, closed_ms


def run(
    *, quick: bool, clients: int, seconds: float | None, log: bool, workers: int = 1
) -> dict[str, Any]:
    seconds = seconds or (4.0 if quick else 10.0)
    tmp = Path(tempfile.mkdtemp(prefix="shugu-bench-"))
    result: dict[str, Any] = {
        "quick": quick,
        "workers": workers,
        "clients": clients,
        "seconds": seconds,
        "cpus": os.cpu_count(),
    }
    try:
        n_devices = 1000
        n_payloads = int(seconds * 2500)
        t0 = int(time.time() * 1000) - 3 * 3600 * 1000
        say(log, f"building {n_payloads} payloads of 1,000 points")
        tables = make_payloads(n_payloads, 100, n_devices, t0)
        arrow_bodies = [write_stream(t) for t in tables]

        say(log, "raw DuckDB append")
        result["raw_append_pps"] = round(measure_raw_append(tables))

        data = tmp / "data"
        data.mkdir()
        token = _setup_registry(data, n_devices)
        say(log, f"HTTP batch (Arrow), {clients} clients, {seconds:.0f} s")
        arrow = measure_http(data, token, arrow_bodies, ARROW_STREAM, clients, seconds, workers)
        statuses = arrow.statuses
        result["http_batch_pps"] = round(arrow.points_per_s)
        result["http_batch_statuses"] = {str(k): v for k, v in statuses.items()}
        result["http_batch_p50_ms"] = round(arrow.p50_ms, 2)
        result["http_batch_server_cpu_ms_per_request"] = round(arrow.server_cpu_ms_per_request, 3)
        result["ratio_http_batch_to_raw"] = round(arrow.points_per_s / result["raw_append_pps"], 3)

        json_seconds = max(2.0, seconds / 2)
        say(log, f"HTTP gateway JSON, {clients} clients, {json_seconds:.0f} s")
        t1 = t0 + 3_600_000
        json_bodies = [
            gateway_json(t) for t in make_payloads(int(json_seconds * 600), 100, n_devices, t1)
        ]
        gateway = measure_http(
            data, token, json_bodies, "application/json", clients, json_seconds, workers
        )
        statuses_json = gateway.statuses
        result["http_gateway_json_pps"] = round(gateway.points_per_s)
        result["http_gateway_json_statuses"] = {str(k): v for k, v in statuses_json.items()}

        store = DuckDBTelemetryStore(data / "telemetry.duckdb")
        stored = store.count_points()
        store.close()
        acked = (
            sum(v for k, v in statuses.items() if k == 200)
            + sum(v for k, v in statuses_json.items() if k == 200)
        ) * 1000
        result["acked_points"] = acked
        result["stored_points"] = stored

        say(log, "latest of 50,000 series")
        latest_ms, latest_json_ms = measure_latest(tmp)
        result["latest_all_ms"] = round(latest_ms, 3)
        result["latest_all_json_ms"] = round(latest_json_ms, 3)

        rollup_devices = 100 if quick else 500
        say(log, f"1-minute roll-up of one device-day among {rollup_devices} devices")
        result["rollup_devices_in_table"] = rollup_devices
        open_ms, closed_ms = measure_rollup(tmp, rollup_devices)
        result["rollup_1m_device_day_ms"] = round(closed_ms, 3)
        result["rollup_1m_device_day_open_ms"] = round(open_ms, 3)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result
