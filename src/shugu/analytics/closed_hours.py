"""The facts of an API node of a cluster: every hour recomputed from the store once it closes.

In one process the store hands each committed batch to the fact engine. An API node of a
cluster stores nothing, so no batch reaches it; its engine instead recomputes each hour of every
device from the telemetry store once the hour has closed and its late points have had
``SETTLE_S`` to arrive: one read of each hour, the same work the ingest of that hour was. Its
KPIs so run an hour behind the ingest (the current hour is not in them); points that arrive
later than ``SETTLE_S`` after their hour count once the hour is recomputed for another reason
(a calendar saved), or on a node that runs ``--role all``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from shugu.analytics.engine import FactEngine
from shugu.analytics.model import HOUR_MS
from shugu.domain.timeutil import utc_now_ms

log = logging.getLogger(__name__)

#: How long after an hour ends its late points may still arrive before it is computed.
SETTLE_S = 120
#: How often the node looks for hours that have closed.
EVERY_S = 60.0
#: The hours computed at a first start, when the fact store has none.
FIRST_HOURS = 48


class ClosedHours:
    def __init__(self, engine: FactEngine, *, clock: Callable[[], int] = utc_now_ms) -> None:
        self._engine = engine
        self._clock = clock
        #: Hours before this one are computed.
        self.done_until: int | None = None

    def tick(self) -> tuple[int, int] | None:
        """Queue the hours that closed since the last look; the span queued, if any."""
        closed = (self._clock() - SETTLE_S * 1000) // HOUR_MS * HOUR_MS
        if self.done_until is None:
            flushed = self._engine.flushed_ms
            first = closed - FIRST_HOURS * HOUR_MS
            # After a restart, from the hour that was open when the facts were last written.
            self.done_until = first if flushed is None else max(first, flushed // HOUR_MS * HOUR_MS)
        if closed <= self.done_until:
            return None
        span = (self.done_until, closed)
        self._engine.recompute_span(*span)
        self.done_until = closed
        return span

    async def run(self) -> None:
        while True:
            try:
                span = self.tick()
                if span is not None:
                    log.info("facts of the hours from %d to %d queued for recompute", *span)
            except Exception:
                # A store or registry out of reach: the same hours are queued at the next look.
                log.exception("closed hours could not be queued")
            await asyncio.sleep(EVERY_S)
