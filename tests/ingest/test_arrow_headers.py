"""Arrow streams are judged by their headers before anything is decompressed or decoded."""

from __future__ import annotations

import struct
from pathlib import Path

import pyarrow as pa
import pytest

from shugu.domain.errors import ShuguError
from shugu.ingest.arrow_codec import write_stream
from shugu.ingest.arrow_headers import ArrowLimits, check_stream

PAYLOADS = Path(__file__).parents[1] / "fuzz" / "payloads"


def _refusal(body: bytes, limits: ArrowLimits) -> ShuguError:
    with pytest.raises(ShuguError) as caught:
        check_stream(body, limits)
    return caught.value


def _zeros(rows: int) -> pa.Table:
    return pa.table(
        {
            "device": pa.array(["loom-1"] * rows).dictionary_encode(),
            "metric": pa.array(["speed_rpm"] * rows),
            "ts": pa.array([0] * rows, pa.int64()),
            "value": pa.array([0.0] * rows),
        }
    )


@pytest.mark.parametrize("compression", [None, "lz4", "zstd"])
def test_a_stream_within_the_limits_passes(compression: str | None) -> None:
    check_stream(write_stream(_zeros(1000), compression, max_rows=100), ArrowLimits(max_rows=1000))


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_compressed_buffers_count_at_their_decompressed_size(compression: str) -> None:
    body = write_stream(_zeros(10_000), compression)
    # 10,000 rows decode to some 330 kB; the body is far smaller than the limit.
    assert len(body) < 50_000
    refused = _refusal(body, ArrowLimits(max_decoded_bytes=200_000))
    assert refused.code == "arrow_too_large" and refused.http_status == 413
    assert "decodes to more than 200,000 bytes" in refused.message


def test_rows_are_counted_over_all_batches() -> None:
    body = write_stream(_zeros(1001), "zstd", max_rows=100)
    refused = _refusal(body, ArrowLimits(max_rows=1000))
    assert refused.code == "arrow_too_large" and "1,000 rows" in refused.message


def test_dictionaries_are_bounded_in_entries_and_bytes() -> None:
    names = pa.array([f"device-{i:06d}-{'x' * 40}" for i in range(5000)])
    table = pa.table({"device": names.dictionary_encode(), "value": pa.array([1.0] * 5000)})
    body = write_stream(table, "zstd")
    refused = _refusal(body, ArrowLimits(max_rows=4000))
    assert "dictionary of more than 4,000 entries" in refused.message
    # Entries within bounds, but the dictionary's strings alone decode to 250 kB.
    refused = _refusal(body, ArrowLimits(max_decoded_bytes=200_000))
    assert refused.code == "arrow_too_large"


def test_batches_are_counted() -> None:
    body = write_stream(_zeros(50), None, max_rows=1)
    refused = _refusal(body, ArrowLimits(max_batches=20))
    assert "more than 20 batches" in refused.message


def test_fields_are_counted_with_nested_ones() -> None:
    inner = pa.struct([(f"f{i}", pa.int8()) for i in range(10)])
    table = pa.table({"value": pa.array([None], pa.struct([("a", inner), ("b", inner)]))})
    check_stream(write_stream(table), ArrowLimits(max_fields=23))
    refused = _refusal(write_stream(table), ArrowLimits(max_fields=22))
    assert "more than 22 fields" in refused.message


def _first_compressed_prefix(body: bytes) -> int:
    """Where, in the stream, the record batch body's first non-empty buffer begins."""
    reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(body))
    position = 0
    for message in reader:
        length = 8 + message.metadata.size
        # The stream is: continuation, metadata length, metadata (padded), body.
        position += length
        if message.type == "record batch":
            break
        position += message.body.size if message.body is not None else 0
    # The body of an uncompressed-validity, compressed-data batch: the first buffer that is
    # not empty starts with its uncompressed length.
    assert message.body is not None
    raw = bytes(message.body)
    offset = 0
    while struct.unpack_from("<q", raw, offset)[0] == 0 and offset + 8 < len(raw):
        offset += 8
    return position + offset


def test_a_lying_length_prefix_is_refused_as_too_large() -> None:
    table = pa.table({"value": pa.array([0.0] * 1000)})
    body = bytearray(write_stream(table, "zstd"))
    at = _first_compressed_prefix(bytes(body))
    assert struct.unpack_from("<q", body, at)[0] == 8000
    struct.pack_into("<q", body, at, 2**40)
    refused = _refusal(bytes(body), ArrowLimits())
    assert refused.code == "arrow_too_large"
    struct.pack_into("<q", body, at, -5)
    assert _refusal(bytes(body), ArrowLimits()).code == "malformed_arrow"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xff\xff\xff\x08\x00\x00\x00" + b"\x00" * 8,
        b"\xff\xff\xff\xff\x10\x00\x00\x00" + b"\xff" * 16,
        write_stream(_zeros(3))[:-30],
    ],
    ids=["empty", "zero-table", "offsets-past-the-end", "truncated"],
)
def test_broken_headers_are_refused_with_a_reason(body: bytes) -> None:
    try:
        check_stream(body, ArrowLimits())
    except ShuguError as exc:
        assert exc.code == "malformed_arrow" and exc.message
    # An empty stream is a valid one: nothing in it; pyarrow refuses it later.


@pytest.mark.parametrize("name", ["arrow_zstd_bomb_rows.arrows", "arrow_zstd_bomb_bytes.arrows"])
def test_the_stored_bombs_are_refused_from_their_headers(name: str) -> None:
    # 75 kB decoding to 2.4 GB (100 M rows of zeros) and 62 kB decoding to 2 GB (one binary
    # value of zeros) with zstd: see bench/fuzz_ingest.py, zero_bomb.
    body = (PAYLOADS / name).read_bytes()
    assert len(body) < 100_000
    assert _refusal(body, ArrowLimits()).code == "arrow_too_large"
