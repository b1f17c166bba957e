"""The inspection pages (巡检): an enterprise's plans with their checks and times, its rounds
with their pass, fail and no-data counts, one round's result per device, "run now", and the
reports of a round or a day as HTML, PDF or XLSX.

Plans are the enterprise's plant configuration; rounds hold machine values. The page therefore
shows plans to whoever may see the plant (the operator without consent too) and rounds only to
whoever may read the values, exactly as the API's inspection routes do, through the same
services (``monitor/plan_service.py``, ``monitor/inspection_service.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shugu.api.scope import (
    require_machine_access,
    visible_enterprise_devices,
    visible_enterprise_for_machines,
)
from shugu.domain.errors import NotFoundError, ShuguError, ValidationError
from shugu.domain.profiles import get_profile
from shugu.domain.tenancy import Role
from shugu.monitor import inspection_service, plan_service
from shugu.monitor.inspection_service import ReportLang
from shugu.monitor.model import CheckOutcome, CheckResult
from shugu.monitor.plan_service import PlanEntry
from shugu.monitor.reports.render import FORMATS, Format
from shugu.monitor.rounds import CheckSpec
from shugu.store.registry.monitoring import RoundRow
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

#: Rounds the page lists at most: the newest.
ROUND_LIMIT: Final = 100
OUTCOME_LABELS: Final = {
    CheckOutcome.failed.value: N_("Fail"),
    CheckOutcome.no_data.value: N_("No data"),
    CheckOutcome.passed.value: N_("Pass"),
}
#: Failing checks first, as the printed report orders them.
OUTCOME_ORDER: Final = {
    CheckOutcome.failed: 0,
    CheckOutcome.no_data: 1,
    CheckOutcome.passed: 2,
}
TRIGGER_LABELS: Final = {"schedule": N_("Scheduled"), "manual": N_("Manual")}
FORMAT_LABELS: Final = {"html": "HTML", "pdf": "PDF", "xlsx": "Excel"}


def report_lang(user: PageUser) -> ReportLang:
    return "en" if user.tr.lang == "en" else "zh"


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str)}


# -- plans as the page shows them ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckView:
    label: str
    #: "metric", "expr" or "rule", and what it names.
    subject_kind: str
    subject: str
    limit: str
    devices: str
    max_age_s: float


@dataclass(frozen=True, slots=True)
class PlanView:
    id: int
    name: str
    times: tuple[str, ...]
    checks: list[CheckView]
    #: False for a stored plan that no longer validates: listed, not run.
    valid: bool


def _limit_text(user: PageUser, check: CheckSpec) -> str:
    above, below = check.above, check.below
    if above is not None and below is not None:
        return f"{below:g} – {above:g} {check.unit}".rstrip()
    if above is not None:
        return f"≤ {above:g} {check.unit}".rstrip()
    if below is not None:
        return f"≥ {below:g} {check.unit}".rstrip()
    return user.tr("The rule's limits")


def _devices_text(user: PageUser, check: CheckSpec, asset_names: dict[int, str]) -> str:
    group = check.devices
    if group.profile is not None:
        try:
            profile = get_profile(group.profile)
            label = profile.label_en if user.tr.lang == "en" else profile.label_zh
        except ShuguError:
            label = group.profile
        return user.tr("All {profile} devices", profile=label)
    if group.asset_id is not None:
        name = asset_names.get(group.asset_id, f"#{group.asset_id}")
        return user.tr("Every device under {asset}", asset=name)
    return user.tr("{n} listed devices", n=len(group.device_ids or ()))


def _check_view(user: PageUser, check: CheckSpec, asset_names: dict[int, str]) -> CheckView:
    if check.rule is not None:
        kind, subject = "rule", check.rule
    elif check.expr is not None:
        kind, subject = "expr", check.expr
    else:
        kind, subject = "metric", check.metric or ""
    return CheckView(
        label=check.label_en if user.tr.lang == "en" else check.label_zh,
        subject_kind=kind,
        subject=subject,
        limit=_limit_text(user, check),
        devices=_devices_text(user, check, asset_names),
        max_age_s=check.max_age_s,
    )


def _asset_names(user: PageUser, enterprise_id: int, entries: list[PlanEntry]) -> dict[int, str]:
    """Names of the assets the plans' checks are grouped by (the enterprise's own only)."""
    wanted = {
        check.devices.asset_id
        for entry in entries
        if entry.plan is not None
        for check in entry.plan.checks
        if check.devices.asset_id is not None
    }
    names = {}
    for asset_id in sorted(wanted):
        try:
            asset = user.services.registry.get_asset(asset_id)
        except NotFoundError:
            continue
        if asset.enterprise_id == enterprise_id:
            names[asset_id] = asset.name
    return names


def _plan_views(user: PageUser, enterprise_id: int, entries: list[PlanEntry]) -> list[PlanView]:
    asset_names = _asset_names(user, enterprise_id, entries)
    views = []
    for entry in entries:
        plan = entry.plan
        views.append(
            PlanView(
                id=entry.id,
                name=entry.name,
                times=plan.times if plan is not None else (),
                checks=[_check_view(user, c, asset_names) for c in plan.checks] if plan else [],
                valid=plan is not None,
            )
        )
    return views


# -- the inspection page ------------------------------------------------------------------------


@dataclass
class RoundFilters:
    plan: str = ""
    date: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    plan_id: int | None = None
    day: dt.date | None = None


def parse_round_filters(
    user: PageUser, params: dict[str, str], plans: list[PlanView]
) -> RoundFilters:
    found = RoundFilters(plan=params.get("plan", "").strip(), date=params.get("date", "").strip())
    if found.plan:
        known = {str(p.id): p.id for p in plans}
        if found.plan in known:
            found.plan_id = known[found.plan]
        else:
            found.errors["plan"] = user.tr.error("not_found")
    if found.date:
        try:
            found.day = dt.date.fromisoformat(found.date)
        except ValueError:
            found.errors["date"] = user.tr.error("invalid")
    return found


@router.get("/e/{enterprise_id}/inspection")
def inspection_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    registry = user.services.registry
    visible_enterprise_devices(registry, user.access, enterprise_id)
    plans = _plan_views(user, enterprise_id, plan_service.list_plans(registry, enterprise_id))
    filters = parse_round_filters(user, _params(request), plans)
    can_read = user.access.can_read_machines(enterprise_id)
    rounds = []
    if can_read and not filters.errors:
        rounds = inspection_service.list_rounds(
            registry,
            enterprise_id,
            plan_id=filters.plan_id,
            day=filters.day,
            limit=ROUND_LIMIT,
        )
    context: dict[str, Any] = {
        "enterprise": registry.get_enterprise(enterprise_id),
        "enterprise_id": enterprise_id,
        "plans": plans,
        "rounds": rounds,
        "filters": filters,
        "can_read": can_read,
        "can_run": can_read and user.role is not Role.BUREAU,
        "truncated": len(rounds) >= ROUND_LIMIT,
        "limit": ROUND_LIMIT,
        "report_day": (filters.day or inspection_service.today()).isoformat(),
        "trigger_labels": TRIGGER_LABELS,
        "formats": FORMAT_LABELS,
    }
    status = 422 if filters.errors else 200
    return render(request, user, "inspection/page.html", context, status_code=status)


@router.post("/e/{enterprise_id}/inspection/plans/{plan_id}/run")
async def run_plan(
    request: Request, enterprise_id: int, plan_id: int, user: PageUserDep
) -> Response:
    """Run a round of the plan now and show it."""
    registry = user.services.registry
    visible_enterprise_for_machines(registry, user.access, enterprise_id)
    inspection_service.require_round_runner(user.access)
    plan_service.get_plan(registry, enterprise_id, plan_id)
    row = await inspection_service.run_now(user.services.rounds, plan_id, user.principal.username)
    target = f"/e/{enterprise_id}/inspection/rounds/{row.id}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# -- one round ----------------------------------------------------------------------------------


def _round_of(user: PageUser, enterprise_id: int, round_id: int) -> RoundRow:
    """A round of this enterprise whose values the user may read; a round of another
    enterprise is one that does not exist here."""
    registry = user.services.registry
    row = inspection_service.visible_round(registry, user.access, round_id)
    if row.enterprise_id != enterprise_id:
        raise NotFoundError("no such inspection round")
    require_machine_access(user.access, enterprise_id)
    return row


def _ordered(results: tuple[CheckResult, ...], outcome: str) -> list[CheckResult]:
    chosen = [r for r in results if not outcome or r.outcome.value == outcome]
    # Stable: within an outcome, the plan's check order and then device names stay.
    return sorted(chosen, key=lambda r: OUTCOME_ORDER[r.outcome])


@router.get("/e/{enterprise_id}/inspection/rounds/{round_id}")
def round_page(request: Request, enterprise_id: int, round_id: int, user: PageUserDep) -> Response:
    """A round with each check's result per device (failing first); ``outcome`` narrows it.
    An htmx request gets the results table alone."""
    row = _round_of(user, enterprise_id, round_id)
    registry = user.services.registry
    outcome = request.query_params.get("outcome", "")
    status = 200
    error = ""
    if outcome and outcome not in OUTCOME_LABELS:
        outcome, status, error = "", 422, user.tr.error("invalid")
    record = user.services.rounds.record(row)
    summary = inspection_service.round_summary(registry, row, with_results=False)
    context: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "round": summary,
        "slot": row.slot,
        "results": _ordered(record.results, outcome),
        "outcome": outcome,
        "outcome_error": error,
        "outcome_labels": OUTCOME_LABELS,
        "trigger_labels": TRIGGER_LABELS,
        "formats": FORMAT_LABELS,
        "english": user.tr.lang == "en",
    }
    if request.headers.get("hx-request") == "true":
        return render(request, user, "inspection/_results.html", context, status_code=status)
    context["enterprise"] = registry.get_enterprise(enterprise_id)
    return render(request, user, "inspection/round.html", context, status_code=status)


# -- reports ------------------------------------------------------------------------------------


def _format(raw: str) -> Format:
    for known in FORMATS:
        if raw == known:
            return known
    raise ValidationError(
        f"the report format is one of {', '.join(FORMATS)}", code="invalid", field="format"
    )


def _file(report: inspection_service.ReportFile) -> Response:
    return Response(
        report.content,
        media_type=report.media_type,
        headers={"Content-Disposition": report.disposition},
    )


@router.get("/e/{enterprise_id}/inspection/rounds/{round_id}/report")
async def round_report(
    request: Request, enterprise_id: int, round_id: int, user: PageUserDep
) -> Response:
    """The round's report in the user's language: ``format`` html (opens), pdf or xlsx."""
    fmt = _format(request.query_params.get("format", "html"))
    row = _round_of(user, enterprise_id, round_id)
    report = await inspection_service.round_report(
        user.services.rounds, row, fmt, report_lang(user)
    )
    return _file(report)


@router.get("/e/{enterprise_id}/inspection/report")
async def day_report(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """Every round of one day (``date``, China time; today without it) in one report."""
    fmt = _format(request.query_params.get("format", "html"))
    raw_day = request.query_params.get("date", "").strip()
    day = None
    if raw_day:
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError as exc:
            raise ValidationError(
                "the date is not YYYY-MM-DD", code="invalid", field="date"
            ) from exc
    registry = user.services.registry
    visible_enterprise_for_machines(registry, user.access, enterprise_id)
    report = await inspection_service.day_report(
        registry, user.services.rounds, enterprise_id, day, fmt, report_lang(user)
    )
    return _file(report)
