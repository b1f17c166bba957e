"""Indicator figures as the bureau reads them: a month's or a year's value of any indicator,
from what was reported, from a month-end snapshot, or computed now; and the snapshots taken.

Computed figures are computed when asked and kept for ``LIVE_CACHE_S`` seconds, so that a wall
display refreshing every ten seconds and a page opened by several people cost one computation.
A month that has ended keeps its figure as a snapshot (decision 0040), taken the first time any
figure is asked for after the month ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from shugu.region.indicators.computations import COMPUTATIONS, Computed, Sources, Span
from shugu.region.indicators.periods import PeriodKey, month_of
from shugu.store.registry.region_indicators import IndicatorRecord, IndicatorValueRecord

log = logging.getLogger(__name__)

LIVE_CACHE_S: Final = 60.0
SNAPSHOT_BY: Final = "shugu"

FigureKind = Literal["reported", "snapshot", "live", "computed", "none"]


@dataclass(frozen=True, slots=True)
class Figure:
    period: str
    value: float | None
    kind: FigureKind
    parts: dict[str, float | None] = field(default_factory=dict)
    #: Why there is no value (``no_figures``, ``live_only``, ``not_reported``...).
    missing: str | None = None
    #: Months a year's figure is made of, where it was added up or averaged from months.
    months: int | None = None


def stored_figure(record: IndicatorValueRecord) -> Figure:
    kind: FigureKind = "snapshot" if record.kind == "snapshot" else "reported"
    return Figure(record.period, record.value, kind, dict(record.parts))


class FigureBook:
    """Figures of the register's indicators, over the registry's stored values and the
    computations."""

    def __init__(
        self,
        sources: Sources,
        clock: Callable[[], int],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = sources
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._cache: dict[tuple[str, int, int], tuple[float, Computed]] = {}
        self._snapshotted: str | None = None

    def now_ms(self) -> int:
        return self._clock()

    def compute(self, computation: str, key: PeriodKey) -> Computed:
        """The computation over the period (as of now where it reaches the present)."""
        now = self._clock()
        span = Span(key.start_ms, key.end_ms, now)
        cache_key = (computation, span.start_ms, span.end_ms)
        with self._lock:
            hit = self._cache.get(cache_key)
            if hit is not None and self._monotonic() - hit[0] < LIVE_CACHE_S:
                return hit[1]
        result = COMPUTATIONS[computation](self._sources, span)
        with self._lock:
            self._cache[cache_key] = (self._monotonic(), result)
        return result

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    # -- snapshots -----------------------------------------------------------------------

    def snapshot_due(self, indicators: Sequence[IndicatorRecord]) -> int:
        """Snapshot the month that ended last where a computed indicator lacks one; asked on
        every read, it costs one query a process per month."""
        previous = month_of(self._clock()).previous_month()
        if self._snapshotted == previous.text:
            return 0
        # Pages and the wall display read at once; one of them takes the snapshots.
        with self._snapshot_lock:
            if self._snapshotted == previous.text:
                return 0
            taken = self.snapshot_month(indicators, previous, live_fallback=True)
            self._snapshotted = previous.text
            return taken

    def snapshot_month(
        self,
        indicators: Sequence[IndicatorRecord],
        month: PeriodKey,
        *,
        live_fallback: bool = False,
        replace: bool = False,
    ) -> int:
        """The month's figure of every computed indicator kept as a snapshot (those that have
        one kept unless ``replace``). A figure that exists only now (devices online) is taken
        now when ``live_fallback``: just after the month's end, it is the month-end figure."""
        computed = [i for i in indicators if i.computation is not None]
        if not computed:
            return 0
        registry = self._sources.registry
        have = {
            v.indicator_id
            for v in registry.indicator_values([i.id for i in computed], month.text, month.text)
        }
        taken = 0
        for indicator in computed:
            if indicator.id in have and not replace:
                continue
            assert indicator.computation is not None
            result = self.compute(indicator.computation, month)
            if result.value is None and result.missing == "live_only" and live_fallback:
                result = self.compute(indicator.computation, month_of(self._clock()))
            if result.value is None:
                continue
            registry.put_indicator_value(
                indicator.id,
                month.text,
                result.value,
                kind="snapshot",
                by=SNAPSHOT_BY,
                parts=result.parts,
            )
            taken += 1
        if taken:
            log.info("indicators: %d month-end snapshots of %s taken", taken, month.text)
        return taken

    # -- figures -------------------------------------------------------------------------

    def figure(
        self,
        indicator: IndicatorRecord,
        key: PeriodKey,
        stored: dict[str, IndicatorValueRecord],
    ) -> Figure:
        """The indicator's figure for a month or a year; ``stored`` holds its values by period
        (at least those of the period and, for a year, its months)."""
        if indicator.computation is not None:
            return self._computed(indicator.computation, key, stored)
        own = stored.get(key.text)
        if own is not None:
            return stored_figure(own)
        if key.month is not None:
            return Figure(key.text, None, "none", missing="not_reported")
        months = [stored[m.text] for m in key.months() if m.text in stored]
        values = [m.value for m in months if m.value is not None]
        if not values:
            return Figure(key.text, None, "none", missing="not_reported")
        if indicator.aggregate == "sum":
            total = sum(values)
        elif indicator.aggregate == "mean":
            total = sum(values) / len(values)
        else:
            total = values[-1]
        return Figure(key.text, total, "reported", months=len(values))

    def _computed(
        self, computation: str, key: PeriodKey, stored: dict[str, IndicatorValueRecord]
    ) -> Figure:
        now = self._clock()
        if key.start_ms > now:
            return Figure(key.text, None, "none", missing="future")
        snapshot = stored.get(key.text)
        if snapshot is not None and key.end_ms <= now:
            return stored_figure(snapshot)
        result = self.compute(computation, key)
        if result.value is None and key.month is None and result.missing == "live_only":
            # A past year of a figure that exists only now: its last month's snapshot.
            months = [stored[m.text] for m in reversed(key.months()) if m.text in stored]
            if months:
                return stored_figure(months[0])
        if result.value is None:
            return Figure(key.text, None, "none", missing=result.missing)
        kind: FigureKind = "live" if key.end_ms > now else "computed"
        return Figure(key.text, result.value, kind, dict(result.parts))
