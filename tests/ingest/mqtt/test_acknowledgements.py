"""Acknowledgements of one connection: after each publish's work, in the order the publishes
came, those that are due together in one write; reading pauses while too many are at work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import UnavailableError
from shugu.ingest.mqtt import codec
from shugu.ingest.mqtt.codec import Connect, Publish
from shugu.ingest.mqtt.connection import MqttConnection, Outcome
from shugu.ingest.mqtt.server import MqttEndpoint

DEVICE = DeviceRef(1, 1, "loom-1", "loom")


class _Transport:
    """What the connection uses of an asyncio transport, recording every write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.reading = True
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str) -> object:
        return None


class _App:
    """Every publish's work is a future the test settles when it likes."""

    def __init__(self) -> None:
        self.work: list[asyncio.Future[Outcome]] = []

    def authenticate(self, connect: Connect) -> DeviceRef | None:
        return DEVICE

    def may_subscribe(self, device: DeviceRef, topic_filter: str) -> bool:
        return True

    def on_publish(self, conn: MqttConnection, publish: Publish) -> Awaitable[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.work.append(future)
        return future

    def on_connected(self, conn: MqttConnection) -> None:
        pass

    def on_disconnected(self, conn: MqttConnection) -> None:
        pass

    def on_refused(self, device: DeviceRef | None, code: str, reason: str) -> None:
        pass


def _connect_packet() -> bytes:
    body = b"\x00\x04MQTT\x04\x82\x00\x3c" + b"\x00\x02id" + b"\x00\x05token"
    return codec.packet(codec.CONNECT << 4, body)


async def _connected(max_inflight: int = 100) -> tuple[MqttConnection, _Transport, _App]:
    app = _App()
    endpoint = MqttEndpoint(app, max_packet_bytes=65_536, max_inflight=max_inflight)
    conn = MqttConnection(endpoint)
    transport = _Transport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    conn.data_received(_connect_packet())
    for _ in range(100):
        if conn.session is not None:
            break
        await asyncio.sleep(0.01)
    assert conn.session is not None
    assert transport.writes == [codec.connack(codec.MQTT_311, False, 0)]
    transport.writes.clear()
    return conn, transport, app


def _publishes(*packet_ids: int, qos: int = 1) -> bytes:
    return b"".join(
        codec.publish("v1/devices/me/telemetry", b"{}", qos, i, codec.MQTT_311) for i in packet_ids
    )


def _pubacks(*packet_ids: int) -> bytes:
    return b"".join(codec.ack(codec.PUBACK, i, codec.MQTT_311) for i in packet_ids)


async def _settle_loop() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_acknowledged_in_order_and_together_once_due() -> None:
    async def scenario() -> None:
        conn, transport, app = await _connected()
        conn.data_received(_publishes(1, 2, 3, 4))
        assert len(app.work) == 4
        app.work[2].set_result(Outcome())
        app.work[1].set_result(Outcome())
        await _settle_loop()
        assert transport.writes == []  # the first is still at work
        app.work[0].set_result(Outcome())
        await _settle_loop()
        assert transport.writes == [_pubacks(1, 2, 3)]
        app.work[3].set_result(Outcome())
        await _settle_loop()
        assert transport.writes == [_pubacks(1, 2, 3), _pubacks(4)]

    asyncio.run(scenario())


def test_reading_pauses_at_the_in_flight_limit_and_resumes_at_half() -> None:
    async def scenario() -> None:
        conn, transport, app = await _connected(max_inflight=4)
        conn.data_received(_publishes(1, 2, 3, 4, 5, 6))
        assert len(app.work) == 4 and not transport.reading  # 5 and 6 wait in the buffer
        app.work[0].set_result(Outcome())
        await _settle_loop()
        assert len(app.work) == 4 and not transport.reading
        app.work[1].set_result(Outcome())
        await _settle_loop()
        # Down to half: the two that waited in the buffer are read, which fills it again.
        assert len(app.work) == 6 and not transport.reading
        for work in app.work[2:]:
            work.set_result(Outcome())
        await _settle_loop()
        assert transport.reading
        assert b"".join(transport.writes) == _pubacks(1, 2, 3, 4, 5, 6)

    asyncio.run(scenario())


def test_work_that_is_not_durable_is_never_acknowledged() -> None:
    async def scenario() -> None:
        conn, transport, app = await _connected()
        conn.data_received(_publishes(1, 2, 3))
        app.work[1].set_exception(UnavailableError("the disk is full"))
        app.work[0].set_result(Outcome())
        app.work[2].set_result(Outcome())
        await _settle_loop()
        assert transport.closed
        assert _pubacks(2) not in b"".join(transport.writes)
        assert _pubacks(3) not in b"".join(transport.writes)

    asyncio.run(scenario())


def test_qos_0_is_not_acknowledged_and_holds_no_later_acknowledgement() -> None:
    async def scenario() -> None:
        conn, transport, app = await _connected()
        conn.data_received(codec.publish("v1/devices/me/telemetry", b"{}", 0, None, 4))
        conn.data_received(_publishes(7))
        for work in app.work:
            work.set_result(Outcome())
        await _settle_loop()
        assert transport.writes == [_pubacks(7)]

    asyncio.run(scenario())
