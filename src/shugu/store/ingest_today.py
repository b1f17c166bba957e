"""Points stored today (the China calendar day), per device and hour, kept as a running tally.

Counting today's rows in the store scans them all: at the demo district's full scale that is a
couple of hundred million rows by evening, a second or two each time. A wall display asks every
few seconds, so the store is counted once (when the tally is first wanted) and every batch
committed after that is added as it is stored: a ``bincount`` per batch, no query.

The count is by the points' own time, as the store's query is: a backfilled point of this
morning counts for today; a late point of yesterday does not. A batch committed while the first
count runs may be counted twice: a few points among millions, and only at that moment.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.domain.batch import Batch
from shugu.domain.timeutil import CHINA_OFFSET_MS, utc_now_ms

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
HOURS = 24


def china_day_start(ts_ms: int) -> int:
    """The start (ms, UTC) of the China calendar day holding ``ts_ms``."""
    return ((ts_ms + CHINA_OFFSET_MS) // DAY_MS) * DAY_MS - CHINA_OFFSET_MS


class CountedStore(Protocol):
    def add_listener(self, listener: Callable[[Batch], None]) -> None: ...

    def count_points_by_device_hour(self, start_ms: int, end_ms: int) -> pa.Table: ...


@dataclass(frozen=True, slots=True)
class TodayCounts:
    """Today's stored points: ``by_device_hour[device id, hour]`` (hours from local midnight)."""

    day_start_ms: int
    by_device_hour: npt.NDArray[np.int64]

    @property
    def total(self) -> int:
        return int(self.by_device_hour.sum())

    def per_device(self) -> npt.NDArray[np.int64]:
        """Points per device id (index), zero for ids never seen."""
        out: npt.NDArray[np.int64] = self.by_device_hour.sum(axis=1)
        return out


class IngestToday:
    """The running tally; ``add`` is the store's batch listener (on its writer thread)."""

    def __init__(self, clock: Callable[[], int] = utc_now_ms) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._day_start = china_day_start(clock())
        self._counts: npt.NDArray[np.int64] = np.zeros((0, HOURS), np.int64)

    def _roll(self, now_ms: int) -> None:
        """Start a new day's tally at local midnight (called with the lock held)."""
        day = china_day_start(now_ms)
        if day != self._day_start:
            self._day_start = day
            self._counts = np.zeros((0, HOURS), np.int64)

    def _add(
        self,
        device: npt.NDArray[np.int64],
        hour: npt.NDArray[np.int64],
        n: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """Add ``n`` points (one each when None) at (device, hour); the lock is held."""
        if len(device) == 0:
            return
        rows = int(device.max()) + 1
        if rows > len(self._counts):
            grown = np.zeros((max(rows, len(self._counts) * 2), HOURS), np.int64)
            grown[: len(self._counts)] = self._counts
            self._counts = grown
        flat = self._counts.reshape(-1)
        index = device * HOURS + hour
        if n is None:
            cells, n = np.unique(index, return_counts=True)
            flat[cells] += n
        else:
            np.add.at(flat, index, n)

    def add(self, batch: Batch) -> None:
        if len(batch) == 0:
            return
        with self._lock:
            self._roll(self._clock())
            start = self._day_start
            inside = (batch.ts >= start) & (batch.ts < start + DAY_MS) & (batch.device >= 0)
            if not inside.any():
                return
            device = batch.device[inside].astype(np.int64)
            self._add(device, (batch.ts[inside] - start) // HOUR_MS)

    def seed(self, store: CountedStore) -> None:
        """Add what the store already holds for today (once, when the tally starts)."""
        with self._lock:
            start = self._day_start
        table = store.count_points_by_device_hour(start, start + DAY_MS)
        device = table.column("device").to_numpy().astype(np.int64)
        hour = table.column("hour").to_numpy().astype(np.int64)
        n = table.column("n").to_numpy().astype(np.int64)
        keep = (device >= 0) & (hour >= 0) & (hour < HOURS)
        with self._lock:
            if start == self._day_start:
                self._add(device[keep], hour[keep], n[keep])

    def today(self) -> TodayCounts:
        with self._lock:
            self._roll(self._clock())
            return TodayCounts(self._day_start, self._counts.copy())


_tallies: weakref.WeakKeyDictionary[CountedStore, IngestToday] = weakref.WeakKeyDictionary()
_tallies_lock = threading.Lock()


def ingest_today(store: CountedStore) -> TodayCounts:
    """Today's stored points of ``store``; the first call starts its tally (one count)."""
    with _tallies_lock:
        tally = _tallies.get(store)
        if tally is None:
            tally = IngestToday()
            # Listen first, then count: nothing committed in between is missed.
            store.add_listener(tally.add)
            tally.seed(store)
            _tallies[store] = tally
    return tally.today()
