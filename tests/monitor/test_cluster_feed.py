"""A cluster's monitor workers read the points of their enterprises from ClickHouse's feed, and
take over a departed worker's enterprises without skipping a point: on a real ClickHouse server,
with membership driven by a fake clock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.ingest.beat import IngestBeat
from shugu.monitor import feed as feed_module
from shugu.monitor.anomaly_rule import AnomalyEvaluator
from shugu.monitor.feed import ClusterFeed
from shugu.monitor.service import Monitor
from shugu.store.clickhouse_store import METRICS_REREAD_S, ClickHouseTelemetryStore
from shugu.store.feed_reader import ingest_bounds, seq_at, within
from shugu.store.registry import Registry
from shugu.store.registry.cluster import MemberRecord
from tests.clickhouse import ClickHouseServer
from tests.clock import ManualClock

RULE = "rack_sensor.inlet_high"
T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def test_rows_are_taken_per_node_between_its_watermark_and_its_bound() -> None:
    seq = np.array([(5 << 10) | 1, (6 << 10) | 2, (7 << 10) | 1, (9 << 10) | 2], np.uint64)
    keep = within(seq, {1: (5 << 10) | 1, 2: 0}, {1: (9 << 10) | 1, 2: (6 << 10) | 2}, 0)
    assert keep.tolist() == [False, True, True, False]
    assert seq_at(1.0) == 1_000_000 << 10

    def member(node: int, fed: int, beat: datetime) -> MemberRecord:
        return MemberRecord(f"i{node}", "ingest", "", T0, beat, node, fed)

    bounds = ingest_bounds(
        [member(1, 100, T0), member(2, 50, T0 - timedelta(seconds=30))], T0 + timedelta(seconds=1)
    )
    assert bounds[1] == 100 and bounds[2] > 1 << 62  # a gone node: everything it wrote


@dataclass
class Cluster:
    registry: Registry
    ingest: ClickHouseTelemetryStore
    beat: IngestBeat
    clock: ManualClock[datetime]
    devices: list[int]
    inlet: int
    stores: list[ClickHouseTelemetryStore]
    url: str

    def send(self, value: float) -> None:
        n = len(self.devices)
        ts = int(self.clock.now.timestamp() * 1000)
        batch = Batch(
            np.array(self.devices, np.int32),
            np.full(n, self.inlet, np.int32),
            np.full(n, ts, np.int64),
            np.full(n, value, np.float64),
            np.full(n, QUALITY_GOOD, np.uint8),
        )
        self.ingest.submit(batch).result(30)
        self.beat.publish()
        self.clock.now += timedelta(seconds=1)

    def worker(self, name: str) -> tuple[ClusterFeed, Monitor]:
        store = ClickHouseTelemetryStore(self.url, numberer=self.registry.number_metrics)
        self.stores.append(store)
        ms = lambda: int(self.clock.now.timestamp() * 1000)  # noqa: E731
        monitor = Monitor(self.registry, store, clock=ms)
        return ClusterFeed(name, self.registry, store, monitor, clock=self.clock), monitor

    def alarmed(self) -> list[int]:
        alarms = self.registry.list_alarms(None, limit=1000)
        return sorted(a.device_id for a in alarms if a.rule_ref == RULE and a.status == "active")


@pytest.fixture
def cluster(
    tmp_path: Path, password_hasher: PasswordHasher, clickhouse_server: ClickHouseServer
) -> Iterator[Cluster]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}", password_hasher=password_hasher)
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "数字经济产业园", "350112")
    usccs = ["91350112MA000901XW", "91110108551385082Q", "91350100M000100Y43", "91350105MA2YB1CX6T"]
    devices = []
    for i, uscc in enumerate(usccs):
        enterprise = registry.create_enterprise(park.id, f"数据中心{i}", uscc, "0405")
        for j in range(2):
            devices.append(registry.create_device(enterprise.id, f"rack{j}", "rack_sensor")[0].id)
    clock = ManualClock(T0)
    url = f"clickhouse://127.0.0.1:{clickhouse_server.port}/feed_{uuid.uuid4().hex[:8]}"
    stores: list[ClickHouseTelemetryStore] = []
    holder: list[ClickHouseTelemetryStore] = []
    beat = IngestBeat("ingest-1", registry, lambda: holder[0].committed_seq, clock=clock)
    node = beat.join()
    ingest = ClickHouseTelemetryStore(url, node=node, numberer=registry.number_metrics)
    holder.append(ingest)
    stores.append(ingest)
    [inlet] = (int(m) for m in ingest.metric_ids(["inlet_c"]))
    try:
        yield Cluster(registry, ingest, beat, clock, devices, inlet, stores, url)
    finally:
        for store in stores:
            store.close()
        registry.close()


def drive(feed: ClusterFeed, monitor: Monitor, *, beat: bool = False) -> None:
    if beat:
        feed._refresh_devices()
        feed._beat()
    feed.poll()
    while monitor.stats().pending_rows:
        monitor.process_pending()


def test_a_worker_raises_alarms_from_points_another_process_stored(cluster: Cluster) -> None:
    feed, monitor = cluster.worker("monitor-a")
    drive(feed, monitor, beat=True)
    assert feed.stats().devices == len(cluster.devices)  # the only worker: every device
    cluster.send(20.0)
    drive(feed, monitor)
    assert cluster.alarmed() == []
    cluster.send(35.0)
    drive(feed, monitor)
    assert cluster.alarmed() == sorted(cluster.devices)
    # Nothing is read twice: the points were each evaluated once.
    assert feed.stats().read_rows == 2 * len(cluster.devices)


def test_a_departed_worker_s_enterprises_move_without_a_point_skipped(cluster: Cluster) -> None:
    a, monitor_a = cluster.worker("monitor-a")
    b, monitor_b = cluster.worker("monitor-b")
    cluster.registry.heartbeat("monitor-b", "monitor", cluster.clock.now)
    for feed, monitor in ((a, monitor_a), (b, monitor_b)):
        drive(feed, monitor, beat=True)
    shares = (a.stats().devices, b.stats().devices)
    assert sum(shares) == len(cluster.devices) and min(shares) > 0, shares
    cluster.send(20.0)
    for feed, monitor in ((a, monitor_a), (b, monitor_b)):
        drive(feed, monitor)
    cluster.registry.save_watermarks("monitor-b", b.watermarks)

    # B dies. Points arrive before A notices; A reads its own devices' and passes B's over.
    cluster.send(35.0)
    drive(a, monitor_a)
    mine = cluster.alarmed()
    assert 0 < len(mine) < len(cluster.devices)
    cluster.clock.now += timedelta(seconds=8)
    cluster.registry.heartbeat("ingest-1", "ingest", cluster.clock.now)
    drive(a, monitor_a, beat=True)
    assert a.stats().devices == len(cluster.devices)
    # B's devices' hot points, above B's saved watermarks, were evaluated by A; the cool ones
    # below them rebuilt state only.
    assert cluster.alarmed() == sorted(cluster.devices)
    assert a.stats().warm_rows == len(cluster.devices) - len(mine)
    alarms = cluster.registry.list_alarms(None, limit=1000)
    assert len([x for x in alarms if x.rule_ref == RULE]) == len(cluster.devices)  # once each


def test_names_numbered_by_another_node_are_read_back(cluster: Cluster) -> None:
    api = ClickHouseTelemetryStore(cluster.url, numberer=cluster.registry.number_metrics)
    cluster.stores.append(api)
    ingest_ids = cluster.ingest.metric_ids(["supply_c", "return_c"])
    time.sleep(METRICS_REREAD_S)
    assert [api.metric_id("return_c"), api.metric_id("supply_c")] == ingest_ids.tolist()[::-1]
    assert api.metric_name(int(ingest_ids[0])) == "supply_c"
    # Both nodes number a new name at once: the registry gives both the same number.
    assert api.metric_ids(["fan_rpm"]).tolist() == cluster.ingest.metric_ids(["fan_rpm"]).tolist()


def test_changes_made_on_an_api_node_reach_the_monitor_worker(cluster: Cluster) -> None:
    feed, monitor = cluster.worker("monitor-a")
    drive(feed, monitor, beat=True)
    feed._check_signals()
    cluster.send(35.0)
    drive(feed, monitor)
    device = cluster.devices[0]
    [alarm] = [
        a
        for a in cluster.registry.list_alarms(None, device_id=device, limit=100)
        if a.rule_ref == RULE
    ]
    # The API node's own monitor object (never started) clears the alarm and tells the others.
    _store, api_monitor = cluster.worker("api")
    api_monitor.on_configured = lambda: cluster.registry.bump_signal("monitor")
    api_monitor.book.add_change_listener(lambda _e: cluster.registry.bump_signal("monitor"))
    api_monitor.book.clear(alarm.id, "值班员")
    feed._check_signals()  # the worker re-reads its open alarms: the pair is no longer open
    cluster.send(36.0)
    drive(feed, monitor)
    statuses = sorted(
        a.status
        for a in cluster.registry.list_alarms(None, device_id=device, limit=100)
        if a.rule_ref == RULE
    )
    assert statuses == ["active", "cleared"]  # raised again, as a new alarm


def test_a_worker_stopping_cleanly_hands_over_at_once(cluster: Cluster) -> None:
    a, monitor_a = cluster.worker("monitor-a")
    b, monitor_b = cluster.worker("monitor-b")
    cluster.registry.heartbeat("monitor-b", "monitor", cluster.clock.now)
    for feed, monitor in ((a, monitor_a), (b, monitor_b)):
        drive(feed, monitor, beat=True)
    cluster.send(35.0)
    drive(a, monitor_a)
    assert b.poll() > 0  # read, handed to its monitor, not yet evaluated
    monitor_b.start()
    try:
        b.stop()  # waits for its monitor to evaluate them, then saves and leaves
    finally:
        monitor_b.stop()
    assert monitor_b.stats().pending_rows == 0
    # No wait for B's beats to age out: A takes its enterprises on its next beat, from B's
    # saved watermarks, so B's alarms are neither missed nor raised again.
    drive(a, monitor_a, beat=True)
    assert a.stats().devices == len(cluster.devices)
    assert cluster.alarmed() == sorted(cluster.devices)
    alarms = cluster.registry.list_alarms(None, limit=1000)
    assert len([x for x in alarms if x.rule_ref == RULE]) == len(cluster.devices)


def test_what_a_worker_s_detectors_learned_goes_with_its_enterprises(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No replay of history at the handover (WARM_S 0): what A's anomaly rule knows of B's
    devices afterwards can only be what B saved when it left (decision 0068)."""
    monkeypatch.setattr(feed_module, "WARM_S", 0)
    rule = {"key": "inlet_anomaly", "label_zh": "进风温度异常", "label_en": "inlet anomaly"}
    rule |= {"kind": "anomaly", "metric": "inlet_c"}
    for e in {cluster.registry.get_device(d).enterprise_id for d in cluster.devices}:
        cluster.registry.put_config("rule", e, {"rule": rule, "scope": {"profile": "rack_sensor"}})
    a, monitor_a = cluster.worker("monitor-a")
    b, monitor_b = cluster.worker("monitor-b")
    cluster.registry.heartbeat("monitor-b", "monitor", cluster.clock.now)
    for feed, monitor in ((a, monitor_a), (b, monitor_b)):
        drive(feed, monitor, beat=True)
    for i in range(30):
        cluster.send(22.0 + 0.1 * (i % 3))
        for feed, monitor in ((a, monitor_a), (b, monitor_b)):
            drive(feed, monitor)
    b_devices = b._owned.tolist()
    assert b_devices
    monitor_b.start()
    try:
        b.stop()  # saves what B's detectors learned, then its watermarks, and leaves
    finally:
        monitor_b.stop()
    drive(a, monitor_a, beat=True)
    assert a.stats().devices == len(cluster.devices)
    cluster.send(22.1)
    drive(a, monitor_a)
    learned: dict[int, float] = {}
    for compiled in monitor_a.engine.rules().values():  # each enterprise's own rule
        evaluator = compiled.evaluator
        if isinstance(evaluator, AnomalyEvaluator):
            for (device, _), slot in evaluator.bank.keys().items():
                learned[device] = float(evaluator.bank.n[slot])
    # 30 points learned by B, and the one A evaluated since.
    assert [learned[d] for d in b_devices] == [31.0] * len(b_devices)
