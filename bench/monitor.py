"""`shugu bench monitor`: how soon an alarm is raised while telemetry flows at a steady rate.

One process holds what `shugu serve` holds for this path: a SQLite registry with rack inlet
sensors (`rack_sensor`: inlet_c and inlet_rh_pct), the DuckDB telemetry store and the monitor,
wired as the app wires them (the store's writer hands every committed batch to the monitor).

Figures:
- offered / stored points/s: batches of TICK_S worth of points, submitted on a fixed schedule
  (timestamps = now), and what the store made durable over the same time.
- latency_*_ms: every ~0.5 s a few devices not alarmed before start sending inlet_c = 29 °C
  (above the 27 °C of `rack_sensor.inlet_high`) for HOLD_S, then normal values again (the alarm
  clears). Latency is from the submit of the batch carrying a device's first violating point to
  the alarm book's `on_raised` for it: the durable commit, the hand-over, the monitor's queue and
  evaluation, and the alarm's write to the registry.
- monitor_lag_*_s: the monitor's own figure, commit → end of evaluation (`Monitor.stats()`).
- raw limit, in the same run: `store_only_pps` is the same batches into a fresh store without the
  monitor, submitted as fast as the store takes them; `raw_append_pps` is DuckDB's own append of
  those rows in 100,000-row transactions (bench/ingest.py). `monitor_capacity_pps` is the same
  batches, unpaced, into a fresh store with a monitor, until the monitor has evaluated them all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil
import pyarrow as pa

from bench.common import say
from bench.ingest import measure_raw_append
from shugu.domain.batch import Batch
from shugu.monitor.engine import Transition
from shugu.monitor.service import Monitor
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry

RULE = "rack_sensor.inlet_high"
TICK_S = 0.05
INJECT_EVERY_S = 0.5
INJECT_PER_ROUND = 4
HOLD_S = 1.0
VIOLATION_C = 29.0
Ints = npt.NDArray[np.int64]


def _world(tmp: Path, n_devices: int) -> tuple[Registry, Ints]:
    registry = Registry(f"sqlite:///{tmp / 'registry.sqlite'}")
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "滨海工业区")
    ent = registry.create_enterprise(park.id, "长乐数据中心基准有限公司", "91110000600037341L")
    ids = [
        registry.create_device(ent.id, f"rack{i:05d}", "rack_sensor")[0].id
        for i in range(n_devices)
    ]
    return registry, np.asarray(ids, np.int64)


class Feed:
    """Moments (one inlet_c and one inlet_rh_pct point) over the devices in a fixed cycle."""

    def __init__(self, devices: Ints, inlet_id: int, rh_id: int, rate: int) -> None:
        self.devices = devices
        self.per_tick = max(1, round(rate * TICK_S / 2))
        self.span_ms = int(TICK_S * 1000)
        self.offsets = (np.arange(self.per_tick, dtype=np.int64) * self.span_ms) // self.per_tick
        self.metric = np.tile(np.asarray([inlet_id, rh_id], np.int32), self.per_tick)
        self.quality = np.zeros(2 * self.per_tick, np.uint8)
        self.cursor = 0
        self.prev_end_ms = 0
        self.rng = np.random.default_rng(11)

    def next_positions(self) -> Ints:
        pos = (self.cursor + np.arange(self.per_tick)) % len(self.devices)
        self.cursor = int((self.cursor + self.per_tick) % len(self.devices))
        return pos

    def batch(self, pos: Ints, hot: npt.NDArray[np.bool_]) -> Batch:
        # Each device's timestamps must rise: a late tick never reuses a moment already sent.
        base = max(int(time.time() * 1000) - self.span_ms + 1, self.prev_end_ms + 1)
        ts = base + self.offsets
        self.prev_end_ms = int(ts[-1])
        inlet = np.clip(self.rng.normal(22.0, 1.0, len(pos)), 19.0, 25.0)
        inlet[hot] = VIOLATION_C
        rh = np.clip(self.rng.normal(45.0, 5.0, len(pos)), 30.0, 60.0)
        return Batch(
            np.repeat(self.devices[pos], 2).astype(np.int32),
            self.metric,
            np.repeat(ts, 2),
            np.column_stack([inlet, rh]).ravel(),
            self.quality,
        )


class Crossings:
    """The real threshold crossings of a paced run.

    Every INJECT_EVERY_S a few devices of the next tick, not alarmed before, send VIOLATION_C
    for HOLD_S; `submitted` records when the batch carrying each one's first violating point
    went to the store (the start of its alarm latency).
    """

    def __init__(
        self, feed: Feed, start: float, seconds: float, submitted: dict[int, float]
    ) -> None:
        n = len(feed.devices)
        self.feed = feed
        self.used = np.zeros(n, np.bool_)
        self.hot_until = np.zeros(n)
        self.next_inject = start + INJECT_EVERY_S
        self.inject_until = start + seconds - HOLD_S - 1.0
        self.submitted = submitted

    def next_batch(self) -> tuple[Batch, float, float]:
        """The next tick's batch, the monotonic time it was built at and the one it is sent at."""
        feed = self.feed
        pos = feed.next_positions()
        mono = time.monotonic()
        fresh: Ints = np.zeros(0, np.int64)
        if self.next_inject <= mono < self.inject_until:
            self.next_inject += INJECT_EVERY_S
            candidates = np.unique(pos[~self.used[pos]])
            take = min(INJECT_PER_ROUND, len(candidates))
            fresh = feed.rng.choice(candidates, take, replace=False)
            self.used[fresh] = True
            self.hot_until[fresh] = mono + HOLD_S
        batch = feed.batch(pos, self.hot_until[pos] > mono)
        t_sub = time.monotonic()
        for p in fresh:
            self.submitted[int(feed.devices[p])] = t_sub
        return batch, mono, t_sub


def _thread_cpu(native_ids: dict[str, int | None]) -> dict[str, float]:
    times = {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}
    out = {name: times.get(tid or -1, 0.0) for name, tid in native_ids.items()}
    cpu = psutil.Process().cpu_times()
    out["process"] = cpu.user + cpu.system
    return out


def _acked(acks: list[tuple[float, float]], submitted: float, _future: Future[int]) -> None:
    acks.append((submitted, time.monotonic()))


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


def _wait(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _paced(
    store: DuckDBTelemetryStore, monitor: Monitor, feed: Feed, seconds: float, log: bool
) -> tuple[dict[str, Any], list[Batch]]:
    submitted: dict[int, float] = {}
    raised: dict[int, float] = {}
    others: list[Transition] = []
    acks: list[tuple[float, float]] = []
    sent: list[Batch] = []

    def on_raised(t: Transition, _alarm_id: int) -> None:
        if t.ref == RULE and t.device_id in submitted:
            raised.setdefault(t.device_id, time.monotonic())
        else:
            others.append(t)

    monitor.book.on_raised = on_raised
    assert monitor._thread is not None
    tids = {"monitor": monitor._thread.native_id, "writer": store._writer.native_id}
    cpu0 = _thread_cpu(tids)
    start = time.monotonic()
    crossings = Crossings(feed, start, seconds, submitted)
    late = k = 0
    next_log = start + 10
    while True:
        target = start + k * TICK_S
        if target >= start + seconds:
            break
        now = time.monotonic()
        if target > now:
            time.sleep(target - now)
        elif now - target > TICK_S:
            late += 1
        k += 1
        batch, mono, t_sub = crossings.next_batch()
        future = store.submit(batch)
        future.add_done_callback(partial(_acked, acks, t_sub))
        sent.append(batch)
        if mono >= next_log:
            next_log += 10
            say(log, f"{mono - start:.0f} s: {len(submitted)} injected, {len(raised)} raised")
    offered_s = time.monotonic() - start
    store.flush(timeout=120)
    rows = sum(len(b) for b in sent)
    stored = store.count_points()
    durable_s = max(done for _, done in acks) - start
    _wait(
        lambda: monitor.stats().evaluated_points >= rows and not monitor.stats().pending_rows, 120
    )
    _wait(lambda: len(raised) >= len(submitted) and monitor.book.cleared >= len(submitted), 30)
    cpu1 = _thread_cpu(tids)
    stats = monitor.stats()
    latencies = [(raised[d] - t) * 1000 for d, t in submitted.items() if d in raised]
    ack_ms = [(done - t) * 1000 for t, done in acks]
    failed = rows - stored
    cpu = {name: round(cpu1[name] - cpu0[name], 2) for name in cpu0}
    return {
        "offered_pps": round(rows / offered_s),
        "stored_pps": round(stored / durable_s),
        "points_offered": rows,
        "points_stored": stored,
        "points_not_stored": failed,
        "late_ticks": late,
        "ticks": k,
        "injected": len(submitted),
        "raised": len(latencies),
        "missing": len(submitted) - len(latencies),
        "other_raises": len(others),
        "cleared": stats.alarms_cleared,
        "latency_p50_ms": pct(latencies, 50),
        "latency_p95_ms": pct(latencies, 95),
        "latency_p99_ms": pct(latencies, 99),
        "latency_max_ms": round(max(latencies), 1) if latencies else float("nan"),
        "commit_ack_p50_ms": pct(ack_ms, 50),
        "commit_ack_p99_ms": pct(ack_ms, 99),
        "monitor_lag_p50_s": round(stats.lag_p50_s, 4),
        "monitor_lag_max_s": round(stats.lag_max_s, 4),
        "monitor_evaluated_points": stats.evaluated_points,
        "monitor_skipped_rows": stats.skipped_rows,
        "monitor_cpu_s": cpu["monitor"],
        "monitor_cpu_share": round(cpu["monitor"] / offered_s, 3),
        "writer_cpu_s": cpu["writer"],
        "process_cpu_s": cpu["process"],
        "paced_s": round(offered_s, 2),
    }, sent


def _unpaced(store: DuckDBTelemetryStore, sent: list[Batch]) -> float:
    """Submit everything as fast as the store's queue takes it; seconds until all is durable."""
    futures: list[Future[int]] = []
    start = time.monotonic()
    for i, batch in enumerate(sent):
        if i >= 5000:
            futures[i - 5000].result()
        futures.append(store.submit(batch))
    for f in futures:
        f.result(timeout=300)
    return time.monotonic() - start


def _as_ingest_tables(sent: list[Batch]) -> list[pa.Table]:
    """The batches in the shape bench/ingest.py's raw append takes (dictionary-coded ids)."""
    top = max(int(b.device.max()) for b in sent) + 1
    names = pa.array([str(i) for i in range(top)])
    metrics = pa.array([str(i) for i in range(int(max(b.metric.max() for b in sent)) + 1)])
    return [
        pa.table(
            {
                "device": pa.DictionaryArray.from_arrays(pa.array(b.device), names),
                "metric": pa.DictionaryArray.from_arrays(pa.array(b.metric), metrics),
                "ts": pa.array(b.ts),
                "value": pa.array(b.value),
            }
        )
        for b in sent
    ]


def run(
    *, quick: bool, rate: int, log: bool, flood: bool = True, paced: bool = True
) -> dict[str, object]:
    if not paced:
        from bench import monitor_flood

        return {"quick": quick, "flood_case": monitor_flood.run(quick=quick, log=log)}
    n_devices = 1_000 if quick else 10_000
    seconds = 10.0 if quick else 60.0
    tmp = Path(tempfile.mkdtemp(prefix="shugu-bench-monitor-"))
    result: dict[str, Any] = {
        "quick": quick,
        "rate_pps": rate,
        "seconds": seconds,
        "devices": n_devices,
        "cpus": os.cpu_count(),
    }
    try:
        say(log, f"registry with {n_devices} rack sensors")
        t = time.perf_counter()
        registry, devices = _world(tmp, n_devices)
        result["device_setup_s"] = round(time.perf_counter() - t, 1)

        store = DuckDBTelemetryStore(tmp / "telemetry.duckdb")
        inlet_id, rh_id = (int(m) for m in store.metric_ids(["inlet_c", "inlet_rh_pct"]))
        monitor = Monitor(registry, store)
        store.add_listener(monitor.on_batch)
        monitor.start()
        feed = Feed(devices, inlet_id, rh_id, rate)
        result["points_per_batch"] = 2 * feed.per_tick
        say(log, f"offering {rate} points/s for {seconds:.0f} s ({2 * feed.per_tick} per batch)")
        try:
            paced, sent = _paced(store, monitor, feed, seconds, log)
        finally:
            monitor.stop()
            store.close()
        result.update(paced)
        rows = sum(len(b) for b in sent)

        say(log, "raw limit: the same batches into a store without the monitor")
        bare = DuckDBTelemetryStore(tmp / "bare.duckdb")
        bare.metric_ids(["inlet_c", "inlet_rh_pct"])
        result["store_only_pps"] = round(rows / _unpaced(bare, sent))
        bare.close()
        say(log, "raw limit: DuckDB's own append of the same rows")
        result["raw_append_pps"] = round(measure_raw_append(_as_ingest_tables(sent)))

        say(log, "capacity: the same batches, unpaced, into a store with a monitor")
        store = DuckDBTelemetryStore(tmp / "capacity.duckdb")
        store.metric_ids(["inlet_c", "inlet_rh_pct"])
        monitor = Monitor(registry, store)
        store.add_listener(monitor.on_batch)
        monitor.start()
        try:
            t = time.monotonic()
            stored_s = _unpaced(store, sent)
            caught_up = _wait(
                lambda: (
                    monitor.stats().evaluated_points >= rows and not monitor.stats().pending_rows
                ),
                300,
            )
            evaluated_s = time.monotonic() - t
            stats = monitor.stats()
        finally:
            monitor.stop()
            store.close()
        result["capacity_store_pps"] = round(rows / stored_s)
        result["monitor_capacity_pps"] = round(stats.evaluated_points / evaluated_s)
        result["capacity_caught_up"] = caught_up
        result["capacity_skipped_rows"] = stats.skipped_rows
        registry.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if flood:
        from bench import monitor_flood

        say(log, "flood: other tenants' alarms while one device flaps")
        result["flood_case"] = monitor_flood.run(quick=quick, log=log)
    return result
