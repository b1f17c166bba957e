"""Hostile monthly-report bodies (``PUT /api/enterprises/{id}/monthly-reports/{month}`` and the
console's form), review decisions and XLSX imports: refused with a code and a message, or
accepted and sound (the figures read back as saved, every import row either saved, unchanged or
reported)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from bench.fuzz_cases import (
    ACCEPTED,
    Verdict,
    hostile_numbers,
    hostile_text,
    json_scalars,
    judge,
    mixture,
    mutated,
    unexplained,
)
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.operation.figures import FIGURES
from shugu.region.operation.imports import SPEC
from shugu.region.operation.measured import Output
from shugu.region.operation.service import OperationService
from shugu.store.registry import Registry
from tests.fuzz.fuzzing import fuzz, sound

USCC = "91110000600037341L"
anything = st.one_of(hostile_text, hostile_numbers, st.none(), st.booleans(), json_scalars)
figure_values = mixture(
    (6, st.floats(-1e7, 1e7, allow_nan=False)),
    (3, st.integers(-10, 10**6)),
    (2, anything),
)
bodies = st.fixed_dictionaries({}, optional={f.key: figure_values for f in FIGURES}).flatmap(
    lambda d: st.fixed_dictionaries(
        {**{k: st.just(v) for k, v in d.items()}}, optional={"note": anything}
    )
)
months = mixture(
    (
        6,
        st.integers(1995, 2105).flatmap(lambda y: st.integers(0, 13).map(lambda m: f"{y}-{m:02d}")),
    ),
    (1, hostile_text),
)


class NoMeters:
    def month_kwh(self, enterprise_id: int, month: str) -> float | None:
        return None

    def month_output(self, enterprise_id: int, month: str) -> Output | None:
        return None

    def daily_kwh(self, enterprise_id: int, start_ms: int, days: int) -> list[float] | None:
        return None


class OperationWorld:
    def __init__(self) -> None:
        self.registry = Registry("sqlite://")
        region = self.registry.create_region("350100", "福州市")
        park = self.registry.create_park(region.id, "长乐纺织园", "350112")
        self.enterprise = self.registry.create_enterprise(park.id, "甲纺织", USCC, "0502").id
        principal = Principal(1, "admin_a", Role.ENTERPRISE_ADMIN, self.enterprise)
        self.admin = Access(principal, lambda e, g: False, lambda e: park.id)
        self.service = OperationService(self.registry, NoMeters())

    def save(self, case: tuple[str, Any]) -> Verdict:
        month, body = case
        if not isinstance(body, dict):
            body = {"note": body}
        saved = self.service.save(self.admin, self.enterprise, month, body)
        back = self.registry.monthly_report(self.enterprise, saved.month)
        if back is None or back.figures != saved.figures:
            return unexplained("the report does not read back as saved")
        for figure in FIGURES:
            value = getattr(saved.figures, figure.key)
            if value is not None and not (-figure.maximum <= value <= figure.maximum):
                return unexplained(f"{figure.key} kept out of range: {value!r}")
        return ACCEPTED

    def review(self, case: tuple[Any, Any]) -> Verdict:
        from shugu.region.operation.review import check_reason

        decision, reason = case
        verdict, text = check_reason(decision, reason)
        if verdict == "return" and not text:
            return unexplained("a return without a reason was accepted")
        return ACCEPTED

    def load(self, data: bytes) -> Verdict:
        result = self.service.import_reports(self.admin, self.enterprise, data)
        if result.saved < 0 or any(e.number < 2 for e in result.errors):
            return unexplained(f"an import result that makes no sense: {result!r}")
        return ACCEPTED

    def close(self) -> None:
        self.registry.close()


@pytest.fixture(scope="module")
def operation_world() -> Iterator[OperationWorld]:
    world = OperationWorld()
    try:
        yield world
    finally:
        world.close()


VALID = {
    "output_value_wan": 1200,
    "revenue_wan": 1100,
    "profit_wan": -35.5,
    "power_kwh": 80000,
    "staff": 210,
    "new_orders_wan": 900,
    "note": "十一月",
}


@fuzz()
@given(st.tuples(months, mixture((8, bodies), (1, anything))))
@example(("2026-11", VALID))
@example(("2026-11", {**VALID, "staff": 1e300}))
@example(("2026-11", {**VALID, "note": "\ud800"}))
def test_monthly_report_bodies(operation_world: OperationWorld, case: Any) -> None:
    sound(judge(operation_world.save, case))


@fuzz()
@given(st.tuples(mixture((4, st.sampled_from(["accept", "return"])), (1, anything)), anything))
def test_review_decisions(operation_world: OperationWorld, case: Any) -> None:
    sound(judge(operation_world.review, case))


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append([c.zh for c in SPEC.columns])
    for row in rows:
        # A workbook cannot hold control characters: Excel never writes them.
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


cells = mixture((4, figure_values), (1, st.sampled_from([USCC, "2026-11", "2026年11月", ""])))
rows = st.lists(st.lists(cells, min_size=0, max_size=len(SPEC.columns) + 1), max_size=6)
base = _workbook([[USCC, "2026-10", 1, 2, 3, 4, 5, 6, "x"]])
uploads = mixture(
    (4, rows.map(lambda r: _workbook([[USCC, "2026-11", *row] for row in r]))),
    (2, mutated(st.just(base))),
    (1, st.binary(max_size=64)),
)


@fuzz(0.3)
@given(uploads)
@example(base)
def test_monthly_report_imports(operation_world: OperationWorld, data: bytes) -> None:
    sound(judge(operation_world.load, data))
