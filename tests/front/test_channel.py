"""The front channel: frames, batches, and a front's answer coming only after main's commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shugu.config import Settings
from shugu.domain.batch import Batch
from shugu.domain.entities import DeviceRef
from shugu.domain.errors import OverloadedError, UnavailableError
from shugu.front import wire
from shugu.front.channel_store import ChannelStore
from shugu.front.hub import FrontHub
from shugu.ingest.door import IngestDoor
from shugu.ingest.ingest_meter import HTTP, MQTT
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.telemetry import AttributeRecord, RejectRecord, Rejects

NOW = 1_795_104_000_000
BOX = DeviceRef(id=7, enterprise_id=1, name="Box", profile="generic")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBTelemetryStore]:
    s = DuckDBTelemetryStore(tmp_path / "t.duckdb", max_backlog_rows=100)
    yield s
    s.close()


def _batch(rows: int, metric: int = 1) -> Batch:
    return Batch(
        np.full(rows, BOX.id, np.int32),
        np.full(rows, metric, np.int32),
        NOW + np.arange(rows, dtype=np.int64),
        np.arange(rows, dtype=np.float64),
        np.zeros(rows, np.uint8),
    )


async def _joined(store: DuckDBTelemetryStore, data: Path) -> tuple[FrontHub, ChannelStore]:
    hub = FrontHub(store, data)
    await hub.start()
    front = ChannelStore(data)
    await front.connect()
    return hub, front


async def _parted(hub: FrontHub, front: ChannelStore) -> None:
    await front.close()
    await hub.stop()


# -- frames


def test_a_frame_reads_back_and_a_cut_stream_is_refused() -> None:
    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(wire.frame(wire.ACK, 5, b"abc") + wire.frame(wire.HELLO, 0))
        reader.feed_data(wire.frame(wire.BATCH, 9, b"xyz")[:-1])
        reader.feed_eof()
        assert await wire.read_frame(reader) == (wire.ACK, 5, b"abc")
        assert await wire.read_frame(reader) == (wire.HELLO, 0, b"")
        with pytest.raises(wire.ChannelError, match="inside a frame"):
            await wire.read_frame(reader)
        empty = asyncio.StreamReader()
        empty.feed_eof()
        assert await wire.read_frame(empty) is None

    asyncio.run(run())


def test_a_frame_claiming_more_than_the_bound_is_refused_before_reading_it() -> None:
    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(wire.HEAD.pack(wire.MAX_FRAME_BYTES + 1, wire.BATCH, 1))
        with pytest.raises(wire.ChannelError, match="over"):
            await wire.read_frame(reader)

    asyncio.run(run())


def test_a_batch_with_refusals_attributes_and_names_survives_the_wire() -> None:
    rejects = Rejects()
    rejects.add(RejectRecord(NOW, BOX.id, "not_a_number", "no number", "temp", NOW, "x"), 3)
    attrs = [AttributeRecord(BOX.id, "client", "fw", '"1.2"', NOW)]
    batch = _batch(4, metric=2)
    got = wire.decode_batch(wire.encode_batch(batch, rejects, attrs, {2: "temp"}))
    assert got.new_names == {2: "temp"}
    assert got.rejects is not None and got.rejects.counts == {(BOX.id, "not_a_number"): 3}
    assert got.rejects.samples == rejects.samples
    assert got.attributes == attrs
    for column in ("device", "metric", "ts", "value", "quality"):
        assert np.array_equal(getattr(got.batch, column), getattr(batch, column))


@pytest.mark.parametrize("cut", [1, 3, 7])
def test_a_batch_frame_that_does_not_add_up_is_refused(cut: int) -> None:
    payload = wire.encode_batch(_batch(3), None, None, {1: "a"})
    with pytest.raises(wire.ChannelError):
        wire.decode_batch(payload[:-cut])
    with pytest.raises(wire.ChannelError):
        wire.decode_batch(payload + b"\0" * cut)


# -- a front's batches in main's store


def test_a_front_batch_is_answered_only_after_main_has_committed_it(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    held = threading.Event()
    seen: list[Batch] = []

    def listener(batch: Batch) -> None:
        # Called on the writer thread right after the commit, before the sender is answered.
        seen.append(batch)
        held.wait(10)

    store.add_listener(listener)

    async def run() -> None:
        hub, front = await _joined(store, tmp_path)
        ids = front.metric_ids(["temp", "rh"])
        batch = _batch(3, metric=int(ids[1]))
        future = asyncio.wrap_future(front.submit(batch))
        while not seen:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert not future.done(), "answered before main's commit was through"
        assert front.backlog_rows >= 3
        held.set()
        assert await future == 3
        assert front.backlog_rows == 0
        await _parted(hub, front)

    asyncio.run(run())
    # The front's number for "rh" became the store's own number for it.
    assert seen[0].metric.tolist() == [store.metric_id("rh")] * 3
    latest = store.latest([BOX.id]).to_pylist()
    assert [(r["metric"], r["value"]) for r in latest] == [("rh", 2.0)]


def test_main_answers_full_when_its_backlog_is_full(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    held = threading.Event()
    store.add_listener(lambda _batch: held.wait(10))

    async def run() -> None:
        hub, front = await _joined(store, tmp_path)
        assert front.max_backlog_rows == 100
        front.metric_ids(["temp"])
        first = asyncio.wrap_future(front.submit(_batch(80)))
        second = asyncio.wrap_future(front.submit(_batch(80)))
        with pytest.raises(OverloadedError):
            await second
        held.set()
        assert await first == 80
        await _parted(hub, front)

    asyncio.run(run())


def test_the_door_of_a_front_stores_through_main_with_names_and_refusals(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    async def run() -> None:
        hub, front = await _joined(store, tmp_path)
        door = IngestDoor(front, Settings(retention_days=30), clock=lambda: NOW)
        body = b'{"ts": %d, "values": {"temp": 21.5, "bad": "x", "rh": 40}}' % NOW
        result = await door.ingest(door.device_json(BOX).decode(body), HTTP)
        assert (result.accepted, result.refused) == (2, 1)
        held = await door.ingest(door.device_json(BOX).decode(b'{"temp": 22}'), MQTT)
        assert held.accepted == 1
        await _parted(hub, front)

    asyncio.run(run())
    latest = {r["metric"]: r["value"] for r in store.latest([BOX.id]).to_pylist()}
    assert latest == {"temp": 22.0, "rh": 40.0}
    samples = store.reject_samples([BOX.id], 10).to_pylist()
    assert [s["metric"] for s in samples] == ["bad"]


def test_a_front_whose_main_is_gone_fails_its_waiting_batches(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    held = threading.Event()
    store.add_listener(lambda _batch: held.wait(10))

    async def run() -> None:
        hub, front = await _joined(store, tmp_path)
        front.metric_ids(["temp"])
        waiting = asyncio.wrap_future(front.submit(_batch(2)))
        await asyncio.sleep(0.1)
        await hub.stop()
        with pytest.raises(UnavailableError):
            await waiting
        await asyncio.wait_for(front.closed.wait(), 5)
        with pytest.raises(UnavailableError):
            await asyncio.wrap_future(front.submit(_batch(1)))
        held.set()
        await front.close()

    asyncio.run(run())


def test_main_tells_every_front_of_a_revocation_and_gathers_their_counters(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    async def run() -> None:
        hub = FrontHub(store, tmp_path)
        await hub.start()
        fronts = [ChannelStore(tmp_path), ChannelStore(tmp_path)]
        heard: list[tuple[int, int, str]] = []
        for index, front in enumerate(fronts):
            await front.connect()
            front.on_revoke = lambda d, r, i=index: heard.append((i, d, r)) or 2
            front.stats = lambda i=index: {"mqtt_connections": 10 + i}
        while len(hub.links) < 2:
            await asyncio.sleep(0.01)
        # From a thread, as routes call it: it returns once every front has closed them.
        closed = await asyncio.to_thread(hub.disconnect_device, 7, "the device was deleted")
        assert closed == 4
        assert sorted(heard) == [(0, 7, "the device was deleted"), (1, 7, "the device was deleted")]
        stats = await asyncio.to_thread(hub.stats)
        assert sorted(s["mqtt_connections"] for s in stats) == [10, 11]
        for front in fronts:
            await front.close()
        await hub.stop()

    asyncio.run(run())


def test_the_channel_socket_is_for_its_owner_only(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    async def run() -> None:
        hub = FrontHub(store, tmp_path)
        await hub.start()
        assert (tmp_path / wire.FRONTS_SOCKET).stat().st_mode & 0o777 == 0o600
        await hub.stop()
        assert not (tmp_path / wire.FRONTS_SOCKET).exists()

    asyncio.run(run())


# -- the node's one bound


def test_a_process_gets_its_share_of_a_node_wide_limit() -> None:
    two = Settings(data_dir=Path("."), workers=2)
    assert [two.per_process(n) for n in (0, 1, 4, 5, 1024)] == [0, 1, 2, 3, 512]
    assert Settings(data_dir=Path("."), workers=1).per_process(5) == 5
    assert two.process_share().max_ingest_requests == 16


def test_a_fronts_rows_in_flight_count_once_per_process_of_the_node(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    """With two processes a front's 30 rows in flight weigh 60 against main's bound: main's
    backlog and every front's rows in flight together stay within the one bound."""

    async def run() -> None:
        hub = FrontHub(store, tmp_path)
        await hub.start()
        front = ChannelStore(tmp_path, processes=2)
        await front.connect()
        try:
            # Settled only after main's commit: until then the rows are in flight.
            (metric,) = front.metric_ids(["temp"])
            future = front.submit(_batch(30, int(metric)))
            assert front.backlog_rows == 60
            await asyncio.wrap_future(future)
            assert front.backlog_rows < 60
        finally:
            await _parted(hub, front)

    asyncio.run(run())


def test_a_front_held_by_mains_backlog_is_let_go_once_main_has_room(
    store: DuckDBTelemetryStore, tmp_path: Path
) -> None:
    """Main's backlog reaches a front only with main's answers. A front that last heard of a
    congested main and has nothing in flight must not wait for another answer that never comes:
    its MQTT senders would be held for good."""
    first_held, main_held = threading.Event(), threading.Event()

    def listener(batch: Batch) -> None:
        # The front's 1-row batch waits for first_held, main's own 60 rows for main_held.
        (first_held if len(batch) == 1 else main_held).wait(10)

    store.add_listener(listener)

    async def run() -> None:
        hub, front = await _joined(store, tmp_path)
        door = IngestDoor(front, Settings(data_dir=tmp_path))
        try:
            (metric,) = front.metric_ids(["temp"])
            answered = asyncio.wrap_future(front.submit(_batch(1, int(metric))))
            while store.backlog_rows < 1:
                await asyncio.sleep(0.01)
            own = store.submit(_batch(60, store.metric_ids(["rh"])[0].item()))
            while store.backlog_rows < 61:
                await asyncio.sleep(0.01)
            first_held.set()
            assert await answered == 1
            # The answer told of main's 60 rows waiting: more than half its bound of 100.
            assert door.congested
            main_held.set()
            await asyncio.wrap_future(own)
            # Main has room again; the front learns it without sending anything first.
            await asyncio.wait_for(door.wait_for_room(), 10)
            assert front.backlog_rows == 0
        finally:
            first_held.set()
            main_held.set()
            await _parted(hub, front)

    asyncio.run(run())
