from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shugu.config import Settings
from shugu.domain.batch import QUALITY_OUT_OF_RANGE
from shugu.domain.entities import DeviceRef
from shugu.ingest.codecs import GatewayJson
from shugu.ingest.columns import Columns, Decoded
from shugu.ingest.door import IngestDoor, IngestResult
from shugu.ingest.ingest_meter import ARROW, GATEWAY, HTTP
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.telemetry import RangeQuery, Rejects

NOW = 1_795_104_000_000
LOOM = DeviceRef(id=1, enterprise_id=1, name="Loom 1", profile="loom")
GENERIC = DeviceRef(id=2, enterprise_id=1, name="Box", profile="generic")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBTelemetryStore]:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    yield s
    s.close()


@pytest.fixture
def door(store: DuckDBTelemetryStore) -> IngestDoor:
    return IngestDoor(store, Settings(retention_days=30), clock=lambda: NOW)


def ingest(door: IngestDoor, device: DeviceRef, body: bytes) -> tuple[int, Rejects]:
    decoded = door.device_json(device).decode(body)
    result = asyncio.run(door.ingest(decoded, HTTP))
    return result.accepted, result.rejects


def codes(rejects: Rejects) -> dict[str, int]:
    return {code: n for (_, code), n in rejects.counts.items()}


def test_strict_profile_refuses_unknown_metrics_and_keeps_the_rest(
    door: IngestDoor,
) -> None:
    accepted, rejects = ingest(door, LOOM, b'{"speed_rpm": 800, "colour": 3, "running": true}')
    assert accepted == 2
    assert codes(rejects) == {"unknown_metric": 1}


def test_generic_profile_takes_any_metric(door: IngestDoor) -> None:
    accepted, rejects = ingest(door, GENERIC, b'{"anything": 1, "else": 2}')
    assert accepted == 2 and not rejects


def test_out_of_range_values_are_stored_but_flagged(
    door: IngestDoor, store: DuckDBTelemetryStore
) -> None:
    accepted, rejects = ingest(door, LOOM, b'{"speed_rpm": 99999, "power_kw": 5, "stop_cause": 7}')
    assert accepted == 3 and not rejects
    latest = {r["metric"]: r["quality"] for r in store.latest([LOOM.id]).to_pylist()}
    assert latest == {
        "speed_rpm": QUALITY_OUT_OF_RANGE,
        "power_kw": 0,
        "stop_cause": QUALITY_OUT_OF_RANGE,  # 7 is not a declared stop cause
    }


def test_future_and_too_old_timestamps(door: IngestDoor) -> None:
    body = (
        f'[{{"ts": {NOW + 11 * 60_000}, "values": {{"speed_rpm": 1}}}},'
        f' {{"ts": {NOW + 9 * 60_000}, "values": {{"speed_rpm": 2}}}},'
        f' {{"ts": {NOW - 31 * 86_400_000}, "values": {{"speed_rpm": 3}}}}]'
    ).encode()
    accepted, rejects = ingest(door, LOOM, body)
    assert accepted == 1
    assert codes(rejects) == {"future_timestamp": 1, "too_old": 1}


def test_booleans_follow_the_profile(door: IngestDoor) -> None:
    accepted, rejects = ingest(door, LOOM, b'{"running": false, "speed_rpm": true}')
    assert accepted == 1
    assert codes(rejects) == {"boolean_value": 1}


def test_every_refusal_is_counted_once(door: IngestDoor, store: DuckDBTelemetryStore) -> None:
    body = b'{"speed_rpm": "fast", "power_kw": NaN, "picks": 10, "colour": 1}'
    accepted, rejects = ingest(door, LOOM, body)
    assert accepted == 1
    assert codes(rejects) == {"non_numeric": 1, "not_finite": 1, "unknown_metric": 1}
    stored = {(r["device"], r["code"]): r["n"] for r in store.reject_counts(None).to_pylist()}
    assert stored == {(1, "non_numeric"): 1, (1, "not_finite"): 1, (1, "unknown_metric"): 1}


def test_columns_of_many_devices_and_profiles(
    door: IngestDoor, store: DuckDBTelemetryStore
) -> None:
    cols = Columns(
        device=np.array([1, 1, 2, 2], np.int32),
        metric_names=["speed_rpm", "colour"],
        metric_index=np.array([0, 1, 0, 1], np.int32),
        ts=np.full(4, NOW, np.int64),
        value=np.array([100.0, 1.0, np.inf, 2.0]),
    )
    decoded = Decoded(cols, {1: "loom", 2: "generic"}, Rejects())
    result = asyncio.run(door.ingest(decoded, ARROW))
    assert result.accepted == 2  # loom speed, generic colour
    assert {(d, c) for (d, c) in result.rejects.counts} == {
        (1, "unknown_metric"),
        (2, "not_finite"),
    }
    raw = store.query_range(RangeQuery([1, 2], None, NOW - 1, NOW + 1)).to_pylist()
    assert [(r["device"], r["metric"]) for r in raw] == [(1, "speed_rpm"), (2, "colour")]


def test_a_flood_of_refusals_is_counted_but_sampled_sparingly(
    door: IngestDoor, store: DuckDBTelemetryStore
) -> None:
    for _ in range(30):
        ingest(door, LOOM, b'{"speed_rpm": "fast"}')
    counts = {(r["device"], r["code"]): r["n"] for r in store.reject_counts(None).to_pylist()}
    assert counts == {(1, "non_numeric"): 30}
    assert store.reject_samples(None, 1000).num_rows == 20


def test_http_requests_go_alone_and_unknown_devices_are_only_logged(
    door: IngestDoor, store: DuckDBTelemetryStore
) -> None:
    commits = []
    submit = store.submit

    def counting_submit(*args: object, **kwargs: object) -> object:
        commits.append(args)
        return submit(*args, **kwargs)  # type: ignore[arg-type]

    store.submit = counting_submit  # type: ignore[method-assign]
    gateway = GatewayJson(lambda name: LOOM if name == "Loom 1" else None, door.decoders)

    async def send_all() -> list[IngestResult]:
        return list(
            await asyncio.gather(
                door.ingest(door.device_json(GENERIC).decode(b'{"a": 1}'), HTTP),
                door.ingest(gateway.decode(b'{"nobody": {"speed_rpm": 1}}'), GATEWAY),
            )
        )

    plain, unknown = asyncio.run(send_all())
    assert len(commits) == 2  # not coalesced: each answer lists its own refusals
    assert plain.accepted == 1 and not plain.rejects
    assert unknown.accepted == 0 and codes(unknown.rejects) == {"unknown_device": 1}
    assert len(commits[1][0]) == 0  # nothing to validate: only the refusal is written
