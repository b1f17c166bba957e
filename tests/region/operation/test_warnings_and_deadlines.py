"""Every warning rule fires and stays quiet; deadlines (missing, returned, late) and reminders."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.region.operation.schedule import OperationSchedule, first_working_day, run_due
from tests.region.operation.conftest import OpWorld, accepted, filed


def _open(op: OpWorld, enterprise_id: int) -> dict[str, object]:
    return {w.rule: w.figures for w in op.registry.list_warnings(enterprise_ids=[enterprise_id])}


def test_output_value_down_more_than_a_fifth_year_on_year(op: OpWorld) -> None:
    accepted(op, "a", "2025-11", output_value_wan=1000.0, revenue_wan=1000.0)
    filed(op, "a", "2026-11", output_value_wan=790.0, revenue_wan=1000.0)
    op.service.scan("2026-11")
    warnings = _open(op, op.ent_a)
    assert warnings["output_value_yoy_down"] == {
        "output_value_wan": 790.0,
        "output_value_wan_year_ago": 1000.0,
        "output_value_yoy_pct": -21.0,
    }
    assert "revenue_yoy_down" not in warnings  # revenue flat


def test_output_value_down_a_fifth_exactly_is_quiet(op: OpWorld) -> None:
    accepted(op, "a", "2025-11", output_value_wan=1000.0)
    filed(op, "a", "2026-11", output_value_wan=800.0)
    op.service.scan("2026-11")
    assert "output_value_yoy_down" not in _open(op, op.ent_a)


def test_revenue_down_year_on_year_and_quiet_without_last_year(op: OpWorld) -> None:
    accepted(op, "a", "2025-11", revenue_wan=1000.0)
    filed(op, "a", "2026-11", revenue_wan=999.0)
    filed(op, "b", "2026-11", revenue_wan=1.0)  # no report a year before: no basis
    op.service.scan("2026-11")
    assert "revenue_yoy_down" in _open(op, op.ent_a)
    assert "revenue_yoy_down" not in _open(op, op.ent_b)


def test_metered_power_falling_sharply_over_two_weeks(op: OpWorld) -> None:
    op.meters.days[op.ent_a] = [1000.0] * 14 + [600.0] * 14  # -40 %
    op.meters.days[op.ent_b] = [1000.0] * 14 + [800.0] * 14  # -20 %: quiet
    op.service.scan("2026-11")
    assert _open(op, op.ent_a)["metered_power_drop"] == {
        "metered_kwh_14d": 8400.0,
        "metered_kwh_prior_14d": 14000.0,
        "metered_power_14d_change_pct": -40.0,
    }
    assert "metered_power_drop" not in _open(op, op.ent_b)
    assert "metered_power_drop" not in _open(op, op.ent_c)  # no meters
    # Power back up: the warning clears on the next scan.
    op.meters.days[op.ent_a] = [1000.0] * 28
    result = op.service.scan("2026-11")
    assert result.cleared >= 1 and "metered_power_drop" not in _open(op, op.ent_a)


def test_no_report_by_the_deadline(op: OpWorld) -> None:
    filed(op, "a", "2026-11")
    op.service.save(op.as_("admin_b"), op.ent_b, "2026-11", {"staff": 3})  # a draft only
    op.service.scan("2026-11")  # 2026-12-15, five days past the 10th
    assert "report_overdue" not in _open(op, op.ent_a)
    overdue = op.registry.list_warnings(enterprise_ids=[op.ent_b])
    assert [(w.rule, w.since) for w in overdue] == [("report_overdue", date(2026, 12, 11))]
    assert overdue[0].figures["report_days_overdue"] == 5


def test_no_overdue_warning_before_the_deadline(op: OpWorld) -> None:
    op.clock[0] = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    op.service.scan("2026-11")
    assert op.registry.list_warnings() == []


def test_the_bureau_acknowledges_a_warning_and_others_may_not(op: OpWorld) -> None:
    op.service.scan("2026-11")
    listed = op.service.warnings(op.as_("bureau"))
    warning = next(w.warning for w in listed if w.enterprise.id == op.ent_a)
    with pytest.raises(ForbiddenError):
        op.service.acknowledge(op.as_("park_official"), warning.id)
    with pytest.raises(NotFoundError):
        op.service.acknowledge(op.as_("admin_b"), warning.id)
    done = op.service.acknowledge(op.as_("bureau"), warning.id)
    assert done.acknowledged_by == "bureau" and done.open
    own_park = {w.enterprise.id for w in op.service.warnings(op.as_("park_official"))}
    assert own_park == {op.ent_a, op.ent_b}


def test_missing_returned_and_late_reports(op: OpWorld) -> None:
    op.clock[0] = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)  # before the deadline
    on_time = filed(op, "a", "2026-11")
    returned = filed(op, "c", "2026-11")
    op.service.review(op.as_("park_other"), returned, "return", "数据缺失")
    op.clock[0] = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
    due = {d.enterprise.id: d for d in op.service.due(op.as_("bureau"), "2026-11")}
    assert set(due) == {op.ent_b, op.ent_c}
    assert due[op.ent_b].due == "missing" and due[op.ent_b].days_overdue == 5
    assert due[op.ent_c].due == "returned"
    late = filed(op, "b", "2026-11")
    summary = op.service.summary(op.as_("bureau"), "2026-11")
    assert summary.district.filed == 2 and summary.district.on_time == 1
    assert op.registry.monthly_report_by_id(on_time).first_submitted_at is not None
    assert late


def test_reminders_are_recorded_once_a_day_for_those_still_due(op: OpWorld) -> None:
    filed(op, "a", "2026-11")
    first = run_due(op.service)
    again = run_due(op.service)
    assert first.month == "2026-11" and first.reminders == 2 and again.reminders == 0
    listed = op.service.reminders(op.as_("park_official"))
    assert [(e.id, r.reason) for e, r in listed] == [(op.ent_b, "missing")]
    assert [r.month for r in op.service.own_reminders(op.as_("admin_c"), op.ent_c)] == ["2026-11"]


def test_the_monthly_report_is_generated_on_the_first_working_day(op: OpWorld) -> None:
    assert first_working_day("2026-11") == date(2026, 11, 2)  # the 1st is a Sunday
    op.clock[0] = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert not run_due(op.service).generated
    op.clock[0] = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert run_due(op.service).generated
    assert not run_due(op.service).generated  # kept already
    kept = op.service.kept_reports(op.as_("bureau"))
    assert [(r.month, r.generated_by) for r in kept] == [("2026-10", "schedule")]
    assert op.service.kept_report(op.as_("bureau"), "2026-10", "pdf").startswith(b"%PDF")


def test_the_schedule_runs_its_passes_on_a_thread_and_stops(op: OpWorld) -> None:
    op.clock[0] = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    schedule = OperationSchedule(op.service, interval_s=3600, first_delay_s=0)
    schedule.start()
    try:
        deadline = time.monotonic() + 30
        while not op.service.kept_reports(op.as_("bureau")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        schedule.stop()
    assert [r.month for r in op.service.kept_reports(op.as_("bureau"))] == ["2026-10"]
    # Stopped before its first pass: a start and stop in a row does no month's work.
    quiet = OperationSchedule(op.service)
    quiet.start()
    quiet.stop()


def test_the_kept_district_report_is_the_bureaus_not_a_park_officials(op: OpWorld) -> None:
    """The kept report covers the whole district (its key enterprises, warnings and missing
    reports name enterprises of every park): a park official reads its own park's summary on
    demand instead."""
    accepted(op, "c", "2026-10")
    op.service.generate("2026-10", "schedule")
    assert op.service.kept_reports(op.as_("park_official")) == []
    with pytest.raises(ForbiddenError):
        op.service.kept_report(op.as_("park_official"), "2026-10", "xlsx")
    assert op.service.summary_file(op.as_("park_official"), "2026-10", "xlsx", "zh")
