"""A monthly report's life: drafted, submitted, reviewed by the park then the bureau, returned
with a reason and resubmitted, fixed once accepted; who may take each step."""

from __future__ import annotations

import pytest

from shugu.domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from tests.region.operation.conftest import FULL, OpWorld, filed


def test_the_whole_way_with_a_return_from_each_reviewer_records_every_step(op: OpWorld) -> None:
    s, a = op.service, op.ent_a
    draft = s.save(op.as_("admin_a"), a, "2026-11", FULL)
    assert draft.state == "draft" and draft.figures.staff == 210
    assert draft.figures.profit_wan == -35.5
    submitted = s.submit(op.as_("admin_a"), a, "2026-11")
    assert submitted.state == "submitted"
    returned = s.review(op.as_("park_official"), submitted.id, "return", "用电量与电表不符")
    assert returned.state == "returned"
    assert returned.events[-1].reason == "用电量与电表不符"
    assert returned.events[-1].role == "park_official"
    edited = s.save(op.as_("admin_a"), a, "2026-11", {**FULL, "power_kwh": 82000})
    assert edited.state == "returned"  # still owed until resubmitted
    s.submit(op.as_("admin_a"), a, "2026-11")
    park_ok = s.review(op.as_("park_official"), submitted.id, "accept", None)
    assert park_ok.state == "park_accepted"
    back = s.review(op.as_("bureau"), submitted.id, "return", "利润与上月差异过大，请说明")
    assert back.state == "returned" and back.events[-1].by == "bureau"
    s.submit(op.as_("admin_a"), a, "2026-11")
    s.review(op.as_("park_official"), submitted.id, "accept", "")
    final = s.review(op.as_("bureau"), submitted.id, "accept", "")
    assert final.state == "accepted" and final.accepted_at is not None
    assert [e.kind for e in final.events] == [
        "saved", "submitted", "returned", "saved", "submitted", "park_accepted", "returned",
        "submitted", "park_accepted", "accepted",
    ]  # fmt: skip
    assert final.first_submitted_at == submitted.submitted_at


def test_an_accepted_report_cannot_be_edited_or_resubmitted(op: OpWorld) -> None:
    report_id = filed(op, "a", "2026-11")
    op.service.review(op.as_("park_official"), report_id, "accept", "")
    op.service.review(op.as_("bureau"), report_id, "accept", "")
    with pytest.raises(ConflictError) as edit:
        op.service.save(op.as_("admin_a"), op.ent_a, "2026-11", FULL)
    assert edit.value.code == "report_locked"
    with pytest.raises(ConflictError):
        op.service.submit(op.as_("admin_a"), op.ent_a, "2026-11")
    with pytest.raises(ConflictError):
        op.service.review(op.as_("bureau"), report_id, "return", "again")


def test_a_submitted_report_waits_for_review_before_it_changes(op: OpWorld) -> None:
    filed(op, "a", "2026-11")
    with pytest.raises(ConflictError) as caught:
        op.service.save(op.as_("admin_a"), op.ent_a, "2026-11", FULL)
    assert caught.value.code == "report_locked"


def test_the_park_reviews_first_and_the_bureau_second(op: OpWorld) -> None:
    report_id = filed(op, "a", "2026-11")
    with pytest.raises(ConflictError) as early:
        op.service.review(op.as_("bureau"), report_id, "accept", "")
    assert early.value.code == "report_not_in_review"
    op.service.review(op.as_("park_official"), report_id, "accept", "")
    with pytest.raises(ConflictError):
        op.service.review(op.as_("park_official"), report_id, "accept", "")


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("admin_a", ForbiddenError),
        ("viewer_a", ForbiddenError),
        ("operator", ForbiddenError),
        ("admin_b", NotFoundError),
        ("park_other", NotFoundError),
    ],
)
def test_who_may_not_review(op: OpWorld, who: str, error: type[Exception]) -> None:
    report_id = filed(op, "a", "2026-11")
    with pytest.raises(error):
        op.service.review(op.as_(who), report_id, "accept", "")
    assert op.registry.monthly_report_by_id(report_id).state == "submitted"


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("viewer_a", ForbiddenError),
        ("bureau", ForbiddenError),
        ("park_official", ForbiddenError),
        ("operator", ForbiddenError),
        ("admin_b", NotFoundError),
        ("park_other", NotFoundError),
    ],
)
def test_only_the_enterprise_s_administrators_file(
    op: OpWorld, who: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        op.service.save(op.as_(who), op.ent_a, "2026-11", FULL)


def test_a_return_needs_a_reason_and_a_decision_is_accept_or_return(op: OpWorld) -> None:
    report_id = filed(op, "a", "2026-11")
    with pytest.raises(ValidationError) as no_reason:
        op.service.review(op.as_("park_official"), report_id, "return", "  ")
    assert no_reason.value.code == "review_reason_required"
    with pytest.raises(ValidationError) as bad:
        op.service.review(op.as_("park_official"), report_id, "approve", "")
    assert bad.value.code == "review_decision_invalid"


def test_submitting_needs_every_figure(op: OpWorld) -> None:
    op.service.save(op.as_("admin_a"), op.ent_a, "2026-11", {**FULL, "staff": None})
    with pytest.raises(ValidationError) as caught:
        op.service.submit(op.as_("admin_a"), op.ent_a, "2026-11")
    assert caught.value.code == "report_incomplete" and caught.value.details["field"] == "staff"


@pytest.mark.parametrize(
    ("figure", "value"),
    [
        ("revenue_wan", -1),
        ("staff", 2.5),
        ("power_kwh", "lots"),
        ("output_value_wan", float("nan")),
        ("output_value_wan", 1e12),
        ("staff", True),
    ],
)
def test_implausible_figures_are_refused_by_name(op: OpWorld, figure: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        op.service.save(op.as_("admin_a"), op.ent_a, "2026-11", {**FULL, figure: value})
    assert caught.value.code == "report_figure_invalid"
    assert caught.value.details["field"] == figure


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-11", "1999-12", "", "2026-11-01"])
def test_a_month_is_yyyy_mm(op: OpWorld, month: str) -> None:
    with pytest.raises(ValidationError) as caught:
        op.service.save(op.as_("admin_a"), op.ent_a, month, FULL)
    assert caught.value.code == "month_invalid"


def test_reviewers_see_their_queue_and_never_drafts(op: OpWorld) -> None:
    filed(op, "a", "2026-11")
    op.service.save(op.as_("admin_b"), op.ent_b, "2026-11", FULL)  # a draft
    filed(op, "c", "2026-11")
    park = op.service.queue(op.as_("park_official"))
    assert [r.enterprise.id for r in park] == [op.ent_a]
    assert op.service.queue(op.as_("bureau")) == []
    everything = op.service.list_reports(op.as_("bureau"), "2026-11")
    assert {r.enterprise.id for r in everything} == {op.ent_a, op.ent_c}
    assert [r.state for r in op.service.history(op.as_("park_official"), op.ent_b)] == []
    assert [r.state for r in op.service.history(op.as_("admin_b"), op.ent_b)] == ["draft"]
    with pytest.raises(ForbiddenError):
        op.service.list_reports(op.as_("park_official"), park_id=op.other_park)
    with pytest.raises(ForbiddenError):
        op.service.list_reports(op.as_("operator"))
