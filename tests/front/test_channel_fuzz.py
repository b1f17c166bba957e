"""Whatever bytes arrive as a batch frame, decoding gives a batch or a ChannelError (which
closes that front's channel), never another exception."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shugu.domain.batch import Batch
from shugu.front import wire
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
