from __future__ import annotations

import numpy as np

from shugu.ingest.columns import Columns, ListColumns, as_arrays
from shugu.ingest.validation import MAX_NEW_METRICS_PER_REQUEST, Limits, check
from shugu.store.telemetry import Rejects

NOW = 1_795_104_000_000


def _arrays(device: int, names: list[str], index: list[int]) -> Columns:
    n = len(index)
    return Columns(
        device=np.full(n, device, np.int32),
        metric_names=names,
        metric_index=np.array(index, np.int32),
        ts=np.arange(n, dtype=np.int64),
        value=np.arange(n, dtype=np.float64),
    )


def test_a_single_array_set_passes_through_untouched() -> None:
    cols = _arrays(1, ["a"], [0, 0])
    assert as_arrays([cols]) is cols


def test_mixed_sets_keep_their_row_order_under_one_dictionary() -> None:
    first = ListColumns([1, 1], ["b", "a"], [10, 11], [1.0, 2.0])
    middle = _arrays(2, ["a", "c"], [1, 0])
    last = ListColumns([3], ["c"], [12], [3.0])
    cols = as_arrays([first, middle, last])
    rows = [
        (int(d), cols.metric_names[int(m)], float(v))
        for d, m, v in zip(cols.device, cols.metric_index, cols.value, strict=True)
    ]
    assert rows == [(1, "b", 1.0), (1, "a", 2.0), (2, "c", 0.0), (2, "a", 1.0), (3, "c", 3.0)]
    assert sorted(cols.metric_names) == ["a", "b", "c"]


def test_no_sets_make_empty_columns() -> None:
    cols = as_arrays([])
    assert len(cols) == 0 and cols.metric_names == []


def test_validation_asks_only_the_function_it_is_handed_about_new_names() -> None:
    n = MAX_NEW_METRICS_PER_REQUEST + 2
    names = [f"m{i}" for i in range(n)]
    cols = ListColumns([1] * n, names, [NOW] * n, [1.0] * n).arrays()
    asked: list[str] = []

    def is_numbered(name: str) -> bool:
        asked.append(name)
        return name == "m0"  # one name known: one new name too many

    rejects = Rejects()
    checked = check(cols, {1: "generic"}, rejects, Limits(600_000, 30), NOW, is_numbered)
    assert sorted(asked) == sorted(names)
    assert int((~checked.keep).sum()) == 1
    assert {code for _, code in rejects.counts} == {"too_many_new_metrics"}
