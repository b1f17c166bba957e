"""What only the embedded store has: its file, crash safety and compaction. The protocol's
behaviour is tested for every store in test_telemetry_store_protocol.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shugu.domain.batch import Batch
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.telemetry import RangeQuery

DAY = 86_400_000
# 2026-11-20 00:00 China time, in ms since 1970 UTC.
MIDNIGHT_CST = 1_795_104_000_000


def batch(rows: list[tuple[int, int, int, float]]) -> Batch:
    d, m, t, v = zip(*rows, strict=True) if rows else ((), (), (), ())
    return Batch(
        np.array(d, np.int32),
        np.array(m, np.int32),
        np.array(t, np.int64),
        np.array(v, np.float64),
        np.zeros(len(rows), np.uint8),
    )


@pytest.fixture
def store(tmp_path: Path) -> DuckDBTelemetryStore:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    yield s  # type: ignore[misc]
    s.close()


CRASH_AFTER_ACK = """
import os, sys
import numpy as np
from shugu.domain.batch import Batch
from shugu.store.duckdb_store import DuckDBTelemetryStore
s = DuckDBTelemetryStore(sys.argv[1])
a, b = s.metric_ids(["temp", "rh"]).tolist()
n = s.submit(Batch(np.array([1, 1], np.int32), np.array([a, b], np.int32),
                   np.array([1000, 1000], np.int64), np.array([20.0, 40.0]),
                   np.zeros(2, np.uint8))).result(timeout=10)
print(n, flush=True)
os._exit(0)  # die at once: no close, no checkpoint
"""


def test_acknowledged_points_survive_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    out = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_ACK, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "2"
    again = DuckDBTelemetryStore(path)
    try:
        assert again.count_points() == 2
        assert again.metric_ids(["temp", "rh"]).tolist() == [1, 2]
        latest = again.latest([1]).to_pylist()
        assert {(r["metric"], r["value"]) for r in latest} == {("temp", 20.0), ("rh", 40.0)}
    finally:
        again.close()


def test_compaction_keeps_every_answer(store: DuckDBTelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    rows = [(d, m, MIDNIGHT_CST + i * 1000, float(i + d)) for i in range(50) for d in (1, 2)]
    store.submit(batch(rows)).result()
    store.submit(batch(rows[:10])).result()  # re-sends before compaction
    q = RangeQuery(
        [1, 2], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY, 60_000, aggregates=("count", "sum")
    )
    before = store.query_range(q).to_pylist()
    assert store.compactor.compact() == 110
    assert store.query_range(q).to_pylist() == before
    # A late re-send with a new value after compaction replaces the compacted row.
    store.submit(batch([(1, m, MIDNIGHT_CST, 100.0)])).result()
    raw = store.query_range(RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + 1))
    assert raw.column("value").to_pylist() == [100.0]
    store.compactor.compact()
    raw = store.query_range(RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY))
    assert raw.num_rows == 50 and raw.column("value").to_pylist()[0] == 100.0
    assert store.count_points() == 100


def test_compaction_runs_beside_ingest(tmp_path: Path) -> None:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb", compact_min_rows=1)
    s.compactor._poll_s = 0.01
    try:
        (m,) = s.metric_ids(["x"]).tolist()
        for k in range(200):
            s.submit(batch([(1, m, MIDNIGHT_CST + k * 1000 + j, 1.0) for j in range(10)])).result()
        s.flush()
        s.compactor.compact()
        q = RangeQuery([1], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY, DAY, aggregates=("count",))
        assert s.query_range(q).column("count").to_pylist() == [2000]
    finally:
        s.close()


def test_reopen_after_compaction_keeps_latest(tmp_path: Path) -> None:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    (m,) = s.metric_ids(["x"]).tolist()
    s.submit(batch([(1, m, 1000, 1.0), (1, m, 2000, 2.0)])).result()
    s.compactor.compact()
    s.submit(batch([(1, m, 1500, 1.5)])).result()
    s.close()
    again = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    try:
        assert again.latest([1]).to_pylist()[0]["value"] == 2.0
        assert again.count_points() == 3
    finally:
        again.close()


def test_closed_days_are_consolidated_into_one_sorted_run(store: DuckDBTelemetryStore) -> None:
    (m,) = store.metric_ids(["x"]).tolist()
    for chunk in range(3):  # three compactions of the same day → three chunks
        rows = [
            (d, m, MIDNIGHT_CST + chunk * 3_600_000 + i, 1.0) for d in (1, 2, 3) for i in range(5)
        ]
        store.submit(batch(rows)).result()
        store.compactor.compact()
    store.compactor._clock_ms = lambda: MIDNIGHT_CST + 2 * DAY
    assert store.compactor.consolidate_closed_days() == 1
    assert store.compactor.consolidate_closed_days() == 0  # nothing left to do
    devices = store._cursor().sql("SELECT device FROM points_sorted").fetchall()
    assert [d for (d,) in devices] == [1] * 15 + [2] * 15 + [3] * 15
    q = RangeQuery([2], None, MIDNIGHT_CST, MIDNIGHT_CST + DAY, DAY, aggregates=("count",))
    assert store.query_range(q).column("count").to_pylist() == [15]
    # A late point re-opens the day.
    store.submit(batch([(2, m, MIDNIGHT_CST + 7, 1.0)])).result()
    store.compactor.compact()
    assert store.compactor.consolidate_closed_days() == 1
    assert store.query_range(q).column("count").to_pylist() == [16]
