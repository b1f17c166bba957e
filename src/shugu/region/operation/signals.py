"""The operation facts of an enterprise for a report month, as of a day: what the warning rules
(``warnings.yaml``) are written over.

| fact | what |
| --- | --- |
| output_value_wan, revenue_wan | the month's filed figures, 万元 |
| output_value_wan_year_ago, revenue_wan_year_ago | the same month a year before, 万元 |
| output_value_yoy_pct, revenue_yoy_pct | change year on year (同比), % |
| metered_kwh_14d, metered_kwh_prior_14d | metered kWh of the last 14 whole days and the 14 before |
| metered_power_14d_change_pct | the change between them, % |
| report_deadline, report_state | the month's deadline; its report's state ("none": no report) |
| report_days_overdue | days past the deadline without a filed report (0: filed or not yet due) |

A figure the enterprise did not file, or a meter it does not have, is left out: an unknown fact
never satisfies a rule.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Final

from shugu.analytics.periods import instant
from shugu.region.operation import months
from shugu.region.operation.measured import Meters
from shugu.region.operation.review import FILED
from shugu.store.registry import Registry
from shugu.store.registry.region_operation import MonthlyReportRecord

WINDOW_DAYS: Final = 14
Facts = dict[str, object]


def change_pct(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before <= 0:
        return None
    return round((now / before - 1) * 100, 2)


def _filed(report: MonthlyReportRecord | None) -> MonthlyReportRecord | None:
    return report if report is not None and report.state in FILED else None


def report_facts(report: MonthlyReportRecord | None, year_ago: MonthlyReportRecord | None) -> Facts:
    facts: Facts = {}
    now, before = _filed(report), _filed(year_ago)
    for key in ("output_value_wan", "revenue_wan"):
        value = None if now is None else getattr(now.figures, key)
        base = None if before is None else getattr(before.figures, key)
        if value is not None:
            facts[key] = value
        if base is not None:
            facts[f"{key}_year_ago"] = base
        growth = change_pct(value, base)
        if growth is not None:
            facts[key.removesuffix("_wan") + "_yoy_pct"] = growth
    return facts


def deadline_facts(
    report: MonthlyReportRecord | None, month: str, today: date, deadline_day: int
) -> Facts:
    due = months.deadline(month, deadline_day)
    filed = _filed(report) is not None
    return {
        "report_deadline": due,
        "report_state": "none" if report is None else report.state,
        "report_days_overdue": 0 if filed or today <= due else (today - due).days,
    }


def metered_facts(meters: Meters, enterprise_id: int, today: date) -> Facts:
    """The last 14 whole local days (up to yesterday) against the 14 before them."""
    first = today - timedelta(days=2 * WINDOW_DAYS)
    start_ms = instant(_midnight(first))
    days = meters.daily_kwh(enterprise_id, start_ms, 2 * WINDOW_DAYS)
    if days is None:
        return {}
    prior, recent = sum(days[:WINDOW_DAYS]), sum(days[WINDOW_DAYS:])
    facts: Facts = {"metered_kwh_14d": round(recent, 1), "metered_kwh_prior_14d": round(prior, 1)}
    change = change_pct(recent, prior)
    if change is not None:
        facts["metered_power_14d_change_pct"] = change
    return facts


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def operation_facts(
    registry: Registry,
    meters: Meters,
    enterprise_ids: Collection[int],
    month: str,
    today: date,
    deadline_day: int,
) -> dict[int, Facts]:
    """Every enterprise's operation facts for the month, as of ``today``."""
    year_ago = months.shift(month, -12)
    reports = registry.list_monthly_reports(
        months=[month, year_ago], enterprise_ids=list(enterprise_ids)
    )
    by_key = {(r.enterprise_id, r.month): r for r in reports}
    out: dict[int, Facts] = {}
    for enterprise_id in enterprise_ids:
        report = by_key.get((enterprise_id, month))
        out[enterprise_id] = {
            **report_facts(report, by_key.get((enterprise_id, year_ago))),
            **deadline_facts(report, month, today, deadline_day),
            **metered_facts(meters, enterprise_id, today),
        }
    return out
