"""Every enterprise's shift calendar as the fact engine and the queries ask for it: planned time
of many spans at once, and the shift an hour belongs to.

Calendars are read from the registry once and kept until a new version is saved (the calendar
service's listener invalidates that enterprise). Clocks are cached per (enterprise, day span).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from shugu.analytics.calendar import CalendarVersions, PlannedClock
from shugu.analytics.places import Places

I64 = npt.NDArray[np.int64]
DAY_MS = 86_400_000
#: A clock covers whole blocks of this many days, so that nearby questions share one.
_BLOCK_DAYS = 8


class CalendarBook:
    def __init__(self, read: Callable[[int], CalendarVersions]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._versions: dict[int, CalendarVersions] = {}
        self._clocks: dict[tuple[int, int, int], PlannedClock] = {}

    def versions(self, enterprise_id: int) -> CalendarVersions:
        with self._lock:
            found = self._versions.get(enterprise_id)
        if found is None:
            found = self._read(enterprise_id)
            with self._lock:
                self._versions[enterprise_id] = found
        return found

    def invalidate(self, enterprise_id: int, from_ms: int = 0) -> None:
        with self._lock:
            self._versions.pop(enterprise_id, None)
            for key in [k for k in self._clocks if k[0] == enterprise_id]:
                del self._clocks[key]

    def clock(self, enterprise_id: int, start_ms: int, end_ms: int) -> PlannedClock:
        """A clock covering [start, end), shared by questions in the same blocks of days."""
        block = _BLOCK_DAYS * DAY_MS
        lo = (start_ms // block) * block
        hi = -(-max(end_ms, start_ms + 1) // block) * block
        key = (enterprise_id, lo, hi)
        with self._lock:
            found = self._clocks.get(key)
        if found is None:
            found = self.versions(enterprise_id).clock(lo, hi)
            with self._lock:
                if len(self._clocks) > 4096:
                    self._clocks.clear()
                self._clocks[key] = found
        return found

    def planned_ms(self, enterprise_id: int, start_ms: int, end_ms: int) -> int:
        if end_ms <= start_ms:
            return 0
        return self.clock(enterprise_id, start_ms, end_ms).planned_ms(start_ms, end_ms)

    def planned_for(self, places: Places) -> CalendarPlanned:
        return CalendarPlanned(self, places)


class CalendarPlanned:
    """``facts.PlannedTime`` from each device's enterprise calendar."""

    def __init__(self, book: CalendarBook, places: Places) -> None:
        self._book = book
        self._places = places

    def overlap(self, device: I64, start_ms: I64, end_ms: I64) -> I64:
        out = np.zeros(len(device), np.int64)
        if not len(device):
            return out
        unique, inverse = np.unique(device, return_inverse=True)
        position = self._places.positions(unique)
        enterprise = np.where(position >= 0, self._places.enterprise[np.maximum(position, 0)], -1)[
            inverse
        ]
        for ent in np.unique(enterprise).tolist():
            rows = enterprise == ent
            if ent < 0:
                out[rows] = end_ms[rows] - start_ms[rows]  # a device the registry forgot
                continue
            lo, hi = int(start_ms[rows].min()), int(end_ms[rows].max())
            clock = self._book.clock(int(ent), lo, hi)
            out[rows] = clock.cumulative(end_ms[rows]) - clock.cumulative(start_ms[rows])
        return out
