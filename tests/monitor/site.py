"""A real monitor over a registry and a store, one rack sensor fed at 30-second steps: what
the tests of learned state (decision 0068) and of learning progress share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from argon2 import PasswordHasher

from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.monitor.engine import Transition
from shugu.monitor.rule_service import save_rule
from shugu.monitor.service import Monitor
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry
from tests.clock import ManualClock

T0 = 1_800_000_000_000
STEP_MS = 30_000
DAY = 2880  # points of 30 s


def curve(n: int, seed: int, start: int = 0) -> np.ndarray:
    """A daily swing with noise and a spike now and then, at 30-second steps."""
    rng = np.random.default_rng(seed)
    i = np.arange(start, start + n)
    x = 22.0 + 1.5 * np.sin(2 * np.pi * i / DAY) + rng.normal(0, 0.1, n)
    x[rng.random(n) < 0.002] += 3.0
    return x


@dataclass
class Site:
    registry: Registry
    store: DuckDBTelemetryStore
    clock: ManualClock[int]
    device: int
    enterprise: int
    inlet: int
    tmp: Path

    def monitor(self) -> Monitor:
        return Monitor(self.registry, self.store, clock=self.clock)

    def feed(self, monitor: Monitor, values: np.ndarray, start: int) -> list[Transition]:
        """Points at 30 s from step ``start``, ten minutes a batch (points older than the
        engine's lag bound would be history), each evaluated as it comes."""
        raised: list[Transition] = []
        monitor.book.on_raised = lambda t, _id: raised.append(t)
        for at in range(0, len(values), 20):
            part = values[at : at + 20]
            ts = T0 + (start + at + np.arange(len(part))) * STEP_MS
            n = len(part)
            batch = Batch(
                np.full(n, self.device, np.int32),
                np.full(n, self.inlet, np.int32),
                ts.astype(np.int64),
                part.astype(np.float64),
                np.full(n, QUALITY_GOOD, np.uint8),
            )
            self.clock.now = int(ts[-1])
            self.store.submit(batch).result(30)
            monitor.on_batch(batch)
            while monitor.stats().pending_rows:
                monitor.process_pending()
        return [t for t in raised if t.ref.startswith("rack_sensor.") is False]


def anomaly_rule(site: Site, monitor: Monitor) -> str:
    body = {
        "rule": {
            "key": "inlet_anomaly", "label_zh": "进风温度异常", "label_en": "inlet anomaly",
            "kind": "anomaly", "metric": "inlet_c",
        },
        "scope": {"device_id": site.device},
    }  # fmt: skip
    save_rule(site.registry, monitor, site.enterprise, body)
    [ref] = [r for r, c in monitor.engine.rules().items() if c.binding.rule.kind == "anomaly"]
    return ref


def open_site(tmp_path: Path, password_hasher: PasswordHasher) -> Iterator[Site]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}", password_hasher=password_hasher)
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "数字经济产业园", "350112")
    ent = registry.create_enterprise(park.id, "甲数据中心", "91350112MA000901XW", "0405")
    device = registry.create_device(ent.id, "rack-a01", "rack_sensor")[0].id
    [inlet] = (int(m) for m in store.metric_ids(["inlet_c"]))
    try:
        yield Site(registry, store, ManualClock(T0), device, ent.id, inlet, tmp_path)
    finally:
        store.close()
        registry.close()
