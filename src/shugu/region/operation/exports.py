"""Monthly operation as XLSX: the key-enterprise watch list, the month's reports, the early
warnings, the missing and late list, and the district's monthly operation report (one sheet per
table)."""

from __future__ import annotations

from collections.abc import Sequence

from shugu.domain.xlsx_book import Cell, Sheet, workbook
from shugu.region.operation.deadlines import DueStatus
from shugu.region.operation.figures import FIGURES
from shugu.region.operation.labels import WORDS, word
from shugu.region.operation.summary import DistrictSummary, GroupTotals
from shugu.region.operation.warnings import rule_by_id
from shugu.region.operation.watch import WatchRow
from shugu.store.registry.region_operation import (
    MonthlyReportRecord,
    OperationEnterprise,
    WarningRecord,
)

SUMMED_FIGURES = [f for f in FIGURES if f.key != "new_orders_wan"]


def _watch_sheet(rows: Sequence[WatchRow], month: str, lang: str) -> Sheet:
    headers = [word("enterprise", lang), word("park", lang), word("state", lang)]
    for f in FIGURES:
        headers += [f.label(lang), f"{f.label(lang)} {word('yoy', lang)}"]
        headers.append(f"{f.label(lang)} {word('mom', lang)}")
    headers += [word("flagged", lang), word("warnings", lang)]
    rules = rule_by_id()
    body: list[list[Cell]] = []
    for row in rows:
        line: list[Cell] = [
            row.enterprise.name,
            row.enterprise.park_name,
            word(f"state.{row.state}", lang),
        ]
        for f in FIGURES:
            cell = row.figures[f.key]
            line += [cell.value, cell.yoy_pct, cell.mom_pct]
        line.append(word("yes" if row.flagged else "no", lang))
        line.append(
            "；".join(rules[w.rule].name(lang) if w.rule in rules else w.rule for w in row.warnings)
        )
        body.append(line)
    return Sheet(word("watch_title", lang), [f"{word('month', lang)} {month}"], headers, body)


def watch_xlsx(rows: Sequence[WatchRow], month: str, lang: str) -> bytes:
    return workbook(word("watch_title", lang), [_watch_sheet(rows, month, lang)])


def reports_xlsx(
    rows: Sequence[tuple[OperationEnterprise, MonthlyReportRecord]], title_info: str, lang: str
) -> bytes:
    headers = [
        word("month", lang),
        word("enterprise", lang),
        word("uscc", lang),
        word("park", lang),
        word("state", lang),
    ]
    headers += [f.label(lang) for f in FIGURES] + [word("flagged", lang)]
    body: list[list[Cell]] = []
    for enterprise, report in rows:
        line: list[Cell] = [
            report.month,
            enterprise.name,
            enterprise.uscc,
            enterprise.park_name,
            word(f"state.{report.state}", lang),
        ]
        line += [getattr(report.figures, f.key) for f in FIGURES]
        beyond = any(c.get("outcome") == "beyond" for c in report.checks)
        line.append(word("yes" if beyond else "no", lang))
        body.append(line)
    sheet = Sheet(word("reports_title", lang), [title_info], headers, body)
    return workbook(word("reports_title", lang), [sheet])


def group_headers(first: str, lang: str) -> list[str]:
    return [
        first,
        word("enterprises", lang),
        word("filed", lang),
        word("on_time", lang),
        word("completion", lang),
        *(f.label(lang) for f in SUMMED_FIGURES),
        *(f"{f.label(lang)} {word('yoy', lang)}" for f in SUMMED_FIGURES[:3]),
        word("warnings", lang),
    ]


def group_line(g: GroupTotals) -> list[Cell]:
    return [
        g.label,
        g.enterprises,
        g.filed,
        g.on_time,
        g.completion_pct,
        *(round(g.sums[f.key], 2) for f in SUMMED_FIGURES),
        *(g.yoy_pct(f.key) for f in SUMMED_FIGURES[:3]),
        g.warnings,
    ]


def summary_xlsx(summary: DistrictSummary, lang: str) -> bytes:
    info = [
        f"{word('month', lang)} {summary.month} · {word('as_of', lang)} "
        f"{summary.as_of.isoformat()}",
        word("note_growth", lang),
    ]
    rules = rule_by_id()
    sheets = [
        Sheet(
            word("district", lang),
            info,
            group_headers(word("group", lang), lang),
            [group_line(summary.district)],
        ),
        Sheet(
            word("by_park", lang),
            info,
            group_headers(word("park", lang), lang),
            [group_line(g) for g in summary.by_park],
        ),
        Sheet(
            word("by_industry", lang),
            info,
            group_headers(word("industry", lang), lang),
            [group_line(g) for g in summary.by_industry],
        ),
        _watch_sheet(summary.key_enterprises, summary.month, lang),
        Sheet(
            word("warnings", lang),
            info,
            [word("enterprise", lang), word("rule", lang), word("since", lang)],
            [
                [e.name, rules[w.rule].name(lang) if w.rule in rules else w.rule, w.since]
                for e, w in summary.warnings
            ],
        ),
        Sheet(
            word("due", lang),
            info,
            [
                word("enterprise", lang),
                word("park", lang),
                word("state", lang),
                word("deadline", lang),
                word("days_overdue", lang),
            ],
            [
                [
                    d.enterprise.name,
                    d.enterprise.park_name,
                    word(f"due.{d.due}", lang),
                    d.deadline,
                    d.days_overdue,
                ]
                for d in summary.due
            ],
        ),
    ]
    return workbook(f"{word('summary_title', lang)} {summary.month}", sheets)


def _fact(key: str, value: object, lang: str) -> str:
    label = word(f"fact.{key}", lang) if f"fact.{key}" in WORDS else key
    if key == "report_state" and f"state.{value}" in WORDS:
        value = word(f"state.{value}", lang)
    return f"{label}: {value}"


def warnings_xlsx(rows: Sequence[tuple[OperationEnterprise, WarningRecord]], lang: str) -> bytes:
    """The early warnings as ``GET /api/region/warnings`` lists them; the facts behind each
    warning are one text cell (their keys differ from rule to rule)."""
    rules = rule_by_id()
    headers = [
        word("enterprise", lang),
        word("uscc", lang),
        word("park", lang),
        word("rule", lang),
        word("subject", lang),
        word("figures", lang),
        word("since", lang),
        word("raised_at", lang),
        word("cleared_at", lang),
        word("acknowledged_by", lang),
        word("acknowledged_at", lang),
    ]
    body: list[list[Cell]] = [
        [
            e.name,
            e.uscc,
            e.park_name,
            rules[w.rule].name(lang) if w.rule in rules else w.rule,
            w.subject,
            "；".join(_fact(k, v, lang) for k, v in w.figures.items()),
            w.since,
            w.raised_at,
            w.cleared_at,
            w.acknowledged_by or "",
            w.acknowledged_at,
        ]
        for e, w in rows
    ]
    sheet = Sheet(word("warnings_title", lang), [], headers, body)
    return workbook(word("warnings_title", lang), [sheet])


def missing_xlsx(rows: Sequence[DueStatus], month: str, lang: str) -> bytes:
    """The enterprises still owing the month's report, as ``/api/region/monthly-reports/missing``
    lists them; days overdue stay numbers."""
    headers = [
        word("enterprise", lang),
        word("uscc", lang),
        word("park", lang),
        word("why", lang),
        word("deadline", lang),
        word("late", lang),
        word("days_overdue", lang),
    ]
    body: list[list[Cell]] = [
        [
            d.enterprise.name,
            d.enterprise.uscc,
            d.enterprise.park_name,
            word(f"due.{d.due}", lang) if d.due else "",
            d.deadline,
            word("yes" if d.late else "no", lang),
            d.days_overdue,
        ]
        for d in rows
    ]
    sheet = Sheet(word("missing_title", lang), [f"{word('month', lang)} {month}"], headers, body)
    return workbook(f"{word('missing_title', lang)} {month}", [sheet])
