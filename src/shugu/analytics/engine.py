"""The fact engine: hourly facts kept current as the store commits batches.

The store calls ``on_batch`` on its writer thread after each commit; the batch is queued and the
engine's own thread does the work, so ingest never waits for analytics. For each profile in a
batch the engine computes the facts the new points contribute, starting from where each device's
series ended (``facts.Carry``), and adds them to the hours they fall in. A device whose batch
reaches back to or before its last point (a late or backfilled point, a re-send) is not added to:
the hours its points can have changed are marked dirty, and recomputed from the store in full.

Recomputing reads the store while batches keep committing. Each batch carries the store's commit
sequence; a recompute notes the sequence before (S0) and after (S1) its read. A later batch that
touches the recomputed cells is skipped if it ended by S0 (the read saw it), added if it began
after S1 (the read cannot have), and otherwise makes the cells dirty again.

Hour cells of the last ``recent_hours`` are held in memory and flushed to the fact store each
``flush_s``; every device's facts per local day are held in memory too, so that a month of a
whole region is summed from days, never from hours or points.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.analytics.engine_recompute import Recomputing
from shugu.analytics.engine_state import (
    DAY_MS,
    F64,
    I64,
    ProfileState,
    carry_from_rows,
    day_of,
)
from shugu.analytics.fact_store import FactStore
from shugu.analytics.facts import (
    AlwaysPlanned,
    Carry,
    Cells,
    PlannedTime,
    Points,
    cell_keys,
    compute_cells,
)
from shugu.analytics.model import COUNTER_MAX_SPAN_S, HOUR_MS, ProfileKpis
from shugu.analytics.places import PlaceBook, Places
from shugu.domain.batch import Batch
from shugu.domain.timeutil import CHINA_OFFSET_MS, utc_now_ms
from shugu.store.exit_stop import stop_at_exit
from shugu.store.telemetry import TelemetryStore

log = logging.getLogger(__name__)


class FactEngine(Recomputing):
    def __init__(
        self,
        store: TelemetryStore,
        places: PlaceBook,
        facts: FactStore,
        profiles: dict[str, ProfileKpis],
        planned: Callable[[Places], PlannedTime] | None = None,
        *,
        recent_hours: int = 48,
        flush_s: float = 0.5,
        clock: Callable[[], int] = utc_now_ms,
    ) -> None:
        self._store = store
        self._places = places
        self._facts = facts
        self._planned = planned or (lambda places: AlwaysPlanned())
        self._recent_ms = recent_hours * HOUR_MS
        self._flush_s = flush_s
        self._clock = clock
        self._profiles = {
            name: ProfileState(kpis, Carry.empty(len(kpis.metrics)))
            for name, kpis in profiles.items()
        }
        self._queue: queue.SimpleQueue[tuple[Batch, int] | None] = queue.SimpleQueue()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._processed_seq = 0
        self._idle = threading.Event()
        self._idle.set()
        self.recomputed_cells = 0

    # Set-up ----------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the stored day totals and every series' last frame; rebuild what cannot be trusted
        (a profile whose facts changed, or hours after an unclean stop)."""
        with self._lock:
            for name, state in self._profiles.items():
                days = self._facts.day_totals(name, CHINA_OFFSET_MS)
                for i in range(len(days)):
                    state.add_to(state.days, int(days.hour[i]), int(days.device[i]), days.values[i])
                for device, hour in self._facts.first_hours(name).items():
                    state.seen(device, hour)
                edge = (self._clock() // HOUR_MS) * HOUR_MS - self._recent_ms
                recent = self._facts.get(name, None, edge, 1 << 62)
                for i in range(len(recent)):
                    hour, device = int(recent.hour[i]), int(recent.device[i])
                    state.add_to(state.recent, hour, device, recent.values[i])
            self._seed_carries()
            now = self._clock()
            clean = self._facts.meta("clean_stop")
            flushed = self._facts.meta("flushed_ms")
            for name, state in self._profiles.items():
                if name in self._facts.rebuilt:
                    since = now - self._recent_ms
                elif clean == 1 or flushed is None:
                    continue
                else:
                    since = flushed - HOUR_MS
                for device in state.carry.device.tolist():
                    state.dirty[device] = (since, now)
            self._facts.set_meta("clean_stop", 0)

    def _seed_carries(self) -> None:
        latest = self._store.latest(None)
        if latest.num_rows == 0:
            return
        device = latest.column("device").to_numpy().astype(np.int64)
        metric = latest.column("metric").cast(pa.string()).to_pylist()
        ts = latest.column("ts").to_numpy().astype(np.int64)
        value = latest.column("value").to_numpy().astype(np.float64)
        places = self._places.current()
        for name, state in self._profiles.items():
            state.carry = carry_from_rows(state.kpis, places, name, device, metric, ts, value)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shugu-analytics", daemon=True)
        self._thread.start()
        stop_at_exit(self._halt)

    def _halt(self) -> None:
        """At exit, for an engine nobody stopped: end the thread, leave the rest undone (its
        hours are recomputed at the next start, as after a crash)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def stop(self) -> None:
        """Stop the thread, then finish what is queued or dirty on the caller's thread; the stop
        is recorded as clean only when nothing was left undone."""
        joined = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            joined = not self._thread.is_alive()
            self._thread = None
        if not joined:
            log.error("analytics did not stop within 30 s; its recent hours are recomputed later")
            return
        try:
            self.process_now()
        except Exception:
            log.exception("analytics could not finish its work; its recent hours are recomputed")
            return
        with self._lock:
            self._facts.set_meta("clean_stop", 0 if self._any_dirty() else 1)

    # Input -----------------------------------------------------------------------------------

    def on_batch(self, batch: Batch) -> None:
        """The store's listener (writer thread): queue the batch with its commit sequence."""
        if len(batch):
            self._idle.clear()
            self._queue.put((batch, self._store.committed_seq))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued batch is processed, dirty hours recomputed and flushed."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_s
        while True:
            item: tuple[Batch, int] | bool | None
            try:
                item = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = False
            try:
                if item is None:
                    return
                if isinstance(item, tuple):
                    self._process(*item)
                    while True:
                        try:
                            more = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if more is None:
                            return
                        self._process(*more)
                if time.monotonic() >= next_flush:
                    self.recompute_dirty()
                    self.flush()
                    next_flush = time.monotonic() + self._flush_s
                    if self._queue.empty() and not self._any_dirty():
                        self._idle.set()
            except Exception:
                log.exception("analytics could not process a batch; its hours will be recomputed")

    def process_now(self) -> None:
        """Process everything queued, recompute and flush, on the caller's thread (tests)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._process(*item)
        self.recompute_dirty()
        self.flush()
        self._idle.set()

    def _any_dirty(self) -> bool:
        return any(state.dirty for state in self._profiles.values())

    # Processing ------------------------------------------------------------------------------

    def _process(self, batch: Batch, last_seq: int) -> None:
        first_seq = last_seq - len(batch) + 1
        places = self._places.knowing(np.unique(batch.device.astype(np.int64)))
        position = places.positions(batch.device.astype(np.int64))
        known = position >= 0
        if not known.any():
            self._processed_seq = last_seq
            return
        names = np.array([self._store.metric_name(int(m)) for m in np.unique(batch.metric)])
        metric_ids = np.unique(batch.metric)
        planned = self._planned(places)
        profile_of = np.full(len(batch), "", dtype=object)
        profile_of[known] = np.asarray(places.profile, dtype=object)[position[known]]
        with self._lock:
            for name, state in self._profiles.items():
                rows = profile_of == name
                if not rows.any():
                    continue
                self._process_profile(
                    state, batch, rows, names, metric_ids, planned, first_seq, last_seq
                )
            self._processed_seq = last_seq

    def _process_profile(
        self,
        state: ProfileState,
        batch: Batch,
        rows: npt.NDArray[np.bool_],
        names: npt.NDArray[np.str_],
        metric_ids: npt.NDArray[np.int32],
        planned: PlannedTime,
        first_seq: int,
        last_seq: int,
    ) -> None:
        kpis = state.kpis
        # Batch metric ids → the profile's metric positions (-1: a metric no fact reads).
        wanted = {m: i for i, m in enumerate(kpis.metrics)}
        lookup = np.array([wanted.get(str(n), -1) for n in names], np.int64)
        metric = lookup[np.searchsorted(metric_ids, batch.metric[rows])]
        use = metric >= 0
        if not use.any():
            return
        points = Points(
            batch.device[rows][use].astype(np.int64),
            metric[use],
            batch.ts[rows][use].astype(np.int64),
            batch.value[rows][use].astype(np.float64),
        )
        devices = np.unique(points.device)
        order = np.argsort(points.device, kind="stable")
        starts = np.searchsorted(points.device[order], devices)
        earliest = np.minimum.reduceat(points.ts[order], starts)
        latest = np.maximum.reduceat(points.ts[order], starts)
        carry = state.carry.of(devices)
        carried_ts = np.full(len(devices), np.iinfo(np.int64).min)
        carried_ts[np.searchsorted(devices, carry.device)] = carry.ts
        late = earliest <= carried_ts
        cells, ended = compute_cells(kpis, points, carry, planned)
        state.carry = state.carry.merged(ended)
        for device, lo, hi, last in zip(
            devices[late].tolist(),
            earliest[late].tolist(),
            latest[late].tolist(),
            carried_ts[late].tolist(),
            strict=True,
        ):
            self._mark_dirty(state, device, lo, max(hi, last))
        if late.any():
            keep = ~np.isin(cells.device, devices[late])
            cells = Cells(cells.device[keep], cells.hour[keep], cells.values[keep])
        self._add(state, cells, first_seq, last_seq)

    def _mark_dirty(self, state: ProfileState, device: int, lo: int, hi: int) -> None:
        back = COUNTER_MAX_SPAN_S if any(f.kind == "counter" for f in state.kpis.facts) else 0
        lo = lo - back * 1000
        old = state.dirty.get(device)
        state.dirty[device] = (lo, hi) if old is None else (min(lo, old[0]), max(hi, old[1]))

    def _add(self, state: ProfileState, cells: Cells, first_seq: int, last_seq: int) -> None:
        """Add facts of in-order points, through the guards of recent recomputes."""
        if not len(cells):
            return
        if state.guards:
            keys = cell_keys(cells.device, cells.hour)
            skip = np.zeros(len(cells), np.bool_)
            for guard in state.guards:
                hit = np.isin(keys, guard.keys)
                if not hit.any():
                    continue
                if last_seq <= guard.before_seq:
                    skip |= hit  # the recompute read these points
                elif first_seq <= guard.after_seq:
                    skip |= hit  # it may have read them: recompute again
                    for d, h in zip(
                        cells.device[hit].tolist(), cells.hour[hit].tolist(), strict=True
                    ):
                        self._mark_dirty_exact(state, d, h)
            state.guards = [g for g in state.guards if g.after_seq >= first_seq]
            if skip.any():
                cells = Cells(cells.device[~skip], cells.hour[~skip], cells.values[~skip])
        now = self._clock()
        old_edge = (now // HOUR_MS) * HOUR_MS - self._recent_ms
        for i in range(len(cells)):
            device, hour = int(cells.device[i]), int(cells.hour[i])
            if hour < old_edge:
                # Hours no longer held in memory are recomputed, not added to.
                self._mark_dirty_exact(state, device, hour)
                continue
            delta = cells.values[i]
            state.seen(device, hour)
            state.add_to(state.recent, hour, device, delta)
            state.add_to(state.days, int(day_of(hour)), device, delta)
            state.unflushed.add((device, hour))

    @staticmethod
    def _mark_dirty_exact(state: ProfileState, device: int, hour: int) -> None:
        old = state.dirty.get(device)
        end = hour + HOUR_MS - 1
        state.dirty[device] = (hour, end) if old is None else (min(hour, old[0]), max(end, old[1]))

    def recompute_enterprise(self, enterprise_id: int, from_ms: int, max_days: int = 62) -> None:
        """Recompute an enterprise's planned-time facts from ``from_ms`` (its calendar changed);
        at most ``max_days`` back."""
        now = self._clock()
        from_ms = max(from_ms, now - max_days * DAY_MS)
        if from_ms >= now:
            return
        places = self._places.current()
        mine = set(places.device[places.enterprise == enterprise_id].tolist())
        with self._lock:
            for state in self._profiles.values():
                if not any(f.planned_only for f in state.kpis.facts):
                    continue
                for device in state.carry.device.tolist():
                    if device in mine:
                        old = state.dirty.get(device)
                        lo, hi = (from_ms, now) if old is None else (min(from_ms, old[0]), now)
                        state.dirty[device] = (lo, hi)
        self._idle.clear()

    def recompute_span(self, from_ms: int, to_ms: int) -> None:
        """Recompute every device's facts over [from_ms, to_ms) from the store: how an API node
        of a cluster, which sees no batches, keeps its facts (``analytics/closed_hours.py``)."""
        places = self._places.current()
        with self._lock:
            for name, state in self._profiles.items():
                for device in places.device[places.of_profile(name)].tolist():
                    self._mark_dirty(state, device, from_ms, to_ms)
        self._idle.clear()

    @property
    def flushed_ms(self) -> int | None:
        """When the facts were last written to the fact store (None: never)."""
        return self._facts.meta("flushed_ms")

    # Flushing --------------------------------------------------------------------------------

    def flush(self) -> None:
        with self._lock:
            now = self._clock()
            edge = (now // HOUR_MS) * HOUR_MS - self._recent_ms
            for name, state in self._profiles.items():
                if state.unflushed:
                    keys = sorted(state.unflushed)
                    state.unflushed.clear()
                    device = np.array([k[0] for k in keys], np.int64)
                    hour = np.array([k[1] for k in keys], np.int64)
                    values = np.array([state.recent[h][state.slot[d]] for d, h in keys])
                    self._facts.put(name, Cells(device, hour, values))
                for old in [h for h in state.recent if h < edge]:
                    del state.recent[old]
            self._facts.set_meta("flushed_ms", now)

    # Reading ---------------------------------------------------------------------------------

    def hour_cells(self, profile: str, devices: I64, start_ms: int, end_ms: int) -> Cells:
        """Hour cells of ``devices`` in [start, end): memory for recent hours, the store before."""
        state = self._profiles[profile]
        with self._lock:
            edge = min(state.recent) if state.recent else end_ms
            stored = self._facts.get(profile, devices, start_ms, min(end_ms, edge))
            slots = state.slots_of(devices)
            have = slots >= 0
            parts = [stored]
            for hour in sorted(h for h in state.recent if start_ms <= h < end_ms):
                block = state.recent[hour]
                inside = have & (slots < len(block))
                values = block[slots[inside]]
                nonzero = values.any(axis=1)
                parts.append(
                    Cells(
                        devices[inside][nonzero],
                        np.full(int(nonzero.sum()), hour, np.int64),
                        values[nonzero].copy(),
                    )
                )
        return Cells(
            np.concatenate([p.device for p in parts]),
            np.concatenate([p.hour for p in parts]),
            np.concatenate([p.values for p in parts]),
        )

    def first_seen(self, devices: I64) -> I64:
        """Per device, the first hour it has facts for in any profile (a large number where it
        has none)."""
        never = np.iinfo(np.int64).max
        out = np.full(len(devices), never, np.int64)
        with self._lock:
            for state in self._profiles.values():
                out = np.minimum(out, state.first_hours(devices, never))
        return out

    def day_matrix(self, profile: str, days: list[int], devices: I64) -> F64:
        """Facts summed over ``days`` per device: shape (len(devices), facts)."""
        state = self._profiles[profile]
        with self._lock:
            slots = state.slots_of(devices)
            total = np.zeros((len(state.slot_device) + 1, len(state.kpis.facts)))
            for day in days:
                block = state.days.get(day)
                if block is not None:
                    rows = min(len(block), len(total) - 1)
                    total[:rows] += block[:rows]
        # Slot -1 reads the last row, which stays zero.
        out: F64 = total[slots]
        return out

    @property
    def profiles(self) -> dict[str, ProfileKpis]:
        return {name: state.kpis for name, state in self._profiles.items()}
