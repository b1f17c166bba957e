"""Hostile indicator inputs: definitions, values, targets (the JSON bodies of
``/api/region/indicators…`` and ``/api/region/targets…`` and the console's target form) and the
XLSX import of reported values. Each is refused with a code and a message, or kept and read back
as given; an import accounts for every row, and nothing crashes."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any, cast

import pytest
from bench.fuzz_cases import (
    ACCEPTED,
    Verdict,
    hostile_numbers,
    hostile_text,
    json_scalars,
    judge,
    unexplained,
)
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.indicators.service import IndicatorService
from shugu.store.registry import Registry
from tests.fuzz.fuzzing import fuzz, sound

json_values = st.recursive(
    json_scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(hostile_text, kids, max_size=4)
    ),
    max_leaves=10,
)
anything = st.one_of(hostile_text, hostile_numbers, st.none(), st.booleans(), json_values)
codes = st.one_of(
    st.sampled_from(["industrial_output_value", "devices_connected", "smart_factories", "x"]),
    hostile_text,
)
periods = st.one_of(
    st.sampled_from(["2026-03", "2026", "2026-13", "1999", "2100-12", " 2025-01 ", "2026-3"]),
    hostile_text,
)
definitions = st.fixed_dictionaries(
    {
        "code": st.one_of(st.sampled_from(["value_added", "a", "Bad Code"]), hostile_text),
        "name_zh": st.one_of(st.just("工业增加值"), hostile_text),
        "name_en": st.one_of(st.just("Value added"), hostile_text),
        "unit_zh": st.one_of(st.just("万元"), hostile_text),
        "unit_en": st.one_of(st.just("10k yuan"), hostile_text),
        "source": st.one_of(st.sampled_from(["reported", "computed"]), anything),
        "direction": st.one_of(st.sampled_from(["higher", "lower"]), anything),
    },
    optional={
        "computation": st.one_of(st.sampled_from(["devices_online", "nope"]), anything),
        "aggregate": st.one_of(st.sampled_from(["sum", "last", "mean"]), anything),
        "decimals": st.one_of(st.integers(-2, 9), anything),
        "position": anything,
        "extra": anything,
    },
)
numbers = st.one_of(hostile_numbers, st.floats(), anything)
values = st.fixed_dictionaries({"value": numbers}, optional={"note": anything})
targets = st.fixed_dictionaries(
    {"target": numbers}, optional={"baseline": numbers, "note": anything}
)
cells = st.one_of(
    hostile_text.map(lambda t: ILLEGAL_CHARACTERS_RE.sub("", t)),
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.sampled_from(
        ["规上工业总产值", "industrial_output_value", "2026-03", "2026", "1,2", "=1+1"]
    ),
)


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _formula(cell: Any) -> bool:
    return isinstance(cell, str) and cell.startswith("=")


class IndicatorWorld:
    def __init__(self) -> None:
        self.registry = Registry("sqlite://")
        self.service = IndicatorService(self.registry, cast(Any, None), cast(Any, None))
        self.bureau = Access(Principal(1, "bureau", Role.BUREAU), lambda e, g: False)
        self.service.ensure_seeded()

    def define(self, body: Any) -> Verdict:
        record, _ = self.service.define(self.bureau, body)
        if record.code != body["code"].strip() or not record.active:
            return unexplained(f"saved as {record!r}")
        return ACCEPTED

    def value(self, case: tuple[Any, Any, Any]) -> Verdict:
        code, period, body = case
        record, _ = self.service.put_value(self.bureau, code, period, body)
        given = body["value"]
        if record.value is not None and not math.isfinite(record.value):
            return unexplained(f"a value that is no number was kept: {record.value!r}")
        if given is not None and record.value != float(given):
            return unexplained(f"{given!r} read back as {record.value!r}")
        return ACCEPTED

    def target(self, case: tuple[Any, Any, Any]) -> Verdict:
        code, year, body = case
        record, _ = self.service.put_target(self.bureau, code, year, body)
        if not math.isfinite(record.target):
            return unexplained(f"a target that is no number was kept: {record.target!r}")
        return ACCEPTED

    def upload(self, rows: list[list[Any]]) -> Verdict:
        book = Workbook()
        sheet = book.active
        sheet.append(["指标", "期间", "数值", "备注"])
        for row in rows:
            sheet.append(row)
        data = io.BytesIO()
        book.save(data)
        report = self.service.import_values(self.bureau, data.getvalue())
        # A cell written as a formula has no value until Excel computes it: it reads blank, as
        # does one of nothing but whitespace (a row of such cells is a blank row, skipped).
        filled = sum(1 for r in rows if any(not _blank(c) and not _formula(c) for c in r))
        accounted = report.imported + report.updated + report.unchanged
        refused = len({e.number for e in report.errors})
        if accounted + refused < filled:
            return unexplained(f"{filled} rows, {accounted} kept and {refused} refused")
        return ACCEPTED

    def close(self) -> None:
        self.registry.close()


@pytest.fixture(scope="module")
def indicator_world() -> Iterator[IndicatorWorld]:
    world = IndicatorWorld()
    try:
        yield world
    finally:
        world.close()


VALID = {
    "code": "value_added",
    "name_zh": "工业增加值",
    "name_en": "Value added",
    "unit_zh": "万元",
    "unit_en": "10k yuan",
    "source": "reported",
    "direction": "higher",
}


@fuzz()
@given(st.one_of(definitions, anything))
@example(VALID)
@example({**VALID, "source": "computed", "computation": "devices_online"})
@example({**VALID, "code": "industrial_output_value", "source": "computed"})
def test_indicator_definitions(indicator_world: IndicatorWorld, case: Any) -> None:
    sound(judge(indicator_world.define, case))


@fuzz()
@given(st.tuples(codes, periods, st.one_of(values, anything)))
@example(("industrial_output_value", "2026-03", {"value": 1e15}))
@example(("industrial_output_value", "2026", {"value": None, "note": "未报"}))
@example(("devices_connected", "2026-03", {"value": 3}))
def test_indicator_values(indicator_world: IndicatorWorld, case: tuple[Any, Any, Any]) -> None:
    sound(judge(indicator_world.value, case))


@fuzz()
@given(st.tuples(codes, st.one_of(st.integers(1990, 2110), anything), st.one_of(targets, anything)))
@example(("smart_factories", 2026, {"target": 40, "baseline": 30}))
@example(("smart_factories", "2026", {"target": "40"}))
def test_targets(indicator_world: IndicatorWorld, case: tuple[Any, Any, Any]) -> None:
    sound(judge(indicator_world.target, case))


@fuzz(0.3)
@given(st.lists(st.lists(cells, min_size=0, max_size=5), max_size=8))
@example([["规上工业总产值", "2026-01", 1000, None], ["规上工业总产值", "2026-01", 2, None]])
@example([["工业投资", "2026-13", 1, None], ["上云企业数", "2026", "很多", None]])
@example([["=1+1"]])
# A cell of nothing but whitespace makes a blank row, which the import skips.
@example([[" "], ["\u3000", None]])
def test_value_imports(indicator_world: IndicatorWorld, rows: list[list[Any]]) -> None:
    sound(judge(indicator_world.upload, rows))
