"""The client's ledger of points sent and acknowledged, checked against what the store answers.

Every point of a fault run is predictable: device ``d`` sends *units* numbered 0, 1, 2 …; unit
``u`` carries ``metrics`` points, metric ``m{j}`` at timestamp ``ts0 + u`` (ms) with the value
:func:`point_value` of (device index, j, u). So a point is identified by (device, metric, ts),
its value is known without storing it, and a checksum over the acknowledged points can be
computed from the ledger alone and compared with one over the store's answer.

A load client allocates units with :meth:`DeviceLedger.new_units` (marks them sent), sends them,
and calls :meth:`Ledger.ack` when the server acknowledged them (HTTP 200, MQTT PUBACK); a unit
that was not acknowledged is sent again after a reconnect, under the same keys.

:func:`verify` reads every device's points back through the HTTP range API as the enterprise
admin (``GET /api/devices/{id}/telemetry?format=arrow``, raw points): the API is what users
read, so it also proves that re-sent points are de-duplicated on read. Several readers (bridge
workers with a store each) are summed: a point answered by two of them counts as duplicated.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.ipc as ipc

from bench.faults import Tally
from bench.faults.served import DeviceCredential, Served

#: Metrics per unit (one MQTT message, one ThingsBoard ``{"ts", "values"}`` entry).
METRICS = 10
#: Room for the metric index in a value; see :func:`point_value`.
_METRIC_SLOTS = 16
#: The range API's row limit per answer (``RangeQuery.limit``); a full answer is split.
RANGE_LIMIT = 2_000_000


def metric_name(j: int) -> str:
    return f"m{j}"


def point_value(device_index: int, j: int, unit: int) -> int:
    """An integer (exact as float64 and in JSON) unique per point of a device."""
    return (device_index % 1000) * 1_000_000_000 + unit * _METRIC_SLOTS + j


def _values(device_index: int, j: npt.NDArray[np.int64], unit: npt.NDArray[np.int64]) -> Any:
    return ((device_index % 1000) * 1_000_000_000 + unit * _METRIC_SLOTS + j).astype(np.float64)


class DeviceLedger:
    """What one device sent and what was acknowledged, one flag per unit."""

    __slots__ = ("acked", "cred", "metrics", "next_unit", "period_ms", "sent", "ts0")

    def __init__(
        self, cred: DeviceCredential, ts0: int, metrics: int = METRICS, period_ms: int = 1
    ) -> None:
        self.cred = cred
        self.ts0 = ts0
        self.metrics = metrics
        #: Unit u is stamped ts0 + u * period_ms; set it before the first unit is sent.
        self.period_ms = period_ms
        self.next_unit = 0
        self.sent = bytearray()
        self.acked = bytearray()

    @property
    def index(self) -> int:
        return self.cred.index

    def new_units(self, n: int) -> range:
        """The next ``n`` units, marked sent (a client calls this just before sending)."""
        start = self.next_unit
        self.next_unit += n
        grow = self.next_unit - len(self.sent)
        if grow > 0:
            self.sent.extend(b"\x01" * grow)
            self.acked.extend(bytes(grow))
        return range(start, self.next_unit)

    def ts(self, unit: int) -> int:
        return self.ts0 + unit * self.period_ms

    @property
    def ts_end(self) -> int:
        """Just past the timestamp of the last unit sent."""
        return self.ts0 + self.next_unit * self.period_ms

    def values_json(self, unit: int) -> str:
        """The ThingsBoard ``values`` object of a unit."""
        base = point_value(self.index, 0, unit)
        return "{" + ",".join(f'"m{j}":{base + j}' for j in range(self.metrics)) + "}"

    def telemetry_json(self, units: range) -> bytes:
        """ThingsBoard's device telemetry form: ``[{"ts": ms, "values": {...}}, ...]``."""
        parts = [f'{{"ts":{self.ts(u)},"values":{self.values_json(u)}}}' for u in units]
        return ("[" + ",".join(parts) + "]").encode()

    def arrow_table(self, units: range) -> pa.Table:
        """The units as rows of the batch API's Arrow form (device_id, metric, ts, value)."""
        unit = np.repeat(np.arange(units.start, units.stop, dtype=np.int64), self.metrics)
        j = np.tile(np.arange(self.metrics, dtype=np.int64), len(units))
        names = pa.array([metric_name(i) for i in range(self.metrics)], pa.string())
        return pa.table(
            {
                "device_id": pa.array(np.full(len(unit), self.cred.id, np.int64)),
                "metric": pa.DictionaryArray.from_arrays(pa.array(j.astype(np.int32)), names),
                "ts": pa.array(unit * self.period_ms + self.ts0),
                "value": pa.array(_values(self.index, j, unit)),
            }
        )

    def units_sent(self) -> int:
        return self.next_unit

    def units_acked(self) -> int:
        return self.acked.count(1)


class LatencyWindow:
    """Acknowledgement latencies (ms) since the last :meth:`take`."""

    def __init__(self) -> None:
        self._samples: list[float] = []

    def add(self, ms: float) -> None:
        self._samples.append(ms)

    def take_samples(self) -> list[float]:
        """The latencies since the last take, raw (to be merged into another window)."""
        samples, self._samples = self._samples, []
        return samples

    def take(self) -> dict[str, float | int]:
        samples = self.take_samples()
        if not samples:
            return {"n": 0}
        arr = np.asarray(samples)
        return {
            "n": len(samples),
            "p50_ms": round(float(np.percentile(arr, 50)), 2),
            "p99_ms": round(float(np.percentile(arr, 99)), 2),
        }


@dataclass
class ClientStats:
    """What the load clients met on the way: answers by status, reconnects, refusals."""

    statuses: dict[str, int] = field(default_factory=dict)
    connects: int = 0
    connect_failures: int = 0
    resent_units: int = 0
    #: Points a 2xx answer said were refused: the generator's fault, never expected.
    refused_points: int = 0
    #: MQTT 5 units the broker answered with a reason code (not delivered) at least once.
    undelivered_units: int = 0

    def status(self, key: str | int) -> None:
        k = str(key)
        self.statuses[k] = self.statuses.get(k, 0) + 1


class Ledger:
    """The ledgers of all devices of a run, with acknowledgement counters and latencies."""

    def __init__(self, creds: Sequence[DeviceCredential], ts0: int, metrics: int = METRICS) -> None:
        self.devices = [DeviceLedger(c, ts0, metrics) for c in creds]
        self.metrics = metrics
        self.latency = LatencyWindow()
        self.stats = ClientStats()
        #: Acknowledged points so far, and when the latest acknowledgement came.
        self.acked_points = 0
        self.last_ack_at = 0.0

    def ack(
        self,
        device: DeviceLedger,
        units: range,
        sent_at: float,
        window: LatencyWindow | None = None,
    ) -> None:
        """Record ``units`` of ``device`` as acknowledged now; the latency since ``sent_at``
        goes to :attr:`latency` and to ``window`` (a fleet's own), if given."""
        now = time.monotonic()
        n = len(units)
        device.acked[units.start : units.stop] = b"\x01" * n
        self.acked_points += n * device.metrics
        self.last_ack_at = now
        ms = (now - sent_at) * 1000.0
        self.latency.add(ms)
        if window is not None:
            window.add(ms)

    def sent_points(self) -> int:
        return sum(d.units_sent() * d.metrics for d in self.devices)

    async def first_ack_after(self, t: float, points_before: int, timeout_s: float) -> float | None:
        """Seconds from ``t`` to the first acknowledgement beyond ``points_before`` (polled on
        the event loop the clients run on); None if none came within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.acked_points > points_before:
                return max(0.0, self.last_ack_at - t)
            await asyncio.sleep(0.002)
        return None


# -- reading the store back -----------------------------------------------------------------------


class StoreReader(Protocol):
    def points(self, device_id: int, start_ms: int, end_ms: int) -> pa.Table:
        """Raw points of one device in [start_ms, end_ms): columns metric, ts, value."""
        ...


class ApiReader:
    """Reads through ``GET /api/devices/{id}/telemetry?format=arrow`` as the enterprise admin."""

    def __init__(self, server: Served) -> None:
        self.server = server

    def points(self, device_id: int, start_ms: int, end_ms: int) -> pa.Table:
        path = (
            f"/api/devices/{device_id}/telemetry?start={start_ms}&end={end_ms}"
            "&format=arrow&metrics=" + ",".join(metric_name(j) for j in range(_METRIC_SLOTS))
        )
        status, body = self.server.request("GET", path, timeout_s=300)
        if status != 200:
            raise RuntimeError(f"reading device {device_id} answered {status}: {body[:300]!r}")
        table = ipc.open_stream(io.BytesIO(body)).read_all()
        if table.num_rows >= RANGE_LIMIT and end_ms - start_ms > 1:
            middle = (start_ms + end_ms) // 2
            return pa.concat_tables(
                [self.points(device_id, start_ms, middle), self.points(device_id, middle, end_ms)]
            )
        return table.select(["metric", "ts", "value"])


@dataclass
class Verification:
    """The ledger against the store, summed over devices."""

    tally: Tally
    #: Acknowledged points present but with a value other than the one sent (counted in lost).
    wrong_value: int = 0
    #: Sent-but-unacknowledged points that were stored anyway (allowed).
    stored_unacked: int = 0
    #: Points the store answers that were never sent (phantoms; must be 0).
    unexpected: int = 0
    #: Sent-but-unacknowledged points answered more than once (must be 0, like duplicated).
    duplicated_unacked: int = 0
    #: Checksums over the acknowledged points: from the ledger, and from the store's answer.
    checksum_expected: str = ""
    checksum_stored: str = ""
    #: Devices with lost or duplicated points, the first few.
    bad_devices: list[dict[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.tally.lost == 0
            and self.tally.duplicated == 0
            and self.unexpected == 0
            and self.duplicated_unacked == 0
            and self.checksum_expected == self.checksum_stored
        )

    def as_dict(self) -> dict[str, Any]:
        out = self.tally.as_dict()
        out.update({k: v for k, v in asdict(self).items() if k != "tally"})
        out["verified"] = self.ok
        return out


_MIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0xD6E8FEB86659FD93),
)


def _checksum(
    device_id: int,
    j: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
) -> int:
    """Order-independent sum (mod 2**64) of a hash of each point's key and value bits."""
    with np.errstate(over="ignore"):
        h = (
            (np.uint64(device_id) * _MIX[0])
            ^ (j.astype(np.uint64) * _MIX[1])
            ^ (ts.astype(np.uint64) * _MIX[2])
            ^ value.astype(np.float64).view(np.uint64)
        ) * _MIX[3]
        return int(h.sum(dtype=np.uint64))


def _metric_indices(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """j of each row's metric name ``m{j}``; -1 for any other name."""
    encoded = column.combine_chunks()
    if not pa.types.is_dictionary(encoded.type):
        encoded = encoded.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    lookup = np.array(
        [int(n[1:]) if n[:1] == "m" and n[1:].isdigit() else -1 for n in names] or [-1], np.int64
    )
    indices: npt.NDArray[np.int64] = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    out: npt.NDArray[np.int64] = lookup[indices]
    return out


def verify(ledger: Ledger, readers: Iterable[StoreReader], *, max_bad: int = 10) -> Verification:
    """Read every device back from every reader and count per device (see module doc)."""
    readers = list(readers)
    result = Verification(Tally())
    tally = result.tally
    expected_sum = stored_sum = 0
    for dev in ledger.devices:
        n_units = dev.units_sent()
        m = dev.metrics
        sent_units = np.frombuffer(bytes(dev.sent[:n_units]), np.uint8).astype(bool)
        acked_units = np.frombuffer(bytes(dev.acked[:n_units]), np.uint8).astype(bool)
        acked = np.repeat(acked_units, m)
        sent = np.repeat(sent_units, m)
        tally.sent += int(sent.sum())
        tally.acked += int(acked.sum())
        # Every acknowledged key, and what the ledger says its value is.
        keys = np.flatnonzero(acked).astype(np.int64)
        expected_sum += _checksum(
            dev.cred.id,
            keys % m,
            dev.ts0 + (keys // m) * dev.period_ms,
            _values(dev.index, keys % m, keys // m),
        )
        if n_units == 0:
            continue
        tables = [r.points(dev.cred.id, dev.ts0, dev.ts_end) for r in readers]
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        ts = table.column("ts").to_numpy().astype(np.int64)
        value = table.column("value").to_numpy().astype(np.float64)
        j = _metric_indices(table.column("metric"))
        offset = ts - dev.ts0
        unit = offset // dev.period_ms
        known = (j >= 0) & (j < m) & (offset % dev.period_ms == 0) & (unit >= 0) & (unit < n_units)
        row_key = unit * m + j
        known[known] &= sent[row_key[known]]
        result.unexpected += int((~known).sum())
        j, unit, ts = j[known], unit[known], ts[known]
        value, row_key = value[known], row_key[known]
        counts = np.bincount(row_key, minlength=n_units * m)
        present = counts > 0
        wrong_rows = value != _values(dev.index, j, unit)
        wrong_keys = np.zeros(n_units * m, bool)
        wrong_keys[row_key[wrong_rows & acked[row_key]]] = True
        missing = int((acked & ~present).sum())
        wrong = int(wrong_keys.sum())
        duplicated = int((acked & (counts > 1)).sum())
        tally.stored += int(present.sum())
        tally.lost += missing + wrong
        tally.duplicated += duplicated
        result.wrong_value += wrong
        result.stored_unacked += int((present & ~acked).sum())
        result.duplicated_unacked += int((~acked & (counts > 1)).sum())
        # The checksum over acknowledged keys as stored: each such key once, with its value.
        first = np.unique(row_key, return_index=True)[1]
        take = first[acked[row_key[first]]]
        stored_sum += _checksum(dev.cred.id, j[take], ts[take], value[take])
        if (missing or wrong or duplicated) and len(result.bad_devices) < max_bad:
            result.bad_devices.append(
                {
                    "device": dev.cred.id,
                    "acked": int(acked.sum()),
                    "missing": missing,
                    "wrong_value": wrong,
                    "duplicated": duplicated,
                }
            )
    result.checksum_expected = f"{expected_sum % 2**64:016x}"
    result.checksum_stored = f"{stored_sum % 2**64:016x}"
    return result


def raw_rows(telemetry_path: Path) -> dict[str, int]:
    """Rows the DuckDB file holds for fault-run metrics, and how many distinct keys: the
    difference is what de-duplication on read hides. Opened read-only, after the server stopped."""
    import duckdb

    con = duckdb.connect(str(telemetry_path), read_only=True)
    try:
        row = con.sql(
            "WITH m AS (SELECT id FROM metrics WHERE regexp_full_match(name, 'm[0-9]+')), "
            "r AS (SELECT device, metric, ts FROM points WHERE metric IN (SELECT id FROM m) "
            "UNION ALL SELECT device, metric, ts FROM points_sorted "
            "WHERE metric IN (SELECT id FROM m)) "
            "SELECT count(*), count(DISTINCT (device, metric, ts)) FROM r"
        ).fetchall()[0]
    finally:
        con.close()
    return {"raw_rows": int(row[0]), "raw_distinct": int(row[1])}
