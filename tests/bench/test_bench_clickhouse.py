"""`shugu bench clickhouse` and `bench clickhouse-disk` at a small size: every figure measured,
every point stored."""

from __future__ import annotations

import pytest

from bench import clickhouse_disk, clickhouse_store
from shugu.store import clickhouse_cells_sql as cells_sql
from tests.clickhouse import ClickHouseServer


def test_the_bench_measures_the_store_next_to_the_raw_insert(
    clickhouse_server: ClickHouseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cells_sql, "SETTLE_MS", 0)  # the month's roll need not wait a minute
    result = clickhouse_store.run(
        url=clickhouse_server.url("bench_check"),
        n_points=20_000,
        runs=1,
        month_devices=2,
        month_queries=1,
        log=False,
    )
    assert result["points"] == 20_000 and result["server_version"]
    assert result["raw_insert_pps"] > 0 and result["store_submit_pps"] > 0
    assert result["ratio_store_to_raw"] > 0
    assert result["latest_all_ms"] > 0 and result["rollup_1h_ms"] > 0
    assert result["month_points"] == 2 * 10 * 30 * 48
    assert result["month_scan_ms"] > 0 and result["month_cells_ms"] > 0
    assert result["roll_month_s"] > 0


def test_the_disk_bench_measures_every_table_per_point(
    clickhouse_server: ClickHouseServer,
) -> None:
    result = clickhouse_disk.run(
        url=clickhouse_server.url("disk_check"), scale=0.05, hours=0.1, log=False
    )
    assert result["points_stored"] == result["points_rows_merged"] > 0
    assert result["points_per_series"] == 36  # every 10 s for 6 minutes
    for table in ("points", "feed", "cells", "latest"):
        assert result[f"{table}_bytes_per_point"] > 0, table
    parts = result["points_ts"] + result["points_value"] + result["points_seq"]
    assert parts < result["points_bytes_per_point"]
