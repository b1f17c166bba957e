"""Inspection rounds as people ask for them: listed with their counts, one with its results,
run now, and a round's (or a day's) report as a file.

Running and scheduling rounds is ``round_service.py``'s; this module reads what they kept. The
callers (API routes and console pages) have authorised the enterprise's machine values first;
``visible_round`` finds a round the caller may know of for them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.tenancy import Access, Role
from shugu.domain.timeutil import CHINA_TZ
from shugu.monitor.model import CheckOutcome, RoundRecord
from shugu.monitor.reports.render import MEDIA_TYPES, Format, render_day, render_round
from shugu.monitor.round_service import RoundService
from shugu.monitor.rounds import CHINA
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import RoundRow

ReportLang = Literal["zh", "en"]
#: The most rounds one listing (or one day's report) holds.
MAX_ROUNDS = 1000


@dataclass(frozen=True, slots=True)
class RoundSummary:
    """A round with its counts; ``results`` (as stored) only when asked for."""

    id: int
    plan_id: int
    plan_name: str
    enterprise_id: int
    at: dt.datetime
    trigger: str
    by: str | None
    passed: int
    failed: int
    no_data: int
    results: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class ReportFile:
    content: bytes
    media_type: str
    #: ``Content-Disposition``: HTML opens in the browser, PDF and XLSX download.
    disposition: str


def china_day(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The day (China time) as a UTC interval [start, end)."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - CHINA
    return start, start + dt.timedelta(days=1)


def today() -> dt.date:
    """Today in the district's time zone."""
    return dt.datetime.now(CHINA_TZ).date()


def _counts(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = {outcome.value: 0 for outcome in CheckOutcome}
    for result in results:
        outcome = result.get("outcome")
        if outcome in counts:
            counts[outcome] += 1
    return counts


def _summary(row: RoundRow, plan_name: str, with_results: bool) -> RoundSummary:
    counts = _counts(row.results)
    return RoundSummary(
        id=row.id,
        plan_id=row.plan_id,
        plan_name=plan_name,
        enterprise_id=row.enterprise_id,
        at=row.at,
        trigger=row.trigger,
        by=row.by,
        passed=counts[CheckOutcome.passed.value],
        failed=counts[CheckOutcome.failed.value],
        no_data=counts[CheckOutcome.no_data.value],
        results=row.results if with_results else None,
    )


def _plan_names(registry: Registry, enterprise_id: int) -> dict[int, str]:
    return {
        record.id: str(record.body.get("name", f"#{record.id}"))
        for record in registry.list_configs("plan", [enterprise_id])
    }


def list_rounds(
    registry: Registry,
    enterprise_id: int,
    *,
    plan_id: int | None = None,
    day: dt.date | None = None,
    limit: int = 100,
) -> list[RoundSummary]:
    """The enterprise's rounds, newest first: of one plan, of one day (China time), or all."""
    since = until = None
    if day is not None:
        since, until = china_day(day)
    rows = registry.list_rounds(
        [enterprise_id], plan_id=plan_id, since=since, until=until, limit=min(limit, MAX_ROUNDS)
    )
    names = _plan_names(registry, enterprise_id)
    return [_summary(row, names.get(row.plan_id, f"#{row.plan_id}"), False) for row in rows]


def round_summary(registry: Registry, row: RoundRow, *, with_results: bool) -> RoundSummary:
    plan = registry.get_config(row.plan_id, "plan")
    return _summary(row, str(plan.body.get("name", f"#{row.plan_id}")), with_results)


def visible_round(registry: Registry, access: Access, round_id: int) -> RoundRow:
    """A round the caller may know of (404 otherwise, as for a missing one); reading its
    values is the caller's scope check."""
    row = registry.get_round(round_id)
    if not access.can_see_enterprise(row.enterprise_id):
        raise NotFoundError("no such inspection round")
    return row


def require_round_runner(access: Access) -> None:
    """The enterprise (or the operator it consented to) runs rounds; the bureau only reads
    them."""
    if access.role is Role.BUREAU:
        raise ForbiddenError("the bureau reads rounds; the enterprise runs them")


async def run_now(rounds: RoundService, plan_id: int, by: str) -> RoundRow:
    """A round of the plan now, on the latest data, recorded as manual with who ran it."""
    row = await asyncio.to_thread(rounds.run, plan_id, trigger="manual", by=by)
    assert row is not None  # manual rounds have no slot, so they never collide
    return row


def _file(content: bytes, fmt: Format, name: str) -> ReportFile:
    disposition = "inline" if fmt == "html" else "attachment"
    return ReportFile(
        content,
        MEDIA_TYPES[fmt],
        f"{disposition}; filename*=UTF-8''{quote(name)}.{fmt}",
    )


async def round_report(
    rounds: RoundService, row: RoundRow, fmt: Format, lang: ReportLang
) -> ReportFile:
    """The round's report, failing checks first (rendered off the event loop)."""
    record = await asyncio.to_thread(rounds.record, row)
    content = await asyncio.to_thread(render_round, record, fmt, lang)
    return _file(content, fmt, f"inspection-round-{row.id}")


def _day_records(
    registry: Registry, rounds: RoundService, enterprise_id: int, day: dt.date
) -> tuple[str, list[RoundRecord]]:
    enterprise = registry.get_enterprise(enterprise_id)
    since, until = china_day(day)
    rows = registry.list_rounds([enterprise_id], since=since, until=until, limit=MAX_ROUNDS)
    return enterprise.name, [rounds.record(row) for row in reversed(rows)]


async def day_report(
    registry: Registry,
    rounds: RoundService,
    enterprise_id: int,
    day: dt.date | None,
    fmt: Format,
    lang: ReportLang,
) -> ReportFile:
    """Every round of one day (China time; today when not given) of the enterprise."""
    when = day if day is not None else today()
    name, records = await asyncio.to_thread(_day_records, registry, rounds, enterprise_id, when)
    content = await asyncio.to_thread(render_day, records, when, name, fmt, lang)
    return _file(content, fmt, f"inspection-{when.isoformat()}")
