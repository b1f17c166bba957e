"""The telemetry store's memory is capped: DuckDB's cache does not grow with the stored data.

Without a cap DuckDB keeps every block it has read or written cached up to 80 % of the
machine's memory; the soak run (``shugu bench faults --scenario soak``) saw the server grow by
about 5 MiB per million stored points (here, with random values, about 8).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shugu.domain.batch import Batch
from shugu.store.duckdb_store import DuckDBTelemetryStore

ROWS = 3_000_000
CAP_MIB = 16


def _filled_store(path: Path, cap: int | None) -> tuple[DuckDBTelemetryStore, float]:
    """A store holding ROWS points, all read once; DuckDB's memory use after that (MiB)."""
    store = DuckDBTelemetryStore(path, memory_limit_mib=cap, compact_min_rows=10**9)
    metrics = store.metric_ids([f"m{j}" for j in range(10)])
    rng = np.random.default_rng(7)
    step = 500_000
    for start in range(0, ROWS, step):
        store.submit(
            Batch(
                np.repeat(np.arange(100, dtype=np.int32), step // 100),
                np.tile(metrics, step // 10).astype(np.int32),
                np.arange(start, start + step, dtype=np.int64) + 1_700_000_000_000,
                rng.random(step),
                np.zeros(step, np.uint8),
            )
        ).result(timeout=60)
    cur = store._cursor()
    assert cur.sql("SELECT count(*), sum(value) > 0 FROM points").fetchall() == [(ROWS, True)]
    used = cur.sql("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
    return store, used / 2**20


def test_the_store_caps_duckdb_memory_whatever_it_holds(tmp_path: Path) -> None:
    capped, capped_mib = _filled_store(tmp_path / "capped.duckdb", CAP_MIB)
    try:
        setting = capped._cursor().sql("SELECT current_setting('memory_limit')").fetchall()
        assert setting[0][0].replace(" ", "") == f"{CAP_MIB}.0MiB"
    finally:
        capped.close()
    uncapped, uncapped_mib = _filled_store(tmp_path / "uncapped.duckdb", None)
    uncapped.close()
    # The same data and the same read: without the cap DuckDB keeps more than the cap cached.
    assert uncapped_mib > CAP_MIB
    assert capped_mib <= CAP_MIB
