"""Today's stored points as a running tally: one count of the store, then every stored batch
added as it is committed; a new day starts from zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shugu.domain.batch import Batch
from shugu.domain.timeutil import utc_now_ms
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.ingest_today import HOUR_MS, IngestToday, china_day_start, ingest_today

#: 2026-03-10 09:30 in China (01:30 UTC).
NOW = 1_773_106_200_000
DAY = china_day_start(NOW)


def batch(device: list[int], ts: list[int]) -> Batch:
    n = len(device)
    return Batch(
        np.asarray(device, np.int32),
        np.zeros(n, np.int32),
        np.asarray(ts, np.int64),
        np.ones(n, np.float64),
        np.zeros(n, np.uint8),
    )


def test_the_day_starts_at_midnight_in_china() -> None:
    assert DAY == NOW - 9 * HOUR_MS - 30 * 60_000
    assert china_day_start(DAY) == DAY and china_day_start(DAY - 1) == DAY - 24 * HOUR_MS


def test_the_tally_counts_by_device_and_hour_and_starts_again_each_day() -> None:
    clock = [NOW]
    tally = IngestToday(lambda: clock[0])
    tally.add(batch([3, 3, 5, 3], [DAY + 1, DAY + HOUR_MS, NOW, DAY - 1]))  # the last: yesterday
    today = tally.today()
    assert today.day_start_ms == DAY and today.total == 3
    assert today.by_device_hour[3, 0] == 1 and today.by_device_hour[3, 1] == 1
    assert today.by_device_hour[5, 9] == 1
    assert today.per_device().tolist()[:6] == [0, 0, 0, 2, 0, 1]

    clock[0] = DAY + 24 * HOUR_MS + 5  # past midnight
    assert tally.today().total == 0
    tally.add(batch([1], [clock[0]]))
    assert tally.today().total == 1 and tally.today().day_start_ms == DAY + 24 * HOUR_MS


def test_the_first_count_comes_from_the_store_and_then_batches_add(tmp_path: Path) -> None:
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    try:
        now = utc_now_ms()  # the tally's clock is the real one: today's points are stamped now
        start = china_day_start(now)
        store.submit(batch([7, 7, 8], [start, now, start - 1])).result(timeout=10)
        counted = ingest_today(store)
        assert counted.total == 2 and counted.per_device()[7] == 2
        store.submit(batch([8, 8], [now, now])).result(timeout=10)
        after = ingest_today(store)  # the same tally, not a second count
        assert after.total == 4 and after.per_device()[8] == 2
        rows = store.count_points_by_device_hour(start, start + 24 * HOUR_MS).to_pylist()
        # Device 7's two points share an hour only when this runs in the first hour of the day.
        seven = [1, 1] if now - start >= HOUR_MS else [2]
        assert sorted(r["n"] for r in rows if r["device"] == 7) == seven
        assert [r["n"] for r in rows if r["device"] == 8] == [2]
    finally:
        store.close()
