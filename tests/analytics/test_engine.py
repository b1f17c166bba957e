"""The fact engine against a real DuckDB store: whatever order points arrive in (in order, late,
backfilled, re-sent), its hourly and daily facts equal a recomputation of the whole series."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shugu.analytics.engine import FactEngine, day_of
from shugu.analytics.fact_store import FactStore
from shugu.analytics.facts import Points, compute_cells
from shugu.analytics.model import HOUR_MS
from shugu.analytics.places import PlaceBook, Places
from shugu.domain.batch import Batch
from shugu.store.duckdb_store import DuckDBTelemetryStore
from tests.analytics.test_facts import KPIS, METRICS, LunchBreak

T0 = 1_773_100_800_000
H = HOUR_MS


def places_of(devices: list[int]) -> Places:
    n = len(devices)
    ids = np.array(devices, np.int64)
    return Places(
        device=ids,
        profile=["test"] * n,
        enterprise=np.ones(n, np.int64),
        line=np.full(n, 10, np.int64),
        park=np.ones(n, np.int64),
        industry=np.full(n, 502, np.int64),
        created_ms=np.zeros(n, np.int64),
        assets=[(10,)] * n,
        device_names={d: f"织机 {d:03d}" for d in devices},
        enterprise_names={1: "甲"},
        line_names={10: "一车间"},
        park_names={1: "园区"},
        enterprise_park={1: 1},
        enterprise_industry={1: "0502"},
        numbers={},
        texts={"meter_role": [""] * n, "loom_type": [""] * n},
        index_of={d: i for i, d in enumerate(devices)},
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBTelemetryStore]:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    yield s
    s.close()


def engine_for(store: DuckDBTelemetryStore, now: int, path: Path | None = None) -> FactEngine:
    engine = FactEngine(
        store,
        PlaceBook(lambda: places_of([1, 2, 3])),
        FactStore(path, {"test": KPIS}),
        {"test": KPIS},
        planned=lambda places: LunchBreak(),
        clock=lambda: now,
    )
    store.add_listener(engine.on_batch)
    engine.load()
    return engine


def submit(store: DuckDBTelemetryStore, rows: list[tuple[int, str, int, float]]) -> None:
    ids = store.metric_ids(list(METRICS))
    batch = Batch(
        np.array([r[0] for r in rows], np.int32),
        np.array([ids[METRICS[r[1]]] for r in rows], np.int32),
        np.array([r[2] for r in rows], np.int64),
        np.array([r[3] for r in rows], np.float64),
        np.zeros(len(rows), np.uint8),
    )
    store.submit(batch).result(timeout=10)


def brute_force(rows: list[tuple[int, str, int, float]]) -> dict[tuple[int, int], np.ndarray]:
    last = {(r[0], r[1], r[2]): r for r in rows}  # the last write of a key wins
    final = list(last.values())
    points = Points(
        np.array([r[0] for r in final], np.int64),
        np.array([METRICS[r[1]] for r in final], np.int64),
        np.array([r[2] for r in final], np.int64),
        np.array([r[3] for r in final], np.float64),
    )
    cells, _ = compute_cells(KPIS, points, planned=LunchBreak())
    return {
        (int(d), int(h)): cells.values[i]
        for i, (d, h) in enumerate(zip(cells.device, cells.hour, strict=True))
    }


def engine_cells(engine: FactEngine, start: int, end: int) -> dict[tuple[int, int], np.ndarray]:
    cells = engine.hour_cells("test", np.array([1, 2, 3], np.int64), start, end)
    out: dict[tuple[int, int], np.ndarray] = {}
    for i in range(len(cells)):
        key = (int(cells.device[i]), int(cells.hour[i]))
        out[key] = out.get(key, 0) + cells.values[i]
    return {k: v for k, v in out.items() if np.any(v)}


def same(a: dict[tuple[int, int], np.ndarray], b: dict[tuple[int, int], np.ndarray]) -> bool:
    for key in set(a) | set(b):
        x = a.get(key, np.zeros(len(KPIS.facts)))
        y = b.get(key, np.zeros(len(KPIS.facts)))
        if not np.allclose(x, y, rtol=1e-9, atol=1e-6):
            return False
    return True


@st.composite
def arrivals(draw: st.DrawFn) -> list[list[tuple[int, str, int, float]]]:
    batches = []
    for _ in range(draw(st.integers(1, 6))):
        rows = []
        for _ in range(draw(st.integers(1, 12))):
            metric = draw(st.sampled_from(list(METRICS)))
            value = (
                float(draw(st.integers(0, 2)))
                if metric == "running"
                else float(draw(st.integers(0, 40)))
            )
            rows.append(
                (draw(st.integers(1, 3)), metric, T0 + draw(st.integers(0, 20)) * 600_000, value)
            )
        batches.append(rows)
    return batches


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(arrivals(), st.booleans())
def test_facts_equal_the_whole_series_whatever_the_arrival_order(
    tmp_path: Path, batches: list[list[tuple[int, str, int, float]]], in_memory: bool
) -> None:
    # Hours in memory (a clock just after the data) or all on disk (a clock days later).
    now = T0 + 4 * H if in_memory else T0 + 10 * 24 * H
    store = DuckDBTelemetryStore(Path(tempfile.mkdtemp(dir=tmp_path)) / "t.duckdb")
    try:
        engine = engine_for(store, now)
        sent: list[tuple[int, str, int, float]] = []
        for rows in batches:
            submit(store, rows)
            sent.extend(rows)
            engine.process_now()
        expected = brute_force(sent)
        assert same(engine_cells(engine, T0 - 10 * H, T0 + 10 * H), expected)
        day = int(day_of(T0))
        days = engine.day_matrix("test", [day, day + 86_400_000], np.array([1, 2, 3]))
        by_device = np.zeros((3, len(KPIS.facts)))
        for (d, _h), v in expected.items():
            by_device[d - 1] += v
        assert np.allclose(days, by_device, atol=1e-6)
    finally:
        store.close()


def test_a_restart_keeps_the_facts_and_goes_on_from_the_last_points(tmp_path: Path) -> None:
    now = T0 + 4 * H
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    rows = [(1, "running", T0 + i * 60_000, float(i % 2)) for i in range(30)]
    more = [(1, "running", T0 + i * 60_000, float(i % 3 == 0)) for i in range(30, 50)]
    try:
        engine = engine_for(store, now, tmp_path / "a.duckdb")
        submit(store, rows)
        engine.process_now()
        engine.stop()
        engine = engine_for(store, now, tmp_path / "a.duckdb")
        submit(store, more)
        engine.process_now()
        assert same(engine_cells(engine, T0 - H, T0 + 5 * H), brute_force(rows + more))
    finally:
        store.close()
