"""`shugu bench clickhouse` at a small size: both figures measured, every point stored."""

from __future__ import annotations

from bench import clickhouse_store
from tests.clickhouse import ClickHouseServer


def test_the_bench_measures_the_store_next_to_the_raw_insert(
    clickhouse_server: ClickHouseServer,
) -> None:
    result = clickhouse_store.run(
        url=clickhouse_server.url("bench_check"), n_points=20_000, runs=1, log=False
    )
    assert result["points"] == 20_000 and result["server_version"]
    assert result["raw_insert_pps"] > 0 and result["store_submit_pps"] > 0
    assert result["ratio_store_to_raw"] > 0
    assert result["latest_all_ms"] > 0 and result["rollup_1h_ms"] > 0
