"""What an Arrow IPC stream claims it decodes to, read from its message headers alone.

A compressed stream must be judged before pyarrow decodes it: a 75 kB body of zstd-compressed
zeros decodes to gigabytes, and pyarrow allocates each buffer at its stated size when the batch
is read. Everything needed is in the headers: every message's metadata is a flatbuffer
(``Message`` → ``Schema``, ``RecordBatch`` or ``DictionaryBatch``, format/Message.fbs and
format/Schema.fbs of the Arrow specification) stating the row count, the size of every field
node and buffer, and the compression; each compressed buffer then starts with its uncompressed
length (int64, little-endian; -1: stored uncompressed). This module reads those, and nothing
else, with every offset checked, and refuses a stream that would pass a limit.

Only the parts of the flatbuffer schema that bound memory are read. Flatbuffer layout, in
short: a table starts with an int32 that points back to its vtable; the vtable holds its own
size, the table's size, then one uint16 offset per field (0: absent, the default applies);
references to tables and vectors are uint32 offsets from where they are stored; a vector is a
uint32 count followed by its elements.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pyarrow as pa

from shugu.ingest.errors import IngestError, PayloadTooLarge

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ArrowLimits:
    #: Rows of all record batches together; also the most entries a dictionary may have.
    max_rows: int = 1_000_000
    #: Bytes all buffers of the stream decode to (decompressed), dictionaries included.
    max_decoded_bytes: int = 64 * MIB
    #: Record and dictionary batches in one stream.
    max_batches: int = 1024
    #: Fields of the schema, nested ones counted (the documented form has four columns).
    max_fields: int = 64
    #: Buffers in one batch (two or three per field; more for views of strings).
    max_buffers_per_batch: int = 1024


DEFAULT_LIMITS = ArrowLimits()

# Union member numbers of MessageHeader (Message.fbs).
_SCHEMA, _DICTIONARY_BATCH, _RECORD_BATCH = 1, 2, 3
# CompressionType (Message.fbs): LZ4_FRAME, ZSTD.
_CODECS = (0, 1)
_NOT_COMPRESSED = -1
#: Size of the FieldNode and Buffer structs (two int64 each).
_STRUCT_SIZE = 16


class ArrowTooLarge(PayloadTooLarge):
    code = "arrow_too_large"


def _malformed(reason: str) -> IngestError:
    return IngestError(
        f"the body is not a valid Arrow IPC stream: {reason}", code="malformed_arrow"
    )


def _too_large(what: str) -> ArrowTooLarge:
    return ArrowTooLarge(f"the Arrow stream {what}; send it in smaller requests")


class _Bytes:
    """Little-endian reads that refuse any position outside the buffer."""

    def __init__(self, data: memoryview, what: str) -> None:
        self.data = data
        self.what = what

    def unpack(self, fmt: str, position: int) -> int:
        size = struct.calcsize(fmt)
        if position < 0 or position + size > len(self.data):
            raise _malformed(f"{self.what} refers past its end")
        value: int = struct.unpack_from(fmt, self.data, position)[0]
        return value


class _Table:
    """One flatbuffer table, its fields read by number."""

    def __init__(self, raw: _Bytes, position: int) -> None:
        self.raw = raw
        self.position = position
        vtable = position - raw.unpack("<i", position)
        self.vtable = vtable
        self.vtable_size = raw.unpack("<H", vtable)
        self.table_size = raw.unpack("<H", vtable + 2)
        if self.vtable_size < 4 or self.vtable_size % 2 or self.table_size < 4:
            raise _malformed(f"{raw.what} has a broken table")

    def _field(self, number: int, width: int) -> int | None:
        """Where field ``number`` is stored, or None when it is absent."""
        entry = 4 + 2 * number
        if entry + 2 > self.vtable_size:
            return None
        offset = self.raw.unpack("<H", self.vtable + entry)
        if offset == 0:
            return None
        if offset + width > self.table_size:
            raise _malformed(f"{self.raw.what} has a field outside its table")
        return self.position + offset

    def scalar(self, number: int, fmt: str, default: int) -> int:
        where = self._field(number, struct.calcsize(fmt))
        return default if where is None else self.raw.unpack(fmt, where)

    def _target(self, number: int) -> int | None:
        where = self._field(number, 4)
        return None if where is None else where + self.raw.unpack("<I", where)

    def table(self, number: int) -> _Table | None:
        target = self._target(number)
        return None if target is None else _Table(self.raw, target)

    def vector(self, number: int, element_size: int) -> tuple[int, int]:
        """(position of the first element, element count); an absent vector is empty."""
        target = self._target(number)
        if target is None:
            return 0, 0
        count = self.raw.unpack("<I", target)
        start = target + 4
        if start + count * element_size > len(self.raw.data):
            raise _malformed(f"{self.raw.what} has a list longer than itself")
        return start, count

    def tables(self, number: int, at_most: int) -> list[_Table] | None:
        """The tables a vector refers to; None when there are more than ``at_most``."""
        start, count = self.vector(number, 4)
        if count > at_most:
            return None
        found = []
        for i in range(count):
            element = start + 4 * i
            found.append(_Table(self.raw, element + self.raw.unpack("<I", element)))
        return found


@dataclass(slots=True)
class _Tally:
    rows: int = 0
    decoded_bytes: int = 0
    batches: int = 0


def check_stream(body: bytes, limits: ArrowLimits = DEFAULT_LIMITS) -> None:
    """Refuse the stream if its headers are broken or claim more than ``limits`` allow;
    nothing is decompressed or decoded."""
    tally = _Tally()
    try:
        reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(body))
        while True:
            try:
                message = reader.read_next_message()
            except StopIteration:
                break
            body_view = memoryview(message.body) if message.body is not None else memoryview(b"")
            _check_message(memoryview(message.metadata), body_view, limits, tally)
    except (pa.ArrowException, OSError) as exc:
        raise _malformed(str(exc)) from None


def _check_message(
    metadata: memoryview, body: memoryview, limits: ArrowLimits, tally: _Tally
) -> None:
    raw = _Bytes(metadata, "a message header")
    message = _Table(raw, raw.unpack("<I", 0))
    kind = message.scalar(1, "<B", 0)
    header = message.table(2)
    if header is None:
        raise _malformed("a message has no header")
    if kind == _SCHEMA:
        _check_schema(header, limits)
        return
    if kind == _DICTIONARY_BATCH:
        batch = header.table(1)
        if batch is None:
            raise _malformed("a dictionary batch has no data")
        is_dictionary = True
    elif kind == _RECORD_BATCH:
        batch, is_dictionary = header, False
    else:
        raise _malformed(f"message type {kind} is neither a schema nor a batch")
    tally.batches += 1
    if tally.batches > limits.max_batches:
        raise _too_large(f"has more than {limits.max_batches:,} batches")
    _check_batch(batch, _Bytes(body, "a message body"), limits, tally, is_dictionary)


def _check_schema(schema: _Table, limits: ArrowLimits) -> None:
    # A flatbuffer can point a field's children back at the field itself: the count, bounded
    # by the limit, also ends such a loop.
    budget = limits.max_fields
    pending = schema.tables(1, budget)
    while pending:
        field = pending.pop()
        budget -= 1
        children = field.tables(5, budget - len(pending))
        if children is None:
            pending = None
            break
        pending.extend(children)
    if pending is None:
        raise _too_large(f"has more than {limits.max_fields} fields")


def _check_batch(
    batch: _Table, body: _Bytes, limits: ArrowLimits, tally: _Tally, is_dictionary: bool
) -> None:
    length = batch.scalar(0, "<q", 0)
    if length < 0:
        raise _malformed("a batch has a negative length")
    if is_dictionary:
        if length > limits.max_rows:
            raise _too_large(f"has a dictionary of more than {limits.max_rows:,} entries")
    else:
        tally.rows += length
        if tally.rows > limits.max_rows:
            raise _too_large(f"has more than {limits.max_rows:,} rows")

    start, count = batch.vector(1, _STRUCT_SIZE)
    if count > limits.max_fields:
        raise _too_large(f"has a batch of more than {limits.max_fields} fields")
    raw = batch.raw
    for i in range(count):
        node_length = raw.unpack("<q", start + _STRUCT_SIZE * i)
        nulls = raw.unpack("<q", start + _STRUCT_SIZE * i + 8)
        if node_length < 0 or not 0 <= nulls <= node_length:
            raise _malformed("a field has a negative length or more nulls than values")
        if node_length > limits.max_rows:
            raise _too_large(f"has a field of more than {limits.max_rows:,} values")

    compression = batch.table(3)
    compressed = compression is not None
    if compression is not None and compression.scalar(0, "<b", 0) not in _CODECS:
        raise _malformed("a batch names an unknown compression codec")

    start, count = batch.vector(2, _STRUCT_SIZE)
    if count > limits.max_buffers_per_batch:
        raise _too_large(f"has a batch of more than {limits.max_buffers_per_batch} buffers")
    for i in range(count):
        offset = raw.unpack("<q", start + _STRUCT_SIZE * i)
        size = raw.unpack("<q", start + _STRUCT_SIZE * i + 8)
        if offset < 0 or size < 0 or offset + size > len(body.data):
            raise _malformed("a buffer lies outside its message body")
        tally.decoded_bytes += _decoded_size(body, offset, size) if compressed else size
        if tally.decoded_bytes > limits.max_decoded_bytes:
            raise _too_large(f"decodes to more than {_size(limits.max_decoded_bytes)}")


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count:,} bytes"


def _decoded_size(body: _Bytes, offset: int, size: int) -> int:
    """A compressed buffer's size once decompressed, as its length prefix states."""
    if size == 0:
        return 0  # an empty buffer may be written without the prefix
    if size < 8:
        raise _malformed("a compressed buffer is shorter than its length prefix")
    stated = body.unpack("<q", offset)
    if stated == _NOT_COMPRESSED:
        return size - 8
    if stated < 0:
        raise _malformed("a compressed buffer states a negative length")
    return stated
