"""The key-enterprise watch list (重点企业监测): every key enterprise's month with each figure,
its change year on year (同比) and month on month (环比), the report's state and open warnings.

Figures come from filed reports only (submitted and on): a draft is the enterprise's own, and a
returned report's figures are in question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shugu.region.operation import months
from shugu.region.operation.figures import FIGURES
from shugu.region.operation.review import FILED
from shugu.region.operation.signals import change_pct
from shugu.store.registry import Registry
from shugu.store.registry.region_operation import (
    MonthlyReportRecord,
    OperationEnterprise,
    WarningRecord,
)


@dataclass(frozen=True, slots=True)
class FigureCell:
    value: float | None
    yoy_pct: float | None
    mom_pct: float | None


@dataclass(frozen=True, slots=True)
class WatchRow:
    enterprise: OperationEnterprise
    state: str
    figures: dict[str, FigureCell]
    warnings: list[WarningRecord]
    flagged: bool


def _value(report: MonthlyReportRecord | None, key: str) -> float | None:
    if report is None or report.state not in FILED:
        return None
    value = getattr(report.figures, key)
    return None if value is None else float(value)


def watch_rows(
    registry: Registry, enterprises: Sequence[OperationEnterprise], month: str
) -> list[WatchRow]:
    key = [e for e in enterprises if e.key_enterprise]
    wanted = [month, months.shift(month, -1), months.shift(month, -12)]
    reports = registry.list_monthly_reports(months=wanted, enterprise_ids=[e.id for e in key])
    by = {(r.enterprise_id, r.month): r for r in reports}
    warnings = registry.list_warnings(enterprise_ids=[e.id for e in key])
    rows: list[WatchRow] = []
    for enterprise in key:
        now = by.get((enterprise.id, month))
        last = by.get((enterprise.id, wanted[1]))
        year_ago = by.get((enterprise.id, wanted[2]))
        cells = {}
        for figure in FIGURES:
            value = _value(now, figure.key)
            cells[figure.key] = FigureCell(
                value,
                change_pct(value, _value(year_ago, figure.key)),
                change_pct(value, _value(last, figure.key)),
            )
        rows.append(
            WatchRow(
                enterprise,
                "none" if now is None else now.state,
                cells,
                [w for w in warnings if w.enterprise_id == enterprise.id],
                now is not None and any(c.get("outcome") == "beyond" for c in now.checks),
            )
        )
    return rows
