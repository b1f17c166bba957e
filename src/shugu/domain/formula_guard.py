"""Text a spreadsheet would run as a formula, made inert for CSV and XLSX exports.

Excel, LibreOffice and WPS read a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or with a
tab, CR or LF before one) as a formula. Names in shugu's data are chosen by devices and gateways:
a metric called ``=HYPERLINK("http://…","Open report")`` would become a live link, or a DDE
command, on the screen of whoever opens an export. Following OWASP's advice such text is written
with a leading single quote in CSV, which the spreadsheet takes as "this is text"; in XLSX it is
stored as a string cell marked quote-prefixed, so it stays text even when someone edits it.

Numbers are never touched: a float -3.2 is a number cell, and text that is only a number
(``-3.2``, ``+86``, ``-1e5``) cannot be a formula, so it is left as it is.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

#: What a formula may begin with (OWASP's list, and LF, which some importers also trim).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)
#: The same two tests for Arrow's RE2 engine.
_STARTS_FORMULA_RE2 = "^[=+\\-@\\t\\r\\n]"
_ONLY_NUMBER_RE2 = f"^{_NUMBER}$"


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    return text.startswith(FORMULA_START) and _NUMBER_RE.fullmatch(text) is None


def inert(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs: a single quote in front when needed."""
    return "'" + text if starts_formula(text) else text


def inert_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``inert`` over a string column (others are returned as they are), vectorised."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    risky = pc.and_kleene(
        pc.match_substring_regex(column, _STARTS_FORMULA_RE2),
        pc.invert(pc.match_substring_regex(column, _ONLY_NUMBER_RE2)),
    )
    quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, "")
    return pc.if_else(risky, quoted, column)


def inert_table(table: pa.Table) -> pa.Table:
    """Every string column and every column name of ``table`` made inert (dictionary columns
    are decoded first: a CSV has no dictionaries)."""
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns.append(inert_column(column))
    return pa.table(columns, names=[inert(name) for name in table.column_names])
