"""The MQTT endpoint on a real socket, under slow-loris clients and garbage, while a device works.

An in-process endpoint (the ThingsBoard application on a real registry and DuckDB store) listens
on a free port with a short CONNECT deadline. Clients that never send CONNECT, or dribble it one
byte at a time, are closed at the deadline; a client in session that dribbles a packet is timed
out by keep-alive (whole packets count as signs of life, single bytes do not); malformed and
oversize packets get their MQTT 5 DISCONNECT reason. Meanwhile and afterwards a normal device
gets a PUBACK for every publish, and no exception reaches the event loop.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bench.fuzz_ingest import IngestWorld
from bench.fuzz_mqtt import mqtt_streams
from hypothesis import given

from shugu.domain.batch import Batch
from shugu.ingest.mqtt import codec
from shugu.ingest.mqtt.server import MqttEndpoint
from tests.fuzz.fuzzing import fuzz

CONNECT_TIMEOUT_S = 1.0
#: How long a client waits for the server before the test gives up (a hang, not a timing).
PATIENCE_S = 30.0


class LiveEndpoint:
    def __init__(self, world: IngestWorld) -> None:
        self.world = world
        self.errors: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(lambda _, context: self.errors.append(context))
        self.endpoint = MqttEndpoint(
            world.app,
            max_packet_bytes=64 * 1024,
            max_inflight=100,
            connect_timeout_s=CONNECT_TIMEOUT_S,
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(self.endpoint.start("127.0.0.1", 0), self.loop)
        self.port = started.result(PATIENCE_S)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.endpoint.stop(), self.loop).result(PATIENCE_S)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(PATIENCE_S)
        self.loop.close()

    def refusal_codes(self) -> set[str]:
        # Refusals before authentication are tallied in memory first (as /api/rejects does,
        # write them out before reading); the writer commits in order: once this is durable,
        # so are the refusals before it.
        self.world.door.refusals.wait_written(PATIENCE_S)
        self.world.store.submit(Batch.empty()).result(PATIENCE_S)
        return set(self.world.store.reject_counts(None).column("code").to_pylist())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEndpoint]:
    world = IngestWorld(tmp_path_factory.mktemp("fuzz-live"))
    server = LiveEndpoint(world)
    try:
        yield server
    finally:
        server.stop()
        world.close()


# -- a small client ---------------------------------------------------------------------------


def _string(raw: bytes) -> bytes:
    return len(raw).to_bytes(2, "big") + raw


def connect_packet(token: str, level: int = 5, keep_alive: int = 60) -> bytes:
    body = _string(b"MQTT") + bytes([level, 0x82]) + keep_alive.to_bytes(2, "big")
    body += (b"\x00" if level == 5 else b"") + _string(b"") + _string(token.encode())
    return codec.packet(codec.CONNECT << 4, body)


def publish_packet(packet_id: int, payload: bytes, level: int = 5) -> bytes:
    body = _string(b"v1/devices/me/telemetry") + packet_id.to_bytes(2, "big")
    body += (b"\x00" if level == 5 else b"") + payload
    return codec.packet((codec.PUBLISH << 4) | 0x02, body)


def dial(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_S)


def read_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_packet(sock: socket.socket) -> tuple[int, bytes] | None:
    """The next packet from the server: (type, body), or None when it closed the connection."""
    first = read_exactly(sock, 1)
    if first is None:
        return None
    length, shift = 0, 0
    while True:
        byte = read_exactly(sock, 1)
        if byte is None:
            return None
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = read_exactly(sock, length) if length else b""
    return (first[0] >> 4, body) if body is not None else None


def closed_without_answer(sock: socket.socket) -> bool:
    """Whether the server closes the connection before sending anything more.

    A reset counts as closed: a server that closes with bytes of ours still unread (a dribbled
    byte that crossed its close, garbage it stopped reading) makes the kernel answer with RST.
    """
    try:
        return read_packet(sock) is None
    except ConnectionResetError:
        return True


def server_spoke(sock: socket.socket) -> bool:
    """Without blocking: whether the server sent something or closed the connection."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def dribble(sock: socket.socket, data: bytes, interval_s: float) -> int:
    """Send one byte per interval until the server speaks up; returns how many were sent."""
    sent = 0
    while sent < len(data) and not server_spoke(sock):
        try:
            sock.sendall(data[sent : sent + 1])
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 1
        time.sleep(interval_s)
    return sent


def session(port: int, token: str, keep_alive: int = 60) -> socket.socket:
    sock = dial(port)
    sock.sendall(connect_packet(token, keep_alive=keep_alive))
    answer = read_packet(sock)
    assert answer is not None and answer[0] == codec.CONNACK and answer[1][1] == 0, answer
    return sock


class Device(threading.Thread):
    """Publishes QoS 1 telemetry until stopped; keeps each PUBACK's reason code."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(daemon=True)
        self.sock = session(port, token)
        self.stop_event = threading.Event()
        self.codes: list[int] = []

    def publish(self, packet_id: int) -> None:
        self.sock.sendall(publish_packet(packet_id, b'{"temp": %d}' % packet_id))
        answer = read_packet(self.sock)
        assert answer is not None and answer[0] == codec.PUBACK, answer
        assert int.from_bytes(answer[1][:2], "big") == packet_id
        self.codes.append(answer[1][2] if len(answer[1]) > 2 else 0)

    def run(self) -> None:
        packet_id = 0
        while not self.stop_event.wait(0.02):
            packet_id = packet_id % 60_000 + 1
            self.publish(packet_id)


# -- the tests ----------------------------------------------------------------------------------


def test_slow_loris_and_garbage_do_not_stop_a_device(live: LiveEndpoint) -> None:
    port = live.port
    device = Device(port, live.world.tokens["box-1"])
    device.start()
    try:
        # Connects and never speaks: closed at the CONNECT deadline, without an answer.
        silent = dial(port)
        assert closed_without_answer(silent)

        # Dribbles its CONNECT a byte at a time: the deadline runs from the TCP connection.
        dribbler = dial(port)
        whole = connect_packet(live.world.tokens["box-1"])
        assert dribble(dribbler, whole, 0.2) < len(whole), "the CONNECT dribbled through"
        assert closed_without_answer(dribbler)  # and no CONNACK was ever sent

        # In session with keep-alive 1 s, dribbles a PUBLISH: single bytes are no sign of life.
        slow = session(port, live.world.tokens["loom-1"], keep_alive=1)
        publish = publish_packet(1, b'{"speed_rpm": 600}')
        sent = dribble(slow, publish, 0.25)
        assert sent < len(publish), "the dribbled PUBLISH kept the connection alive"
        answer = read_packet(slow)
        assert answer == (codec.DISCONNECT, bytes([0x8D, 0])), answer  # keep alive timeout

        # Malformed (QoS 3) and oversize packets in session: DISCONNECT with the reason.
        for bad, reason in [
            (bytes([0x36, 4]) + _string(b"ab"), 0x81),
            (bytes([0x32]) + codec.encode_varint(10_000_000), 0x95),
            (bytes([0x82, 0]), 0x81),  # SUBSCRIBE without a packet identifier
        ]:
            sock = session(port, live.world.tokens["loom-1"])
            sock.sendall(bad)
            answer = read_packet(sock)
            assert answer is not None and answer[0] == codec.DISCONNECT, answer
            assert answer[1][0] == reason
            assert closed_without_answer(sock)

        # Garbage before CONNECT: closed without an answer.
        junk = dial(port)
        junk.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed_without_answer(junk)
    finally:
        device.stop_event.set()
        device.join(PATIENCE_S)
    # The device was served throughout, and still is.
    for packet_id in range(60_001, 60_006):
        device.publish(packet_id)
    assert device.codes and set(device.codes) == {0}
    assert not live.errors, live.errors
    assert {"connect_timeout", "malformed_packet", "payload_too_large"} <= live.refusal_codes()


@fuzz(0.3)
@given(mqtt_streams())
def test_hostile_streams_over_tcp(live: LiveEndpoint, chunks: list[bytes]) -> None:
    sock = dial(live.port)
    try:
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
    finally:
        sock.close()
    # Whatever that was, a device still gets its PUBACK and the loop saw no exception.
    device = Device(live.port, live.world.tokens["box-1"])
    try:
        device.publish(1)
    finally:
        device.sock.close()
    assert device.codes == [0]
    assert not live.errors, live.errors
