"""Hostile enterprise-file inputs: yearly figures, particulars, the file's own fields, tier
criteria and XLSX imports. Each is refused with a code and a message, or kept; an import accounts
for every row (imported, updated, unchanged or reported by number), and nothing crashes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from bench.fuzz_cases import ACCEPTED, Verdict, hostile_numbers, hostile_text, json_scalars, judge
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.files.imports import import_sheet
from shugu.region.files.particulars import PARTICULARS
from shugu.region.files.service import EnterpriseFiles
from shugu.store.registry import Registry
from shugu.store.registry.region_files import YEAR_FIGURES
from tests.fuzz.fuzzing import fuzz, sound

json_values = st.recursive(
    json_scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(hostile_text, kids, max_size=4)
    ),
    max_leaves=10,
)
anything = st.one_of(hostile_text, hostile_numbers, st.none(), st.booleans(), json_values)
figure_names = st.one_of(st.sampled_from(sorted(YEAR_FIGURES)), hostile_text)
figures = st.dictionaries(figure_names, st.one_of(hostile_numbers, anything), max_size=6)
particular_names = st.one_of(st.sampled_from([p.name for p in PARTICULARS]), hostile_text)
particulars = st.dictionaries(particular_names, st.one_of(hostile_numbers, anything), max_size=6)
file_fields = st.dictionaries(
    st.sampled_from(
        ["industry_code", "division_code", "nbs_category", "name", "key_enterprise", "x"]
    ),
    st.one_of(hostile_text, st.sampled_from(["1751", "210211", "0502", "17", "999999"])),
    max_size=4,
)
ops = st.sampled_from([">=", "<=", "==", "in", "has", "exists", "~", ""])
comparisons = st.fixed_dictionaries(
    {"fact": st.one_of(st.sampled_from(["revenue_wan", "tags"]), hostile_text), "op": ops},
    optional={"value": anything},
)
criteria = st.recursive(
    st.one_of(comparisons, anything),
    lambda kids: st.one_of(
        st.fixed_dictionaries({"all": st.lists(kids, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(kids, max_size=3)}),
        st.fixed_dictionaries({"not": kids}),
    ),
    max_leaves=8,
)
cells = st.one_of(
    # A workbook cannot hold control characters at all: Excel never sends them.
    hostile_text.map(lambda t: ILLEGAL_CHARACTERS_RE.sub("", t)),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.sampled_from(["91210200MA0QC0XX1T", "高新区", "2024", "是", "=1+1"]),
)


class FilesWorld:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        region = registry.create_region("210200", "大连市")
        park = registry.create_park(region.id, "高新区")
        self.ent = registry.create_enterprise(park.id, "甲", "91210200MA0QC0XX1T").id
        self.files = EnterpriseFiles(registry, None)
        bureau = Principal(1, "bureau", Role.BUREAU)
        self.access = Access(bureau, lambda e, g: False)

    def figures(self, body: Any) -> Verdict:
        if not isinstance(body, dict):
            return ACCEPTED
        self.files.put_year_figures(self.access, self.ent, 2024, body)
        return ACCEPTED

    def particulars(self, body: Any) -> Verdict:
        if not isinstance(body, dict):
            return ACCEPTED
        self.files.record_particulars(self.access, self.ent, body)
        self.files.view(self.access, self.ent)
        return ACCEPTED

    def file(self, body: Any) -> Verdict:
        self.files.update_file(self.access, self.ent, body)
        return ACCEPTED

    def tier(self, body: Any) -> Verdict:
        self.files.save_tier(self.access, "dengling", body, date(2026, 1, 1), "")
        self.files.criteria_in_force()
        return ACCEPTED

    def sheet(self, rows: list[list[Any]]) -> Verdict:
        book = Workbook()
        for row in rows:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        kind = "enterprises" if rows and len(rows[0]) == 3 else "yearly-figures"
        if rows and rows[0] == HEADERS_P:
            kind = "particulars"
        report = import_sheet(self.registry, kind, out.getvalue(), "bureau")
        counted = report.imported + report.updated + report.unchanged
        reported = {e.number for e in report.errors}
        # A cell written as a formula has no value until Excel computes it: it reads blank.
        data_rows = [
            r
            for r in rows[1:]
            if any(str(c).strip() and not str(c).startswith("=") for c in r if c is not None)
        ]
        if counted + len(reported) < len(data_rows):
            return Verdict("unexplained", (), f"{len(data_rows)} rows, {counted} kept")
        if any(not e.code or not e.message_zh for e in report.errors):
            return Verdict("unexplained", (), "a row refused without a reason")
        return ACCEPTED


@pytest.fixture(scope="module")
def files_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilesWorld]:
    path: Path = tmp_path_factory.mktemp("files") / "files.sqlite"
    registry = Registry(
        f"sqlite:///{path}", password_hasher=PasswordHasher(time_cost=1, memory_cost=8)
    )
    try:
        yield FilesWorld(registry)
    finally:
        registry.close()


@fuzz(0.5)
@given(figures)
@example({"revenue_wan": 1e300, "staff": 1.5})
@example({"staff": True, "revenue_wan": float("nan")})
def test_yearly_figures(files_world: FilesWorld, case: Any) -> None:
    sound(judge(files_world.figures, case))


@fuzz(0.5)
@given(particulars)
@example({"leased_area_m2": 1e300, "invention_patents": 1.5, "pre_ipo": 1})
@example({"rent_yuan_m2_month": float("nan"), "cloud_spend_wan": 10**400, "x": None})
def test_particulars(files_world: FilesWorld, case: Any) -> None:
    sound(judge(files_world.particulars, case))


@fuzz(0.5)
@given(file_fields)
def test_file_fields(files_world: FilesWorld, case: Any) -> None:
    sound(judge(files_world.file, case))


@fuzz(0.5)
@given(criteria)
@example({"all": [{"fact": "revenue_wan", "op": ">=", "value": [1]}]})
def test_tier_criteria(files_world: FilesWorld, case: Any) -> None:
    sound(judge(files_world.tier, case))


HEADERS_E = ["统一社会信用代码", "企业名称", "所属园区"]
HEADERS_Y = ["统一社会信用代码", "年度", "营业收入（万元）", "从业人员（人）"]
HEADERS_P = ["统一社会信用代码", "拟上市企业", "租用面积（m²）", "有效发明专利（件）", "x"]


@fuzz(0.2)
@given(
    st.one_of(
        st.lists(st.lists(cells, min_size=3, max_size=3), max_size=5).map(
            lambda rows: [HEADERS_E, *rows]
        ),
        st.lists(st.lists(cells, min_size=4, max_size=4), max_size=5).map(
            lambda rows: [HEADERS_Y, *rows]
        ),
        st.lists(st.lists(cells, min_size=5, max_size=5), max_size=5).map(
            lambda rows: [HEADERS_P, *rows]
        ),
    )
)
def test_imports(files_world: FilesWorld, case: Any) -> None:
    sound(judge(files_world.sheet, case))
