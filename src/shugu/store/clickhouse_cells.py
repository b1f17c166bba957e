"""Hourly roll-up cells of the ClickHouse store: rolling closed hours, and re-rolling late ones.

A bucketed read of whole hours answers from one row per series and hour instead of every point
(``clickhouse_cells_sql.bucketed_from_cells``). A materialised view cannot keep such rows
itself: at-least-once delivery inserts a re-sent point again, in another block, and a view over
inserts would count it twice until a merge that may never come. So cells are rolled from the
de-duplicated points once an hour has closed, and the points that come later are tracked:

- every ``Roller.roll`` rolls the hours that closed more than ``GRACE_MS`` ago and were not yet
  rolled (``rolls.until``), a day at a time, and records how far it got;
- the ``late_mv`` view records each device-hour that receives a point once it has closed
  (``late_hours``); once its last late point has settled (``SETTLE_MS``) the roller rolls such
  an hour again and records when; reads take it from the points until then;
- rolling is idempotent: two nodes rolling the same hour write two versions of the same cells.

Retention records where it cut (``rolls.purged``), so that reads take the hour it cut through
from points, and deletes the cells and late-hour records before it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shugu.store import clickhouse_cells_sql as cells_sql
from shugu.store.clickhouse_schema import HOUR_MS, Layout
from shugu.store.clickhouse_sql import Statement

log = logging.getLogger(__name__)

#: An hour is rolled once it has been closed this long (the same settling time as the facts of
#: ``analytics/closed_hours.py``), so that points of its last moments have arrived.
GRACE_MS = 120_000
#: The most of the points one ``INSERT … SELECT`` rolls: a day of every device.
SPAN_MS = 86_400_000
#: How often a store's roller looks for hours to roll.
EVERY_S = 60.0


@dataclass(slots=True)
class RollReport:
    """What one roll did: the spans of all devices rolled, the days of late hours rolled again."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    late_days: list[int] = field(default_factory=list)


class Roller:
    """Rolls the store's closed hours into cells; ``read`` runs a query and returns its rows,
    ``write`` runs an ``INSERT … SELECT`` with the store's insert settings."""

    def __init__(
        self,
        layout: Layout,
        read: Callable[[Statement], list[tuple[Any, ...]]],
        write: Callable[[Statement], None],
    ) -> None:
        self.layout = layout
        self._read = read
        self._write = write
        self._lock = threading.Lock()

    def rolled(self) -> tuple[int, int]:
        """(until, purged): every hour before ``until`` was rolled; retention cut at
        ``purged``."""
        until, purged = self._read(cells_sql.rolled(self.layout))[0]
        return int(until or 0), int(purged or 0)

    def roll(self) -> RollReport:
        """Roll what has closed since the last roll and re-roll late hours."""
        with self._lock:
            return self._roll()

    def _roll(self) -> RollReport:
        report = RollReport()
        layout = self.layout
        (now_ms,) = self._read(cells_sql.server_now(layout))[0]
        now_ms = int(now_ms)
        # Versions follow the servers' clock (late points are stamped by it); the microseconds
        # of this machine's clock only part two rolls of the same second.
        version = now_ms * 1000 + time.time_ns() // 1000 % 1_000_000
        closed = (now_ms - GRACE_MS) // HOUR_MS * HOUR_MS
        until, _purged = self.rolled()
        if until:
            for (day,) in self._read(cells_sql.dirty_days(layout, until, now_ms)):
                day_end = min(int(day) + SPAN_MS, until)
                self._write(cells_sql.roll_dirty(layout, int(day), day_end, version, now_ms))
                self._write(cells_sql.mark_rolled(layout, int(day), day_end, now_ms))
                report.late_days.append(int(day))
            start = until
        else:
            lowest, some = self._read(cells_sql.first_point(layout))[0]
            start = int(lowest) // HOUR_MS * HOUR_MS if some else closed
        for span_start in range(start, closed, SPAN_MS):
            span_end = min(span_start + SPAN_MS, closed)
            self._write(cells_sql.roll_span(layout, span_start, span_end, version))
            # Late points in these hours that the span read are rolled now.
            self._write(cells_sql.mark_rolled(layout, span_start, span_end, now_ms))
            self._write(cells_sql.record_rolls(layout, span_end, 0))
            report.spans.append((span_start, span_end))
        if not until and start >= closed:
            self._write(cells_sql.record_rolls(layout, closed, 0))
        return report


class RollerThread:
    """Runs a roller every ``every_s`` seconds until stopped."""

    def __init__(self, roller: Roller, every_s: float) -> None:
        self._roller = roller
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clickhouse-roller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self._roller.roll()
            except Exception:
                # The next turn tries again; until then reads take the hours from points.
                log.exception("rolling hours into cells failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
