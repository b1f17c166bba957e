"""Inspection plans and rounds with their reports; notification channels; monitor status."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.openapi import REPORT_RESPONSES
from shugu.api.scope import (
    require_alarm_admin,
    require_device_access,
    require_enterprise_admin,
    require_machine_access,
)
from shugu.domain.errors import ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Access
from shugu.domain.timeutil import CHINA_TZ
from shugu.monitor.model import CheckOutcome
from shugu.monitor.notify import settings_service
from shugu.monitor.reports.render import MEDIA_TYPES, render_day, render_round
from shugu.monitor.rounds import CHINA, InspectionPlan, validate_plan
from shugu.store.registry.monitoring import RoundRow

router = APIRouter(tags=["inspection"])

Format = Literal["html", "pdf", "xlsx"]
Lang = Literal["zh", "en"]


def _checked_plan(
    services: ServicesDep, enterprise_id: int, body: dict[str, Any]
) -> InspectionPlan:
    """The plan, if it names only rules of its own enterprise (or defaults): another
    enterprise's rule is refused exactly as a rule that does not exist."""
    plan = validate_plan(body)
    for index, check in enumerate(plan.checks):
        if check.rule is not None and not services.monitor.rule_open_to(check.rule, enterprise_id):
            raise ValidationError(
                f"checks.{index}.rule: there is no rule {check.rule!r}",
                code="plan_invalid",
                field=f"checks.{index}.rule",
            )
    return plan


class PlanOut(BaseModel):
    id: int
    enterprise_id: int
    plan: dict[str, Any]


@router.get("/api/enterprises/{enterprise_id}/inspection-plans")
def list_plans(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[PlanOut]:
    require_device_access(access, enterprise_id)
    return [
        PlanOut(id=r.id, enterprise_id=enterprise_id, plan=r.body)
        for r in services.registry.list_configs("plan", [enterprise_id])
    ]


@router.post("/api/enterprises/{enterprise_id}/inspection-plans", status_code=201)
def create_plan(
    enterprise_id: int, body: dict[str, Any], access: AccessDep, services: ServicesDep
) -> PlanOut:
    """A plan: name, times of day (China time, "HH:MM") and checks."""
    require_enterprise_admin(access, enterprise_id)
    services.registry.get_enterprise(enterprise_id)
    plan = _checked_plan(services, enterprise_id, body)
    record = services.registry.put_config("plan", enterprise_id, plan.model_dump(mode="json"))
    return PlanOut(id=record.id, enterprise_id=enterprise_id, plan=record.body)


def _plan_enterprise(services: ServicesDep, access: Access, plan_id: int) -> int:
    record = services.registry.get_config(plan_id, "plan")
    if record.enterprise_id is None or not access.can_see_enterprise(record.enterprise_id):
        raise NotFoundError("no such inspection plan")
    require_device_access(access, record.enterprise_id)
    return record.enterprise_id


@router.put("/api/inspection-plans/{plan_id}")
def replace_plan(
    plan_id: int, body: dict[str, Any], access: AccessDep, services: ServicesDep
) -> PlanOut:
    enterprise_id = _plan_enterprise(services, access, plan_id)
    require_enterprise_admin(access, enterprise_id)
    plan = _checked_plan(services, enterprise_id, body)
    record = services.registry.put_config(
        "plan", enterprise_id, plan.model_dump(mode="json"), config_id=plan_id
    )
    return PlanOut(id=plan_id, enterprise_id=enterprise_id, plan=record.body)


@router.delete("/api/inspection-plans/{plan_id}", status_code=204)
def delete_plan(plan_id: int, access: AccessDep, services: ServicesDep) -> None:
    enterprise_id = _plan_enterprise(services, access, plan_id)
    require_enterprise_admin(access, enterprise_id)
    services.registry.delete_config(plan_id, "plan")


class RoundOut(BaseModel):
    id: int
    plan_id: int
    plan: str
    enterprise_id: int
    at: dt.datetime
    trigger: str
    by: str | None
    passed: int
    failed: int
    no_data: int
    results: list[dict[str, Any]] | None = None


def _round_out(services: ServicesDep, row: RoundRow, with_results: bool) -> RoundOut:
    record = services.rounds.record(row)
    return RoundOut(
        id=row.id,
        plan_id=row.plan_id,
        plan=record.plan_name,
        enterprise_id=row.enterprise_id,
        at=row.at,
        trigger=row.trigger,
        by=row.by,
        passed=record.count(CheckOutcome.passed),
        failed=record.count(CheckOutcome.failed),
        no_data=record.count(CheckOutcome.no_data),
        results=row.results if with_results else None,
    )


@router.post("/api/inspection-plans/{plan_id}/run", status_code=201)
async def run_plan(plan_id: int, access: AccessDep, services: ServicesDep) -> RoundOut:
    """Run a round now, on the latest data, recorded as manual with the caller's name."""
    enterprise_id = _plan_enterprise(services, access, plan_id)
    # A round shows the machines' values.
    require_machine_access(access, enterprise_id)
    if access.role.value == "bureau":
        raise ForbiddenError("the bureau reads rounds; the enterprise runs them")
    row = await asyncio.to_thread(
        services.rounds.run, plan_id, trigger="manual", by=access.principal.username
    )
    assert row is not None  # manual rounds have no slot, so they never collide
    return _round_out(services, row, True)


def _china_day(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - CHINA
    return start, start + dt.timedelta(days=1)


@router.get("/api/enterprises/{enterprise_id}/inspection-rounds")
def list_rounds(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    plan_id: int | None = None,
    date: Annotated[dt.date | None, Query(description="a day in China time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RoundOut]:
    require_machine_access(access, enterprise_id)
    since = until = None
    if date is not None:
        since, until = _china_day(date)
    rows = services.registry.list_rounds(
        [enterprise_id], plan_id=plan_id, since=since, until=until, limit=limit
    )
    return [_round_out(services, r, False) for r in rows]


def _visible_round(services: ServicesDep, access: Access, round_id: int) -> RoundRow:
    row = services.registry.get_round(round_id)
    if not access.can_see_enterprise(row.enterprise_id):
        raise NotFoundError("no such inspection round")
    require_machine_access(access, row.enterprise_id)
    return row


@router.get("/api/inspection-rounds/{round_id}")
def get_round(round_id: int, access: AccessDep, services: ServicesDep) -> RoundOut:
    return _round_out(services, _visible_round(services, access, round_id), True)


def _file(content: bytes, fmt: Format, name: str) -> Response:
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}.{fmt}",
        },
    )


@router.get(
    "/api/inspection-rounds/{round_id}/report",
    response_class=Response,
    responses=REPORT_RESPONSES,
)
async def round_report(
    round_id: int,
    access: AccessDep,
    services: ServicesDep,
    format: Format = "html",
    lang: Lang = "zh",
) -> Response:
    """The round's report as HTML, PDF or XLSX; failing checks first."""
    row = _visible_round(services, access, round_id)
    record = services.rounds.record(row)
    content = await asyncio.to_thread(render_round, record, format, lang)
    return _file(content, format, f"inspection-round-{round_id}")


@router.get(
    "/api/enterprises/{enterprise_id}/inspection-report",
    response_class=Response,
    responses=REPORT_RESPONSES,
)
async def day_report(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    date: Annotated[
        dt.date | None, Query(description="a day in China time; today's when left out")
    ] = None,
    format: Format = "html",
    lang: Lang = "zh",
) -> Response:
    """All rounds of one day (China time) of an enterprise: today's unless ``date`` is given."""
    require_machine_access(access, enterprise_id)
    enterprise = services.registry.get_enterprise(enterprise_id)
    if date is None:
        date = dt.datetime.now(CHINA_TZ).date()
    since, until = _china_day(date)
    rows = services.registry.list_rounds([enterprise_id], since=since, until=until, limit=1000)
    records = [services.rounds.record(r) for r in reversed(rows)]
    content = await asyncio.to_thread(render_day, records, date, enterprise.name, format, lang)
    return _file(content, format, f"inspection-{date.isoformat()}")


# -- notification settings -------------------------------------------------------------------


class NotifySettings(BaseModel):
    channels: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    policy: dict[str, Any] | None = None


@router.get("/api/enterprises/{enterprise_id}/notify")
def get_notify(enterprise_id: int, access: AccessDep, services: ServicesDep) -> NotifySettings:
    """Channels (secrets masked) and the escalation policy."""
    require_enterprise_admin(access, enterprise_id)
    view = settings_service.read_settings(services.registry, enterprise_id)
    return NotifySettings(channels=view.channels, policy=view.policy)


@router.put("/api/enterprises/{enterprise_id}/notify")
async def put_notify(
    enterprise_id: int, body: NotifySettings, access: AccessDep, services: ServicesDep
) -> NotifySettings:
    """Replace the enterprise's channels and escalation policy together (the operator only
    with the enterprise's consent: notices quote values). Targets are vetted without holding
    a worker thread; the guard's deadline bounds the wait (503 past it)."""
    require_alarm_admin(access, enterprise_id)
    await settings_service.replace_settings(
        services.registry,
        services.monitor,
        services.notifier.guard,
        enterprise_id,
        body.channels,
        body.policy,
    )
    return await run_in_threadpool(get_notify, enterprise_id, access, services)


class MonitorStatus(BaseModel):
    monitor: dict[str, Any]
    notifier: dict[str, Any]


@router.get("/api/monitor/status")
def monitor_status(access: AccessDep, services: ServicesDep) -> MonitorStatus:
    """The monitor's lag and counts, and each notification channel's delivery state."""
    if not access.can_manage_platform():
        raise ForbiddenError("only operators see the platform's monitor", code="forbidden")
    notifier = services.notifier.status()
    return MonitorStatus(
        monitor=asdict(services.monitor.stats()),
        notifier=asdict(notifier),
    )
