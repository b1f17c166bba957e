"""The ClickHouse store on two real shards: two private servers that know each other as one
cluster, Distributed tables keyed by device over plain shards (``replicated=0``: no ZooKeeper
here). A store on either server sees every device; each device lives on one shard."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import numpy as np
import pytest
from bench.clickhouse_server import ClickHouseServer, started_servers
from clickhouse_driver import Client

from shugu.domain.batch import Batch
from shugu.store import clickhouse_cells_sql as cells_sql
from shugu.store.clickhouse_store import ClickHouseTelemetryStore
from shugu.store.telemetry import RangeQuery
from tests.clickhouse import require_clickhouse

MIDNIGHT_CST = 1_795_104_000_000
DAY = 86_400_000
DEVICES = 40


@pytest.fixture
def two_shards() -> Iterator[list[ClickHouseServer]]:
    servers = started_servers(require_clickhouse(), 2, cluster="two_shards")
    try:
        yield servers
    finally:
        for server in servers:
            server.stop(crash=True)  # its data is thrown away: no need to wait for a shutdown
            shutil.rmtree(server.root, ignore_errors=True)


def url(server: ClickHouseServer) -> str:
    return f"clickhouse://127.0.0.1:{server.port}/prov?cluster=two_shards&replicated=0"


def local_devices(server: ClickHouseServer) -> set[int]:
    client = Client(host="127.0.0.1", port=server.port)
    try:
        return {d for (d,) in client.execute("SELECT DISTINCT device FROM prov.points_local")}
    finally:
        client.disconnect()


def test_two_shards_hold_each_device_once_and_either_server_answers_for_all(
    two_shards: list[ClickHouseServer],
) -> None:
    first = ClickHouseTelemetryStore(url(two_shards[0]))
    second = None
    try:
        a, b = first.metric_ids(["temp", "rh"]).tolist()
        device = np.repeat(np.arange(1, DEVICES + 1, dtype=np.int32), 10)
        ts = MIDNIGHT_CST + np.tile(np.arange(10, dtype=np.int64) * 60_000, DEVICES)
        points = Batch(
            device,
            np.full(len(device), a, np.int32),
            ts,
            ts % 7 * 1.0,
            np.zeros(len(device), np.uint8),
        )
        assert first.submit(points).result(10) == len(points)
        assert first.submit(points.take(device <= 5)).result(10) == 50  # re-sent
        old = Batch(
            np.array([1], np.int32),
            np.array([b], np.int32),
            np.array([1000], np.int64),
            np.array([1.0]),
            np.zeros(1, np.uint8),
        )
        assert first.submit(old).result(10) == 1

        on_a, on_b = local_devices(two_shards[0]), local_devices(two_shards[1])
        assert on_a and on_b and not on_a & on_b
        assert on_a | on_b == set(range(1, DEVICES + 1))

        second = ClickHouseTelemetryStore(url(two_shards[1]))
        assert second.metric_ids(["rh", "temp"]).tolist() == [b, a]
        q = RangeQuery(
            list(range(1, DEVICES + 1)),
            ["temp"],
            MIDNIGHT_CST,
            MIDNIGHT_CST + DAY,
            DAY,
            aggregates=("count", "sum"),
        )
        for store in (first, second):
            rows = store.query_range(q).to_pylist()
            assert [r["count"] for r in rows] == [10] * DEVICES
            assert store.latest(None).num_rows == DEVICES + 1

        assert second.purge_before(MIDNIGHT_CST) == 1
        assert first.latest([1]).column("metric").to_pylist() == ["temp"]
        assert first.query_range(RangeQuery([1], ["rh"], 0, MIDNIGHT_CST)).num_rows == 0
    finally:
        first.close()
        if second is not None:
            second.close()


def test_a_node_reads_metrics_another_node_numbered_after_it_opened(
    two_shards: list[ClickHouseServer],
) -> None:
    reader = ClickHouseTelemetryStore(url(two_shards[1]))
    writer = ClickHouseTelemetryStore(url(two_shards[0]))
    try:
        (temp,) = writer.metric_ids(["temp"]).tolist()
        one = Batch(
            np.array([7], np.int32),
            np.array([temp], np.int32),
            np.array([MIDNIGHT_CST], np.int64),
            np.array([21.5]),
            np.zeros(1, np.uint8),
        )
        assert writer.submit(one).result(10) == 1
        rows = reader.query_range(RangeQuery([7], ["temp"], MIDNIGHT_CST, MIDNIGHT_CST + 1))
        assert rows.column("value").to_pylist() == [21.5]
        assert reader.latest([7]).column("metric").to_pylist() == ["temp"]
    finally:
        writer.close()
        reader.close()


def test_roll_up_cells_on_two_shards_answer_as_the_scan(
    two_shards: list[ClickHouseServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cells_sql, "SETTLE_MS", 0)  # a roll a second later settles late points
    first = ClickHouseTelemetryStore(url(two_shards[0]))
    second = ClickHouseTelemetryStore(url(two_shards[1]))
    try:
        metrics = first.metric_ids(["temp", "rh"]).tolist()
        rng = np.random.default_rng(3)
        n = 20_000
        points = Batch(
            rng.integers(1, DEVICES + 1, n).astype(np.int32),
            np.array(metrics, np.int32)[rng.integers(0, 2, n)],
            MIDNIGHT_CST - DAY + rng.integers(0, 3 * DAY, n).astype(np.int64),
            rng.integers(0, 100, n).astype(np.float64),
            (rng.random(n) < 0.1).astype(np.uint8),
        )
        first.submit(points).result(30)
        time.sleep(1.1)
        assert first.roll().spans
        first.submit(points.take(np.arange(n) < 500)).result(30)  # re-sent after the roll
        aggregates = ("avg", "min", "max", "sum", "count", "first", "last")
        q = RangeQuery(
            list(range(1, DEVICES + 1)),
            None,
            MIDNIGHT_CST - DAY,
            MIDNIGHT_CST + 2 * DAY,
            DAY,
            aggregates=aggregates,
        )
        first.read_cells = False
        scan = first.query_range(q).to_pylist()
        time.sleep(1.1)
        assert second.roll().late_days  # the other node rolls the late hours again
        for store in (first, second):
            store.read_cells = True
            assert store.query_range(q).to_pylist() == scan
        client = Client(host="127.0.0.1", port=two_shards[1].port)
        try:
            (cells_here,) = client.execute("SELECT count() FROM prov.cells_local")[0]
        finally:
            client.disconnect()
        assert cells_here > 0  # each shard holds the cells of its own devices
    finally:
        first.close()
        second.close()
