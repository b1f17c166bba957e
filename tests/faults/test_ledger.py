"""The fault runs' ledger finds every kind of damage: missing, altered, doubled, phantom points."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
from bench.faults.ledger import Ledger, metric_name, point_value, verify
from bench.faults.served import DeviceCredential


class TableReader:
    """A store that answers what the test put in it (metric, ts, value per device)."""

    def __init__(self) -> None:
        self.rows: dict[int, list[tuple[str, int, float]]] = {}

    def points(self, device_id: int, start_ms: int, end_ms: int) -> pa.Table:
        rows = [r for r in self.rows.get(device_id, []) if start_ms <= r[1] < end_ms]
        return pa.table(
            {
                "metric": pa.array([r[0] for r in rows], pa.string()),
                "ts": pa.array([r[1] for r in rows], pa.int64()),
                "value": pa.array([r[2] for r in rows], pa.float64()),
            }
        )


def _ledger(units: int, acked: int, period_ms: int = 1) -> Ledger:
    creds = [DeviceCredential(i, f"d{i}", 100 + i, f"t{i}") for i in range(2)]
    ledger = Ledger(creds, ts0=1_700_000_000_000, metrics=3)
    for dev in ledger.devices:
        dev.period_ms = period_ms
        sent = dev.new_units(units)
        ledger.ack(dev, range(sent.start, sent.start + acked), time.monotonic())
    return ledger


def _store_all(ledger: Ledger, reader: TableReader) -> None:
    for dev in ledger.devices:
        reader.rows[dev.cred.id] = [
            (metric_name(j), dev.ts(u), float(point_value(dev.index, j, u)))
            for u in range(dev.units_sent())
            for j in range(dev.metrics)
        ]


def test_a_faithful_store_passes() -> None:
    ledger, reader = _ledger(units=5, acked=4), TableReader()
    _store_all(ledger, reader)
    result = verify(ledger, [reader])
    assert result.ok
    assert (result.tally.sent, result.tally.acked, result.tally.stored) == (30, 24, 30)
    assert result.stored_unacked == 6
    assert result.checksum_expected == result.checksum_stored


def test_missing_altered_doubled_and_phantom_points_are_counted() -> None:
    ledger, reader = _ledger(units=5, acked=4), TableReader()
    _store_all(ledger, reader)
    first, second = ledger.devices
    rows = reader.rows[first.cred.id]
    rows.remove(("m1", first.ts(2), float(point_value(first.index, 1, 2))))  # lost
    rows.append(rows[0])  # answered twice
    rows.append(("m7", first.ts(1), 1.0))  # never sent
    other = reader.rows[second.cred.id]
    metric, ts, value = other[4]
    other[4] = (metric, ts, value + 0.5)  # altered
    result = verify(ledger, [reader])
    assert not result.ok
    assert result.tally.lost == 2 and result.wrong_value == 1
    assert result.tally.duplicated == 1
    assert result.unexpected == 1
    assert result.checksum_expected != result.checksum_stored
    assert {d["device"] for d in result.bad_devices} == {first.cred.id, second.cred.id}


def test_units_spaced_by_a_period_map_back_to_their_keys() -> None:
    ledger, reader = _ledger(units=4, acked=4, period_ms=250), TableReader()
    _store_all(ledger, reader)
    dev = ledger.devices[0]
    reader.rows[dev.cred.id].append(("m0", dev.ts(1) + 1, 1.0))  # between two units
    result = verify(ledger, [reader])
    assert result.tally.lost == 0 and result.tally.stored == 24
    assert result.unexpected == 1


def test_a_point_answered_by_two_stores_is_duplicated() -> None:
    ledger, one, two = _ledger(units=3, acked=3), TableReader(), TableReader()
    _store_all(ledger, one)
    dev = ledger.devices[0]
    two.rows[dev.cred.id] = [one.rows[dev.cred.id][0]]
    result = verify(ledger, [one, two])
    assert result.tally.duplicated == 1 and result.tally.lost == 0


def test_arrow_and_json_forms_carry_the_ledger_values() -> None:
    ledger = _ledger(units=2, acked=0)
    dev = ledger.devices[1]
    table = dev.arrow_table(range(0, 2))
    assert table.column("device_id").to_pylist() == [dev.cred.id] * 6
    expected = [float(point_value(dev.index, j, u)) for u in range(2) for j in range(3)]
    assert np.array_equal(table.column("value").to_numpy(), expected)
    assert (
        dev.telemetry_json(range(1, 2))
        == (
            f'[{{"ts":{dev.ts(1)},"values":{{"m0":{point_value(dev.index, 0, 1)},'
            f'"m1":{point_value(dev.index, 1, 1)},"m2":{point_value(dev.index, 2, 1)}}}}}]'
        ).encode()
    )
