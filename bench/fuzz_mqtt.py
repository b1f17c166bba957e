"""Fuzz cases for the MQTT endpoint's server side: byte streams a client might send.

A case is a stream of packets (usually a good CONNECT first, so that what follows is parsed in
a session) with wrong fixed-header flags, malformed or lying remaining lengths, oversize
packets, bad properties, invalid UTF-8 and truncation, cut into arbitrary chunks as TCP may
deliver them. The stream is fed to a real ``MqttConnection`` over an in-memory transport.

The verdict: no exception may escape the connection; when the server closes the connection it
must have counted a refusal with a code and a reason (``on_refused``), unless the client itself
sent DISCONNECT; an MQTT 5 client in session gets DISCONNECT with 0x81 (malformed packet), 0x82
(protocol error) or 0x95 (packet too large) before the close; and a connection left open must
still be reading.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bench.fuzz_cases import ACCEPTED, Codec, Verdict, mixture, mutate, unexplained
from shugu.domain.entities import DeviceRef
from shugu.ingest.mqtt import codec
from shugu.ingest.mqtt.codec import Connect, MalformedPacket, PacketTooLarge, Publish
from shugu.ingest.mqtt.connection import MqttConnection, Outcome
from shugu.ingest.mqtt.server import MqttEndpoint

GOOD_TOKEN = b"fuzz-device-token"
DEVICE = DeviceRef(1, 1, "box-1", "generic")
#: Small, so that oversize packets are cheap to make.
MAX_PACKET = 2048
#: The MQTT 5 reason code a refusal's DISCONNECT must carry.
DISCONNECT_CODE = {"malformed_packet": 0x81, "protocol_error": 0x82, "payload_too_large": 0x95}


class FuzzApp:
    """An MQTT application that takes every publish and records every refusal."""

    def __init__(self) -> None:
        self.refusals: list[tuple[str, str]] = []

    def authenticate(self, connect: Connect) -> DeviceRef | None:
        return DEVICE if connect.username == GOOD_TOKEN.decode() else None

    def may_subscribe(self, device: DeviceRef, topic_filter: str) -> bool:
        return topic_filter.startswith("v1/")

    async def _stored(self) -> Outcome:
        return Outcome()

    def on_publish(self, conn: MqttConnection, publish: Publish) -> Any:
        return self._stored()

    def on_connected(self, conn: MqttConnection) -> None:
        pass

    def on_disconnected(self, conn: MqttConnection) -> None:
        pass

    def on_refused(self, device: DeviceRef | None, code: str, reason: str) -> None:
        self.refusals.append((code, reason))


class MemoryTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def frames(data: bytes | bytearray) -> Iterator[tuple[int, bytes]]:
    """(packet type, body) of each whole, well-framed packet at the start of ``data``."""
    buf = bytearray(data)
    while True:
        try:
            frame = codec.split_frame(buf, codec.MAX_REMAINING + 5)
        except (MalformedPacket, PacketTooLarge):
            return
        if frame is None:
            return
        first, header, total = frame
        yield first >> 4, bytes(buf[header:total])
        del buf[:total]


async def _settle() -> None:
    """Let the connection's own work (authentication, acknowledgements) finish."""
    for _ in range(1000):
        mine = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not mine and not t.done()]
        if not pending:
            return
        await asyncio.wait(pending, timeout=5)


async def feed(chunks: list[bytes]) -> tuple[MqttConnection, MemoryTransport, FuzzApp]:
    app = FuzzApp()
    endpoint = MqttEndpoint(app, max_packet_bytes=MAX_PACKET, max_inflight=16)  # type: ignore[arg-type]
    conn = MqttConnection(endpoint)
    transport = MemoryTransport()
    conn.connection_made(transport)
    try:
        for chunk in chunks:
            if transport.closed:
                break
            conn.data_received(chunk)
            await _settle()
    finally:
        await _settle()
        conn.connection_lost(None)
    return conn, transport, app


class StreamChecker:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def check(self, chunks: list[bytes]) -> Verdict:
        conn, transport, app = self.loop.run_until_complete(feed(chunks))
        for code, reason in app.refusals:
            if not code or not reason.strip():
                return unexplained(f"a refusal without a code or reason: {code!r} {reason!r}")
        if not transport.closed:
            if not transport.reading:
                return unexplained("the connection stopped reading and nothing resumes it")
            return ACCEPTED
        if not app.refusals:
            if any(kind == codec.DISCONNECT for kind, _ in frames(b"".join(chunks))):
                return ACCEPTED
            return unexplained("the server closed the connection without saying why")
        code = app.refusals[-1][0]
        expected = DISCONNECT_CODE.get(code)
        if expected is not None and conn.session is not None and conn.level == codec.MQTT_5:
            sent = list(frames(transport.written))
            if not sent or sent[-1][0] != codec.DISCONNECT or sent[-1][1][:1] != bytes([expected]):
                return unexplained(f"{code} without DISCONNECT 0x{expected:02x} to the client")
        return Verdict("rejected", tuple(sorted({c for c, _ in app.refusals})))

    def close(self) -> None:
        self.loop.close()


@contextmanager
def _stream_checker(folder: Path) -> Iterator[Any]:
    checker = StreamChecker()
    try:
        yield checker.check
    finally:
        checker.close()


# -- packets ---------------------------------------------------------------------------------


def mqtt_bytes(raw: bytes) -> bytes:
    raw = raw[:65535]
    return len(raw).to_bytes(2, "big") + raw


TOPICS = [b"v1/devices/me/telemetry", b"v1/devices/me/attributes", b"v1/gateway/telemetry"]
texts = mixture(
    (6, st.sampled_from([*TOPICS, b"v1/devices/me/rpc/request/+", b"client-1", b"a/b"])),
    (1, st.sampled_from([b"", b"\x00", b"a\x00b", b"\xff\xfe", b"\xed\xa0\x80", b"#", b"+/#"])),
    (1, st.binary(max_size=12)),
)
u16 = st.integers(0, 0xFFFF)
_PROPERTY_VALUES: dict[int, st.SearchStrategy[Any]] = {
    codec.PROP_SESSION_EXPIRY: st.integers(0, 2**32 - 1),
    codec.PROP_RECEIVE_MAXIMUM: u16,
    codec.PROP_MAXIMUM_PACKET_SIZE: st.integers(0, 2**32 - 1),
    codec.PROP_TOPIC_ALIAS: u16,
    codec.PROP_TOPIC_ALIAS_MAXIMUM: u16,
    codec.PROP_PAYLOAD_FORMAT: st.integers(0, 255),
    codec.PROP_MESSAGE_EXPIRY: st.integers(0, 2**32 - 1),
    codec.PROP_SUBSCRIPTION_ID: st.integers(0, codec.MAX_REMAINING),
    codec.PROP_CONTENT_TYPE: st.text(max_size=8),
    codec.PROP_CORRELATION_DATA: st.binary(max_size=8),
    codec.PROP_USER_PROPERTY: st.lists(
        st.tuples(st.text(max_size=4), st.text(max_size=4)), max_size=2
    ),
}


@st.composite
def properties(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["none", "valid", "none", "twice", "raw", "valid", "none"]))
    if kind == "none":
        return b"\x00"
    if kind == "raw":
        body = draw(st.binary(max_size=12))
        length = draw(st.one_of(st.just(len(body)), st.integers(0, 300)))
        return codec.encode_varint(length) + body
    chosen = draw(st.lists(st.sampled_from(list(_PROPERTY_VALUES)), max_size=3, unique=True))
    props = {ident: draw(_PROPERTY_VALUES[ident]) for ident in chosen}
    encoded = codec.encode_properties(props)
    if kind == "twice" and props:
        # The same properties again: "given twice" for all but user properties.
        inner = encoded[_varint_size(encoded) :]
        return codec.encode_varint(2 * len(inner)) + inner + inner
    return encoded


def _varint_size(data: bytes) -> int:
    for i, b in enumerate(data[:4]):
        if not b & 0x80:
            return i + 1
    return 4


@st.composite
def connect_packets(draw: st.DrawFn, good: bool = True) -> tuple[int, bytes]:
    level = draw(mixture((6, st.sampled_from([4, 5])), (1, st.sampled_from([3, 0, 6, 255]))))
    name = b"MQIsdp" if level == 3 else b"MQTT"
    if not draw(st.integers(0, 15)):
        name = draw(st.sampled_from([b"MQTT\x00", b"mqtt", b"", b"\xff"]))
    will = not draw(st.integers(0, 5))
    flags = 0x02 | 0x80 | (0x40 if draw(st.booleans()) else 0)
    if will:
        flags |= 0x04 | (draw(st.integers(0, 3)) << 3) | (0x20 if draw(st.booleans()) else 0)
    if not draw(st.integers(0, 7)):
        flags = draw(st.integers(0, 255))
    body = mqtt_bytes(name) + bytes([level, flags]) + draw(u16).to_bytes(2, "big")
    if level == 5:
        body += draw(properties())
    body += mqtt_bytes(draw(mixture((3, st.just(b"client-1")), (1, texts))))
    if flags & 0x04:
        if level == 5:
            body += draw(properties())
        body += mqtt_bytes(draw(texts)) + mqtt_bytes(draw(st.binary(max_size=8)))
    if flags & 0x80:
        token = GOOD_TOKEN if good and draw(st.integers(0, 7)) else draw(texts)
        body += mqtt_bytes(token)
    if flags & 0x40:
        body += mqtt_bytes(draw(st.binary(max_size=8)))
    if not draw(st.integers(0, 9)):
        body += draw(st.binary(min_size=1, max_size=4))
    return codec.CONNECT << 4, body


@st.composite
def publish_packets(draw: st.DrawFn, level: int) -> tuple[int, bytes]:
    qos = draw(mixture((6, st.sampled_from([0, 1, 1, 2])), (1, st.just(3))))
    dup = draw(st.booleans()) if qos else not draw(st.integers(0, 9))
    flags = (qos << 1) | (0x08 if dup else 0) | (1 if draw(st.booleans()) else 0)
    body = mqtt_bytes(draw(texts))
    if qos:
        body += draw(mixture((6, st.integers(1, 0xFFFF)), (1, st.just(0)))).to_bytes(2, "big")
    if level == 5:
        body += draw(properties())
    body += draw(
        mixture(
            (6, st.sampled_from([b'{"temp": 21.5}', b"", b"[1,2]", b"\xff"])),
            (1, st.integers(0, 2 * MAX_PACKET).map(lambda n: b"x" * n)),
        )
    )
    return (codec.PUBLISH << 4) | flags, body


@st.composite
def other_packets(draw: st.DrawFn, level: int) -> tuple[int, bytes]:
    kind = draw(
        st.sampled_from(
            [
                codec.PUBACK,
                codec.PUBREC,
                codec.PUBREL,
                codec.PUBCOMP,
                codec.SUBSCRIBE,
                codec.UNSUBSCRIBE,
                codec.PINGREQ,
                codec.DISCONNECT,
                codec.AUTH,
                codec.CONNECT,
                codec.CONNACK,
                codec.SUBACK,
                codec.UNSUBACK,
                codec.PINGRESP,
                0,
            ]
        )
    )
    flags = 0x02 if kind in (codec.PUBREL, codec.SUBSCRIBE, codec.UNSUBSCRIBE) else 0
    if kind in (codec.SUBSCRIBE, codec.UNSUBSCRIBE):
        body = draw(u16).to_bytes(2, "big") + (draw(properties()) if level == 5 else b"")
        for topic in draw(st.lists(texts, max_size=3)):
            body += mqtt_bytes(topic)
            if kind == codec.SUBSCRIBE:
                body += bytes([draw(mixture((4, st.integers(0, 2)), (1, st.integers(0, 255))))])
    elif kind in (codec.PUBACK, codec.PUBREC, codec.PUBREL, codec.PUBCOMP):
        body = draw(st.binary(min_size=0, max_size=5))
    elif kind == codec.DISCONNECT and level == 5:
        body = draw(st.sampled_from([b"", b"\x00", b"\x04\x00", b"\x80"]))
    else:
        body = draw(st.binary(max_size=6))
    return (kind << 4) | flags, body


@st.composite
def framed(draw: st.DrawFn, packet: tuple[int, bytes]) -> bytes:
    """A packet with its fixed header: usually right, sometimes lying."""
    first, body = packet
    how = draw(
        st.sampled_from(["right"] * 5 + ["flags", "long", "short", "five", "overlong", "huge"])
    )
    length = codec.encode_varint(len(body))
    if how == "flags":
        first = (first & 0xF0) | draw(st.integers(0, 15))
    elif how == "long":
        length = codec.encode_varint(len(body) + draw(st.integers(1, 64)))
    elif how == "short":
        length = codec.encode_varint(max(0, len(body) - draw(st.integers(1, 64))))
    elif how == "five":
        length = b"\x80\x80\x80\x80\x01"
    elif how == "overlong":
        length = bytes([(len(body) & 0x7F) | 0x80, 0x80, 0x00])
    elif how == "huge":
        length = codec.encode_varint(draw(st.integers(MAX_PACKET, codec.MAX_REMAINING)))
    return bytes([first]) + length + body


@st.composite
def mqtt_streams(draw: st.DrawFn) -> list[bytes]:
    """A client's bytes, cut into the chunks the server reads them in."""
    packets = []
    level = 4
    if draw(st.integers(0, 9)):
        connect = draw(connect_packets())
        level = _level(connect[1])
        packets.append(draw(framed(connect)) if draw(st.integers(0, 5)) else _right(connect))
    for _ in range(draw(st.integers(0, 6))):
        packet = draw(
            mixture((3, publish_packets(level)), (2, other_packets(level)), (1, connect_packets()))
        )
        packets.append(draw(framed(packet)))
    data = b"".join(packets)
    if not draw(st.integers(0, 9)):
        data = mutate(
            data,
            draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(("truncate", "flip", "insert", "delete")),
                        st.integers(0, 1 << 16),
                        st.binary(min_size=1, max_size=4),
                    ),
                    min_size=1,
                    max_size=2,
                )
            ),
        )
    if not draw(st.integers(0, 19)):
        data = draw(st.binary(max_size=64))
    sizes = draw(st.lists(st.integers(1, 64), max_size=8))
    chunks = []
    at = 0
    for size in sizes:
        chunks.append(data[at : at + size])
        at += size
    chunks.append(data[at:])
    return [c for c in chunks if c] or [b""]


def _level(connect_body: bytes) -> int:
    name_length = int.from_bytes(connect_body[:2], "big")
    at = 2 + name_length
    return connect_body[at] if at < len(connect_body) else 4


def _right(packet: tuple[int, bytes]) -> bytes:
    first, body = packet
    return codec.packet(first, body)


CODECS = [Codec("mqtt_packets", mqtt_streams(), _stream_checker)]
