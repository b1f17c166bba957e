"""Arrow IPC stream → columns, for bulk and batch ingest of many devices at once (and a table →
stream, for answers and clients).

Columns: ``device`` (device name within the caller's enterprise, string or dictionary) or
``device_id`` (integer), ``metric`` (string or dictionary), ``ts`` (integer milliseconds or an
Arrow timestamp), ``value`` (any numeric type, or strings naming the states of state metrics,
mapped to their codes by ``ingest.states``). Rows with nulls are refused one by one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shugu.ingest.arrow_headers import DEFAULT_LIMITS, ArrowTooLarge, check_stream
from shugu.ingest.errors import IngestError
from shugu.ingest.states import TextColumn

ARROW_STREAM = "application/vnd.apache.arrow.stream"


@dataclass(slots=True)
class ArrowRows:
    """Decoded columns; device keys are dictionary-encoded (names or ids) with row indices."""

    device_keys: list[str] | list[int]
    device_index: npt.NDArray[np.int32]
    metric_names: list[str]
    metric_index: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    #: Rows whose fields were null; refused before anything else.
    null_rows: npt.NDArray[np.bool_]
    #: A ``value`` column of strings (states by name); ``value`` is then NaN throughout.
    value_text: TextColumn | None = None


#: Limits on what a body decodes to: compressed IPC buffers could otherwise hide a
#: decompression bomb behind the payload-size limit.
MAX_ROWS = DEFAULT_LIMITS.max_rows
MAX_DECODED_BYTES = DEFAULT_LIMITS.max_decoded_bytes


def write_stream(
    table: pa.Table, compression: str | pa.Codec | None = None, max_rows: int | None = None
) -> bytes:
    """``table`` as an Arrow IPC stream, compressed (``"lz4"``, ``"zstd"`` or a ``pa.Codec``)
    when asked, in record batches of at most ``max_rows`` rows when given."""
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=max_rows)
    return sink.getvalue()


def read_stream(body: bytes) -> pa.Table:
    """The body's record batches, refused before anything is decompressed when their headers
    claim more than the limits (see arrow_headers), then read one by one."""
    check_stream(body)
    batches = []
    rows = size = 0
    # What the headers claimed was checked; these checks are what pyarrow actually decoded.
    too_large = ArrowTooLarge(
        f"the Arrow stream decodes to more than {MAX_ROWS:,} rows or "
        f"{MAX_DECODED_BYTES // 2**20} MiB; send it in smaller requests"
    )
    try:
        with pa.ipc.open_stream(pa.py_buffer(body)) as reader:
            for batch in reader:
                # Nothing of a batch but its buffer sizes may be read before it is validated:
                # nbytes follows offsets, and a dictionary claiming billions of entries over a
                # few bytes made pyarrow read past its buffer and crash the process.
                size += batch.get_total_buffer_size()
                if size > MAX_DECODED_BYTES:
                    raise too_large
                batch.validate(full=True)
                rows += batch.num_rows
                if rows > MAX_ROWS:
                    raise too_large
                batches.append(batch)
            table = pa.Table.from_batches(batches, schema=reader.schema)
            # Field names are decoded when read: one that is not UTF-8 must fail in this try.
            names = table.column_names
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        # pyarrow reports some broken streams (a bad continuation token, a flatbuffer that does
        # not verify) as plain OSError, and a column name that is not UTF-8 as the decode error.
        raise IngestError(
            f"the body is not a valid Arrow IPC stream: {exc}", code="malformed_arrow"
        ) from None
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise IngestError(
            f"column {repeated[0]!r} is given more than once", code="duplicate_column"
        )
    return table


def _dictionary(
    column: pa.ChunkedArray, nulls: npt.NDArray[np.bool_]
) -> tuple[list[object], npt.NDArray[np.int32]]:
    """Distinct values and each row's index into them; rows whose value is a null inside the
    dictionary are marked in ``nulls``."""
    encoded = column.combine_chunks()
    if not pa.types.is_dictionary(encoded.type):
        encoded = pc.dictionary_encode(encoded)
    indices = encoded.indices
    if indices.null_count:
        indices = indices.fill_null(0)
    index = indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    dictionary = encoded.dictionary
    index, dictionary = _used_entries(index, dictionary)
    if dictionary.null_count:
        null_keys = dictionary.is_null().to_numpy(zero_copy_only=False)
        nulls |= null_keys[index]
        dictionary = dictionary.fill_null(0 if pa.types.is_integer(dictionary.type) else "")
    return dictionary.to_pylist(), index


def _used_entries(
    index: npt.NDArray[np.int32], dictionary: pa.Array
) -> tuple[npt.NDArray[np.int32], pa.Array]:
    """Only the dictionary entries some row points to, rows re-indexed to them.

    A sender may ship one fixed dictionary (every device of a gateway) with every batch; the
    entries no row uses would otherwise each become a Python string and a device lookup.
    """
    if not len(dictionary):
        # Rows of an empty dictionary can only be nulls, refused already.
        return index, dictionary
    present = np.zeros(len(dictionary), dtype=bool)
    present[index] = True
    used = np.flatnonzero(present)
    if len(used) == len(dictionary):
        return index, dictionary
    remap = np.zeros(len(dictionary), dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    return remap[index], dictionary.take(pa.array(used))


def _require(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise IngestError(
            f"column {name!r} is missing; expected device (or device_id), metric, ts, value",
            code="missing_column",
        )
    return table.column(name)


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def decode_table(table: pa.Table) -> ArrowRows:
    try:
        return _decode(table)
    except pa.ArrowException as exc:
        raise IngestError(
            f"the Arrow columns cannot be read: {exc}", code="bad_column_type"
        ) from None


def _decode(table: pa.Table) -> ArrowRows:
    if "device" in table.column_names:
        device_col = table.column("device")
        if not _is_text(device_col.type):
            raise IngestError(
                "column 'device' must hold device names (strings)", code="bad_column_type"
            )
    else:
        device_col = _require(table, "device_id")
        if not pa.types.is_integer(device_col.type):
            raise IngestError("column 'device_id' must be integers", code="bad_column_type")
        # Ids beyond the registry's range cannot name a device: make them unknown, not errors.
        device_col = pc.if_else(
            pc.and_(pc.greater_equal(device_col, 1), pc.less_equal(device_col, 2**31 - 1)),
            pc.cast(device_col, pa.int64(), safe=False),
            pa.scalar(0, pa.int64()),
        )
    metric_col = _require(table, "metric")
    if not _is_text(metric_col.type):
        raise IngestError(
            "column 'metric' must hold metric names (strings)", code="bad_column_type"
        )
    ts_col = _require(table, "ts")
    value_col = _require(table, "value")
    if pa.types.is_timestamp(ts_col.type):
        # Finer timestamps are cut to whole milliseconds.
        ts_col = pc.cast(ts_col, pa.timestamp("ms"), safe=False).cast(pa.int64())
    elif pa.types.is_integer(ts_col.type):
        if ts_col.type != pa.int64():
            # Unsigned values past int64 wrap to negative and are refused as too old; others
            # beyond the year 9999 are refused as future timestamps.
            ts_col = pc.cast(ts_col, pa.int64(), safe=False)
    else:
        raise IngestError(
            "column 'ts' must be integer milliseconds or a timestamp", code="bad_column_type"
        )
    value_is_text = _is_text(value_col.type)
    if not (
        value_is_text
        or pa.types.is_integer(value_col.type)
        or pa.types.is_floating(value_col.type)
        or pa.types.is_decimal(value_col.type)
    ):
        raise IngestError(
            "column 'value' must be numeric, or strings naming states", code="bad_column_type"
        )

    nulls = np.zeros(table.num_rows, dtype=bool)
    for col in (device_col, metric_col, ts_col, value_col):
        if col.null_count:
            nulls |= col.is_null().to_numpy(zero_copy_only=False)

    device_keys, device_index = _dictionary(device_col, nulls)
    metric_names, metric_index = _dictionary(metric_col, nulls)
    value_text = None
    if value_is_text:
        texts, text_index = _dictionary(value_col, nulls)
        value_text = TextColumn(texts, text_index)  # type: ignore[arg-type]  # checked: strings
        value = np.full(table.num_rows, np.nan)
    else:
        value = _filled(pc.cast(value_col, pa.float64()), 0.0).astype(np.float64, copy=False)
    return ArrowRows(
        device_keys=device_keys,  # type: ignore[arg-type]  # strings or ints, by column
        device_index=device_index,
        metric_names=metric_names,  # type: ignore[arg-type]  # strings: the type was checked
        metric_index=metric_index,
        ts=_filled(ts_col, 0).astype(np.int64, copy=False),
        value=value,
        null_rows=nulls,
        value_text=value_text,
    )


def _filled(column: pa.ChunkedArray, fill: float) -> npt.NDArray[np.generic]:
    """Column as numpy; nulls (already refused row by row) become ``fill``."""
    if column.null_count:
        column = column.fill_null(fill)
    values: npt.NDArray[np.generic] = column.to_numpy()
    return values
