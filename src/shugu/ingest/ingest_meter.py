"""Points accepted and refused per transport, second by second, for the platform's health.

Every ingest path tells the meter what became of one request or one coalesced batch (a handful
of integer additions under a lock, once per batch, not per point), so counting costs nothing
measurable next to validating and storing the batch. The meter keeps the last ``SPAN_S`` seconds
in one bucket per second: the current rate is the mean of the last complete seconds, and the
history feeds the operator's ingest chart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

#: The ways points come in: the MQTT endpoint (devices as themselves), the HTTP device API,
#: gateways (ThingsBoard's gateway form over MQTT or HTTP), Arrow IPC batches, the broker bridge.
MQTT: Final = "mqtt"
HTTP: Final = "http"
GATEWAY: Final = "gateway"
ARROW: Final = "arrow"
BROKER: Final = "broker"
TRANSPORTS: Final = (MQTT, HTTP, GATEWAY, ARROW, BROKER)

#: Seconds of history kept (ten minutes).
SPAN_S: Final = 600
#: Complete seconds the current rate is averaged over.
RATE_WINDOW_S: Final = 10


@dataclass(frozen=True, slots=True)
class TransportFigures:
    """One transport right now: points per second accepted and refused (over the last
    ``RATE_WINDOW_S`` complete seconds) and totals since the process started."""

    accepted_per_s: float
    refused_per_s: float
    accepted_total: int
    refused_total: int


class IngestMeter:
    """Per-second counts of accepted and refused points by transport; safe from any thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._index = {name: i for i, name in enumerate(TRANSPORTS)}
        self._accepted = [[0] * SPAN_S for _ in TRANSPORTS]
        self._refused = [[0] * SPAN_S for _ in TRANSPORTS]
        self._accepted_total = [0] * len(TRANSPORTS)
        self._refused_total = [0] * len(TRANSPORTS)
        #: The second the newest bucket belongs to.
        self._second = int(clock())

    def count(self, transport: str, accepted: int, refused: int = 0) -> None:
        """What became of one request or batch that came in by ``transport``."""
        i = self._index.get(transport)
        if i is None or (accepted == 0 and refused == 0):
            return
        now = int(self._clock())
        with self._lock:
            if now != self._second:
                self._advance(now)
            slot = now % SPAN_S
            self._accepted[i][slot] += accepted
            self._refused[i][slot] += refused
            self._accepted_total[i] += accepted
            self._refused_total[i] += refused

    def _advance(self, now: int) -> None:
        """Empty the buckets of the seconds between the newest one and ``now`` (lock held)."""
        gap = now - self._second
        if gap <= 0:
            return
        for second in range(self._second + 1, self._second + 1 + min(gap, SPAN_S)):
            slot = second % SPAN_S
            for series in (self._accepted, self._refused):
                for row in series:
                    row[slot] = 0
        self._second = now

    def figures(self, window_s: int = RATE_WINDOW_S) -> dict[str, TransportFigures]:
        """Each transport's current rates (over the last ``window_s`` complete seconds) and
        totals."""
        window_s = max(1, min(window_s, SPAN_S - 1))
        now = int(self._clock())
        with self._lock:
            self._advance(now)
            slots = [(now - k) % SPAN_S for k in range(1, window_s + 1)]
            out = {}
            for name, i in self._index.items():
                accepted = sum(self._accepted[i][s] for s in slots)
                refused = sum(self._refused[i][s] for s in slots)
                out[name] = TransportFigures(
                    accepted / window_s,
                    refused / window_s,
                    self._accepted_total[i],
                    self._refused_total[i],
                )
        return out

    def history(
        self, step_s: int = 10, span_s: int = SPAN_S, wall_ms: Callable[[], int] | None = None
    ) -> list[tuple[int, dict[str, float]]]:
        """Accepted points per second of each transport, averaged over steps of ``step_s``
        complete seconds, oldest first: ``[(end of the step in wall-clock ms, {transport:
        rate}), ...]``, for a chart of the last ``span_s`` seconds."""
        step_s = max(1, step_s)
        steps = max(1, min(span_s, SPAN_S - 1) // step_s)
        now = int(self._clock())
        wall_now = wall_ms() if wall_ms is not None else time.time_ns() // 1_000_000
        out: list[tuple[int, dict[str, float]]] = []
        with self._lock:
            self._advance(now)
            for step in range(steps, 0, -1):
                end = now - (step - 1) * step_s  # exclusive: the current second is incomplete
                seconds = range(end - step_s, end)
                rates = {
                    name: sum(self._accepted[i][s % SPAN_S] for s in seconds) / step_s
                    for name, i in self._index.items()
                }
                out.append((wall_now - (now - end) * 1000, rates))
        return out
