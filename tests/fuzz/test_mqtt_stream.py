"""Hostile MQTT byte streams fed to the server side of a connection, in arbitrary chunks.

No exception escapes the connection; a close by the server is counted as a refusal with a code
and a reason; MQTT 5 clients in a session get DISCONNECT 0x81 (malformed), 0x82 (protocol
error) or 0x95 (too large).
"""

from __future__ import annotations

import asyncio

from bench.fuzz_cases import Verdict, judge
from bench.fuzz_mqtt import GOOD_TOKEN, MAX_PACKET, StreamChecker, feed, frames, mqtt_streams
from hypothesis import example, given
from hypothesis import strategies as st

from shugu.ingest.mqtt import codec
from tests.fuzz.fuzzing import fuzz, sound


def _connect(level: int = 5, name: bytes = b"MQTT", flags: int = 0x82) -> bytes:
    def s(raw: bytes) -> bytes:
        return len(raw).to_bytes(2, "big") + raw

    body = s(name) + bytes([level, flags]) + (60).to_bytes(2, "big")
    body += b"\x00" if level == 5 else b""
    body += s(b"fuzz-client") + s(GOOD_TOKEN)
    return codec.packet(codec.CONNECT << 4, body)


def _publish(payload: bytes = b'{"temp": 1}', flags: int = 0x02) -> bytes:
    body = (23).to_bytes(2, "big") + b"v1/devices/me/telemetry" + b"\x00\x07"
    return codec.packet((codec.PUBLISH << 4) | flags, body + b"\x00" + payload)


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def run(chunks: list[bytes]) -> Verdict:
    checker = StreamChecker()
    try:
        return judge(checker.check, chunks)
    finally:
        checker.close()


@fuzz(2.0)
@given(mqtt_streams())
# A protocol level shugu does not speak was answered and closed without a refusal counted.
@example(_split(_connect(level=9), 3))
@example([_connect(level=0)])
def test_packet_streams(chunks: list[bytes]) -> None:
    sound(run(chunks))


@fuzz()
@given(st.integers(1, 7))
def test_a_good_session_survives_any_chunking(size: int) -> None:
    data = _connect() + _publish() + _publish(flags=0x00) + codec.packet(codec.PINGREQ << 4, b"")
    _, transport, app = asyncio.run(feed(_split(data, size)))
    assert not transport.closed and not app.refusals
    kinds = [kind for kind, _ in frames(transport.written)]
    assert kinds == [codec.CONNACK, codec.PUBACK, codec.PINGRESP]


def _refused(data: bytes) -> tuple[list[str], list[tuple[int, bytes]]]:
    _, transport, app = asyncio.run(feed([data]))
    assert transport.closed
    return [code for code, _ in app.refusals], list(frames(transport.written))


def test_malformed_after_connect_gets_disconnect_0x81() -> None:
    codes, sent = _refused(_connect() + _publish(flags=0x06))  # QoS 3
    assert codes == ["malformed_packet"]
    assert sent[-1] == (codec.DISCONNECT, sent[-1][1]) and sent[-1][1][0] == 0x81


def test_a_second_connect_is_a_protocol_error() -> None:
    codes, sent = _refused(_connect() + _connect())
    assert codes == ["protocol_error"]
    assert sent[-1][0] == codec.DISCONNECT and sent[-1][1][0] == 0x82


def test_reserved_flags_and_bad_lengths_are_malformed() -> None:
    subscribe = codec.packet(codec.SUBSCRIBE << 4, b"\x00\x01\x00\x01a\x00")  # flags 0000
    assert _refused(_connect() + subscribe)[0] == ["malformed_packet"]
    five_byte_length = bytes([codec.PUBLISH << 4]) + b"\x80\x80\x80\x80\x01"
    assert _refused(_connect() + five_byte_length)[0] == ["malformed_packet"]


def test_oversize_is_refused_before_it_arrives() -> None:
    header = bytes([codec.PUBLISH << 4 | 0x02]) + codec.encode_varint(MAX_PACKET * 100)
    codes, sent = _refused(_connect() + header)
    assert codes == ["payload_too_large"]
    assert sent[-1][0] == codec.DISCONNECT and sent[-1][1][0] == 0x95


def test_unsupported_protocol_is_counted_and_answered() -> None:
    codes, sent = _refused(_connect(level=9))
    assert codes == ["unsupported_protocol"]
    assert sent == [(codec.CONNACK, b"\x00\x01")]
