"""`shugu bench cluster`: points per second through the cluster against one node and against
ClickHouse's own bulk insert, measured in the same run; query times through the API node.

Everything runs on this machine, each part its own process (``bench/faults/cluster_nodes.py``):
two ClickHouse servers as two plain shards of one cluster, PostgreSQL for the registry, and

- the cluster: Mosquitto A, two ingest workers (``shugu serve --role ingest``) on its shared
  subscription, one monitor worker and one API node, on the ClickHouse database ``cluster``;
- one node: Mosquitto B and one ``shugu serve --role all`` process on the database ``one``
  (the same ClickHouse servers), consuming the same shared subscription alone.

Both stay up for the whole run; each run measures, back to back so that a run's figures share
the machine's mood of the moment:

- raw_insert_pps: clickhouse-driver's columnar numpy insert of ``raw_points`` points in one call
  into the cluster's Distributed ``points`` table, with the store's insert settings (the
  Distributed table waits for both shards): the limit any ingest path reaches on these servers;
- cluster_pps and one_node_pps: ``devices`` MQTT 5 devices publish ``points`` points in
  10-point messages at QoS 1 as fast as the broker's PUBACKs allow (``window`` in flight each);
  the figure is those points over the time from the first publish until ClickHouse holds all of
  them (counted on the Distributed table). ``*_broker_pps`` is the broker's acknowledgement
  rate alone: Mosquitto queues what the workers have not taken yet, so it runs ahead.
- *_cpu_s_per_million_points: CPU seconds each kind of process used per million points in the
  run (the setup's shugu processes by role, both ClickHouse servers, the setup's Mosquitto, and
  the load generator), from ``/proc``: where the machine's two cores went.

Figures are medians over ``runs``. The load generator is one Python process on the same two
cores as everything else, so the figures are what this machine sustains with all parts of the
cluster sharing it, not what a node would do alone.

Queries (medians of ``queries`` requests each, through the cluster's API node, as an enterprise
administrator; the bench devices are one enterprise, the whole region's fleet here):

- latest_all_ms: ``GET /api/enterprises/{id}/latest``: the latest value of every metric of
  every device (devices × 10 series) from the latest-values materialised view;
- region_month_ms: ``GET /api/enterprises/{id}/telemetry?bucket=1d&agg=avg,min,max,count`` over
  November 2026 (China calendar days): a month of daily roll-ups of every series. shugu has no
  telemetry roll-up per region (the region KPIs read precomputed facts); this range roll-up of
  all of a region's devices is the closest, and it is the one the console's month charts use.
  The month is loaded beforehand through the store (one sample per ``month_step_min`` minutes)
  and rolled into hourly cells (``store/clickhouse_cells.py``) before the query, as the API
  node's roller does for hours that have closed;
- region_month_unrolled_ms: the same request right after the month was loaded, before it is
  rolled: every hour is late and read from points (what the query cost before cells);
- roll_month_s: one roll of the whole month's hours into cells, through the Distributed tables,
  once the month's points have settled (month_rolled_by_bench false: the API node's own roller
  had rolled it first, and the figure is a roll with nothing left to do).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.clickhouse_store import make_points
from bench.common import say
from bench.faults.broker import Broker
from bench.faults.clients import MqttFleet, Pacer
from bench.faults.cluster_nodes import (
    Backends,
    NodeSpec,
    missing_binaries,
    serve_has_roles,
    start_node,
    start_nodes,
)
from bench.faults.ledger import METRICS, ApiReader, Ledger, metric_name, verify
from bench.faults.served import District, Served, make_district
from shugu.domain.batch import Batch
from shugu.store import clickhouse_cells_sql as cells_sql
from shugu.store import clickhouse_sql as sql
from shugu.store.clickhouse_store import ClickHouseTarget, ClickHouseTelemetryStore
from shugu.store.clickhouse_writer import POINT_COLUMNS

#: 2026-11-01 00:00 China time, and the month after it.
NOV_1_CST = 1_793_462_400_000
DEC_1_CST = 1_796_054_400_000
CLUSTER_NODES = (
    NodeSpec("api", "api", shard=0),
    NodeSpec("ingest-1", "ingest", shard=0),
    NodeSpec("ingest-2", "ingest", shard=1),
    NodeSpec("monitor-1", "monitor", shard=1),
)


@dataclass(frozen=True)
class Sizes:
    devices: int = 100
    #: Points each configuration is sent per run (in messages of 10).
    points: int = 300_000
    window: int = 10
    runs: int = 3
    raw_points: int = 1_000_000
    queries: int = 5
    month_step_min: int = 30


QUICK = Sizes(devices=40, points=60_000, window=5, runs=1, raw_points=200_000, queries=3)


def run(
    *,
    quick: bool = False,
    devices: int | None = None,
    points: int | None = None,
    runs: int | None = None,
    log: bool = True,
) -> dict[str, Any]:
    base = QUICK if quick else Sizes()
    sizes = Sizes(
        devices=devices or base.devices,
        points=points or base.points,
        window=base.window,
        runs=runs or base.runs,
        raw_points=base.raw_points,
        queries=base.queries,
        month_step_min=base.month_step_min,
    )
    reasons = missing_binaries()
    if not serve_has_roles():
        reasons.append("this shugu's serve has no --role option")
    if reasons:
        raise SystemExit("shugu bench cluster cannot run here: " + "; ".join(reasons))
    with tempfile.TemporaryDirectory(prefix="shugu-bench-cluster-") as tmp:
        return _run(Path(tmp), sizes, log)


def _run(workdir: Path, sizes: Sizes, log: bool) -> dict[str, Any]:
    backends = Backends(workdir)
    backends.start()
    second_broker = Broker(workdir / "broker-one")
    cluster: dict[str, Served] = {}
    nodes: list[Served] = []
    try:
        second_broker.start()
        registry_url = backends.registry_url()
        district = make_district(workdir / "district", sizes.devices, registry_url=registry_url)
        say(log, "starting the cluster (api, 2 ingest, monitor) and the single node")
        start_nodes(CLUSTER_NODES, district, backends, "cluster", workdir, cluster)
        # Its own registry: a process of role all is a monitor member too, and would take a
        # share of the cluster's enterprises.
        district_one = make_district(
            workdir / "district-one", sizes.devices, registry_url=backends.registry_url("one")
        )
        one = _start_one_node(district_one, backends, second_broker, workdir)
        nodes.append(one)
        shards = [s.process.pid for s in backends.shards if s.process is not None]
        by_role: dict[str, list[int]] = {}
        for spec in CLUSTER_NODES:
            by_role.setdefault(spec.role, []).append(cluster[spec.name].pid)
        cluster_parts = Parts(by_role, shards, [_pid(backends.broker)])
        one_parts = Parts({"all": [one.pid]}, shards, [_pid(second_broker)])
        raw, through_cluster, through_one = [], [], []
        for k in range(sizes.runs):
            raw.append(measure_raw(backends.telemetry_url(f"raw_{k}"), sizes.raw_points))
            say(log, f"run {k + 1}: raw insert {raw[-1]:,.0f} points/s")
            ts0 = int(time.time() * 1000) - 3 * 3_600_000 + k * 600_000
            through_cluster.append(
                asyncio.run(
                    _through(
                        district, backends.broker, backends, "cluster", ts0, sizes, cluster_parts
                    )
                )
            )
            say(log, f"run {k + 1}: cluster {through_cluster[-1]['pps']:,.0f} points/s")
            through_one.append(
                asyncio.run(
                    _through(district_one, second_broker, backends, "one", ts0, sizes, one_parts)
                )
            )
            say(log, f"run {k + 1}: one node {through_one[-1]['pps']:,.0f} points/s")
        check_cluster = verify(through_cluster[-1]["ledger"], [ApiReader(cluster["api"])])
        check_one = verify(through_one[-1]["ledger"], [ApiReader(one)])
        say(log, "loading a month of samples for the roll-up")
        month_points = load_month(backends.telemetry_url("cluster"), district, sizes.month_step_min)
        loaded = time.monotonic()
        unrolled = measure_queries(cluster["api"], district, sizes.queries)
        say(log, f"before rolling: {unrolled}; rolling the month into cells")
        roll_s, rolled_by_bench = roll_month(backends.telemetry_url("cluster"), loaded)
        queries = measure_queries(cluster["api"], district, sizes.queries)
        say(log, f"rolled in {roll_s:.1f} s: {queries}")
    finally:
        for node in [*cluster.values(), *nodes]:
            node.stop()
        second_broker.close()
        backends.close()

    def med(values: list[dict[str, Any]], key: str) -> int:
        value: float = statistics.median(v[key] for v in values)
        return round(value)

    cluster_pps = med(through_cluster, "pps")
    one_pps = med(through_one, "pps")
    raw_pps = round(statistics.median(raw))
    return {
        "devices": sizes.devices,
        "points_per_run": sizes.points,
        "window": sizes.window,
        "runs": sizes.runs,
        "raw_points": sizes.raw_points,
        "raw_insert_pps": raw_pps,
        "cluster_pps": cluster_pps,
        "one_node_pps": one_pps,
        "cluster_broker_pps": med(through_cluster, "broker_pps"),
        "one_node_broker_pps": med(through_one, "broker_pps"),
        "ratio_cluster_to_one_node": round(cluster_pps / one_pps, 3),
        "ratio_cluster_to_raw": round(cluster_pps / raw_pps, 3),
        "cluster_cpu_s_per_million_points": _cpu_medians(through_cluster),
        "one_node_cpu_s_per_million_points": _cpu_medians(through_one),
        "cluster_acked_points": med(through_cluster, "acked"),
        "one_node_acked_points": med(through_one, "acked"),
        "cluster_last_run_verified": check_cluster.ok,
        "one_node_last_run_verified": check_one.ok,
        "month_points": month_points,
        **queries,
        "region_month_unrolled_ms": unrolled["region_month_ms"],
        "roll_month_s": round(roll_s, 2),
        "month_rolled_by_bench": rolled_by_bench,
        "raw_insert_pps_runs": [round(x) for x in raw],
        "cluster_pps_runs": [round(x["pps"]) for x in through_cluster],
        "one_node_pps_runs": [round(x["pps"]) for x in through_one],
    }


def _pid(broker: Broker) -> int:
    assert broker.process is not None
    return broker.process.pid


def _cpu_medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    kinds = runs[0]["cpu"].keys()
    return {k: round(statistics.median(r["cpu"][k] for r in runs), 2) for k in kinds}


def _start_one_node(
    district: District, backends: Backends, broker: Broker, workdir: Path
) -> Served:
    """The single ``--role all`` node, on its own broker (the cluster's broker would hand it a
    share of the cluster's traffic)."""
    return start_node(NodeSpec("one", "all"), district, backends, "one", workdir, broker=broker)


def measure_raw(url: str, n_points: int) -> float:
    """The driver's columnar insert into the cluster's Distributed table (tables made on both
    shards by the store first), with the store's insert settings."""
    ClickHouseTelemetryStore(url).close()
    target = ClickHouseTarget.from_url(url)
    points = make_points(n_points, 1_000)
    client: Any = target.client()
    seq = np.arange(1, len(points) + 1, dtype=np.uint64)
    columns = [points.device, points.metric, points.ts, points.value, points.quality, seq]
    started = time.perf_counter()
    client.execute(
        sql.insert(target.layout, "points", POINT_COLUMNS),
        columns,
        columnar=True,
        settings={"use_numpy": True, "insert_block_size": 1_048_576, **target.insert_settings},
    )
    elapsed = time.perf_counter() - started
    client.disconnect()
    return len(points) / elapsed


async def _through(
    district: District,
    broker: Broker,
    backends: Backends,
    database: str,
    ts0: int,
    sizes: Sizes,
    parts: Parts,
) -> dict[str, Any]:
    """Devices publish ``sizes.points`` unpaced; points/s until ClickHouse holds them all."""
    ledger = Ledger(district.devices, ts0=ts0)
    quota = Quota(sizes.points // METRICS)
    fleet = MqttFleet(
        ledger,
        ledger.devices,
        "127.0.0.1",
        broker.port,
        window=sizes.window,
        topic="shugu/v1/{enterprise}/{name}/telemetry",
        use_token=False,
        client_prefix=f"bench-{database}",
        pacer=quota,
        level=5,
    )
    cpu_before = parts.cpu()
    started = time.monotonic()
    fleet.start()
    while quota.left:
        await asyncio.sleep(0.01)
    await fleet.drain(120.0)
    acked_at = ledger.last_ack_at
    acked = ledger.acked_points
    end = max(d.ts_end for d in ledger.devices)
    stored_at = await asyncio.to_thread(
        _wait_stored, backends.telemetry_url(database), ts0, end, acked, 120.0
    )
    cpu_after = parts.cpu()
    return {
        "ledger": ledger,
        "acked": acked,
        # CPU seconds per million points stored, by kind of process.
        "cpu": {k: (cpu_after[k] - cpu_before[k]) * 1e6 / acked for k in cpu_after},
        "pps": acked / (stored_at - started),
        "broker_pps": acked / (acked_at - started),
    }


def cpu_s(pids: list[int]) -> float:
    """User and system CPU seconds the processes used so far (Linux ``/proc/PID/stat``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@dataclass(frozen=True)
class Parts:
    """The processes of one setup whose CPU time a run counts, by kind."""

    #: shugu processes by role (``ingest``, ``monitor``, ``api``, ``all``).
    shugu: dict[str, list[int]]
    clickhouse: list[int]
    broker: list[int]

    def cpu(self) -> dict[str, float]:
        out = {f"shugu_{role}": cpu_s(pids) for role, pids in self.shugu.items()}
        out["clickhouse"] = cpu_s(self.clickhouse)
        out["broker"] = cpu_s(self.broker)
        out["generator"] = time.process_time()
        return out


class Quota(Pacer):
    """No pace, a total: ``units`` messages over all devices, then no more."""

    def __init__(self, units: int) -> None:
        super().__init__(rate=float(units))
        self.left = units

    def try_take(self, n: int = 1) -> bool:
        if self.left < n:
            return False
        self.left -= n
        return True


def _wait_stored(url: str, ts0: int, end: int, points: int, timeout_s: float) -> float:
    """When the Distributed points table first held ``points`` rows in [ts0, end)."""
    target = ClickHouseTarget.from_url(url)
    client: Any = target.client()
    query = f"SELECT count() FROM {target.layout.table('points')} WHERE ts >= {ts0} AND ts < {end}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if int(client.execute(query)[0][0]) >= points:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise RuntimeError(f"ClickHouse did not hold {points} points in {timeout_s} s")
            time.sleep(0.05)
    finally:
        client.disconnect()


def load_month(url: str, district: District, step_min: int) -> int:
    """November 2026 for every bench device: its 10 metrics every ``step_min`` minutes."""
    store = ClickHouseTelemetryStore(url, max_backlog_rows=50_000_000)
    try:
        metric = store.metric_ids([metric_name(j) for j in range(METRICS)])
        ids = np.array([d.id for d in district.devices], np.int32)
        ts = np.arange(NOV_1_CST, DEC_1_CST, step_min * 60_000, dtype=np.int64)
        n = len(ids) * METRICS * len(ts)
        rng = np.random.default_rng(7)
        batch = Batch(
            np.repeat(ids, METRICS * len(ts)),
            np.tile(np.repeat(metric, len(ts)), len(ids)),
            np.tile(ts, len(ids) * METRICS),
            rng.normal(50.0, 10.0, n),
            np.zeros(n, np.uint8),
        )
        step = 1_000_000
        futures = []
        for i in range(0, n, step):
            part = slice(i, i + step)
            futures.append(
                store.submit(
                    Batch(
                        batch.device[part],
                        batch.metric[part],
                        batch.ts[part],
                        batch.value[part],
                        batch.quality[part],
                    )
                )
            )
        return sum(f.result(timeout=600) for f in futures)
    finally:
        store.close()


def roll_month(url: str, loaded: float) -> tuple[float, bool]:
    """Roll the month loaded at ``loaded`` (``time.monotonic``) into cells once its points
    have settled (``SETTLE_MS``; reads take them from points until then): the seconds of the
    roll, and whether it rolled the month (False: the API node's own roller was first)."""
    store = ClickHouseTelemetryStore(url)
    try:
        time.sleep(max(0.0, loaded + cells_sql.SETTLE_MS / 1000 + 2 - time.monotonic()))
        started = time.perf_counter()
        report = store.roll()
        return time.perf_counter() - started, bool(report.late_days)
    finally:
        store.close()


def measure_queries(api: Served, district: District, repeats: int) -> dict[str, float]:
    ent = district.enterprise
    paths = {
        "latest_all_ms": f"/api/enterprises/{ent}/latest",
        "region_month_ms": (
            f"/api/enterprises/{ent}/telemetry?start={NOV_1_CST}&end={DEC_1_CST}"
            "&bucket=1d&agg=avg,min,max,count"
        ),
    }
    out: dict[str, float] = {}
    for name, path in paths.items():
        status, body = api.request("GET", path)  # warm: caches, connections
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            api.request("GET", path)
            times.append((time.perf_counter() - started) * 1000)
        out[name] = round(statistics.median(times), 1)
    return out
