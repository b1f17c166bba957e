"""Answer an Arrow table as JSON (columnar), Arrow IPC stream or CSV, as the caller asks.

CSV is for spreadsheets, so its text cells and column names are made inert
(``domain/formula_guard.py``); JSON and Arrow carry the values exactly."""

from __future__ import annotations

import io
from typing import Literal

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi.responses import Response

from shugu.domain.formula_guard import inert_table
from shugu.ingest.arrow_codec import ARROW_STREAM, write_stream

Format = Literal["json", "arrow", "csv"]


def table_response(table: pa.Table, fmt: Format, meta: dict[str, object] | None = None) -> Response:
    if fmt == "arrow":
        return Response(write_stream(table), media_type=ARROW_STREAM)
    if fmt == "csv":
        # Names come from devices: "=HYPERLINK(…)" must reach a spreadsheet as text.
        plain = inert_table(table)
        sink = io.BytesIO()
        pacsv.write_csv(plain, sink)
        return Response(sink.getvalue(), media_type="text/csv; charset=utf-8")
    body: dict[str, object] = dict(meta or {})
    body["rows"] = table.num_rows
    body["columns"] = {name: _column_values(table.column(name)) for name in table.column_names}
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
    )


def _column_values(column: pa.ChunkedArray) -> object:
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type).to_pylist()
    if column.null_count == 0 and (
        pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    ):
        return column.to_numpy()
    return column.to_pylist()
