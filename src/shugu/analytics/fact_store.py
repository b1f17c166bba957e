"""Where hourly facts are kept: one DuckDB table per profile, a row per (device, hour).

The facts are derived data: the telemetry store can always rebuild them. They live in their own
DuckDB file (``analytics.duckdb`` beside the telemetry) so that the single telemetry writer is
never held up by them, and a table whose profile's facts changed is dropped and rebuilt rather
than migrated. Each table holds a hash of the facts it was made for.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from shugu.analytics.facts import Cells
from shugu.analytics.model import ProfileKpis


def facts_signature(kpis: ProfileKpis) -> str:
    """Changes whenever what a profile's facts measure changes."""
    text = repr(
        [
            (f.name, f.kind, f.metric, f.states, f.expr and f.expr.text, f.bounds, f.planned_only)
            for f in kpis.facts
        ]
    )
    text += f"|{kpis.max_gap_s}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class FactStore:
    """Hourly fact cells per profile, persisted; safe to call from several threads."""

    def __init__(self, path: Path | None, profiles: dict[str, ProfileKpis]) -> None:
        self._con = duckdb.connect(str(path) if path is not None else ":memory:")
        self._lock = threading.Lock()
        self._profiles = profiles
        #: Profiles whose table was (re)made empty: their history must be rebuilt.
        self.rebuilt: set[str] = set()
        with self._lock:
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS fact_tables (profile VARCHAR PRIMARY KEY, "
                "signature VARCHAR NOT NULL)"
            )
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS fact_meta (key VARCHAR PRIMARY KEY, value BIGINT)"
            )
            known = dict(self._con.execute("SELECT profile, signature FROM fact_tables").fetchall())
            for name, kpis in profiles.items():
                signature = facts_signature(kpis)
                if known.get(name) == signature:
                    continue
                table = _table(name)
                columns = ", ".join(f'"{f}" DOUBLE NOT NULL' for f in kpis.fact_names)
                self._con.execute(f"DROP TABLE IF EXISTS {table}")
                self._con.execute(
                    f"CREATE TABLE {table} (device INTEGER NOT NULL, hour BIGINT NOT NULL, "
                    f"{columns}, PRIMARY KEY (device, hour))"
                )
                self._con.execute(
                    "INSERT OR REPLACE INTO fact_tables VALUES (?, ?)", [name, signature]
                )
                self.rebuilt.add(name)

    def put(self, profile: str, cells: Cells) -> None:
        """Store these cells' totals (replacing what the cells held)."""
        if not len(cells):
            return
        kpis = self._profiles[profile]
        arrays = [pa.array(cells.device.astype(np.int32)), pa.array(cells.hour)]
        arrays += [pa.array(cells.values[:, j]) for j in range(len(kpis.facts))]
        table = pa.Table.from_arrays(arrays, names=["device", "hour", *kpis.fact_names])
        with self._lock:
            cur = self._con.cursor()
            try:
                cur.register("incoming_cells", table)
                cur.execute(
                    f"INSERT OR REPLACE INTO {_table(profile)} SELECT * FROM incoming_cells"
                )
                cur.unregister("incoming_cells")
            finally:
                cur.close()

    def get(self, profile: str, devices: np.ndarray | None, start_ms: int, end_ms: int) -> Cells:
        """Cells of ``devices`` (None: all) with hours in [start, end)."""
        kpis = self._profiles[profile]
        columns = ", ".join(f'"{f}"' for f in kpis.fact_names)
        sql = f"SELECT device, hour, {columns} FROM {_table(profile)} WHERE hour >= ? AND hour < ?"
        params: list[object] = [start_ms, end_ms]
        with self._lock:
            cur = self._con.cursor()
            try:
                if devices is not None:
                    cur.register("wanted_devices", pa.table({"d": devices.astype(np.int32)}))
                    sql += " AND device IN (SELECT d FROM wanted_devices)"
                table = cur.sql(sql, params=params).to_arrow_table()
            finally:
                cur.close()
        if table.num_rows == 0:
            return Cells.empty(len(kpis.facts))
        values = np.column_stack([table.column(f).to_numpy() for f in kpis.fact_names])
        return Cells(
            table.column("device").to_numpy().astype(np.int64),
            table.column("hour").to_numpy().astype(np.int64),
            values.reshape(table.num_rows, len(kpis.facts)),
        )

    def day_totals(self, profile: str, utc_offset_ms: int) -> Cells:
        """Every device's facts per local day (the ``hour`` column holds the day's start)."""
        kpis = self._profiles[profile]
        sums = ", ".join(f'sum("{f}") AS "{f}"' for f in kpis.fact_names)
        day = f"((hour + {utc_offset_ms}) // 86400000) * 86400000 - {utc_offset_ms}"
        sql = f"SELECT device, {day} AS day, {sums} FROM {_table(profile)} GROUP BY device, day"
        with self._lock:
            table = self._con.sql(sql).to_arrow_table()
        if table.num_rows == 0:
            return Cells.empty(len(kpis.facts))
        values = np.column_stack([table.column(f).to_numpy() for f in kpis.fact_names])
        return Cells(
            table.column("device").to_numpy().astype(np.int64),
            table.column("day").to_numpy().astype(np.int64),
            values.reshape(table.num_rows, len(kpis.facts)),
        )

    def first_hours(self, profile: str) -> dict[int, int]:
        """Per device, the first hour with any fact other than zero."""
        kpis = self._profiles[profile]
        nonzero = " OR ".join(f'"{f}" <> 0' for f in kpis.fact_names) or "FALSE"
        sql = f"SELECT device, min(hour) FROM {_table(profile)} WHERE {nonzero} GROUP BY device"
        with self._lock:
            rows = self._con.execute(sql).fetchall()
        return {int(d): int(h) for d, h in rows}

    def meta(self, key: str) -> int | None:
        with self._lock:
            row = self._con.execute("SELECT value FROM fact_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else int(row[0])

    def set_meta(self, key: str, value: int) -> None:
        with self._lock:
            self._con.execute("INSERT OR REPLACE INTO fact_meta VALUES (?, ?)", [key, value])

    def purge_before(self, ts_ms: int) -> None:
        with self._lock:
            for name in self._profiles:
                self._con.execute(f"DELETE FROM {_table(name)} WHERE hour < ?", [ts_ms])

    def close(self) -> None:
        with self._lock:
            self._con.close()


def _table(profile: str) -> str:
    # Profile names are validated snake_case identifiers (domain/profiles.py).
    return f"facts_{profile}"
