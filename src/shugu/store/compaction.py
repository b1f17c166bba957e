"""Compaction: arrival-ordered rows → de-duplicated rows sorted by device.

Points arrive interleaved across all devices, so a read of one device's day would have to scan
every device's rows of that day. The compactor moves committed rows from ``points`` (arrival
order, possibly with re-sent duplicates) into ``points_sorted``: one row per (device, metric, ts),
the latest write winning, each moved chunk written in (device, metric, ts) order. DuckDB's
per-row-group min/max then lets a device's read skip the other devices' rows, and the compressed
sorted device column filters quickly.

Each compaction writes one sorted chunk, so a day holds many chunks and a device's day touches
a row group in each. Once a China calendar day has been closed for ``settle_ms``, the compactor
consolidates it: rewrites all of that day's rows as one sorted run, so that a device-day is read
from one or two row groups. Late points for a consolidated day re-open it for consolidation.

Each step is one transaction: readers see either the rows before or after it, never both or
neither. It runs on its own thread and connection, so ingest commits continue meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import duckdb

from shugu.domain.timeutil import CHINA_OFFSET_MS

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


def china_day_start(ts_ms: int) -> int:
    return ((ts_ms + CHINA_OFFSET_MS) // DAY_MS) * DAY_MS - CHINA_OFFSET_MS


class Compactor:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        committed_seq: Callable[[], int],
        *,
        min_rows: int = 1_000_000,
        max_age_s: float = 900.0,
        poll_s: float = 2.0,
        settle_ms: int = 3_600_000,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._cur = con.cursor()
        self._committed_seq = committed_seq
        self._min_rows = min_rows
        self._max_age_s = max_age_s
        self._poll_s = poll_s
        self._settle_ms = settle_ms
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        row = self._cur.sql("SELECT coalesce(min(seq), 0) - 1 FROM points").fetchall()[0]
        #: Every row with seq ≤ this is in points_sorted.
        self.compacted_seq = max(int(row[0]), 0)
        self._pending_since: float | None = None
        self._stop = threading.Event()
        #: Which kinds of work are failing now (each logged when it fails and when it recovers).
        self._failing: set[str] = set()
        self._thread = threading.Thread(target=self._loop, name="shugu-compactor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        with self._lock:
            self._cur.close()

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_s):
            pending = self._committed_seq() - self.compacted_seq
            if pending <= 0:
                self._pending_since = None
                continue
            now = time.monotonic()
            if self._pending_since is None:
                self._pending_since = now
            if pending >= self._min_rows or now - self._pending_since >= self._max_age_s:
                self.compact()
            self.consolidate_closed_days()

    def compact(self) -> int:
        """Move every committed row into points_sorted; returns the number of rows read."""
        with self._lock:
            upto = self._committed_seq()
            if upto <= self.compacted_seq:
                return 0
            moved = self._in_transaction("compaction", lambda cur: self._move(cur, upto))
            if moved is None:
                return 0
            self.compacted_seq = upto
            self._pending_since = None
            return moved

    @staticmethod
    def _move(cur: duckdb.DuckDBPyConnection, upto: int) -> int:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE moving AS "
            "SELECT device, metric, ts, arg_max(value, seq) AS value, "
            "arg_max(quality, seq) AS quality FROM points WHERE seq <= ? "
            "GROUP BY device, metric, ts",
            [upto],
        )
        lo, hi = cur.sql("SELECT min(ts), max(ts) FROM moving").fetchall()[0]
        if lo is not None:
            # A late re-send replaces the row compacted before it.
            cur.execute(
                "DELETE FROM points_sorted AS p USING moving AS m "
                "WHERE p.ts BETWEEN ? AND ? AND p.device = m.device "
                "AND p.metric = m.metric AND p.ts = m.ts",
                [lo, hi],
            )
            cur.execute(
                "INSERT INTO points_sorted SELECT * FROM moving ORDER BY device, metric, ts"
            )
            cur.execute(
                "INSERT INTO sorted_days SELECT DISTINCT "
                f"((ts + {CHINA_OFFSET_MS}) // {DAY_MS}) * {DAY_MS} - {CHINA_OFFSET_MS}, "
                "false FROM moving ON CONFLICT (day) DO UPDATE SET consolidated = false"
            )
        moved = cur.execute("DELETE FROM points WHERE seq <= ?", [upto]).fetchall()[0][0]
        cur.execute("DROP TABLE moving")
        return int(moved)

    def _in_transaction(
        self, what: str, work: Callable[[duckdb.DuckDBPyConnection], int]
    ) -> int | None:
        """Run ``work`` in one transaction; None when it failed (logged once, retried later)."""
        cur = self._cur
        try:
            cur.execute("BEGIN TRANSACTION")
            result = work(cur)
            cur.execute("COMMIT")
        except duckdb.Error as exc:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                log.debug("rollback after a failed %s failed too", what, exc_info=True)
            if what not in self._failing:
                log.error("%s failed, will retry: %s", what, exc)
                self._failing.add(what)
            return None
        if what in self._failing:
            log.warning("%s works again", what)
            self._failing.discard(what)
        return result

    def consolidate_closed_days(self) -> int:
        """Rewrite each settled, unconsolidated day as one sorted run; returns days rewritten."""
        cutoff = china_day_start(self._clock_ms() - self._settle_ms)
        with self._lock:
            try:
                days = [
                    int(row[0])
                    for row in self._cur.sql(
                        "SELECT day FROM sorted_days WHERE NOT consolidated AND day < ? "
                        "ORDER BY day",
                        params=[cutoff],
                    ).fetchall()
                ]
            except duckdb.Error as exc:
                log.error("listing days to consolidate failed, will retry: %s", exc)
                return 0
        done = 0
        for day in days:
            if self._stop.is_set():
                break
            if self.consolidate_day(day):
                done += 1
        return done

    def consolidate_day(self, day: int) -> bool:
        with self._lock:
            return (
                self._in_transaction("consolidation", lambda cur: self._resort(cur, day))
                is not None
            )

    @staticmethod
    def _resort(cur: duckdb.DuckDBPyConnection, day: int) -> int:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE day_rows AS SELECT * FROM points_sorted "
            "WHERE ts >= ? AND ts < ?",
            [day, day + DAY_MS],
        )
        cur.execute("DELETE FROM points_sorted WHERE ts >= ? AND ts < ?", [day, day + DAY_MS])
        cur.execute("INSERT INTO points_sorted SELECT * FROM day_rows ORDER BY device, metric, ts")
        cur.execute("UPDATE sorted_days SET consolidated = true WHERE day = ?", [day])
        cur.execute("DROP TABLE day_rows")
        return day
