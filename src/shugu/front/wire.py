"""The channel between a front process and the main process: frames and what they carry.

One Unix stream socket (``<data>/fronts.sock``, mode 0600) joins every front to the main
process. A frame is a 9-byte head (payload length, kind, request number; network order) and its
payload. Frames on one connection are handled in order, so a front's batches reach the store in
the order the front sent them, and metric names a batch introduces travel in that batch's own
head.

A batch is sent as its five numpy columns' raw bytes after a small JSON head (rows, new metric
names, refusals, attributes): no per-point objects, no Arrow schema to write and read for a few
hundred points. Metric numbers in a front's batch are the front's own; the main process maps
them to the store's numbers (``front/hub.py``).
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from shugu.domain.batch import Batch
from shugu.store.telemetry import AttributeRecord, RejectRecord, Rejects

#: The channel's socket in the data directory.
FRONTS_SOCKET = "fronts.sock"

HEAD = struct.Struct("!IBI")
#: No frame is larger: a batch of the largest MQTT or HTTP request fits many times over.
MAX_FRAME_BYTES = 256 * 1024 * 1024

# Front → main.
HELLO = 1
BATCH = 2
STATS = 3
REVOKED = 4
DEVICE = 5
RPC_ANSWER = 6
#: Both ways: a client took its session here; the other holder of it closes its connection.
TAKEN = 7
#: A device's attribute request (the device's id and its clientKeys/sharedKeys), for main's store.
ATTRIBUTES_ASK = 8
#: A client connected: its kept session, please (device id, client id and clean start).
SESSION_TAKE = 20
#: A session whose connection ended, for main to keep (`front/sessions.py`).
SESSION_RETURN = 21
# Main → front.
WELCOME = 10
ACK = 11
FULL = 12
FAILED = 13
REVOKE = 14
ASK_STATS = 15
RPC_REQUEST = 16
ATTRIBUTES_PUSH = 17
#: Main's answer to ATTRIBUTES_ASK, under the request's number.
ATTRIBUTES_ANSWER = 18
#: Main's answer to SESSION_TAKE: the session (empty: none kept).
SESSION_GIVEN = 22

_DEVICE = struct.Struct("!i")

_ACK = struct.Struct("!qqq")
_COLUMNS = (
    ("device", np.int32),
    ("metric", np.int32),
    ("ts", np.int64),
    ("value", np.float64),
    ("quality", np.uint8),
)


class ChannelError(Exception):
    """The other side sent something that is not a frame of this channel."""


def frame(kind: int, number: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_FRAME_BYTES:
        raise ChannelError(f"a frame of {len(payload)} bytes is over {MAX_FRAME_BYTES}")
    return HEAD.pack(len(payload), kind, number) + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, int, bytes] | None:
    """The next frame (kind, request number, payload); None at a clean end of stream."""
    try:
        head = await reader.readexactly(HEAD.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ChannelError("the stream ended inside a frame's head") from None
        return None
    length, kind, number = HEAD.unpack(head)
    if length > MAX_FRAME_BYTES:
        raise ChannelError(f"a frame of {length} bytes is over {MAX_FRAME_BYTES}")
    try:
        payload = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise ChannelError("the stream ended inside a frame") from None
    return kind, number, payload


def json_payload(value: object) -> bytes:
    return orjson.dumps(value)


def from_json(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ChannelError(f"a frame's JSON does not parse: {exc}") from None


@dataclass(slots=True)
class Submission:
    """One front batch as the main process stores it."""

    batch: Batch
    rejects: Rejects | None
    attributes: list[AttributeRecord] | None
    #: Metric names first used by this batch: the front's number → name.
    new_names: dict[int, str] = field(default_factory=dict)


def encode_batch(
    batch: Batch,
    rejects: Rejects | None,
    attributes: list[AttributeRecord] | None,
    new_names: dict[int, str],
) -> bytes:
    head: dict[str, object] = {"rows": len(batch)}
    if new_names:
        head["names"] = [[number, name] for number, name in new_names.items()]
    if rejects is not None and (rejects.counts or rejects.samples):
        head["counts"] = [[d, c, n] for (d, c), n in rejects.counts.items()]
        head["samples"] = [
            [r.received_ms, r.device, r.code, r.reason, r.metric, r.ts, r.sample]
            for r in rejects.samples
        ]
    if attributes:
        head["attributes"] = [[a.device, a.scope, a.key, a.value_json, a.ts] for a in attributes]
    encoded = orjson.dumps(head)
    parts = [struct.pack("!I", len(encoded)), encoded]
    for name, dtype in _COLUMNS:
        column = np.ascontiguousarray(getattr(batch, name), dtype=dtype)
        parts.append(column.tobytes())
    return b"".join(parts)


def decode_batch(payload: bytes) -> Submission:
    """The batch a front sent; a payload that does not add up is a ChannelError."""
    if len(payload) < 4:
        raise ChannelError("a batch frame without its head")
    (head_len,) = struct.unpack_from("!I", payload)
    head = from_json(payload[4 : 4 + head_len])
    try:
        rows = int(head["rows"])
        offset = 4 + head_len
        columns: dict[str, Any] = {}
        for name, dtype in _COLUMNS:
            size = rows * np.dtype(dtype).itemsize
            if rows < 0 or offset + size > len(payload):
                raise ChannelError("a batch frame is shorter than its rows")
            columns[name] = np.frombuffer(payload, dtype=dtype, count=rows, offset=offset).copy()
            offset += size
        if offset != len(payload):
            raise ChannelError("a batch frame is longer than its rows")
        rejects = None
        if "counts" in head or "samples" in head:
            rejects = Rejects()
            for device, code, count in head.get("counts", ()):
                rejects.counts[(device, str(code))] = int(count)
            rejects.samples = [RejectRecord(*sample) for sample in head.get("samples", ())]
        attributes = (
            [AttributeRecord(*a) for a in head["attributes"]] if "attributes" in head else None
        )
        names = {int(number): str(name) for number, name in head.get("names", ())}
    except (KeyError, TypeError, ValueError) as exc:
        raise ChannelError(f"a batch frame's head is malformed: {exc}") from None
    return Submission(Batch(**columns), rejects, attributes, names)


def for_device(device_id: int, body: bytes) -> bytes:
    """A device's id and bytes for it (an RPC request or answer, attribute changes)."""
    return _DEVICE.pack(device_id) + body


def device_and_body(payload: bytes) -> tuple[int, bytes]:
    if len(payload) < _DEVICE.size:
        raise ChannelError("a device frame without its device")
    return int(_DEVICE.unpack_from(payload)[0]), payload[_DEVICE.size :]


def encode_ack(stored: int, backlog_rows: int, max_backlog_rows: int) -> bytes:
    return _ACK.pack(stored, backlog_rows, max_backlog_rows)


def decode_ack(payload: bytes) -> tuple[int, int, int]:
    if len(payload) != _ACK.size:
        raise ChannelError("an acknowledgement of the wrong size")
    stored, backlog, max_backlog = _ACK.unpack(payload)
    return int(stored), int(backlog), int(max_backlog)
