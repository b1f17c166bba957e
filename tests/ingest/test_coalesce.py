from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from shugu.config import Settings
from shugu.domain.entities import DeviceRef
from shugu.ingest.coalesce import Coalescer
from shugu.ingest.pipeline import IngestPipeline
from shugu.ingest.thingsboard import parse_json
from shugu.store.duckdb_store import DuckDBTelemetryStore

NOW = 1_795_104_000_000
LOOMS = [DeviceRef(id=i, enterprise_id=1, name=f"loom-{i}", profile="loom") for i in (1, 2, 3)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBTelemetryStore]:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    yield s
    s.close()


def test_messages_of_one_turn_share_a_commit_and_keep_their_own_outcomes(
    store: DuckDBTelemetryStore,
) -> None:
    pipeline = IngestPipeline(store, Settings(retention_days=30), clock=lambda: NOW)
    coalescer = Coalescer(pipeline)
    commits = []
    submit = store.submit

    def counting_submit(*args: object, **kwargs: object) -> object:
        commits.append(args)
        return submit(*args, **kwargs)  # type: ignore[arg-type]

    store.submit = counting_submit  # type: ignore[method-assign]
    bodies = [
        b'{"speed_rpm": 600, "power_kw": 3}',
        b'{"colour": 1}',  # all refused: unknown to the loom profile
        b'{"speed_rpm": "fast", "picks": 5}',
    ]

    async def send_all() -> list[object]:
        jobs = []
        for device, body in zip(LOOMS, bodies, strict=True):
            parsed = pipeline.decoder_for(device).decode(parse_json(body))
            jobs.append(coalescer.ingest(device, parsed))
        return list(await asyncio.gather(*jobs))

    outcomes = asyncio.run(send_all())
    assert len(commits) == 1
    assert [(o.accepted, o.refused) for o in outcomes] == [(2, 0), (0, 1), (1, 1)]  # type: ignore[attr-defined]
    assert outcomes[2].reason == "strings are not stored as telemetry"  # type: ignore[attr-defined]
    assert {r["device"] for r in store.latest(None).to_pylist()} == {1, 3}
