"""Arrow IPC stream → columns, for bulk and batch ingest of many devices at once.

Columns: ``device`` (device name within the caller's enterprise, string or dictionary) or
``device_id`` (integer), ``metric`` (string or dictionary), ``ts`` (integer milliseconds or an
Arrow timestamp), ``value`` (any numeric type). Rows with nulls are refused one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shugu.ingest.errors import IngestError

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


def read_stream(body: bytes) -> pa.Table:
    try:
        with pa.ipc.open_stream(pa.py_buffer(body)) as reader:
            return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise IngestError(
            f"the body is not an Arrow IPC stream: {exc}", code="malformed_arrow"
        ) from None


def _dictionary(column: pa.ChunkedArray) -> tuple[list[object], npt.NDArray[np.int32]]:
    encoded = column.combine_chunks()
    if not pa.types.is_dictionary(encoded.type):
        encoded = pc.dictionary_encode(encoded)
    indices = encoded.indices
    if indices.null_count:
        indices = indices.fill_null(0)
    indices = indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return encoded.dictionary.to_pylist(), indices


def _require(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise IngestError(
            f"column {name!r} is missing; expected device (or device_id), metric, ts, value",
            code="missing_column",
        )
    return table.column(name)


def decode_table(table: pa.Table) -> ArrowRows:
    if "device" in table.column_names:
        device_col = table.column("device")
        if not (
            pa.types.is_string(device_col.type)
            or pa.types.is_large_string(device_col.type)
            or pa.types.is_dictionary(device_col.type)
        ):
            raise IngestError(
                "column 'device' must hold device names (strings)", code="bad_column_type"
            )
    else:
        device_col = _require(table, "device_id")
        if not pa.types.is_integer(device_col.type):
            raise IngestError("column 'device_id' must be integers", code="bad_column_type")
    metric_col = _require(table, "metric")
    ts_col = _require(table, "ts")
    value_col = _require(table, "value")
    if pa.types.is_timestamp(ts_col.type):
        ts_col = pc.cast(ts_col, pa.timestamp("ms")).cast(pa.int64())
    elif not pa.types.is_integer(ts_col.type):
        raise IngestError(
            "column 'ts' must be integer milliseconds or a timestamp", code="bad_column_type"
        )
    if not (
        pa.types.is_integer(value_col.type)
        or pa.types.is_floating(value_col.type)
        or pa.types.is_decimal(value_col.type)
    ):
        raise IngestError("column 'value' must be numeric", code="bad_column_type")

    nulls = np.zeros(table.num_rows, dtype=bool)
    for col in (device_col, metric_col, ts_col, value_col):
        if col.null_count:
            nulls |= col.is_null().to_numpy(zero_copy_only=False)

    device_keys, device_index = _dictionary(device_col)
    metric_names, metric_index = _dictionary(metric_col)
    return ArrowRows(
        device_keys=device_keys,  # type: ignore[arg-type]
        device_index=device_index,
        metric_names=[str(m) for m in metric_names],
        metric_index=metric_index,
        ts=_filled(ts_col, 0).astype(np.int64, copy=False),
        value=_filled(pc.cast(value_col, pa.float64()), 0.0).astype(np.float64, copy=False),
        null_rows=nulls,
    )


def _filled(column: pa.ChunkedArray, fill: float) -> npt.NDArray[np.generic]:
    """Column as numpy; nulls (already refused row by row) become ``fill``."""
    if column.null_count:
        column = column.fill_null(fill)
    values: npt.NDArray[np.generic] = column.to_numpy()
    return values
