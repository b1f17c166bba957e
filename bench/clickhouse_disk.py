"""`shugu bench clickhouse-disk`: bytes on disk per stored point in the ClickHouse store, for the
sizing in docs/deploy.md.

The Changle district (``districts/changle.yaml``) at ``scale`` is stepped by the simulator's own
plants (``sim.build.build_plants``, ``sim.runner.Simulation.step``, the district's seed) every
``step_s`` seconds of simulated time from 2026-11-20 00:00 China time for ``hours`` hours, every
device reporting at every step. The readings go through ``ClickHouseTelemetryStore.submit`` in
30,000-point batches into a fresh database of a ClickHouse server (a private Debian 18.16 one
unless ``url`` is given), so rows, sequences, views and tables are exactly what the store
writes. The hours are rolled into cells, every table is merged (``OPTIMIZE TABLE … FINAL``), and
``system.parts`` (active parts) and ``system.columns`` give, per point stored:

- points_bytes_per_point: the ``points`` table on disk over its rows (the sizing figure), and
  points_ts / points_value / points_seq: the compressed bytes of those columns per point;
- feed_bytes_per_point: the monitors' feed (kept two days), cells_bytes_per_point: the hourly
  roll-up cells, latest and late_hours: the small views' tables — each over the points stored.

Compression is deterministic for the same points (fixed seeds): one run.
"""

from __future__ import annotations

import shutil
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np

from bench.clickhouse_server import ClickHouseServer, find_server_binary, started_server
from bench.common import say
from shugu.domain.batch import Batch
from shugu.sim.build import build_plants
from shugu.sim.district import expand_enterprises, load_district
from shugu.sim.provision import SimEnterprise, layout
from shugu.sim.runner import Simulation
from shugu.store.clickhouse_store import ClickHouseTarget, ClickHouseTelemetryStore

DISTRICT = Path(__file__).resolve().parents[1] / "districts" / "changle.yaml"
START_MS = 1_795_104_000_000  # 2026-11-20 00:00 China time
BATCH_POINTS = 30_000
TABLES = ("points", "feed", "cells", "latest", "late_hours")


def simulated_batches(scale: float, hours: float, step_s: float) -> tuple[list[Batch], int, int]:
    """The district's readings as Batches of about ``BATCH_POINTS``; also its devices and
    series counts. Device ids are numbered in the order the plants name them."""
    spec = load_district(DISTRICT)
    enterprises: list[SimEnterprise] = []
    serial = 0
    for park in spec.parks:
        copies = expand_enterprises(park, spec.region.code, serial)
        serial += len(copies)
        for ent_spec in copies:
            enterprises.append(
                SimEnterprise(len(enterprises) + 1, ent_spec, layout(ent_spec, scale))
            )
    sim = Simulation(spec, build_plants(spec, enterprises), START_MS)
    ids: dict[tuple[int, str], int] = {}
    metrics: dict[str, int] = {}
    series: set[tuple[int, int]] = set()
    batches: list[Batch] = []
    rows: list[tuple[int, int, int, float]] = []
    step_ms = round(step_s * 1000)
    end = START_MS + round(hours * 3_600_000)
    t = START_MS
    while t < end:
        t += step_ms
        for running, readings in sim.step(t, step_s):
            for device, values in readings.items():
                key = (running.enterprise.id, device)
                d = ids.setdefault(key, len(ids) + 1)
                for metric, value in values.items():
                    m = metrics.setdefault(metric, len(metrics) + 1)
                    series.add((d, m))
                    rows.append((d, m, t, value))
        if len(rows) >= BATCH_POINTS:
            batches.append(_batch(rows))
            rows = []
    if rows:
        batches.append(_batch(rows))
    return batches, len(ids), len(series)


def _batch(rows: list[tuple[int, int, int, float]]) -> Batch:
    d, m, t, v = zip(*rows, strict=True)
    return Batch(
        np.array(d, np.int32),
        np.array(m, np.int32),
        np.array(t, np.int64),
        np.array(v, np.float64),
        np.zeros(len(rows), np.uint8),
    )


def measure(url: str, batches: list[Batch], log: bool) -> dict[str, Any]:
    store = ClickHouseTelemetryStore(url, max_backlog_rows=10_000_000)
    try:
        # Metric numbers 1, 2, … as the batches use them.
        store.metric_ids([f"m{i}" for i in range(1, 1 + max(int(b.metric.max()) for b in batches))])
        stored = 0
        for start in range(0, len(batches), 100):
            futures = [store.submit(b) for b in batches[start : start + 100]]
            stored += sum(f.result(timeout=600) for f in futures)
        say(log, f"stored {stored:,} points; rolling cells and merging")
        store.roll()
        db = store.layout.database
        client: Any = ClickHouseTarget.from_url(url).client()
        try:
            for table in TABLES:
                client.execute(f"OPTIMIZE TABLE {db}.{table} FINAL")
            parts = dict(
                client.execute(
                    "SELECT table, sum(bytes_on_disk) FROM system.parts "
                    "WHERE database = %(db)s AND active GROUP BY table",
                    {"db": db},
                )
            )
            (rows,) = client.execute(f"SELECT count() FROM {db}.points")[0]
            columns = dict(
                client.execute(
                    "SELECT name, data_compressed_bytes FROM system.columns "
                    "WHERE database = %(db)s AND table = 'points'",
                    {"db": db},
                )
            )
        finally:
            client.disconnect()
    finally:
        store.close()
    out: dict[str, Any] = {"points_stored": stored, "points_rows_merged": int(rows)}
    for table in TABLES:
        out[f"{table}_bytes_per_point"] = round(int(parts.get(table, 0)) / stored, 3)
    for column in ("ts", "value", "seq"):
        out[f"points_{column}"] = round(int(columns[column]) / stored, 3)
    return out


def run(
    *,
    quick: bool = False,
    url: str | None = None,
    scale: float = 0.1,
    hours: float = 32.0,
    step_s: float = 10.0,
    log: bool = True,
) -> dict[str, Any]:
    if quick:
        hours = 2.0
    server: ClickHouseServer | None = None
    if url is None:
        binary = find_server_binary()
        if binary is None:
            raise SystemExit("clickhouse-server is not installed; pass --url clickhouse://…")
        server = started_server(binary)
        url = server.url("disk")
        say(log, f"private ClickHouse server on port {server.port}")
    try:
        began = time.monotonic()
        batches, devices, series = simulated_batches(scale, hours, step_s)
        say(
            log, f"simulated {devices} devices, {series} series in {time.monotonic() - began:.0f} s"
        )
        target = ClickHouseTarget.from_url(url)
        client = target.client()
        version = client.execute("SELECT version()")[0][0]
        client.execute("DROP DATABASE IF EXISTS bench_disk")
        client.disconnect()
        disk_url = urllib.parse.urlsplit(url)._replace(path="/bench_disk").geturl()
        figures = measure(disk_url, batches, log)
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)
    return {
        "server_version": version,
        "scale": scale,
        "hours": hours,
        "step_s": step_s,
        "devices": devices,
        "series": series,
        "points_per_series": round(figures["points_stored"] / series),
        **figures,
    }
