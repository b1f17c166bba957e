"""Refusals that store nothing are counted in memory and written in bulk, the counts exact."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shugu.ingest.refusal_tally import RefusalTally
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.telemetry import RejectRecord


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBTelemetryStore]:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    yield s
    s.close()


def _bad_token(i: int) -> RejectRecord:
    return RejectRecord(i, None, "bad_device_token", "unknown device access token", sample="ab…")


def _counts(store: DuckDBTelemetryStore) -> dict[tuple[int, str], int]:
    return {(r["device"], r["code"]): r["n"] for r in store.reject_counts(None).to_pylist()}


def test_a_burst_is_one_write_with_exact_counts(store: DuckDBTelemetryStore) -> None:
    tally = RefusalTally(store.submit, interval_s=3600)

    async def burst() -> None:
        for i in range(1000):
            tally.add(_bad_token(i))
        tally.add(RejectRecord(5, 3, "malformed_json", "not JSON"))

    asyncio.run(burst())
    assert tally.writes == 0
    tally.wait_written()
    assert tally.writes == 1
    assert _counts(store) == {(-1, "bad_device_token"): 1000, (3, "malformed_json"): 1}
    # One sample per (device, code) and write.
    assert store.reject_samples(None, 100).num_rows == 2
    # Nothing pending: a reader's flush writes nothing.
    tally.wait_written()
    assert tally.writes == 1


def test_the_timer_writes_what_is_pending(store: DuckDBTelemetryStore) -> None:
    tally = RefusalTally(store.submit, interval_s=0.05)

    async def refused_then_idle() -> None:
        tally.add(_bad_token(1))
        tally.add(_bad_token(2))
        deadline = time.monotonic() + 30
        while tally.writes == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    asyncio.run(refused_then_idle())
    assert tally.writes == 1
    deadline = time.monotonic() + 30
    while not _counts(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _counts(store) == {(-1, "bad_device_token"): 2}


def test_counts_not_written_are_kept_for_the_next_write(tmp_path: Path) -> None:
    closed = DuckDBTelemetryStore(tmp_path / "closed.duckdb")
    closed.close()
    tally = RefusalTally(closed.submit, interval_s=3600)

    async def refused() -> None:
        for i in range(3):
            tally.add(_bad_token(i))

    asyncio.run(refused())
    with pytest.raises(Exception, match="closed"):
        tally.wait_written()
    store = DuckDBTelemetryStore(tmp_path / "open.duckdb")
    try:
        tally._submit = store.submit  # the store is back (a restart of the writer, say)
        tally.wait_written()
        assert _counts(store) == {(-1, "bad_device_token"): 3}
    finally:
        store.close()
