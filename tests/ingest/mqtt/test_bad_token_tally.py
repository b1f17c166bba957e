"""MQTT CONNECTs with unknown access tokens are tallied in memory and written to the rejects log
in one write with their exact count, not one store write each (as the HTTP device API does).

An in-process endpoint (the ThingsBoard application on a real registry and DuckDB store) on a
real socket; the tally's timer is set far out, so that only the explicit flush writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.fuzz_ingest import IngestWorld

from shugu.domain.batch import Batch
from shugu.ingest.mqtt import codec
from shugu.ingest.refusal_tally import RefusalTally
from tests.fuzz.test_mqtt_live import PATIENCE_S, LiveEndpoint, connect_packet, dial, read_packet

ATTEMPTS = 120


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveEndpoint]:
    world = IngestWorld(tmp_path)
    world.door.refusals = RefusalTally(world.store.submit, interval_s=3600.0)
    server = LiveEndpoint(world)
    try:
        yield server
    finally:
        server.stop()
        world.close()


def _bad_token_count(live: LiveEndpoint) -> int:
    # The writer commits in order: once this is durable, so is every write submitted before.
    live.world.store.submit(Batch.empty()).result(PATIENCE_S)
    table = live.world.store.reject_counts(None).to_pylist()
    return sum(int(row["n"]) for row in table if row["code"] == "bad_device_token")


def test_bad_token_connects_are_counted_exactly_in_one_write(live: LiveEndpoint) -> None:
    for attempt in range(ATTEMPTS):
        level = 5 if attempt % 2 else 4
        with dial(live.port) as sock:
            sock.sendall(connect_packet(f"not-a-token-{attempt}", level=level))
            answer = read_packet(sock)
            assert answer is not None and answer[0] == codec.CONNACK
            assert answer[1][1] == (0x87 if level == 5 else 5)  # not authorised

    # Nothing was written per refusal: all of them wait in the tally.
    assert _bad_token_count(live) == 0
    assert live.world.door.refusals.writes == 0

    live.world.door.refusals.wait_written(PATIENCE_S)
    assert _bad_token_count(live) == ATTEMPTS
    assert live.world.door.refusals.writes == 1
