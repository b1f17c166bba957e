"""TelemetryStore on ClickHouse, for a cluster: the native protocol and numpy column inserts.

The schema is in ``clickhouse_schema.py``, the queries in ``clickhouse_sql.py``, the inserting
thread in ``clickhouse_writer.py`` and the reads in ``clickhouse_reads.py``; this module opens
them on a server named by a URL, keeps the metric dictionary and runs retention.

``clickhouse://[user[:password]@]host[:port][/database][?cluster=NAME&insert_quorum=N]``: with
a cluster the tables are Replicated and Distributed (see ``clickhouse_schema.py``) and inserts
wait for the Distributed table to have written to the shards (``insert_distributed_sync``) and,
with ``insert_quorum``, for that many replicas to have the rows. ``replicated=0`` makes a
cluster of plain shards without ZooKeeper: the store then creates the tables, and deletes for
retention, on every shard the server's ``system.clusters`` lists.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from clickhouse_driver import Client
from clickhouse_driver import errors as driver_errors

from shugu.domain.batch import Batch
from shugu.domain.errors import OverloadedError, UnavailableError, ValidationError
from shugu.store import clickhouse_cells_sql as cells_sql
from shugu.store import clickhouse_sql as sql
from shugu.store.clickhouse_cells import Roller, RollerThread, RollReport
from shugu.store.clickhouse_reads import READ_FAILURES, ClickHouseReads
from shugu.store.clickhouse_schema import (
    FEED_KEEP_DAYS,
    NODE_BITS,
    Layout,
    schema_statements,
)
from shugu.store.clickhouse_writer import Writer
from shugu.store.exit_stop import stop_at_exit
from shugu.store.telemetry import AttributeRecord, Rejects

DEFAULT_PORT = 9000


@dataclass(frozen=True, slots=True)
class ClickHouseTarget:
    """A server and the store's place on it, as a ``clickhouse://`` URL names them."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    user: str = "default"
    password: str = ""
    layout: Layout = field(default_factory=Layout)
    insert_quorum: int = 0

    @staticmethod
    def from_url(url: str) -> ClickHouseTarget:
        """The target a ``clickhouse://user:password@host:port/database?cluster=…`` URL names;
        a ValidationError (``invalid_telemetry_url``) says what is wrong with any other."""
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
            if parts.scheme != "clickhouse":
                raise ValueError("the scheme must be clickhouse://")
            options = dict(urllib.parse.parse_qsl(parts.query))
            quorum = options.get("insert_quorum", "0")
            if not quorum.isdigit():
                raise ValueError(f"insert_quorum must be a whole number, not {quorum!r}")
            layout = Layout(
                parts.path.strip("/") or "shugu",
                options.get("cluster"),
                options.get("replicated", "1") not in ("0", ""),
            )
        except ValueError as exc:
            raise ValidationError(
                f"not a usable ClickHouse URL ({exc}); expected "
                "clickhouse://user:password@host:9000/database",
                code="invalid_telemetry_url",
                field="telemetry_url",
            ) from exc
        return ClickHouseTarget(
            host=parts.hostname or "127.0.0.1",
            port=port or DEFAULT_PORT,
            user=urllib.parse.unquote(parts.username or "default"),
            password=urllib.parse.unquote(parts.password or ""),
            layout=layout,
            insert_quorum=int(quorum),
        )

    def client(self, host: str | None = None, port: int | None = None) -> Client:
        """A client of this server (or of another shard of its cluster, same credentials)."""
        return Client(
            host=host or self.host,
            port=port or self.port,
            user=self.user,
            password=self.password,
            connect_timeout=3,
            send_receive_timeout=60,
            settings={"strings_as_bytes": False},
        )

    @property
    def insert_settings(self) -> dict[str, object]:
        settings: dict[str, object] = {}
        if self.layout.cluster:
            settings["insert_distributed_sync"] = 1
        if self.insert_quorum:
            settings["insert_quorum"] = self.insert_quorum
        return settings


#: How often, at most, a miss in the metric dictionary reads it again from the server.
METRICS_REREAD_S = 1.0


class ClickHouseTelemetryStore(ClickHouseReads):
    """TelemetryStore on a ClickHouse server or cluster."""

    def __init__(
        self,
        url: str,
        *,
        commit_linger_ms: float = 5.0,
        max_commit_rows: int = 1_000_000,
        max_queued_jobs: int = 10_000,
        max_backlog_rows: int = 2_000_000,
        retry_s: float = 2.0,
        node: int = 0,
        numberer: Callable[[Sequence[str]], Mapping[str, int]] | None = None,
        roll_every_s: float | None = None,
    ) -> None:
        """``node`` is this ingest node's number in a cluster (the low bits of every row
        sequence it writes); ``numberer`` numbers new metric names once for the whole cluster
        (the registry), where without it this server's dictionary numbers them;
        ``roll_every_s``: how often to roll closed hours into cells (None, the default: only on
        ``roll``; the runtime turns it on for the nodes that answer roll-ups)."""
        self.target = ClickHouseTarget.from_url(url)
        self.layout = self.target.layout
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()
        self._closed = False
        self._numberer = numberer
        self._metrics_read_at = 0.0
        #: With a quorum below the replica count, a feed read must not meet a replica that has
        #: not yet caught up with what the quorum confirmed.
        self._feed_settings: dict[str, object] = {"use_numpy": True}
        if self.target.insert_quorum:
            self._feed_settings["select_sequential_consistency"] = 1
        try:
            for other in self._on_every_shard(
                [(ddl, {}) for ddl in schema_statements(self.layout)]
            ):
                other.disconnect()
            self._metric_ids: dict[str, int] = {}
            self._metric_names: dict[int, str] = {}
            self._metric_lock = threading.Lock()
            self._load_metrics()
            (top,) = self._rows(sql.max_seq(self.layout))[0]
        except (driver_errors.Error, OSError, EOFError) as exc:
            self._disconnect_all()
            raise UnavailableError(
                f"cannot open the ClickHouse telemetry store: {exc}", code="store_unavailable"
            ) from exc
        # Sequences decide which write of a point wins: they keep growing across restarts and,
        # starting from the clock in microseconds, roughly follow time across ingest nodes.
        first_counter = max(int(top or 0) >> NODE_BITS, time.time_ns() // 1000)
        self._writer = Writer(
            self.layout,
            self.target.client,
            first_counter,
            node=node,
            insert_settings=self.target.insert_settings,
            linger_ms=commit_linger_ms,
            max_commit_rows=max_commit_rows,
            max_queued_jobs=max_queued_jobs,
            max_backlog_rows=max_backlog_rows,
            retry_s=retry_s,
        )
        self._roller = Roller(self.layout, self._rows, self._write_select)
        self._rolling = None if roll_every_s is None else RollerThread(self._roller, roll_every_s)
        stop_at_exit(self.close)

    # -- connections -------------------------------------------------------------------------

    def _client(self) -> Any:
        """This thread's client: a client is one connection, used by one thread at a time."""
        client = getattr(self._local, "client", None)
        if client is None:
            with self._clients_lock:
                if self._closed:
                    raise UnavailableError("the store is closed", code="store_closed")
                client = self.target.client()
                self._clients.append(client)
            self._local.client = client
        return client

    def _on_every_shard(
        self, statements: Sequence[tuple[str, Any]], settings: dict[str, object] | None = None
    ) -> list[Any]:
        """Run statements on this server and, in a cluster of plain shards, on every other
        shard too (what ZooKeeper's distributed DDL does otherwise); returns the clients used
        on other shards, connected, for the caller to disconnect."""
        here = (self.target.host, self.target.port)
        others: list[Any] = []
        if self.layout.per_shard:
            for host, port in self._rows(sql.cluster_hosts(self.layout)):
                if (str(host), int(port)) != here:
                    others.append(self.target.client(str(host), int(port)))
        for client in [self._client(), *others]:
            for text, params in statements:
                client.execute(text, params, settings=settings)
        return others

    def _write_select(self, statement: sql.Statement) -> None:
        """An ``INSERT … SELECT`` of the server's own rows, with the inserts' settings."""
        text, params = statement
        try:
            self._client().execute(text, params, settings=self.target.insert_settings)
        except READ_FAILURES as exc:
            self._local.client = None
            raise UnavailableError(
                f"the telemetry store cannot be written right now: {exc}",
                code="store_unavailable",
            ) from exc

    def _disconnect_all(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.disconnect()
            self._clients.clear()

    # -- metrics dictionary ------------------------------------------------------------------

    def _load_metrics(self) -> None:
        for mid, name in self._rows(sql.metrics(self.layout)):
            self._metric_ids[str(name)] = int(mid)
            self._metric_names[int(mid)] = str(name)

    def metric_ids(self, names: Sequence[str]) -> npt.NDArray[np.int32]:
        ids = self._metric_ids
        missing = [name for name in names if name not in ids]
        if missing:
            self._number_metrics(missing)
        return np.fromiter((ids[name] for name in names), np.int32, count=len(names))

    def _number_metrics(self, names: list[str]) -> None:
        with self._metric_lock:
            try:
                # Another node may have numbered some of them since this one last looked.
                self._load_metrics()
                fresh = self._fresh_numbers([n for n in names if n not in self._metric_ids])
                if not fresh:
                    return
                rows = [[mid, name] for name, mid in fresh.items()]
                # The dictionary is whole on every shard (replicated, or copied here).
                insert = (sql.insert(self.layout, "metrics", ("id", "name")), rows)
                for other in self._on_every_shard([insert], self.target.insert_settings):
                    other.disconnect()
            except (driver_errors.Error, OSError, EOFError) as exc:
                self._local.client = None
                raise UnavailableError(
                    f"the telemetry store cannot number new metrics: {exc}",
                    code="store_unavailable",
                ) from exc
            for name, mid in fresh.items():
                self._metric_names[mid] = name
                self._metric_ids[name] = mid

    def _fresh_numbers(self, names: list[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(names))
        if self._numberer is not None:
            numbered = self._numberer(wanted)
            return {name: int(numbered[name]) for name in wanted}
        top = max(self._metric_names, default=0)
        return {name: top + i + 1 for i, name in enumerate(wanted)}

    def metric_name(self, metric_id: int) -> str:
        name = self._metric_names.get(metric_id)
        if name is None and self._reread_metrics():
            name = self._metric_names.get(metric_id)
        return name if name is not None else f"#{metric_id}"

    def metric_id(self, name: str) -> int | None:
        number = self._metric_ids.get(name)
        if number is None and self._reread_metrics():
            number = self._metric_ids.get(name)
        return number

    def _reread_metrics(self) -> bool:
        """A name or number this process has not seen may have been numbered by another node
        of the cluster: read the dictionary again, at most once per ``METRICS_REREAD_S``."""
        now = time.monotonic()
        if now - self._metrics_read_at < METRICS_REREAD_S:
            return False
        self._metrics_read_at = now
        try:
            self.refresh_metrics()
        except UnavailableError:
            return False  # the answer names the number; the next miss tries again
        return True

    # -- writing -----------------------------------------------------------------------------

    def submit(
        self,
        batch: Batch,
        rejects: Rejects | None = None,
        attributes: Sequence[AttributeRecord] | None = None,
    ) -> Future[int]:
        return self._writer.submit(batch, rejects, attributes)

    @property
    def backlog_rows(self) -> int:
        return self._writer.backlog.rows

    @property
    def max_backlog_rows(self) -> int:
        return self._writer.backlog.max_rows

    def overloaded(self) -> OverloadedError:
        return self._writer.backlog.overloaded()

    @property
    def overload_refusals(self) -> int:
        return self._writer.backlog.refusals

    def add_listener(self, listener: Callable[[Batch], None]) -> None:
        """Call ``listener`` with every batch right after ClickHouse confirmed it, on the
        writer thread; it must hand the batch over and return at once."""
        self._writer.listeners.append(listener)

    @property
    def writer_alive(self) -> bool:
        return self._writer.alive

    @property
    def queued_jobs(self) -> int:
        return self._writer.queued_jobs

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is stored."""
        self.submit(Batch.empty()).result(timeout=timeout)

    # -- housekeeping ------------------------------------------------------------------------

    def purge_before(self, ts_ms: int, timeout_s: float = 60.0) -> int:
        """Delete points and reject samples older than ``ts_ms``, and forget the latest value
        of series with nothing newer; returns the rows deleted. Waits for the mutations."""
        (count,) = self._rows(sql.count_before(self.layout, ts_ms))[0]
        stale = [(int(d), int(m)) for d, m in self._rows(sql.stale_series(self.layout, ts_ms))]
        # Reads take the hour it cuts through from points from now on, before its cells go.
        self._write_select(cells_sql.record_rolls(self.layout, 0, ts_ms))
        changes = sql.purge(self.layout, ts_ms) + cells_sql.purge_cells(self.layout, ts_ms)
        for start in range(0, len(stale), 1000):
            chunk = stale[start : start + 1000]
            # A one-pair list would read as a single tuple, not a set of one tuple.
            changes.append(sql.forget_series(self.layout, chunk if len(chunk) > 1 else chunk * 2))
        others = self._on_every_shard(changes)
        deadline = time.monotonic() + timeout_s
        try:
            for client in [self._client(), *others]:
                while client.execute(*sql.pending_mutations(self.layout))[0][0]:
                    if time.monotonic() > deadline:
                        raise UnavailableError(
                            "retention is still deleting", code="store_unavailable"
                        )
                    time.sleep(0.05)
        finally:
            for other in others:
                other.disconnect()
        self.purge_feed(time.time_ns() // 1000 - FEED_KEEP_DAYS * 86_400_000_000)
        return int(count)

    def roll(self) -> RollReport:
        """Roll the hours closed since the last roll into cells, and late hours again."""
        return self._roller.roll()

    # -- the monitors' feed ------------------------------------------------------------------

    @property
    def committed_seq(self) -> int:
        """The highest row sequence this store has written and the server confirmed."""
        return self._writer.seq

    def feed_rows(
        self, devices: npt.NDArray[np.int32] | None, low_seq: int, high_seq: int
    ) -> tuple[Batch, npt.NDArray[np.uint64]]:
        """Points of ``devices`` (None: of every device) whose sequence is in
        ``(low_seq, high_seq]``, in sequence order, with their sequences (a retried insert's
        twin rows appear once)."""
        if (devices is not None and not len(devices)) or high_seq <= low_seq:
            return Batch.empty(), np.empty(0, np.uint64)
        tables: list[dict[str, Any]] = []
        if devices is not None:
            tables.append(
                {
                    "name": sql.OWNED_TABLE,
                    "structure": [("device", "Int32")],
                    # With numpy on, the driver reads an external table as
                    # ``data[column].values``.
                    "data": {"device": _Values(np.ascontiguousarray(devices, np.int32))},
                }
            )
        statement = sql.feed_rows(self.layout, low_seq, high_seq, of_devices=devices is not None)
        columns = self._feed_columns(statement, tables)
        seq = np.asarray(columns["seq"], np.uint64)
        keep = np.ones(len(seq), np.bool_)
        keep[1:] = seq[1:] != seq[:-1]
        batch = Batch(
            np.asarray(columns["device"], np.int32)[keep],
            np.asarray(columns["metric"], np.int32)[keep],
            np.asarray(columns["ts"], np.int64)[keep],
            np.asarray(columns["value"], np.float64)[keep],
            np.asarray(columns["quality"], np.uint8)[keep],
        )
        return batch, seq[keep]

    def _feed_columns(
        self, statement: sql.Statement, tables: list[dict[str, Any]]
    ) -> dict[str, Any]:
        text, params = statement
        try:
            rows, types = self._client().execute(
                text,
                params,
                columnar=True,
                with_column_types=True,
                external_tables=tables or None,
                settings=self._feed_settings,
            )
        except READ_FAILURES as exc:
            self._local.client = None
            raise UnavailableError(
                f"the telemetry store cannot be read right now: {exc}", code="store_unavailable"
            ) from exc
        if not rows:
            return {name: np.empty(0, np.int64) for name, _kind in types}
        return dict(zip([name for name, _ in types], rows, strict=True))

    def purge_feed(self, before_us: int) -> None:
        """Drop the feed's days that ended before ``before_us`` (microseconds)."""
        cutoff_day = int(time.strftime("%Y%m%d", time.gmtime(before_us // 1_000_000)))
        days = [str(p) for (p,) in self._rows(sql.feed_partitions(self.layout))]
        drops = [sql.drop_partition(self.layout, "feed", d) for d in days if int(d) < cutoff_day]
        if drops:
            for other in self._on_every_shard(drops):
                other.disconnect()

    def refresh_metrics(self) -> None:
        """Read the metric dictionary again (names numbered by other nodes since)."""
        with self._metric_lock:
            self._load_metrics()

    def close(self) -> None:
        if self._closed:
            return
        if self._rolling is not None:
            self._rolling.stop()
        self._writer.close()
        self._closed = True
        self._disconnect_all()


class _Values:
    """A numpy column where the driver expects a data frame's column (``.values``)."""

    __slots__ = ("values",)

    def __init__(self, values: npt.NDArray[np.int32]) -> None:
        self.values = values
