from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from shugu.config import Settings
from shugu.domain.entities import DeviceRef
from shugu.ingest.door import IngestDoor
from shugu.ingest.ingest_meter import BROKER, MQTT
from shugu.store.duckdb_store import DuckDBTelemetryStore

NOW = 1_795_104_000_000
LOOMS = [DeviceRef(id=i, enterprise_id=1, name=f"loom-{i}", profile="loom") for i in (1, 2, 3)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBTelemetryStore]:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    yield s
    s.close()


def count_commits(store: DuckDBTelemetryStore) -> list[tuple[object, ...]]:
    """The store's submits from now on, one entry each (a shared commit is one)."""
    commits: list[tuple[object, ...]] = []
    submit = store.submit

    def counting_submit(*args: object, **kwargs: object) -> object:
        commits.append(args)
        return submit(*args, **kwargs)  # type: ignore[arg-type]

    store.submit = counting_submit  # type: ignore[method-assign]
    return commits


def test_messages_of_one_turn_share_a_commit_and_keep_their_own_outcomes(
    store: DuckDBTelemetryStore,
) -> None:
    door = IngestDoor(store, Settings(retention_days=30), clock=lambda: NOW)
    commits = count_commits(store)
    bodies = [
        b'{"speed_rpm": 600, "power_kw": 3}',
        b'{"colour": 1}',  # all refused: unknown to the loom profile
        b'{"speed_rpm": "fast", "picks": 5}',
    ]

    async def send_all() -> list[object]:
        jobs = []
        for device, body in zip(LOOMS, bodies, strict=True):
            jobs.append(door.ingest(door.device_json(device).decode(body), MQTT))
        return list(await asyncio.gather(*jobs))

    outcomes = asyncio.run(send_all())
    assert len(commits) == 1
    assert [(o.accepted, o.refused) for o in outcomes] == [(2, 0), (0, 1), (1, 1)]  # type: ignore[attr-defined]
    assert outcomes[1].reason == "values were refused; the rejects log says why"  # type: ignore[attr-defined]
    assert outcomes[2].reason == "strings are not stored as telemetry"  # type: ignore[attr-defined]
    assert {r["device"] for r in store.latest(None).to_pylist()} == {1, 3}


def test_held_transports_share_a_commit_and_are_metered_apart(
    store: DuckDBTelemetryStore,
) -> None:
    door = IngestDoor(store, Settings(retention_days=30), clock=lambda: NOW)
    commits = count_commits(store)

    async def send_all() -> None:
        await asyncio.gather(
            door.ingest(door.device_json(LOOMS[0]).decode(b'{"speed_rpm": 600}'), MQTT),
            door.ingest(door.device_json(LOOMS[1]).decode(b'{"picks": 1, "x": 2}'), BROKER),
        )

    asyncio.run(send_all())
    assert len(commits) == 1
    figures = door.meter.figures()
    assert (figures[MQTT].accepted_total, figures[MQTT].refused_total) == (1, 0)
    assert (figures[BROKER].accepted_total, figures[BROKER].refused_total) == (1, 1)


def test_a_message_left_with_no_values_may_close_the_turn(store: DuckDBTelemetryStore) -> None:
    door = IngestDoor(store, Settings(retention_days=30), clock=lambda: NOW)

    async def send_all() -> list[object]:
        return list(
            await asyncio.gather(
                door.ingest(door.device_json(LOOMS[0]).decode(b'{"speed_rpm": 600}'), MQTT),
                door.ingest(door.device_json(LOOMS[1]).decode(b'{"speed_rpm": "fast"}'), MQTT),
            )
        )

    first, last = asyncio.run(send_all())
    assert (first.accepted, first.refused) == (1, 0)  # type: ignore[attr-defined]
    assert (last.accepted, last.refused) == (0, 1)  # type: ignore[attr-defined]
