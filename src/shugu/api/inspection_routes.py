"""Inspection plans and rounds with their reports; notification channels; monitor status."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.openapi import ERROR_REF, REPORT_RESPONSES
from shugu.api.scope import (
    require_alarm_admin,
    require_device_access,
    require_enterprise_admin,
    require_machine_access,
)
from shugu.domain.errors import ForbiddenError
from shugu.monitor import inspection_service, plan_service
from shugu.monitor.inspection_service import ReportFile, RoundSummary
from shugu.monitor.notify import settings_service, test_notice
from shugu.store.registry.monitoring import RoundRow

router = APIRouter(tags=["inspection"])

Format = Literal["html", "pdf", "xlsx"]
Lang = Literal["zh", "en"]


class PlanOut(BaseModel):
    id: int
    enterprise_id: int
    plan: dict[str, Any]


@router.get("/api/enterprises/{enterprise_id}/inspection-plans")
def list_plans(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[PlanOut]:
    require_device_access(access, enterprise_id)
    return [
        PlanOut(id=entry.id, enterprise_id=enterprise_id, plan=entry.record.body)
        for entry in plan_service.list_plans(services.registry, enterprise_id)
    ]


@router.post("/api/enterprises/{enterprise_id}/inspection-plans", status_code=201)
def create_plan(
    enterprise_id: int, body: dict[str, Any], access: AccessDep, services: ServicesDep
) -> PlanOut:
    """A plan: name, times of day (China time, "HH:MM") and checks."""
    require_enterprise_admin(access, enterprise_id)
    record = plan_service.create_plan(services.registry, services.monitor, enterprise_id, body)
    return PlanOut(id=record.id, enterprise_id=enterprise_id, plan=record.body)


def _plan_enterprise(services: ServicesDep, access: AccessDep, plan_id: int) -> int:
    enterprise_id = plan_service.plan_enterprise(services.registry, access, plan_id)
    require_device_access(access, enterprise_id)
    return enterprise_id


@router.put("/api/inspection-plans/{plan_id}")
def replace_plan(
    plan_id: int, body: dict[str, Any], access: AccessDep, services: ServicesDep
) -> PlanOut:
    enterprise_id = _plan_enterprise(services, access, plan_id)
    require_enterprise_admin(access, enterprise_id)
    record = plan_service.replace_plan(services.registry, services.monitor, plan_id, body)
    return PlanOut(id=plan_id, enterprise_id=enterprise_id, plan=record.body)


@router.delete("/api/inspection-plans/{plan_id}", status_code=204)
def delete_plan(plan_id: int, access: AccessDep, services: ServicesDep) -> None:
    enterprise_id = _plan_enterprise(services, access, plan_id)
    require_enterprise_admin(access, enterprise_id)
    plan_service.delete_plan(services.registry, plan_id)


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


def _round_out(summary: RoundSummary) -> RoundOut:
    return RoundOut(
        id=summary.id,
        plan_id=summary.plan_id,
        plan=summary.plan_name,
        enterprise_id=summary.enterprise_id,
        at=summary.at,
        trigger=summary.trigger,
        by=summary.by,
        passed=summary.passed,
        failed=summary.failed,
        no_data=summary.no_data,
        results=summary.results,
    )


@router.post("/api/inspection-plans/{plan_id}/run", status_code=201)
async def run_plan(plan_id: int, access: AccessDep, services: ServicesDep) -> RoundOut:
    """Run a round now, on the latest data, recorded as manual with the caller's name."""
    enterprise_id = await run_in_threadpool(_plan_enterprise, services, access, plan_id)
    # A round shows the machines' values.
    require_machine_access(access, enterprise_id)
    inspection_service.require_round_runner(access)
    row = await inspection_service.run_now(services.rounds, plan_id, access.principal.username)
    summary = await run_in_threadpool(
        inspection_service.round_summary, services.registry, row, with_results=True
    )
    return _round_out(summary)


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
    rounds = inspection_service.list_rounds(
        services.registry, enterprise_id, plan_id=plan_id, day=date, limit=limit
    )
    return [_round_out(summary) for summary in rounds]


def _readable_round(services: ServicesDep, access: AccessDep, round_id: int) -> RoundRow:
    row = inspection_service.visible_round(services.registry, access, round_id)
    require_machine_access(access, row.enterprise_id)
    return row


@router.get("/api/inspection-rounds/{round_id}")
def get_round(round_id: int, access: AccessDep, services: ServicesDep) -> RoundOut:
    row = _readable_round(services, access, round_id)
    return _round_out(inspection_service.round_summary(services.registry, row, with_results=True))


def _file(report: ReportFile) -> Response:
    return Response(
        report.content,
        media_type=report.media_type,
        headers={"Content-Disposition": report.disposition},
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
    row = await run_in_threadpool(_readable_round, services, access, round_id)
    return _file(await inspection_service.round_report(services.rounds, row, format, lang))


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
    report = await inspection_service.day_report(
        services.registry, services.rounds, enterprise_id, date, format, lang
    )
    return _file(report)


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


class TestNoticeIn(BaseModel):
    channel: str = Field(min_length=1, max_length=64, description="the channel's name")


class TestNoticeOut(BaseModel):
    channel: str
    kind: str
    delivered: bool
    elapsed_ms: int


#: A test notice the channel did not take: the delivery's error body.
TEST_FAILED: dict[int | str, dict[str, Any]] = {
    502: {
        "description": "the channel did not take the test notice: the error code says why",
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
}


@router.post("/api/enterprises/{enterprise_id}/notify/test", responses=TEST_FAILED)
async def send_test_notice(
    enterprise_id: int, body: TestNoticeIn, access: AccessDep, services: ServicesDep
) -> TestNoticeOut:
    """Send a test notice to one of the enterprise's channels now, through the notifier, and
    say whether it arrived: 200 when the channel took it; otherwise the delivery's error (502
    with a code such as ``notify_unreachable``, ``notify_http_status``, ``notify_rejected`` or
    ``notify_target_forbidden``). Whoever may change the channels may test them."""
    await run_in_threadpool(require_alarm_admin, access, enterprise_id)
    sent = await test_notice.send_test_notice(
        services.registry, services.notifier, enterprise_id, body.channel
    )
    return TestNoticeOut(
        channel=sent.channel, kind=sent.kind, delivered=True, elapsed_ms=sent.elapsed_ms
    )


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
