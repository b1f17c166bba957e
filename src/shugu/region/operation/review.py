"""A monthly report's life: drafted and submitted by the enterprise, reviewed by its park and
then by the bureau, returned with a reason by either and resubmitted, and fixed once accepted
(decision 0037).

    draft ──submit──► submitted ──park accepts──► park_accepted ──bureau accepts──► accepted
      ▲                  │                            │
      │              park returns                bureau returns
      │                  ▼                            ▼
      └── (edited) ── returned ◄──────────────────────┘   ──submit──► submitted

Every step is recorded with who took it, in which role, when and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from shugu.domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Access
from shugu.region.operation import rights
from shugu.region.operation.figures import missing_figures
from shugu.store.registry import Registry
from shugu.store.registry.core import missing
from shugu.store.registry.region_operation import MonthlyReportRecord, ReportFigures

STATES: Final = ("draft", "submitted", "park_accepted", "accepted", "returned")
#: The states in which the enterprise may change its figures.
EDITABLE: Final = ("draft", "returned")
#: Filed: what the figures of the district count (a draft is the enterprise's own).
FILED: Final = ("submitted", "park_accepted", "accepted")
Decision = Literal["accept", "return"]
MAX_REASON = 500

Checker = Callable[[int, str, ReportFigures], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Review:
    """Which review a caller does: the state it acts on and where each decision leads."""

    stage: str
    acts_on: str
    accepted: str


PARK_REVIEW: Final = Review("park", "submitted", "park_accepted")
BUREAU_REVIEW: Final = Review("bureau", "park_accepted", "accepted")


def save(
    registry: Registry,
    access: Access,
    enterprise_id: int,
    month: str,
    figures: ReportFigures,
    *,
    kind: str = "saved",
) -> MonthlyReportRecord:
    rights.enterprise_for_filing(registry, access, enterprise_id)
    return registry.save_monthly_report(
        enterprise_id,
        month,
        figures,
        by=access.principal.username,
        role=access.role.value,
        kind=kind,
        editable=EDITABLE,
    )


def submit(
    registry: Registry, access: Access, enterprise_id: int, month: str, checker: Checker
) -> MonthlyReportRecord:
    """Submit the month's report for review, with its figures checked against what the
    platform measured (the checks stay on the report for both reviewers)."""
    rights.enterprise_for_filing(registry, access, enterprise_id)
    report = registry.monthly_report(enterprise_id, month)
    if report is None:
        raise missing("monthly report")
    if report.state not in EDITABLE:
        raise ConflictError(
            f"the report for {month} is {report.state} already", code="report_state_conflict"
        )
    lacking = missing_figures(report.figures)
    if lacking:
        raise ValidationError(
            "fill in every figure before submitting: " + ", ".join(lacking),
            code="report_incomplete",
            field=lacking[0],
        )
    return registry.move_monthly_report(
        report.id,
        expected=EDITABLE,
        to="submitted",
        by=access.principal.username,
        role=access.role.value,
        checks=checker(enterprise_id, month, report.figures),
    )


def review_of(registry: Registry, access: Access, enterprise_id: int) -> Review:
    """The review this caller does of the enterprise's reports, or 403."""
    park_id = rights.enterprise_for_reports(registry, access, enterprise_id).park_id
    if access.can_review_park(park_id):
        return PARK_REVIEW
    if access.is_bureau():
        return BUREAU_REVIEW
    raise ForbiddenError(
        "the park's official reviews a monthly report first, the bureau second",
        code="review_forbidden",
    )


def may_review(registry: Registry, access: Access, report: MonthlyReportRecord) -> bool:
    """Whether the caller could take the report's next review step now."""
    try:
        return review_of(registry, access, report.enterprise_id).acts_on == report.state
    except (ForbiddenError, NotFoundError):
        return False


def check_reason(decision: object, reason: object) -> tuple[Decision, str]:
    if decision not in ("accept", "return"):
        raise ValidationError(
            "decision must be accept or return", code="review_decision_invalid", field="decision"
        )
    text = reason.strip() if isinstance(reason, str) else ""
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("reason must be text", code="review_reason_invalid", field="reason")
    if len(text) > MAX_REASON or any(
        (ord(c) < 32 and c not in "\n\t") or 0xD800 <= ord(c) <= 0xDFFF for c in text
    ):
        raise ValidationError(
            f"reason must be at most {MAX_REASON} characters of text",
            code="review_reason_invalid",
            field="reason",
        )
    if decision == "return" and not text:
        raise ValidationError(
            "say why the report is returned", code="review_reason_required", field="reason"
        )
    return ("accept" if decision == "accept" else "return"), text


def review(
    registry: Registry, access: Access, report_id: int, decision: object, reason: object
) -> MonthlyReportRecord:
    """Accept or return a report at the caller's stage of review."""
    report = registry.monthly_report_by_id(report_id)
    if not access.can_see_enterprise(report.enterprise_id):
        raise missing("monthly report")
    stage = review_of(registry, access, report.enterprise_id)
    verdict, text = check_reason(decision, reason)
    if report.state != stage.acts_on:
        raise ConflictError(
            f"the report is {report.state}; the {stage.stage} reviews reports that are "
            f"{stage.acts_on}",
            code="report_not_in_review",
        )
    return registry.move_monthly_report(
        report.id,
        expected=(stage.acts_on,),
        to=stage.accepted if verdict == "accept" else "returned",
        by=access.principal.username,
        role=access.role.value,
        reason=text,
    )
