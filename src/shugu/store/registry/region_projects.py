"""The registry's part for the project library (项目库): projects keyed by their code, and each
project's monthly progress keyed by project and month.

The registry keeps rows consistent (a code names one project, a month one report); what a
report may say (investment to date never going down, stages in order) and who may file it are
the region's service's questions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import select

from shugu.domain.errors import ConflictError
from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Enterprise, utc_now
from shugu.store.registry.models_projects import PROJECT_STAGES, Project, ProjectProgress


@dataclass(frozen=True, slots=True)
class ProjectFields:
    """What the bureau records of a project (the owner's name is the enterprise's when it has
    an account)."""

    code: str
    name: str
    enterprise_id: int | None
    owner_name: str
    owner_uscc: str | None
    park_id: int
    industry_code: str | None
    project_type: str
    total_investment_yuan: int
    official: str
    #: Stage key → planned date (stages without one are left out).
    planned: dict[str, date]
    go_live_on: date | None


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: int
    code: str
    name: str
    enterprise_id: int | None
    owner_name: str
    owner_uscc: str | None
    park_id: int
    industry_code: str | None
    project_type: str
    total_investment_yuan: int
    official: str
    planned: dict[str, date]
    go_live_on: date | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProgressFields:
    month: date
    investment_month_yuan: int
    investment_to_date_yuan: int
    stage: str
    stage_reached_on: date | None
    problems: str
    appeal_id: int | None = None


@dataclass(frozen=True, slots=True)
class ProgressRecord:
    id: int
    project_id: int
    month: date
    investment_month_yuan: int
    investment_to_date_yuan: int
    stage: str
    stage_reached_on: date | None
    problems: str
    appeal_id: int | None
    filed_by: str
    filed_at: datetime


def _project(row: Project) -> ProjectRecord:
    planned = {
        stage: day
        for stage in PROJECT_STAGES
        if (day := getattr(row, f"{stage}_planned")) is not None
    }
    return ProjectRecord(
        id=row.id,
        code=row.code,
        name=row.name,
        enterprise_id=row.enterprise_id,
        owner_name=row.owner_name,
        owner_uscc=row.owner_uscc,
        park_id=row.park_id,
        industry_code=row.industry_code,
        project_type=row.project_type,
        total_investment_yuan=row.total_investment_yuan,
        official=row.official,
        planned=planned,
        go_live_on=row.go_live_on,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _progress(row: ProjectProgress) -> ProgressRecord:
    return ProgressRecord(
        id=row.id,
        project_id=row.project_id,
        month=row.month,
        investment_month_yuan=row.investment_month_yuan,
        investment_to_date_yuan=row.investment_to_date_yuan,
        stage=row.stage,
        stage_reached_on=row.stage_reached_on,
        problems=row.problems,
        appeal_id=row.appeal_id,
        filed_by=row.filed_by,
        filed_at=row.filed_at,
    )


def _apply(row: Project, fields: ProjectFields) -> None:
    values = asdict(fields)
    planned = values.pop("planned")
    for name, value in values.items():
        setattr(row, name, value)
    for stage in PROJECT_STAGES:
        setattr(row, f"{stage}_planned", planned.get(stage))


class ProjectMixin(RegistryCore):
    """The project library (项目库)."""

    def save_project(self, fields: ProjectFields, by: str) -> tuple[ProjectRecord, bool]:
        """Create the project with ``fields.code``, or replace what is recorded of it; also
        whether it was created."""
        with self._session() as s:
            row = s.scalars(select(Project).where(Project.code == fields.code)).first()
            created = row is None
            if row is None:
                row = Project(created_by=by, created_at=utc_now())
                s.add(row)
            _apply(row, fields)
            row.updated_at = utc_now()
            self._flush_unique(
                s, ConflictError(f"project code {fields.code} is taken", code="project_code_taken")
            )
            return _project(row), created

    def update_project(self, project_id: int, fields: ProjectFields) -> ProjectRecord:
        """Replace what is recorded of the project (its code too, when free)."""
        with self._session() as s:
            row = s.get(Project, project_id)
            if row is None:
                raise missing("project")
            other = s.scalars(select(Project.id).where(Project.code == fields.code)).first()
            if other is not None and other != project_id:
                raise ConflictError(
                    f"project code {fields.code} is taken", code="project_code_taken"
                )
            _apply(row, fields)
            row.updated_at = utc_now()
            return _project(row)

    def industry_of_enterprise(self, enterprise_id: int) -> str | None:
        """The enterprise's GB/T 4754 class, a project's industry when none is given."""
        with self._session() as s:
            row = s.get(Enterprise, enterprise_id)
            return None if row is None else row.industry_code

    def get_project(self, project_id: int) -> ProjectRecord:
        with self._session() as s:
            row = s.get(Project, project_id)
            if row is None:
                raise missing("project")
            return _project(row)

    def project_by_code(self, code: str) -> ProjectRecord | None:
        with self._session() as s:
            row = s.scalars(select(Project).where(Project.code == code)).first()
            return None if row is None else _project(row)

    def list_projects(
        self, park_id: int | None = None, enterprise_id: int | None = None
    ) -> list[ProjectRecord]:
        query = select(Project).order_by(Project.code)
        if park_id is not None:
            query = query.where(Project.park_id == park_id)
        if enterprise_id is not None:
            query = query.where(Project.enterprise_id == enterprise_id)
        with self._session() as s:
            return [_project(r) for r in s.scalars(query)]

    def save_progress(self, project_id: int, fields: ProgressFields, by: str) -> ProgressRecord:
        """Record (or replace) the project's report for ``fields.month``."""
        with self._session() as s:
            if s.get(Project, project_id) is None:
                raise missing("project")
            row = s.scalars(
                select(ProjectProgress).where(
                    ProjectProgress.project_id == project_id,
                    ProjectProgress.month == fields.month,
                )
            ).first()
            if row is None:
                row = ProjectProgress(project_id=project_id, month=fields.month)
                s.add(row)
            row.investment_month_yuan = fields.investment_month_yuan
            row.investment_to_date_yuan = fields.investment_to_date_yuan
            row.stage = fields.stage
            row.stage_reached_on = fields.stage_reached_on
            row.problems = fields.problems
            if fields.appeal_id is not None:
                row.appeal_id = fields.appeal_id
            row.filed_by = by
            row.filed_at = utc_now()
            self._flush_unique(
                s, ConflictError("this month's report was filed meanwhile", code="conflict")
            )
            return _progress(row)

    def progress_of(
        self, project_ids: Iterable[int] | None = None
    ) -> dict[int, list[ProgressRecord]]:
        """Each project's reports, oldest month first (every project's when ``project_ids`` is
        None)."""
        query = select(ProjectProgress).order_by(ProjectProgress.project_id, ProjectProgress.month)
        if project_ids is not None:
            query = query.where(ProjectProgress.project_id.in_(list(project_ids)))
        out: dict[int, list[ProgressRecord]] = defaultdict(list)
        with self._session() as s:
            for row in s.scalars(query):
                out[row.project_id].append(_progress(row))
        return dict(out)
