"""The fact engine's recomputation: dirty hours of devices computed again from the store, in
chunks of devices and day-long windows, and their totals set in place of the old ones (with the
day totals kept in step). ``engine.py``'s module docstring says when hours become dirty and how
a recompute's guard keeps batches committed during its read from counting twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from shugu.analytics.engine_state import ProfileState, RecomputeGuard, carry_from_table, day_of
from shugu.analytics.fact_store import FactStore
from shugu.analytics.facts import Cells, PlannedTime, Points, cell_keys, compute_cells
from shugu.analytics.model import COUNTER_MAX_SPAN_S, HOUR_MS
from shugu.analytics.places import PlaceBook, Places
from shugu.store.telemetry import RangeQuery, TelemetryStore

log = logging.getLogger(__name__)

#: Devices read from the store per recompute query, and the hours of one read: a mill's looms
#: report every few seconds, so a day of 32 of them is a few million rows.
RECOMPUTE_CHUNK = 32
RECOMPUTE_WINDOW_MS = 24 * HOUR_MS
RECOMPUTE_LIMIT = 50_000_000


class Recomputing:
    """The recomputing part of ``FactEngine``, which provides these attributes."""

    _store: TelemetryStore
    _places: PlaceBook
    _facts: FactStore
    _planned: Callable[[Places], PlannedTime]
    _recent_ms: int
    _clock: Callable[[], int]
    _profiles: dict[str, ProfileState]
    _lock: threading.RLock
    recomputed_cells: int

    def recompute_dirty(self) -> None:
        with self._lock:
            work = [(name, state, dict(state.dirty)) for name, state in self._profiles.items()]
            for _, state, _ in work:
                state.dirty.clear()
        places = self._places.current()
        planned = self._planned(places)
        for name, state, dirty in work:
            devices = sorted(dirty)
            for i in range(0, len(devices), RECOMPUTE_CHUNK):
                chunk = devices[i : i + RECOMPUTE_CHUNK]
                self._recompute(name, state, {d: dirty[d] for d in chunk}, planned)

    def _recompute(
        self,
        name: str,
        state: ProfileState,
        spans: dict[int, tuple[int, int]],
        planned: PlannedTime,
    ) -> None:
        kpis = state.kpis
        devices = list(spans)
        now = self._clock()
        first_hour = (min(lo for lo, _ in spans.values()) // HOUR_MS) * HOUR_MS
        last_point = max(hi for _, hi in spans.values())
        # A late value holds until its metric's next reading: the hours up to it changed too.
        after = self._store.first_after(devices, list(kpis.metrics), last_point)
        if after.num_rows:
            last_point = max(last_point, int(after.column("ts").to_numpy().max()))
        last_point = min(last_point, now)
        end_hour = (last_point // HOUR_MS) * HOUR_MS + HOUR_MS
        for window in range(first_hour, end_hour, RECOMPUTE_WINDOW_MS):
            self._recompute_window(
                name, state, devices, window, min(window + RECOMPUTE_WINDOW_MS, end_hour), planned
            )

    def _recompute_window(
        self,
        name: str,
        state: ProfileState,
        devices: list[int],
        first_hour: int,
        end_hour: int,
        planned: PlannedTime,
    ) -> None:
        """Recompute the hours [first_hour, end_hour) of ``devices`` from the store."""
        kpis = state.kpis
        reach = int(max(kpis.max_gap_s, COUNTER_MAX_SPAN_S) * 1000)
        before_seq = self._store.committed_seq
        before = self._store.values_before(devices, list(kpis.metrics), first_hour)
        rows = self._store.query_range(
            RangeQuery(
                devices=devices,
                metrics=list(kpis.metrics),
                start_ms=first_hour,
                end_ms=end_hour + reach,
                limit=RECOMPUTE_LIMIT,
            )
        )
        if rows.num_rows >= RECOMPUTE_LIMIT and len(devices) > 1:
            # Too many rows for one read: fewer devices at a time, never a truncated answer.
            half = len(devices) // 2
            for part in (devices[:half], devices[half:]):
                self._recompute_window(name, state, part, first_hour, end_hour, planned)
            return
        if rows.num_rows >= RECOMPUTE_LIMIT:
            log.error(
                "device %d has over %d points in a day; its facts are incomplete",
                devices[0],
                RECOMPUTE_LIMIT,
            )
        after_seq = self._store.committed_seq
        index = {m: i for i, m in enumerate(kpis.metrics)}
        carry = carry_from_table(kpis, before, index)
        metric = (
            np.array([index[str(m)] for m in rows.column("metric").to_pylist()], np.int64)
            if rows.num_rows
            else np.zeros(0, np.int64)
        )
        points = Points(
            rows.column("device").to_numpy().astype(np.int64),
            metric,
            rows.column("ts").to_numpy().astype(np.int64),
            rows.column("value").to_numpy().astype(np.float64),
        )
        cells, _ = compute_cells(kpis, points, carry, planned, hours=(first_hour, end_hour))
        # Every dirty (device, hour) gets its new total, zero where nothing contributes.
        hours = np.arange(first_hour, end_hour, HOUR_MS, dtype=np.int64)
        grid_device = np.repeat(np.array(devices, np.int64), len(hours))
        grid_hour = np.tile(hours, len(devices))
        grid = Cells(grid_device, grid_hour, np.zeros((len(grid_device), len(kpis.facts))))
        position = np.searchsorted(
            cell_keys(grid_device, grid_hour), cell_keys(cells.device, cells.hour)
        )
        grid.values[position] = cells.values
        with self._lock:
            self._replace(name, state, grid)
            state.guards.append(
                RecomputeGuard(cell_keys(grid_device, grid_hour), before_seq, after_seq)
            )
            self.recomputed_cells += len(grid_device)

    def _replace(self, name: str, state: ProfileState, cells: Cells) -> None:
        """Set these cells' totals, keeping the day totals in step."""
        edge = (self._clock() // HOUR_MS) * HOUR_MS - self._recent_ms
        old_rows = cells.hour < edge
        old = Cells.empty(len(state.kpis.facts))
        if old_rows.any():
            devices = np.unique(cells.device[old_rows])
            old = self._facts.get(
                name, devices, int(cells.hour[old_rows].min()), int(cells.hour[old_rows].max()) + 1
            )
        stored = {
            (int(d), int(h)): old.values[i]
            for i, (d, h) in enumerate(zip(old.device.tolist(), old.hour.tolist(), strict=True))
        }
        to_store: list[int] = []
        for i in range(len(cells)):
            device, hour = int(cells.device[i]), int(cells.hour[i])
            new = cells.values[i]
            if hour >= edge:
                held = state.get_from(state.recent, hour, device)
                previous = None if held is None else held.copy()
                slot = state.slot_of(device)
                state.block(state.recent, hour, slot + 1)[slot] = new
                state.unflushed.add((device, hour))
            else:
                previous = stored.get((device, hour))
                to_store.append(i)
            if new.any():
                state.seen(device, hour)
            change = new if previous is None else new - previous
            if change.any():
                state.add_to(state.days, int(day_of(hour)), device, change)
        if to_store:
            pick = np.array(to_store)
            self._facts.put(name, Cells(cells.device[pick], cells.hour[pick], cells.values[pick]))
