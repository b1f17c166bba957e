"""Overdue detection's edges: due today, reached late, no report last month."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shugu.region.projects.catalogue import catalogue
from shugu.region.projects.overdue import missing_reports, overdue_of, stage_statuses
from shugu.store.registry.region_projects import ProgressRecord, ProjectRecord

ENTERED = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)


def project(**planned: date) -> ProjectRecord:
    return ProjectRecord(
        1,
        "P-1",
        "项目",
        None,
        "丙",
        None,
        1,
        None,
        "industrial",
        0,
        "王",
        planned,
        None,
        "bureau",
        ENTERED,
        ENTERED,
    )


def report(month: date, stage: str, reached: date | None = None) -> ProgressRecord:
    filed = datetime(month.year, month.month, 28, tzinfo=UTC)
    return ProgressRecord(1, 1, month, 0, 0, stage, reached, "", None, "a", filed)


def test_a_stage_due_today_is_not_late_and_tomorrow_it_is_one_day_late() -> None:
    p = project(permits=date(2026, 6, 15))
    assert not any(s.overdue for s in stage_statuses(p, [], date(2026, 6, 15)))
    late = [s for s in stage_statuses(p, [], date(2026, 6, 16)) if s.overdue]
    assert [(s.stage, s.days_late) for s in late] == [("permits", 1)]


def test_a_stage_reached_late_is_no_longer_overdue_but_its_lateness_stays() -> None:
    p = project(filing=date(2026, 3, 10), permits=date(2026, 4, 20))
    reports = [
        report(date(2026, 3, 1), "filing"),
        report(date(2026, 5, 1), "permits", date(2026, 5, 6)),
    ]
    statuses = {s.stage: s for s in stage_statuses(p, reports, date(2026, 6, 1))}
    # Filing was reached the day March's report was filed (it names no day): 18 days late.
    assert (statuses["filing"].reached, statuses["filing"].days_late) == (date(2026, 3, 28), 18)
    assert (statuses["permits"].days_late, statuses["permits"].overdue) == (16, False)
    # What is overdue is April's missing report, not a stage.
    overdue = overdue_of(p, reports, date(2026, 6, 1), catalogue())
    assert [(o.kind, o.month) for o in overdue] == [("report", date(2026, 4, 1))]


def test_reaching_a_later_stage_reaches_the_earlier_ones() -> None:
    p = project(filing=date(2026, 3, 10), permits=date(2026, 3, 20))
    reports = [report(date(2026, 3, 1), "permits", date(2026, 3, 15))]
    statuses = {s.stage: s for s in stage_statuses(p, reports, date(2026, 4, 1))}
    assert statuses["filing"].reached == date(2026, 3, 15) and statuses["filing"].days_late == 5
    assert statuses["permits"].days_late is None


def test_no_report_last_month_is_late_from_the_due_day_on() -> None:
    p = project()
    reports = [report(date(2026, 3, 1), "filing"), report(date(2026, 4, 1), "filing")]
    # May's report is due by June 10th: on the 10th it is not late yet.
    assert missing_reports(p, reports, date(2026, 6, 10), catalogue()) == []
    late = missing_reports(p, reports, date(2026, 6, 15), catalogue())
    assert [(o.month, o.due, o.days_late) for o in late] == [
        (date(2026, 5, 1), date(2026, 6, 10), 5)
    ]


def test_months_are_counted_from_entry_and_stop_after_the_last_stage() -> None:
    p = project()
    late = missing_reports(p, [], date(2026, 5, 11), catalogue())
    assert [o.month for o in late] == [date(2026, 3, 1), date(2026, 4, 1)]
    done = [report(date(2026, 3, 1), "policy", date(2026, 3, 20))]
    assert missing_reports(p, done, date(2026, 8, 20), catalogue()) == []
