"""Hostile project-library and appeal inputs: project bodies (``POST /api/projects``), a month's
progress (``PUT /api/projects/{id}/progress/{month}`` and the console's form), appeals and their
steps, and XLSX imports of projects and progress. Each is refused with a code and a message, or
accepted and sound: money kept in whole 元 and never negative, investment to date never below
the month before, every import row kept or reported by a row number Excel shows."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from datetime import date
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
from shugu.region.appeals.service import AppealService
from shugu.region.projects import sheets
from shugu.region.projects.service import ProjectService
from shugu.store.registry import Registry
from tests.fuzz.fuzzing import fuzz, sound

USCC = "91110000600037341L"
STAGES = ["filing", "permits", "construction", "production", "policy", "项目备案", "done"]
anything = st.one_of(hostile_text, hostile_numbers, st.none(), st.booleans(), json_scalars)
amounts = mixture(
    (6, st.decimals(-10, 10**8, places=4, allow_nan=False).map(str)),
    (2, st.integers(-5, 10**9)),
    (2, anything),
)
months = mixture(
    (
        6,
        st.integers(1995, 2105).flatmap(lambda y: st.integers(0, 13).map(lambda m: f"{y}-{m:02d}")),
    ),
    (1, hostile_text),
)
days = mixture((4, st.dates(date(1990, 1, 1), date(2110, 1, 1)).map(date.isoformat)), (1, anything))
project_bodies = st.fixed_dictionaries(
    {
        "code": mixture(
            (4, st.from_regex(r"[A-Z]{1,3}-[0-9]{1,4}", fullmatch=True)), (1, anything)
        ),
        "name": mixture((4, st.just("智能车间")), (1, anything)),
        "project_type": mixture(
            (4, st.sampled_from(["industrial", "sme_digital_transformation"])), (1, anything)
        ),
        "total_investment_wan": amounts,
        "official": mixture((4, st.just("王科长")), (1, anything)),
    },
    optional={
        "owner_name": anything,
        "owner_uscc": mixture((2, st.just(USCC)), (1, anything)),
        "enterprise_id": anything,
        "park_id": anything,
        "industry_code": anything,
        "planned": mixture(
            (3, st.dictionaries(st.sampled_from(STAGES), days, max_size=5)), (1, anything)
        ),
        "go_live_on": days,
        "filing_planned": days,
    },
)
progress_bodies = st.fixed_dictionaries(
    {
        "investment_month_wan": amounts,
        "investment_to_date_wan": amounts,
        "stage": mixture((4, st.sampled_from(STAGES)), (1, anything)),
    },
    optional={"stage_reached_on": days, "problems": anything},
)


class ProjectsWorld:
    def __init__(self) -> None:
        self.registry = Registry("sqlite://")
        region = self.registry.create_region("350100", "福州市")
        self.park = self.registry.create_park(region.id, "长乐纺织园", "350112").id
        self.enterprise = self.registry.create_enterprise(self.park, "甲纺织", USCC, "0502").id
        park_of = {self.enterprise: self.park}.get
        self.bureau = Access(Principal(1, "bureau", Role.BUREAU), lambda e, g: False, park_of)
        admin = Principal(2, "admin_a", Role.ENTERPRISE_ADMIN, self.enterprise)
        self.admin = Access(admin, lambda e, g: False, park_of)
        self.projects = ProjectService(self.registry, today=lambda: date(2026, 6, 15))
        self.appeals = AppealService(self.registry)
        record, _ = self.projects.save(
            self.bureau,
            {
                "code": "F-1",
                "name": "x",
                "enterprise_id": self.enterprise,
                "project_type": "industrial",
                "total_investment_wan": "100",
                "official": "王",
            },
        )
        self.project = record.id

    def save(self, body: Any) -> Verdict:
        if not isinstance(body, dict):
            body = {"code": body}
        record, _ = self.projects.save(self.bureau, body)
        if record.total_investment_yuan < 0 or not isinstance(record.total_investment_yuan, int):
            return unexplained(f"investment kept as {record.total_investment_yuan!r}")
        return ACCEPTED

    def file(self, case: tuple[Any, Any]) -> Verdict:
        month, body = case
        if not isinstance(body, dict):
            body = {"problems": body}
        self.projects.file_progress(self.admin, self.project, month, body)
        reports = self.registry.progress_of([self.project]).get(self.project, [])
        for before, after in itertools.pairwise(reports):
            if after.investment_to_date_yuan < before.investment_to_date_yuan:
                return unexplained("investment to date went down")
        return ACCEPTED

    def appeal(self, case: tuple[Any, Any, Any]) -> Verdict:
        category, title, text = case
        made = self.appeals.file(
            self.admin, self.enterprise, {"category": category, "title": title, "text": text}
        )
        self.appeals.assign(self.bureau, made.id, title, text)
        self.appeals.answer(self.bureau, made.id, text)
        self.appeals.confirm(self.admin, made.id, title, text)
        return ACCEPTED

    def load(self, case: tuple[str, bytes]) -> Verdict:
        kind, data = case
        importer = sheets.import_projects if kind == "projects" else sheets.import_progress
        report = importer(self.projects, self.bureau, data)
        if report.created < 0 or any(e.number < 2 for e in report.errors):
            return unexplained(f"an import report that makes no sense: {report!r}")
        return ACCEPTED

    def close(self) -> None:
        self.registry.close()


@pytest.fixture(scope="module")
def projects_world() -> Iterator[ProjectsWorld]:
    world = ProjectsWorld()
    try:
        yield world
    finally:
        world.close()


VALID = {
    "code": "P-1",
    "name": "智能车间",
    "project_type": "sme_digital_transformation",
    "total_investment_wan": "1200.5",
    "official": "王科长",
    "owner_uscc": USCC,
    "planned": {"filing": "2026-01-10", "permits": "2026-03-01"},
    "go_live_on": "2026-05-01",
}


@fuzz()
@given(mixture((8, project_bodies), (1, anything)))
@example(VALID)
@example({**VALID, "total_investment_wan": "1e400"})
@example({**VALID, "planned": {"filing": "2026-03-01", "permits": "2026-01-01"}})
def test_project_bodies(projects_world: ProjectsWorld, body: Any) -> None:
    sound(judge(projects_world.save, body))


@fuzz()
@given(st.tuples(months, mixture((8, progress_bodies), (1, anything))))
@example(
    ("2026-05", {"investment_month_wan": "1", "investment_to_date_wan": "1", "stage": "filing"})
)
@example(
    ("2026-05", {"investment_month_wan": "NaN", "investment_to_date_wan": "1", "stage": "filing"})
)
def test_progress_bodies(projects_world: ProjectsWorld, case: Any) -> None:
    sound(judge(projects_world.file, case))


@fuzz()
@given(
    st.tuples(
        mixture((4, st.sampled_from(["labour", "land", "other"])), (1, anything)),
        mixture((4, st.just("招工难")), (1, anything)),
        mixture((4, st.just("5")), (1, anything)),
    )
)
def test_appeal_steps(projects_world: ProjectsWorld, case: Any) -> None:
    sound(judge(projects_world.appeal, case))


def _workbook(kind: str, rows: list[list[Any]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append([c.zh for c in sheets.SPECS[kind].columns])
    for row in rows:
        # A workbook cannot hold control characters: Excel never writes them.
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


cells = mixture(
    (4, amounts),
    (1, st.sampled_from(["F-1", "2026-05", "项目备案", "中小企业数字化转型", "长乐纺织园", ""])),
)
rows = st.lists(st.lists(cells, max_size=16), max_size=5)
base_projects = _workbook(
    "projects", [["Q-1", "车间", USCC, None, None, None, "工业项目", 10, "王"]]
)
base_progress = _workbook("progress", [["F-1", "2026-04", 1, 1, "项目备案", None, ""]])
uploads = st.one_of(
    st.tuples(
        st.sampled_from(["projects", "progress"]),
        mixture(
            (4, rows.map(lambda r: _workbook("progress", [["F-1", *row] for row in r]))),
            (2, mutated(st.just(base_progress))),
            (1, st.binary(max_size=64)),
        ),
    ),
    st.tuples(st.just("projects"), mutated(st.just(base_projects))),
)


@fuzz(0.3)
@given(uploads)
@example(("projects", base_projects))
@example(("progress", base_progress))
def test_project_imports(projects_world: ProjectsWorld, case: Any) -> None:
    sound(judge(projects_world.load, case))
