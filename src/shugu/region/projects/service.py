"""The project library's service (项目库), which the API's routes and the console's pages call:
projects listed, read, recorded and edited; monthly progress filed and checked; what is overdue.

Rights are ``rights.py``'s; what a field may hold is ``input.py``'s; overdue rules are
``overdue.py``'s. The summary, the before/after comparison and the XLSX imports have modules of
their own that start from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from shugu.analytics.query import KpiService
from shugu.domain.errors import ForbiddenError, NotFoundError, UnavailableError, ValidationError
from shugu.domain.tenancy import Access
from shugu.domain.timeutil import CHINA_TZ, utc_now_ms
from shugu.region.appeals.service import AppealService
from shugu.region.projects import input as inp
from shugu.region.projects import rights
from shugu.region.projects.before_after import BeforeAfter, before_after
from shugu.region.projects.catalogue import SME_TYPE, Catalogue, catalogue
from shugu.region.projects.overdue import (
    Overdue,
    StageStatus,
    month_end,
    overdue_of,
    stage_statuses,
)
from shugu.region.projects.summary import NOT_REPORTED, Summary, summarise
from shugu.store.registry import Registry
from shugu.store.registry.models_projects import PROJECT_STAGES
from shugu.store.registry.region_projects import (
    ProgressFields,
    ProgressRecord,
    ProjectFields,
    ProjectRecord,
)


def china_today() -> date:
    return datetime.now(CHINA_TZ).date()


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project with where it stands: the stage reached and investment to date as of its
    newest report, and what is late on it today."""

    project: ProjectRecord
    park_name: str
    stage: str | None
    investment_to_date_yuan: int
    last_month: date | None
    overdue: tuple[Overdue, ...]


@dataclass(frozen=True, slots=True)
class ProjectDetail:
    view: ProjectView
    progress: tuple[ProgressRecord, ...]
    stages: tuple[StageStatus, ...]
    may_edit: bool
    may_file: bool


@dataclass(frozen=True, slots=True)
class OverdueRow:
    project: ProjectRecord
    park_name: str
    item: Overdue


@dataclass
class ProjectService:
    registry: Registry
    #: The platform's KPIs, for SME digital-transformation projects before and after go-live.
    kpis: KpiService | None = None
    today: Callable[[], date] = china_today
    vocabulary: Catalogue | None = None
    now_ms: Callable[[], int] = utc_now_ms

    @property
    def catalogue(self) -> Catalogue:
        return self.vocabulary or catalogue()

    # -- reading ---------------------------------------------------------------------------

    def _parks(self) -> dict[int, str]:
        return {p.id: p.name for p in self.registry.list_parks()}

    def _view(
        self,
        project: ProjectRecord,
        progress: list[ProgressRecord],
        parks: Mapping[int, str],
        today: date,
    ) -> ProjectView:
        latest = progress[-1] if progress else None
        return ProjectView(
            project=project,
            park_name=parks.get(project.park_id, ""),
            stage=latest.stage if latest else None,
            investment_to_date_yuan=latest.investment_to_date_yuan if latest else 0,
            last_month=latest.month if latest else None,
            overdue=tuple(overdue_of(project, progress, today, self.catalogue)),
        )

    def projects(
        self,
        access: Access,
        *,
        park_id: int | None = None,
        stage: str | None = None,
        project_type: str | None = None,
        overdue_only: bool = False,
    ) -> list[ProjectView]:
        """The caller's projects by code, narrowed by park, current stage and type."""
        scope = rights.scope_of(access)
        if scope.park_id is not None and park_id is not None and park_id != scope.park_id:
            return []
        projects = self.registry.list_projects(
            park_id=scope.park_id if scope.park_id is not None else park_id,
            enterprise_id=scope.enterprise_id,
        )
        if project_type:
            projects = [p for p in projects if p.project_type == project_type]
        progress = self.registry.progress_of([p.id for p in projects])
        parks, today = self._parks(), self.today()
        views = [self._view(p, progress.get(p.id, []), parks, today) for p in projects]
        if stage:
            views = [v for v in views if (v.stage or "none") == stage]
        if overdue_only:
            views = [v for v in views if v.overdue]
        return views

    def visible(self, access: Access, project_id: int) -> ProjectRecord:
        rights.scope_of(access)
        project = self.registry.get_project(project_id)
        rights.require_visible(access, project)
        return project

    def detail(self, access: Access, project_id: int) -> ProjectDetail:
        project = self.visible(access, project_id)
        progress = self.registry.progress_of([project.id]).get(project.id, [])
        today = self.today()
        return ProjectDetail(
            view=self._view(project, progress, self._parks(), today),
            progress=tuple(progress),
            stages=tuple(stage_statuses(project, progress, today)),
            may_edit=rights.may_edit(access, project),
            may_file=rights.may_file(access, project),
        )

    def overdue(self, access: Access, park_id: int | None = None) -> list[OverdueRow]:
        """Everything late today, most days late first."""
        rows = [
            OverdueRow(v.project, v.park_name, item)
            for v in self.projects(access, park_id=park_id)
            for item in v.overdue
        ]
        return sorted(rows, key=lambda r: (-r.item.days_late, r.project.code))

    def summary(self, access: Access, month: object, lang: str = "zh") -> Summary:
        """The month's summary by stage, park and industry: the bureau's over the district, a
        park official's over its park."""
        scope = rights.scope_of(access)
        if scope.enterprise_id is not None:
            raise ForbiddenError(
                "the project summary is the bureau's and the parks'",
                code="projects_summary_forbidden",
            )
        return self._summary(inp.month(month), scope.park_id, lang)

    def district_summary(self, month: object, lang: str = "zh") -> Summary:
        """The district's summary for the month, for the bureau's scheduled reports."""
        return self._summary(inp.month(month), None, lang)

    def _summary(self, first: date, park_id: int | None, lang: str) -> Summary:
        projects = self.registry.list_projects(park_id=park_id)
        progress = self.registry.progress_of([p.id for p in projects])
        stages = [(s.key, s.label(lang)) for s in self.catalogue.stages]
        stages.append((NOT_REPORTED, "Not reported" if lang == "en" else "未报送"))
        return summarise(projects, progress, first, stages, self._parks())

    def before_after(self, access: Access, project_id: int) -> BeforeAfter:
        """An SME digital-transformation project's owner measured before and after go-live."""
        project = self.visible(access, project_id)
        if self.kpis is None:
            raise UnavailableError("this server computes no KPIs", code="projects_kpis_unavailable")
        return before_after(project, self.kpis, self.catalogue, self.now_ms())

    # -- recording -------------------------------------------------------------------------

    def fields(self, raw: Mapping[str, object], access: Access | None = None) -> ProjectFields:
        """A project's fields checked; the owner, park and industry filled in from the
        enterprise when it is on the platform. With ``access``, an enterprise the caller may not
        see is as unknown as one that does not exist, so naming it tells nothing."""
        enterprise_id = inp.optional_int(raw.get("enterprise_id"), "enterprise_id")
        park_id = inp.optional_int(raw.get("park_id"), "park_id")
        owner_name = inp.text(raw.get("owner_name"), "owner_name", required=False)
        owner_uscc = inp.uscc(raw.get("owner_uscc"))
        industry = inp.industry(raw.get("industry_code"))
        if enterprise_id is None and owner_uscc is not None:
            found = self._enterprise_by_uscc(owner_uscc)
            # Another park's enterprise, found by its code: recorded as an owner off the platform.
            hidden = (
                found is not None and access is not None and not access.can_see_enterprise(found)
            )
            enterprise_id = None if hidden else found
        if enterprise_id is not None:
            try:
                if access is not None and not access.can_see_enterprise(enterprise_id):
                    raise NotFoundError("no such enterprise")
                enterprise = self.registry.get_enterprise(enterprise_id)
            except NotFoundError:
                raise ValidationError(
                    "no such enterprise", code="project_enterprise_unknown", field="enterprise_id"
                ) from None
            if park_id is not None and park_id != enterprise.park_id:
                raise ValidationError(
                    "the project's park is its owner's park",
                    code="project_park_mismatch",
                    field="park_id",
                )
            park_id, owner_name, owner_uscc = enterprise.park_id, enterprise.name, enterprise.uscc
            industry = industry or self.registry.industry_of_enterprise(enterprise.id)
        elif not owner_name:
            raise ValidationError(
                "an owner without an account on the platform is named (owner_name)",
                code="project_owner_required",
                field="owner_name",
            )
        if park_id is None or park_id not in self._parks():
            raise ValidationError(
                "the project's park is required", code="project_park_unknown", field="park_id"
            )
        kind = inp.project_type(raw.get("project_type"))
        go_live = inp.day(raw.get("go_live_on"), "go_live_on")
        if go_live is not None and kind != SME_TYPE:
            raise ValidationError(
                "a go-live date belongs to SME digital-transformation projects",
                code="project_go_live_not_sme",
                field="go_live_on",
            )
        return ProjectFields(
            code=inp.code(raw.get("code")),
            name=inp.text(raw.get("name"), "name", required=True),
            enterprise_id=enterprise_id,
            owner_name=owner_name,
            owner_uscc=owner_uscc,
            park_id=park_id,
            industry_code=industry,
            project_type=kind,
            total_investment_yuan=inp.yuan_of_wan(
                raw.get("total_investment_wan"), "total_investment_wan"
            ),
            official=inp.text(raw.get("official"), "official", required=True, limit=100),
            planned=inp.planned_dates(raw),
            go_live_on=go_live,
        )

    def _enterprise_by_uscc(self, uscc: str) -> int | None:
        return next((e.id for e in self.registry.list_enterprises() if e.uscc == uscc), None)

    def save(self, access: Access, raw: Mapping[str, object]) -> tuple[ProjectRecord, bool]:
        """Record a project, or replace the one with the same code; also whether it is new."""
        rights.scope_of(access)
        # A project of the same code that the caller may not see is not found, before anything
        # else of the body is judged (which could tell what it names).
        existing = self.registry.project_by_code(inp.code(raw.get("code")))
        if existing is not None:
            rights.require_visible(access, existing)
            rights.require_edit(access, existing.park_id)
        fields = self.fields(raw, access)
        rights.require_edit(access, fields.park_id)
        return self.registry.save_project(fields, access.principal.username)

    def update(self, access: Access, project_id: int, raw: Mapping[str, object]) -> ProjectRecord:
        project = self.visible(access, project_id)
        rights.require_edit(access, project.park_id)
        fields = self.fields(raw, access)
        rights.require_edit(access, fields.park_id)
        return self.registry.update_project(project_id, fields)

    # -- progress --------------------------------------------------------------------------

    def progress_fields(
        self,
        project: ProjectRecord,
        month: date,
        raw: Mapping[str, object],
        known: list[ProgressRecord],
    ) -> ProgressFields:
        """A month's report checked against the project's other months: investment to date
        includes the month's and never goes down; the stage never goes back."""
        today = self.today()
        if month > today.replace(day=1):
            raise ValidationError(
                "a month is reported once it has begun",
                code="project_month_in_future",
                field="month",
            )
        in_month = inp.yuan_of_wan(raw.get("investment_month_wan"), "investment_month_wan")
        to_date = inp.yuan_of_wan(raw.get("investment_to_date_wan"), "investment_to_date_wan")
        stage = inp.stage(raw.get("stage"))
        reached = inp.day(raw.get("stage_reached_on"), "stage_reached_on")
        if reached is not None and (reached > min(today, month_end(month))):
            raise ValidationError(
                "the stage was reached by the end of the month reported, and not after today",
                code="project_reached_on_invalid",
                field="stage_reached_on",
            )
        before = [r for r in known if r.month < month]
        after = [r for r in known if r.month > month]
        _check_investment(month, in_month, to_date, before[-1] if before else None, after)
        order = PROJECT_STAGES.index
        if before and order(stage) < order(before[-1].stage):
            raise ValidationError(
                f"the stage reached cannot go back from {before[-1].stage} "
                f"({before[-1].month:%Y-%m})",
                code="project_stage_backwards",
                field="stage",
            )
        if after and order(stage) > order(after[0].stage):
            raise ValidationError(
                f"a later month ({after[0].month:%Y-%m}) reports an earlier stage",
                code="project_stage_backwards",
                field="stage",
            )
        return ProgressFields(
            month=month,
            investment_month_yuan=in_month,
            investment_to_date_yuan=to_date,
            stage=stage,
            stage_reached_on=reached,
            problems=inp.text(raw.get("problems"), "problems", required=False, limit=inp.MAX_TEXT),
        )

    def file_progress(
        self,
        access: Access,
        project_id: int,
        month: object,
        raw: Mapping[str, object],
        raise_appeal: Callable[[ProjectRecord, str], int] | None = None,
    ) -> ProgressRecord:
        """File (or re-file) the project's report for ``month``; with ``raise_appeal`` and
        problems written, they are also raised as an appeal of the owner, whose id the report
        keeps."""
        project = self.visible(access, project_id)
        rights.require_file(access, project)
        first = inp.month(month)
        known = self.registry.progress_of([project.id]).get(project.id, [])
        fields = self.progress_fields(project, first, raw, [r for r in known if r.month != first])
        if raise_appeal is not None and fields.problems:
            fields = replace(fields, appeal_id=raise_appeal(project, fields.problems))
        return self.registry.save_progress(project.id, fields, access.principal.username)


def _check_investment(
    month: date,
    in_month: int,
    to_date: int,
    previous: ProgressRecord | None,
    later: list[ProgressRecord],
) -> None:
    floor = (previous.investment_to_date_yuan if previous else 0) + in_month
    if previous is not None and to_date < previous.investment_to_date_yuan:
        raise ValidationError(
            f"investment to date cannot go down from {inp.wan(previous.investment_to_date_yuan)} "
            f"万元 ({previous.month:%Y-%m})",
            code="project_to_date_decreasing",
            field="investment_to_date_wan",
        )
    consecutive = previous is not None and _next(previous.month) == month
    if to_date < floor or (consecutive and to_date != floor):
        raise ValidationError(
            f"investment to date is the month's plus what came before: {inp.wan(floor)} 万元"
            + ("" if consecutive else " or more"),
            code="project_to_date_mismatch",
            field="investment_to_date_wan",
        )
    if later:
        nxt = later[0]
        if nxt.investment_to_date_yuan < to_date:
            raise ValidationError(
                f"a later month ({nxt.month:%Y-%m}) reports less to date",
                code="project_to_date_decreasing",
                field="investment_to_date_wan",
            )
        if _next(month) == nxt.month and nxt.investment_to_date_yuan != (
            to_date + nxt.investment_month_yuan
        ):
            raise ValidationError(
                f"the next month ({nxt.month:%Y-%m}) would no longer add up",
                code="project_to_date_mismatch",
                field="investment_to_date_wan",
            )


def _next(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def appeal_raiser(appeals: AppealService, access: Access) -> Callable[[ProjectRecord, str], int]:
    """Raise a report's blocking problems as the owner's appeal (the owner's administrators
    file appeals, so only they can raise one; an owner without an account has none to file)."""

    def raise_appeal(project: ProjectRecord, problems: str) -> int:
        if project.enterprise_id is None:
            raise ValidationError(
                "an owner without an account on the platform files no appeals",
                code="project_appeal_needs_owner",
                field="raise_appeal",
            )
        title = f"项目 {project.code} 推进问题：{project.name}"
        return appeals.raise_for_project(access, project.enterprise_id, title, problems)

    return raise_appeal
