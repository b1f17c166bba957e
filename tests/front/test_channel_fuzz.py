"""Whatever bytes arrive as a batch or session frame, decoding gives a batch (a session) or a
ChannelError (which closes that front's channel), never another exception."""

from __future__ import annotations

import contextlib

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shugu.domain.batch import Batch
from shugu.front import sessions, wire
from shugu.ingest.mqtt.session import Session
from shugu.store.telemetry import RejectRecord, Rejects


def _valid(rows: int) -> bytes:
    rejects = Rejects()
    rejects.add(RejectRecord(1, 2, "code", "why", "m", 3, "s"))
    batch = Batch(
        np.arange(rows, dtype=np.int32),
        np.ones(rows, np.int32),
        np.arange(rows, dtype=np.int64),
        np.zeros(rows),
        np.zeros(rows, np.uint8),
    )
    return wire.encode_batch(batch, rejects, None, {1: "temp"})


def _decodes_or_refuses(payload: bytes) -> None:
    try:
        got = wire.decode_batch(payload)
    except wire.ChannelError:
        return
    assert len(got.batch.device) == len(got.batch.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes(payload: bytes) -> None:
    _decodes_or_refuses(payload)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 20),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
    st.integers(0, 50),
)
def test_valid_frames_with_bytes_changed_or_cut(
    rows: int, changes: list[tuple[int, int]], cut: int
) -> None:
    payload = bytearray(_valid(rows))
    for at, value in changes:
        if at < len(payload):
            payload[at] = value
    _decodes_or_refuses(bytes(payload[: max(0, len(payload) - cut)]))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_json_head(head: str) -> None:
    encoded = head.encode("utf-8", "surrogatepass")
    _decodes_or_refuses(len(encoded).to_bytes(4, "big") + encoded)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_session_frames(payload: bytes) -> None:
    """A session frame decodes to a session or is a ChannelError, never another exception."""
    with contextlib.suppress(wire.ChannelError):
        sessions.decode_session(payload)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_FIELDS = ("device", "client", "subscriptions", "unacked", "awaiting_release", "next_id")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS), _JSON))
def test_session_frames_with_the_fields_of_any_shape(doc: dict[str, object]) -> None:
    with contextlib.suppress(wire.ChannelError):
        sessions.decode_session(orjson.dumps(doc))


def test_a_session_travels_whole() -> None:
    session = Session(7, "meter-1")
    session.subscriptions = {"v1/devices/me/attributes": 1, "v1/devices/me/rpc/request/+": 0}
    session.unacked[session.next_packet_id()] = ("v1/devices/me/attributes", b'{"a":\x00\xff}')
    session.awaiting_release = {3, 9}
    got = sessions.decode_session(sessions.encode_session(session))
    assert got == session
    # Packet ids go on from where they were.
    assert got.next_packet_id() == 2
