"""Live values and alarm changes pushed to open pages by server-sent events.

The store calls ``on_batch`` with every committed batch (on its writer thread). When no page
watches any of the batch's devices that is one ``np.isin``; otherwise the newest value of each
watched (device, metric) is kept, and within ``FLUSH_S`` the event loop hands each open page the
values of the devices it shows. Alarm changes arrive the same way from the alarm book, as the id
of the enterprise whose alarms changed; a page then refetches its alarm fragments.

A page's pending values are merged, never queued: a slow or hidden tab holds at most one value
per metric it shows, however long it lags, and gets the newest when it reads again.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from shugu.domain.batch import Batch

#: How long values gather before they go out: well inside the 1 s device-to-screen goal, and
#: few enough events that a thousand open pages cost little.
FLUSH_S: Final = 0.2

Values = dict[int, dict[str, tuple[int, float]]]


@dataclass(eq=False)
class Subscription:
    """One open page's stream: the devices it shows, the enterprises whose alarms it lists."""

    devices: frozenset[int]
    alarm_enterprises: Callable[[int], bool] | None = None
    values: Values = field(default_factory=dict)
    alarms: set[int] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self) -> tuple[Values, set[int]]:
        values, alarms = self.values, self.alarms
        self.values, self.alarms = {}, set()
        self.wake.clear()
        return values, alarms


class LiveHub:
    def __init__(self, metric_name: Callable[[int], str]) -> None:
        self._metric_name = metric_name
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()
        self._subs: set[Subscription] = set()
        self._watched: np.ndarray = np.empty(0, np.int32)
        self._pending: dict[tuple[int, int], tuple[int, float]] = {}
        self._pending_alarms: set[int] = set()
        self._armed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.delivered_events = 0

    # -- pages -------------------------------------------------------------------------------

    def subscribe(
        self, devices: Iterable[int], alarm_enterprises: Callable[[int], bool] | None = None
    ) -> Subscription:
        """Called on the event loop by the page's stream."""
        self._loop = asyncio.get_running_loop()
        sub = Subscription(frozenset(devices), alarm_enterprises)
        with self._lock:
            self._subs.add(sub)
            self._rewatch()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)
            self._rewatch()

    @property
    def open_streams(self) -> int:
        return len(self._subs)

    def _rewatch(self) -> None:
        watched: set[int] = set()
        for sub in self._subs:
            watched |= sub.devices
        self._watched = np.fromiter(watched, np.int32, len(watched))

    # -- sources (any thread) ----------------------------------------------------------------

    def on_batch(self, batch: Batch) -> None:
        watched = self._watched
        if len(watched) == 0 or len(batch) == 0:
            return
        mask = np.isin(batch.device, watched)
        if not mask.any():
            return
        device, metric = batch.device[mask], batch.metric[mask]
        ts, value = batch.ts[mask], batch.value[mask]
        order = np.argsort(ts, kind="stable")  # the newest of a pair is written last
        with self._lock:
            pending = self._pending
            for i in order.tolist():
                v = float(value[i])
                if not math.isfinite(v):
                    continue
                key = (int(device[i]), int(metric[i]))
                t = int(ts[i])
                old = pending.get(key)
                if old is None or old[0] <= t:
                    pending[key] = (t, v)
        self._arm()

    def alarms_changed(self, enterprise_id: int) -> None:
        with self._lock:
            self._pending_alarms.add(enterprise_id)
        self._arm()

    def _arm(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            if self._armed:
                return
            self._armed = True
        try:
            loop.call_soon_threadsafe(loop.call_later, FLUSH_S, self._flush)
        except RuntimeError:  # the loop closed meanwhile (shutting down)
            with self._lock:
                self._armed = False

    # -- delivery (event loop) ---------------------------------------------------------------

    def _name(self, metric_id: int) -> str:
        name = self._names.get(metric_id)
        if name is None:
            name = self._names[metric_id] = self._metric_name(metric_id)
        return name

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            alarms, self._pending_alarms = self._pending_alarms, set()
            self._armed = False
            subs = list(self._subs)
        by_device: Values = {}
        for (device, metric), point in pending.items():
            by_device.setdefault(device, {})[self._name(metric)] = point
        for sub in subs:
            woke = False
            for device in sub.devices & by_device.keys():
                sub.values.setdefault(device, {}).update(by_device[device])
                woke = True
            if alarms and sub.alarm_enterprises is not None:
                seen = {e for e in alarms if sub.alarm_enterprises(e)}
                if seen:
                    sub.alarms |= seen
                    woke = True
            if woke:
                self.delivered_events += 1
                sub.wake.set()
