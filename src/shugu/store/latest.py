"""Latest value of every series, held in growable numpy columns.

Answering "the latest value of each metric of 50,000 series" from the point table would scan it;
this cache answers from memory and is updated per stored batch with vectorised numpy, so its cost
per point is a few array operations, not a Python object.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from shugu.domain.batch import Batch


def series_keys(
    device: npt.NDArray[np.int32], metric: npt.NDArray[np.int32]
) -> npt.NDArray[np.int64]:
    return (device.astype(np.int64) << 32) | metric.astype(np.int64)


class LatestCache:
    """Slots of (device, metric) with the newest timestamp seen, its value and quality.

    For equal timestamps the later write wins, matching the store's de-duplication rule.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._lock = threading.Lock()
        self._slot_of: dict[int, int] = {}
        self._n = 0
        self.device = np.zeros(capacity, np.int32)
        self.metric = np.zeros(capacity, np.int32)
        self.ts = np.full(capacity, np.iinfo(np.int64).min, np.int64)
        self.value = np.zeros(capacity, np.float64)
        self.quality = np.zeros(capacity, np.uint8)

    def __len__(self) -> int:
        return self._n

    def _grow(self, need: int) -> None:
        cap = len(self.device)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)

        def grown(a: npt.NDArray[np.generic], fill: int | float) -> npt.NDArray[np.generic]:
            out = np.full(new_cap, fill, a.dtype)
            out[:cap] = a
            return out

        self.device = grown(self.device, 0)  # type: ignore[assignment]
        self.metric = grown(self.metric, 0)  # type: ignore[assignment]
        self.ts = grown(self.ts, np.iinfo(np.int64).min)  # type: ignore[assignment]
        self.value = grown(self.value, 0.0)  # type: ignore[assignment]
        self.quality = grown(self.quality, 0)  # type: ignore[assignment]

    def update(self, batch: Batch) -> None:
        if len(batch) == 0:
            return
        keys = series_keys(batch.device, batch.metric)
        # Sort by (series, ts); the last row of each series run is its newest point, and among
        # equal timestamps the last written (stable sort keeps arrival order).
        order = np.lexsort((batch.ts, keys))
        sorted_keys = keys[order]
        last_of_run = np.ones(len(order), dtype=bool)
        last_of_run[:-1] = sorted_keys[1:] != sorted_keys[:-1]
        pick = order[last_of_run]
        uniq = keys[pick]
        with self._lock:
            slots = np.empty(len(uniq), np.int64)
            slot_of = self._slot_of
            new = 0
            for i, k in enumerate(uniq.tolist()):
                s = slot_of.get(k)
                if s is None:
                    s = self._n + new
                    slot_of[k] = s
                    new += 1
                slots[i] = s
            if new:
                self._grow(self._n + new)
                fresh = slots >= self._n
                self.device[slots[fresh]] = batch.device[pick[fresh]]
                self.metric[slots[fresh]] = batch.metric[pick[fresh]]
                self._n += new
            newer = batch.ts[pick] >= self.ts[slots]
            target = slots[newer]
            source = pick[newer]
            self.ts[target] = batch.ts[source]
            self.value[target] = batch.value[source]
            self.quality[target] = batch.quality[source]

    def snapshot(
        self, devices: Sequence[int] | None
    ) -> tuple[
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.uint8],
    ]:
        """Copies of (device, metric, ts, value, quality) for the given devices, sorted."""
        with self._lock:
            n = self._n
            dev = self.device[:n]
            if devices is None:
                idx = np.arange(n)
            else:
                idx = np.flatnonzero(np.isin(dev, np.asarray(devices, dtype=np.int32)))
            order = np.lexsort((self.metric[idx], dev[idx]))
            idx = idx[order]
            return (
                dev[idx].copy(),
                self.metric[idx].copy(),
                self.ts[idx].copy(),
                self.value[idx].copy(),
                self.quality[idx].copy(),
            )

    def drop_before(self, ts_ms: int) -> None:
        """Forget series whose newest point is older than ``ts_ms`` (purged by retention)."""
        with self._lock:
            n = self._n
            keep = self.ts[:n] >= ts_ms
            if keep.all():
                return
            idx = np.flatnonzero(keep)
            for arr in (self.device, self.metric, self.ts, self.value, self.quality):
                arr[: len(idx)] = arr[idx]
            # Freed slots must look empty to the next update, which compares timestamps.
            self.ts[len(idx) : n] = np.iinfo(np.int64).min
            self._n = len(idx)
            self._slot_of = {
                int(k): i
                for i, k in enumerate(
                    series_keys(self.device[: self._n], self.metric[: self._n]).tolist()
                )
            }
