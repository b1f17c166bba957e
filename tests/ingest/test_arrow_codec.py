"""Arrow columns → rows: dictionaries reduced to the entries rows use, nulls still refused."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from shugu.ingest.arrow_codec import decode_table, read_stream, write_stream
from shugu.ingest.validation import _distinct


def _table(device: pa.Array, metric: pa.Array, n: int) -> pa.Table:
    return pa.table(
        {
            "device": device,
            "metric": metric,
            "ts": pa.array(np.arange(n, dtype=np.int64) + 1_000),
            "value": pa.array(np.arange(n, dtype=np.float64)),
        }
    )


def test_unused_dictionary_entries_are_dropped_and_rows_keep_their_names() -> None:
    names = pa.array([f"dev{i}" for i in range(1000)])
    rows = pa.array(np.array([7, 3, 7, 999], np.int32))
    metrics = pa.DictionaryArray.from_arrays(
        pa.array(np.array([2, 2, 0, 2], np.int32)), pa.array(["a", "unused", "b"])
    )
    table = _table(pa.DictionaryArray.from_arrays(rows, names), metrics, 4)

    decoded = decode_table(read_stream(write_stream(table)))

    assert sorted(decoded.device_keys) == ["dev3", "dev7", "dev999"]  # type: ignore[type-var]
    assert [decoded.device_keys[i] for i in decoded.device_index] == [
        "dev7",
        "dev3",
        "dev7",
        "dev999",
    ]
    assert [decoded.metric_names[i] for i in decoded.metric_index] == ["b", "b", "a", "b"]
    assert not decoded.null_rows.any()


def test_a_null_inside_a_used_dictionary_entry_still_marks_its_rows() -> None:
    names = pa.array(["dev0", None, "dev2", "dev3"])
    rows = pa.array(np.array([1, 2, 1], np.int32))
    metrics = pa.array(["m", "m", "m"])
    table = _table(pa.DictionaryArray.from_arrays(rows, names), metrics, 3)

    decoded = decode_table(read_stream(write_stream(table)))

    assert decoded.null_rows.tolist() == [True, False, True]
    assert [decoded.device_keys[i] for i in decoded.device_index][1] == "dev2"


def test_null_rows_over_an_empty_dictionary_are_refused_not_crashed() -> None:
    rows = pa.array([None, None], pa.int32())
    device = pa.DictionaryArray.from_arrays(rows, pa.array([], pa.string()))
    table = _table(device, pa.array(["m", "m"]), 2)

    decoded = decode_table(read_stream(write_stream(table)))

    assert decoded.null_rows.tolist() == [True, True]


@pytest.mark.parametrize(("rows", "space"), [(1000, 60), (5, 10**7), (0, 4), (300, 300)])
def test_distinct_agrees_with_a_sort(rows: int, space: int) -> None:
    codes = np.random.default_rng(rows).integers(0, space, rows).astype(np.int64)

    uniq, inverse = _distinct(codes, space)

    expected, expected_inverse = np.unique(codes, return_inverse=True)
    assert uniq.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.tolist()
