"""`shugu bench states`: what anomaly rules cost the monitor, and what keeping their learned
state across restarts costs (decision 0068).

A district of rack sensors (`rack_sensor`: inlet_c and inlet_rh_pct, every minute), two anomaly
rules on each (one per metric, the console's default detector), learns a day through the
monitor's rule engine. Figures:

- `eval_pps_default` / `eval_pps_anomaly`: the engine's points/s over the same batches (every
  device's two metrics, one moment a batch) with the default rules only, and with the two
  anomaly rules added; medians of ``runs`` timed slices. `anomaly_cost_ratio` is their ratio.
  `small_call_us_*`: the median µs of one evaluation of a batch holding one device's two
  readings, as a monitor turn with few points evaluates (the same two rule sets, learned).
- `states`, `state_bytes_median` / `state_raw_bytes`: states saved (one per rule and device),
  each one's packed (compressed) size and its size unpacked.
- `save_s`: a periodic save, replacing the states of the save before (`first_save_s`: the
  first, into an empty table): copying each chunk of states out under the monitor's engine lock
  (`lock_held_max_ms`: the longest hold, the most a save delays an evaluation;
  `lock_held_total_s`: all of them), packing and writing it into the registry. `save_share` is
  `save_s` over the save interval: the share of one core the periodic save takes. `restore_s`:
  a new monitor reading every state back before its first evaluation (what a restart adds).
- raw limit, same run and database: `raw_pack_s` / `raw_unpack_s` are zlib alone compressing
  the same states' bytes and decompressing them; `raw_write_s` / `raw_read_s` the same blobs
  inserted into and selected from a bare two-column table with the driver alone (sqlite3,
  psycopg). A save's floor is pack + write, a restore's read + unpack.

SQLite (one process) always; PostgreSQL (a cluster's registry) when its binaries are found.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from bench.common import say
from bench.postgres_server import find_bin_dir, started_postgres
from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.monitor.service import Monitor
from shugu.monitor.state_keeper import SAVE_EVERY_S
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry

START_MS = 1_800_000_000_000
STEP_MS = 60_000
#: Calls timed with one device's two readings each.
SMALL_CALLS = 200
RULES = (("inlet_c", "进风温度异常", "inlet temperature anomaly"),
         ("inlet_rh_pct", "进风湿度异常", "inlet humidity anomaly"))  # fmt: skip


class TimedLock:
    """The engine lock, with how long each hold lasted."""

    def __init__(self, lock: AbstractContextManager[object]) -> None:
        self._lock = lock
        self.held: list[float] = []
        self._since = 0.0

    def __enter__(self) -> object:
        got = self._lock.__enter__()
        self._since = time.perf_counter()
        return got

    def __exit__(self, *exc: object) -> None:
        self.held.append(time.perf_counter() - self._since)
        self._lock.__exit__(None, None, None)


def _world(url: str, n_devices: int) -> tuple[Registry, int]:
    registry = Registry(url)
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "数字经济产业园")
    ent = registry.create_enterprise(park.id, "长乐数据中心基准有限公司", "91110000600037341L")
    for i in range(n_devices):
        registry.create_device(ent.id, f"rack-{i:05d}", "rack_sensor")
    return registry, ent.id


def _add_anomaly_rules(registry: Registry, enterprise_id: int) -> None:
    for metric, zh, en in RULES:
        rule = {"key": f"{metric}_anomaly", "label_zh": zh, "label_en": en}
        rule |= {"kind": "anomaly", "metric": metric}
        registry.put_config(
            "rule", enterprise_id, {"rule": rule, "scope": {"profile": "rack_sensor"}}
        )


def _batches(
    n_devices: int, moments: int, metric_ids: list[int], seed: int, first: int = 0
) -> list[Batch]:
    """One batch a minute: every device's inlet temperature and humidity, with a daily swing."""
    rng = np.random.default_rng(seed)
    devices = np.arange(1, n_devices + 1, dtype=np.int32)
    phase = rng.uniform(0, 2 * np.pi, n_devices)
    out = []
    for i in range(first, first + moments):
        day = np.sin(2 * np.pi * i / 1440 + phase)
        inlet = 22.0 + 1.0 * day + rng.normal(0, 0.15, n_devices)
        humidity = 45.0 - 3.0 * day + rng.normal(0, 0.8, n_devices)
        n = 2 * n_devices
        out.append(
            Batch(
                np.concatenate([devices, devices]),
                np.repeat(np.array(metric_ids, np.int32), n_devices),
                np.full(n, START_MS + i * STEP_MS, np.int64),
                np.concatenate([inlet, humidity]),
                np.full(n, QUALITY_GOOD, np.uint8),
            )
        )
    return out


def _pps(monitor: Monitor, batches: list[Batch]) -> float:
    started = time.perf_counter()
    for batch in batches:
        monitor.engine.evaluate(batch, int(batch.ts[0]))
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


def _call_us(monitor: Monitor, batches: list[Batch]) -> float:
    """Median µs of the engine's evaluation of each batch."""
    took = []
    for batch in batches:
        started = time.perf_counter()
        monitor.engine.evaluate(batch, int(batch.ts[0]))
        took.append(time.perf_counter() - started)
    return 1e6 * statistics.median(took)


def _raw(
    connect: Callable[[], Any], blobs: list[bytes], placeholder: str, blob_type: str
) -> tuple[float, float]:
    """The driver alone: the same blobs into a bare table in one transaction, then read back."""
    connection = connect()
    try:
        connection.execute(f"CREATE TABLE raw_states (k INTEGER PRIMARY KEY, b {blob_type})")
        connection.commit()
        started = time.perf_counter()
        cursor = connection.cursor()
        cursor.executemany(
            f"INSERT INTO raw_states VALUES ({placeholder}, {placeholder})", list(enumerate(blobs))
        )
        connection.commit()
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        got = connection.execute("SELECT k, b FROM raw_states").fetchall()
        read_s = time.perf_counter() - started
        assert len(got) == len(blobs)
        return write_s, read_s
    finally:
        connection.close()


def _measure(url: str, raw: Callable[[list[bytes]], tuple[float, float]], tmp: Path,
             n_devices: int, hours: float, runs: int, log: bool) -> dict[str, Any]:  # fmt: skip
    registry, enterprise_id = _world(url, n_devices)
    store = DuckDBTelemetryStore(tmp / f"t-{time.monotonic_ns()}.duckdb")
    try:
        metric_ids = [int(m) for m in store.metric_ids([m for m, _zh, _en in RULES])]
        moments = int(hours * 60)
        batches = _batches(n_devices, moments, metric_ids, seed=1)
        slice_len = max(moments // (2 * runs), 5)
        plain = Monitor(registry, store)
        default = [_pps(plain, batches[i * slice_len : (i + 1) * slice_len]) for i in range(runs)]
        _add_anomaly_rules(registry, enterprise_id)
        monitor = Monitor(registry, store)
        say(log, f"  learning {hours:g} h of {n_devices:,} devices' two metrics …")
        timed: list[float] = []
        for i in range(0, moments, slice_len):
            timed.append(_pps(monitor, batches[i : i + slice_len]))
        anomaly = timed[-runs:]  # learned, as a monitor runs most of the time
        first = monitor.states.save(TimedLock(monitor._engine_lock), prune=True)
        # The steady state: five more minutes learned, then the periodic save replaces them all.
        for batch in _batches(n_devices, 5, metric_ids, seed=1, first=moments):
            monitor.engine.evaluate(batch, int(batch.ts[0]))
        lock = TimedLock(monitor._engine_lock)
        kept = monitor.states.save(lock, prune=True)
        assert kept.devices == first.devices
        # One device's two readings a call: what a turn with few points pays per rule.
        small = [b.pick(np.array([0, n_devices])) for b in batches[-SMALL_CALLS:]]
        for b in small:  # later minutes of one device, as its own batch
            b.ts[:] += (SMALL_CALLS + 5) * STEP_MS
        small_default = _call_us(plain, small)
        small_anomaly = _call_us(monitor, small)
        restarted = Monitor(registry, store)
        started = time.perf_counter()
        with restarted._engine_lock:
            restored = restarted.states.restore()
        restore_s = time.perf_counter() - started
        assert restored.devices == kept.devices and restored.rejected == 0
        rows = [
            c.evaluator.export_rows(c.evaluator.state_devices(changed_only=False))
            for c in monitor.engine.rules().values()
            if c.evaluator is not None and c.evaluator.state_layout() is not None
        ]
        started = time.perf_counter()
        blobs = [zlib.compress(row.data, 1) for matrix in rows for row in matrix]
        raw_pack_s = time.perf_counter() - started
        started = time.perf_counter()
        for blob in blobs:
            zlib.decompress(blob)
        raw_unpack_s = time.perf_counter() - started
        assert len(blobs) == kept.devices
        raw_write_s, raw_read_s = raw(blobs)
        layouts = [
            c.evaluator.state_layout() for c in monitor.engine.rules().values() if c.evaluator
        ]
        raw_bytes = max(layout.nbytes for layout in layouts if layout is not None)
        return {
            "devices": n_devices,
            "learned_hours": hours,
            "eval_pps_default": statistics.median(default),
            "eval_pps_anomaly": statistics.median(anomaly),
            "anomaly_cost_ratio": statistics.median(default) / statistics.median(anomaly),
            "small_call_us_default": small_default,
            "small_call_us_anomaly": small_anomaly,
            "states": kept.devices,
            "state_bytes_median": statistics.median(len(b) for b in blobs),
            "state_raw_bytes": raw_bytes,
            "total_mb": sum(len(b) for b in blobs) / 1e6,
            "save_s": kept.seconds,
            "first_save_s": first.seconds,
            "lock_held_max_ms": 1000 * max(lock.held),
            "lock_held_total_s": sum(lock.held),
            "restore_s": restore_s,
            "save_share": kept.seconds / SAVE_EVERY_S,
            "raw_pack_s": raw_pack_s,
            "raw_unpack_s": raw_unpack_s,
            "raw_write_s": raw_write_s,
            "raw_read_s": raw_read_s,
        }
    finally:
        store.close()
        registry.close()


def run(
    quick: bool = False, devices: int | None = None, hours: float | None = None, runs: int = 3,
    postgres: bool = True, log: bool = True,
) -> dict[str, Any]:  # fmt: skip
    n_devices = devices or (200 if quick else 2_000)
    learn_h = hours or (6.0 if quick else 24.0)
    result: dict[str, Any] = {"save_every_s": SAVE_EVERY_S}
    with tempfile.TemporaryDirectory(prefix="shugu-bench-states-") as name:
        tmp = Path(name)
        path = tmp / "registry.sqlite"

        def sqlite_raw(blobs: list[bytes]) -> tuple[float, float]:
            return _raw(lambda: sqlite3.connect(tmp / "raw.sqlite"), blobs, "?", "BLOB")

        say(log, "SQLite registry")
        result["sqlite"] = _measure(
            f"sqlite:///{path}", sqlite_raw, tmp, n_devices, learn_h, runs, log
        )
        bin_dir = find_bin_dir() if postgres else None
        if bin_dir is None:
            result["postgres"] = "skipped: PostgreSQL binaries not found" if postgres else "off"
            return result
        server = started_postgres(bin_dir)
        try:
            url = server.server.create_database("states")
            raw_url = server.server.create_database("raw")

            def pg_raw(blobs: list[bytes]) -> tuple[float, float]:
                return _raw(lambda: psycopg.connect(raw_url), blobs, "%s", "BYTEA")

            say(log, "PostgreSQL registry")
            result["postgres"] = _measure(url, pg_raw, tmp, n_devices, learn_h, runs, log)
        finally:
            server.stop()
    return result
