"""MQTT 3.1.1 and 5.0 packets: parsing what clients send, building what the server answers.

Only the server's side is here: it parses CONNECT, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP,
SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT and AUTH, and builds the answers. Every malformed
packet raises ``MalformedPacket`` with the rule it breaks; the connection then closes, as the
specifications require (a malformed packet leaves the stream unparseable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = (
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
)

MQTT_311 = 4
MQTT_5 = 5
#: Largest remaining length the four-byte variable integer can express.
MAX_REMAINING = 268_435_455

# MQTT 5 property identifiers the server reads or writes.
PROP_PAYLOAD_FORMAT = 0x01
PROP_MESSAGE_EXPIRY = 0x02
PROP_CONTENT_TYPE = 0x03
PROP_RESPONSE_TOPIC = 0x08
PROP_CORRELATION_DATA = 0x09
PROP_SUBSCRIPTION_ID = 0x0B
PROP_SESSION_EXPIRY = 0x11
PROP_ASSIGNED_CLIENT_ID = 0x12
PROP_SERVER_KEEP_ALIVE = 0x13
PROP_AUTH_METHOD = 0x15
PROP_AUTH_DATA = 0x16
PROP_REQUEST_PROBLEM_INFO = 0x17
PROP_WILL_DELAY = 0x18
PROP_REQUEST_RESPONSE_INFO = 0x19
PROP_RESPONSE_INFO = 0x1A
PROP_SERVER_REFERENCE = 0x1C
PROP_REASON_STRING = 0x1F
PROP_RECEIVE_MAXIMUM = 0x21
PROP_TOPIC_ALIAS_MAXIMUM = 0x22
PROP_TOPIC_ALIAS = 0x23
PROP_MAXIMUM_QOS = 0x24
PROP_RETAIN_AVAILABLE = 0x25
PROP_USER_PROPERTY = 0x26
PROP_MAXIMUM_PACKET_SIZE = 0x27
PROP_WILDCARD_SUB_AVAILABLE = 0x28
PROP_SUB_ID_AVAILABLE = 0x29
PROP_SHARED_SUB_AVAILABLE = 0x2A

_BYTE_PROPS = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_TWO_BYTE_PROPS = {0x13, 0x21, 0x22, 0x23}
_FOUR_BYTE_PROPS = {0x02, 0x11, 0x18, 0x27}
_VARINT_PROPS = {0x0B}
_STRING_PROPS = {0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F}
_BINARY_PROPS = {0x09, 0x16}

Properties = dict[int, object]


class MalformedPacket(Exception):
    """The bytes break the protocol; ``reason`` says which rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProtocolViolation(MalformedPacket):
    """A well-formed packet the protocol forbids here (a second CONNECT, say): MQTT 5 answers
    it with 0x82 Protocol Error rather than 0x81 Malformed Packet."""


# -- primitive readers ---------------------------------------------------------------------


class Reader:
    """Reads MQTT primitives from one packet's body; running past the end is malformed."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes | memoryview, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise MalformedPacket("packet shorter than its fields")
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise MalformedPacket("packet shorter than its fields")
        value = self.buf[self.pos]
        self.pos += 1
        return value

    def u16(self) -> int:
        hi, lo = self.take(2)
        return (hi << 8) | lo

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def varint(self) -> int:
        value, shift = 0, 0
        for _ in range(4):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
        raise MalformedPacket("variable byte integer longer than four bytes")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPacket("string is not valid UTF-8") from None
        if "\x00" in text:
            raise MalformedPacket("string contains U+0000")
        return text

    def properties(self) -> Properties:
        length = self.varint()
        end = self.pos + length
        if end > len(self.buf):
            raise MalformedPacket("properties longer than the packet")
        props: Properties = {}
        while self.pos < end:
            ident = self.varint()
            if ident in _BYTE_PROPS:
                value: object = self.byte()
            elif ident in _TWO_BYTE_PROPS:
                value = self.u16()
            elif ident in _FOUR_BYTE_PROPS:
                value = self.u32()
            elif ident in _VARINT_PROPS:
                value = self.varint()
            elif ident in _STRING_PROPS:
                value = self.string()
            elif ident in _BINARY_PROPS:
                value = self.binary()
            elif ident == PROP_USER_PROPERTY:
                pair = (self.string(), self.string())
                users = props.setdefault(PROP_USER_PROPERTY, [])
                assert isinstance(users, list)
                users.append(pair)
                continue
            else:
                raise MalformedPacket(f"unknown property identifier 0x{ident:02x}")
            if ident in props:
                raise MalformedPacket(f"property 0x{ident:02x} given twice")
            props[ident] = value
        if self.pos != end:
            raise MalformedPacket("property runs past the property length")
        return props


# -- framing ---------------------------------------------------------------------------------


def split_frame(buf: bytearray, max_size: int) -> tuple[int, int, int] | None:
    """If ``buf`` holds a whole packet: (first byte, header length, total length); else None.

    Raises ``PacketTooLarge`` as soon as the declared length exceeds ``max_size``.
    """
    if len(buf) < 2:
        return None
    value, shift = 0, 0
    for i in range(1, 5):
        if i >= len(buf):
            return None
        b = buf[i]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            header = i + 1
            total = header + value
            if total > max_size:
                raise PacketTooLarge(total)
            if len(buf) < total:
                return None
            return buf[0], header, total
        shift += 7
    raise MalformedPacket("remaining length longer than four bytes")


class PacketTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"packet of {size} bytes")
        self.size = size


# -- parsed packets ----------------------------------------------------------------------------


@dataclass(slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(slots=True)
class Connect:
    protocol_level: int
    client_id: str
    clean_start: bool
    keep_alive: int
    username: str | None
    password: bytes | None
    will: Will | None
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    packet_id: int | None
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class Subscribe:
    packet_id: int
    #: (topic filter, requested QoS, raw options byte)
    filters: list[tuple[str, int, int]]
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class Unsubscribe:
    packet_id: int
    filters: list[str]


def parse_connect(body: bytes) -> Connect:
    r = Reader(body)
    name = r.string()
    level = r.byte()
    if name not in ("MQTT", "MQIsdp"):
        raise MalformedPacket(f"protocol name {name!r} is not MQTT")
    flags = r.byte()
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag is set")
    keep_alive = r.u16()
    props = r.properties() if level == MQTT_5 else {}
    client_id = r.string()
    will = None
    if flags & 0x04:
        if level == MQTT_5:
            r.properties()
        will_topic = r.string()
        will_payload = r.binary()
        will_qos = (flags >> 3) & 0x03
        if will_qos == 3:
            raise MalformedPacket("will QoS 3")
        will = Will(will_topic, will_payload, will_qos, bool(flags & 0x20))
    elif flags & 0x38:
        raise MalformedPacket("will QoS or retain set without a will")
    username = r.string() if flags & 0x80 else None
    password = r.binary() if flags & 0x40 else None
    if r.remaining():
        raise MalformedPacket("bytes after the CONNECT payload")
    return Connect(
        level, client_id, bool(flags & 0x02), keep_alive, username, password, will, props
    )


def parse_publish(flags: int, body: bytes | memoryview, level: int) -> Publish:
    # The one packet of every message: its topic and packet identifier are read in place
    # rather than through a Reader, which costs a call and a copy per field.
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedPacket("PUBLISH with QoS 3")
    dup = bool(flags & 0x08)
    if dup and qos == 0:
        raise MalformedPacket("PUBLISH with DUP set at QoS 0")
    size = len(body)
    if size < 2:
        raise MalformedPacket("packet shorter than its fields")
    pos = 2 + ((body[0] << 8) | body[1])
    if pos > size:
        raise MalformedPacket("packet shorter than its fields")
    try:
        topic = str(body[2:pos], "utf-8")
    except UnicodeDecodeError:
        raise MalformedPacket("string is not valid UTF-8") from None
    if "\x00" in topic:
        raise MalformedPacket("string contains U+0000")
    packet_id = None
    if qos:
        if pos + 2 > size:
            raise MalformedPacket("packet shorter than its fields")
        packet_id = (body[pos] << 8) | body[pos + 1]
        pos += 2
        if packet_id == 0:
            raise MalformedPacket("PUBLISH packet identifier 0")
    props: Properties = {}
    if level == MQTT_5:
        r = Reader(body, pos)
        props = r.properties()
        pos = r.pos
    return Publish(topic, bytes(body[pos:]), qos, bool(flags & 0x01), dup, packet_id, props)


def parse_subscribe(flags: int, body: bytes, level: int) -> Subscribe:
    if flags != 0x02:
        raise MalformedPacket("SUBSCRIBE fixed-header flags must be 0010")
    r = Reader(body)
    packet_id = r.u16()
    props = r.properties() if level == MQTT_5 else {}
    filters = []
    while r.remaining():
        topic = r.string()
        options = r.byte()
        qos = options & 0x03
        if qos == 3 or (level != MQTT_5 and options & 0xFC) or options & 0xC0:
            raise MalformedPacket("SUBSCRIBE options byte is malformed")
        filters.append((topic, qos, options))
    if not filters:
        raise MalformedPacket("SUBSCRIBE without a topic filter")
    return Subscribe(packet_id, filters, props)


def parse_unsubscribe(flags: int, body: bytes, level: int) -> Unsubscribe:
    if flags != 0x02:
        raise MalformedPacket("UNSUBSCRIBE fixed-header flags must be 0010")
    r = Reader(body)
    packet_id = r.u16()
    if level == MQTT_5:
        r.properties()
    filters = []
    while r.remaining():
        filters.append(r.string())
    if not filters:
        raise MalformedPacket("UNSUBSCRIBE without a topic filter")
    return Unsubscribe(packet_id, filters)


def parse_packet_id(body: bytes) -> int:
    """PUBACK, PUBREC, PUBREL, PUBCOMP: the packet identifier (v5 reason codes are ignored)."""
    if len(body) < 2:
        raise MalformedPacket("acknowledgement without a packet identifier")
    return (body[0] << 8) | body[1]


# -- building answers ------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        out.append(b | 0x80 if value else b)
        if not value:
            return bytes(out)


def encode_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return len(raw).to_bytes(2, "big") + raw


def encode_properties(props: Properties) -> bytes:
    out = bytearray()
    for ident, value in props.items():
        if ident == PROP_USER_PROPERTY:
            assert isinstance(value, list)
            for k, v in value:
                out += encode_varint(ident) + encode_string(k) + encode_string(v)
            continue
        out += encode_varint(ident)
        if ident in _BYTE_PROPS:
            assert isinstance(value, int)
            out.append(value)
        elif ident in _TWO_BYTE_PROPS:
            assert isinstance(value, int)
            out += value.to_bytes(2, "big")
        elif ident in _FOUR_BYTE_PROPS:
            assert isinstance(value, int)
            out += value.to_bytes(4, "big")
        elif ident in _VARINT_PROPS:
            assert isinstance(value, int)
            out += encode_varint(value)
        elif ident in _STRING_PROPS:
            assert isinstance(value, str)
            out += encode_string(value)
        else:
            assert isinstance(value, bytes)
            out += len(value).to_bytes(2, "big") + value
    return encode_varint(len(out)) + bytes(out)


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + encode_varint(len(body)) + body


def connack(level: int, session_present: bool, code: int, props: Properties | None = None) -> bytes:
    body = bytes([1 if session_present else 0, code])
    if level == MQTT_5:
        body += encode_properties(props or {})
    return packet(CONNACK << 4, body)


def ack(kind: int, packet_id: int, level: int, code: int = 0, reason: str | None = None) -> bytes:
    """PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP; v5 carries a reason code when not 0."""
    first = (kind << 4) | (0x02 if kind == PUBREL else 0)
    body = packet_id.to_bytes(2, "big")
    if level == MQTT_5 and (code or reason):
        body += bytes([code])
        body += encode_properties({PROP_REASON_STRING: reason} if reason else {})
    return packet(first, body)


def suback(packet_id: int, codes: list[int], level: int) -> bytes:
    body = packet_id.to_bytes(2, "big")
    if level == MQTT_5:
        body += encode_properties({})
    return packet(SUBACK << 4, body + bytes(codes))


def unsuback(packet_id: int, codes: list[int], level: int) -> bytes:
    body = packet_id.to_bytes(2, "big")
    if level == MQTT_5:
        body += encode_properties({}) + bytes(codes)
    return packet(UNSUBACK << 4, body)


def publish(
    topic: str, payload: bytes, qos: int, packet_id: int | None, level: int, dup: bool = False
) -> bytes:
    first = (PUBLISH << 4) | (qos << 1) | (0x08 if dup else 0)
    body = encode_string(topic)
    if qos:
        assert packet_id is not None
        body += packet_id.to_bytes(2, "big")
    if level == MQTT_5:
        body += encode_properties({})
    return packet(first, body + payload)


def disconnect(level: int, code: int, reason: str | None = None) -> bytes:
    if level != MQTT_5:
        return packet(DISCONNECT << 4, b"")
    body = bytes([code]) + encode_properties({PROP_REASON_STRING: reason} if reason else {})
    return packet(DISCONNECT << 4, body)


PINGRESP_PACKET = bytes([PINGRESP << 4, 0])
