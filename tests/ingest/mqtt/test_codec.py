from __future__ import annotations

import pytest

from shugu.ingest.mqtt import codec
from shugu.ingest.mqtt.codec import MalformedPacket, PacketTooLarge, Reader
from shugu.ingest.mqtt.session import topic_matches


@pytest.mark.parametrize("value", [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 268_435_455])
def test_varint_round_trip(value: int) -> None:
    assert Reader(codec.encode_varint(value)).varint() == value


def test_frames_arrive_in_pieces() -> None:
    whole = codec.publish("a/b", b"x" * 300, 1, 7, codec.MQTT_311)
    buf = bytearray()
    for byte in whole[:-1]:
        buf.append(byte)
        assert codec.split_frame(buf, 10_000) is None
    buf.append(whole[-1])
    first, header, total = codec.split_frame(buf, 10_000)  # type: ignore[misc]
    assert first >> 4 == codec.PUBLISH and total == len(whole) and header == 3
    pub = codec.parse_publish(first & 0x0F, bytes(buf[header:total]), codec.MQTT_311)
    assert (pub.topic, pub.payload, pub.qos, pub.packet_id) == ("a/b", b"x" * 300, 1, 7)


def test_oversize_is_refused_before_it_arrives() -> None:
    with pytest.raises(PacketTooLarge):
        codec.split_frame(bytearray(b"\x30\xff\xff\x7f"), 1024)


@pytest.mark.parametrize(
    ("flags", "body"),
    [
        (0x06, b"\x00\x01a\x00\x01"),  # QoS 3
        (0x08, b"\x00\x01a"),  # DUP at QoS 0
        (0x02, b"\x00\x01a\x00\x00"),  # packet id 0
        (0x02, b"\x00\x05ab"),  # topic longer than the packet
        (0x00, b"\x00\x02\xff\xfe"),  # topic not UTF-8
    ],
)
def test_malformed_publish(flags: int, body: bytes) -> None:
    with pytest.raises(MalformedPacket):
        codec.parse_publish(flags, body, codec.MQTT_311)


def test_mqtt5_properties() -> None:
    props = {codec.PROP_SESSION_EXPIRY: 60, codec.PROP_USER_PROPERTY: [("a", "b")]}
    encoded = codec.encode_properties(props)
    assert Reader(encoded).properties() == props
    with pytest.raises(MalformedPacket):
        Reader(b"\x02\x7f\x00").properties()  # unknown identifier


def test_connect_parsing() -> None:
    body = (
        b"\x00\x04MQTT\x05\xc2\x00\x3c"  # v5, user+password+clean start, keep-alive 60
        + b"\x00"  # no properties
        + b"\x00\x02id\x00\x05token\x00\x02pw"
    )
    connect = codec.parse_connect(body)
    assert (connect.protocol_level, connect.client_id, connect.username, connect.password) == (
        5,
        "id",
        "token",
        b"pw",
    )
    assert connect.clean_start and connect.keep_alive == 60
    with pytest.raises(MalformedPacket):
        codec.parse_connect(b"\x00\x04MQTT\x04\x03\x00\x3c\x00\x00")  # reserved flag


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("v1/devices/me/rpc/request/+", "v1/devices/me/rpc/request/17", True),
        ("v1/devices/me/rpc/request/+", "v1/devices/me/rpc/request", False),
        ("v1/#", "v1/devices/me/attributes", True),
        ("v1/devices/me/attributes", "v1/devices/me/attributes/response/1", False),
    ],
)
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected
