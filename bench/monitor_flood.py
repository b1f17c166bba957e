"""The flood case of `shugu bench monitor`: one tenant's device flapping, the others' alarms.

Enterprises of rack sensors send steady telemetry at OTHERS_PPS with occasional real threshold
crossings (a few devices at 29 °C, above the 27 °C of `rack_sensor.inlet_high`, for HOLD_S), as
in the paced case. In the flood run, one more enterprise's rack sensor sends FLOOD_POINTS
points evenly over the run, alternating 20/40 °C (every point crosses the limit; timestamps
are consecutive milliseconds, so they run ahead of the clock as a misbehaving device's do).
The baseline run is the same without the flooder, in the same process, just before.

Figures per run: the other tenants' alarm latency (submit of the batch carrying a device's first
violating point → the alarm book's `on_raised`), and for the flood run the flooder's alarms
(how many were raised for it, whether one is flapping and its flip count); for both, how many
points were still queued for the monitor when the others' measurement ended.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import say
from bench.monitor import RULE, TICK_S, Crossings, Feed, Ints, pct
from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.domain.uscc import compute_check_char
from shugu.monitor.engine import Transition
from shugu.monitor.service import Monitor
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry

OTHER_ENTERPRISES = 4
OTHERS_PPS = 10_000
#: As the rack sensor of the report: 60,000 points over the run, each across the limit.
FLOOD_POINTS = 60_000


def _uscc(n: int) -> str:
    first17 = f"91350112MA{n:07d}"
    return first17 + compute_check_char(first17)


def _world(tmp: Path, per_enterprise: int) -> tuple[Registry, Ints, int]:
    registry = Registry(f"sqlite:///{tmp / 'registry.sqlite'}")
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "滨海工业区")
    usccs = [_uscc(n) for n in range(OTHER_ENTERPRISES + 1)]
    ids: list[int] = []
    for e in range(OTHER_ENTERPRISES):
        ent = registry.create_enterprise(park.id, f"基准数据中心{e + 1}", usccs[e])
        ids += [
            registry.create_device(ent.id, f"rack{i:05d}", "rack_sensor")[0].id
            for i in range(per_enterprise)
        ]
    flooding = registry.create_enterprise(park.id, "抖动机房", usccs[OTHER_ENTERPRISES])
    flooder = registry.create_device(flooding.id, "rack-flap", "rack_sensor")[0].id
    return registry, np.asarray(ids, np.int64), flooder


def _run(
    tmp: Path,
    registry: Registry,
    devices: Ints,
    flooder: int | None,
    seconds: float,
    log: bool,
) -> dict[str, Any]:
    store = DuckDBTelemetryStore(tmp / f"telemetry-{'flood' if flooder else 'base'}.duckdb")
    inlet_id, rh_id = (int(m) for m in store.metric_ids(["inlet_c", "inlet_rh_pct"]))
    monitor = Monitor(registry, store)
    store.add_listener(monitor.on_batch)
    monitor.start()
    feed = Feed(devices, inlet_id, rh_id, OTHERS_PPS)
    submitted: dict[int, float] = {}
    raised: dict[int, float] = {}

    def on_raised(t: Transition, _alarm_id: int) -> None:
        if t.ref == RULE and t.device_id in submitted:
            raised.setdefault(t.device_id, time.monotonic())

    monitor.book.on_raised = on_raised
    flood_per_tick = round(FLOOD_POINTS / seconds * TICK_S)
    flood_ts = int(time.time() * 1000)
    flood_sent = 0
    start = time.monotonic()
    crossings = Crossings(feed, start, seconds, submitted)
    k = 0
    try:
        while (target := start + k * TICK_S) < start + seconds:
            now = time.monotonic()
            if target > now:
                time.sleep(target - now)
            k += 1
            batch, _, _ = crossings.next_batch()
            store.submit(batch)
            if flooder is not None:
                offsets = np.arange(flood_per_tick, dtype=np.int64)
                flips = (flood_sent + offsets) % 2 == 0
                store.submit(
                    Batch(
                        np.full(flood_per_tick, flooder, np.int32),
                        np.full(flood_per_tick, inlet_id, np.int32),
                        flood_ts + flood_sent + offsets,
                        np.where(flips, 40.0, 20.0),
                        np.full(flood_per_tick, QUALITY_GOOD, np.uint8),
                    )
                )
                flood_sent += flood_per_tick
        store.flush(timeout=120)
        deadline = time.monotonic() + 30
        while len(raised) < len(submitted) and time.monotonic() < deadline:
            time.sleep(0.02)
        backlog = monitor.stats().pending_rows
        say(log, f"{len(raised)}/{len(submitted)} raised; {backlog} points still queued")
        latencies = [(raised[d] - t) * 1000 for d, t in submitted.items() if d in raised]
        out: dict[str, Any] = {
            "others_injected_alarms": len(submitted),
            "others_missing_alarms": len(submitted) - len(latencies),
            "others_latency_p50_ms": pct(latencies, 50),
            "others_latency_p99_ms": pct(latencies, 99),
            "others_latency_max_ms": round(max(latencies), 1) if latencies else float("nan"),
            "queued_points_at_end": backlog,
        }
        if flooder is not None:
            # The flooder's own backlog drains after the measurement; its alarms are counted
            # once it has (or after a bounded wait).
            deadline = time.monotonic() + 120
            while monitor.stats().pending_rows and time.monotonic() < deadline:
                time.sleep(0.1)
            monitor.book.settle_flapping()
            alarms = [
                a
                for a in registry.list_alarms(None, device_id=flooder, limit=100_000)
                if a.rule_ref == RULE
            ]
            out |= {
                "flooder_points": flood_sent,
                "flooder_drained_after_s": round(time.monotonic() - start - seconds, 1),
                "flooder_alarms": len(alarms),
                "flooder_flapping_alarms": sum(1 for a in alarms if a.flapping),
                "flooder_flips": max((a.flips for a in alarms), default=0),
            }
    finally:
        monitor.stop()
        store.close()
    return out


def run(*, quick: bool, log: bool) -> dict[str, Any]:
    per_enterprise = 250 if quick else 2_500
    seconds = 10.0 if quick else 30.0
    tmp = Path(tempfile.mkdtemp(prefix="shugu-bench-flood-"))
    try:
        registry, devices, flooder = _world(tmp, per_enterprise)
        say(log, f"flood: {len(devices)} rack sensors in {OTHER_ENTERPRISES} enterprises")
        say(log, f"flood: baseline, {OTHERS_PPS} points/s for {seconds:.0f} s")
        base = _run(tmp, registry, devices, None, seconds, log)
        say(log, f"flood: the same with one device flapping, {FLOOD_POINTS} points")
        flood = _run(tmp, registry, devices, flooder, seconds, log)
        registry.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "devices": len(devices),
        "enterprises": OTHER_ENTERPRISES + 1,
        "others_rate_pps": OTHERS_PPS,
        "flood_rate_pps": round(FLOOD_POINTS / seconds),
        "run_s": seconds,
        "baseline": base,
        "flood": flood,
    }
