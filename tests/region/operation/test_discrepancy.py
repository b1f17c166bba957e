"""Reported beside measured: power against the meters, output value against throughput; within
and beyond the tolerance, and said so where nothing is measured."""

from __future__ import annotations

from shugu.region.operation.measured import Output
from tests.region.operation.conftest import OpWorld, accepted, filed


def _checks(op: OpWorld, month: str) -> dict[str, dict[str, object]]:
    report = op.registry.monthly_report(op.ent_a, month)
    assert report is not None
    return {str(c["check"]): c for c in report.checks}


def test_power_within_the_tolerance_passes_and_beyond_it_is_flagged(op: OpWorld) -> None:
    op.meters.kwh[(op.ent_a, "2026-10")] = 75_000.0  # reported 80,000: +6.7 %
    filed(op, "a", "2026-10")
    within = _checks(op, "2026-10")["power"]
    assert within["outcome"] == "within" and within["measured"] == 75_000.0
    op.meters.kwh[(op.ent_a, "2026-11")] = 60_000.0  # reported 80,000: +33 %
    filed(op, "a", "2026-11")
    beyond = _checks(op, "2026-11")["power"]
    assert beyond["outcome"] == "beyond"
    assert beyond["reported"] == 80_000 and beyond["deviation"] == round(20_000 / 60_000, 4)
    listed = op.service.list_reports(op.as_("bureau"), "2026-11")
    assert [r.flagged for r in listed] == [True]


def test_exactly_at_the_tolerance_is_within(op: OpWorld) -> None:
    op.meters.kwh[(op.ent_a, "2026-11")] = 80_000 / 1.15 + 0.01
    filed(op, "a", "2026-11")
    assert _checks(op, "2026-11")["power"]["outcome"] == "within"


def test_without_meters_nothing_is_measured_and_nothing_flagged(op: OpWorld) -> None:
    filed(op, "a", "2026-11")
    checks = _checks(op, "2026-11")
    assert checks["power"]["outcome"] == "not_measured" and checks["power"]["measured"] is None
    assert checks["output"]["outcome"] == "not_measured"
    assert not op.service.list_reports(op.as_("bureau"), "2026-11")[0].flagged


def test_output_value_follows_throughput_against_the_last_accepted_month(op: OpWorld) -> None:
    op.meters.output[(op.ent_a, "2026-09")] = Output(100_000.0, "m")
    accepted(op, "a", "2026-09", output_value_wan=1000.0)
    # Throughput up 10 %: 1,100 万元 expected; 1,200 reported is +9 %, within ±25 %.
    op.meters.output[(op.ent_a, "2026-10")] = Output(110_000.0, "m")
    filed(op, "a", "2026-10", output_value_wan=1200.0)
    within = _checks(op, "2026-10")["output"]
    assert within["outcome"] == "within" and within["basis_month"] == "2026-09"
    assert within["expected"] == 1100.0
    # Throughput halves while the reported value stays: beyond.
    op.meters.output[(op.ent_a, "2026-11")] = Output(50_000.0, "m")
    filed(op, "a", "2026-11", output_value_wan=1000.0)
    beyond = _checks(op, "2026-11")["output"]
    assert beyond["outcome"] == "beyond" and beyond["expected"] == 500.0


def test_output_without_an_accepted_month_before_has_no_basis(op: OpWorld) -> None:
    op.meters.output[(op.ent_a, "2026-11")] = Output(50_000.0, "m")
    filed(op, "a", "2026-10")  # submitted, not accepted: no basis
    filed(op, "a", "2026-11")
    assert _checks(op, "2026-11")["output"]["outcome"] == "no_basis"
