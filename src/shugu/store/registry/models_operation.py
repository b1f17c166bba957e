"""Tables of the bureau's system: monthly operation (经济运行监测): monthly reports, their reviews,
warnings, reminders and the district's generated monthly reports.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base, _in, utc_now

REPORT_STATES = ("draft", "submitted", "park_accepted", "accepted", "returned")
REMINDER_REASONS = ("missing", "returned")


class MonthlyReport(Base):
    """An enterprise's figures for one month (YYYY-MM, China time), as it filed them. Money in
    万元, power in kWh. ``checks`` holds the reported-beside-measured comparisons made when it
    was submitted (JSON), so both reviewers see the figures it was judged on."""

    __tablename__ = "monthly_reports"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "month"),
        CheckConstraint(_in("state", REPORT_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[str] = mapped_column(String(7), index=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    #: 工业总产值, 万元
    output_value_wan: Mapped[float | None]
    #: 营业收入, 万元
    revenue_wan: Mapped[float | None]
    #: 利润总额, 万元 (a loss is negative)
    profit_wan: Mapped[float | None]
    #: 用电量, kWh
    power_kwh: Mapped[float | None]
    #: 从业人员
    staff: Mapped[int | None]
    #: 新增订单, 万元
    new_orders_wan: Mapped[float | None]
    note: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: The first submission: whether the report came in by the deadline.
    first_submitted_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]


class MonthlyReportEvent(Base):
    """Each step of a report: saved, imported, submitted, park_accepted, accepted, returned;
    who, in which role, when, and why (a return's reason)."""

    __tablename__ = "monthly_report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("monthly_reports.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")


class OperationWarning(Base):
    """An early warning (预警) raised by a rule for an enterprise: open while the rule holds
    (``cleared_at`` empty), acknowledged by the bureau. ``subject`` names what it is about (the
    month for monthly rules, empty for a running window) so a month's warning is raised once."""

    __tablename__ = "operation_warnings"
    __table_args__ = (UniqueConstraint("enterprise_id", "rule", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(16), default="")
    #: The figures the rule judged (JSON), as last seen.
    figures: Mapped[str] = mapped_column(Text, default="{}")
    since: Mapped[date]
    raised_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]


class OperationReminder(Base):
    """A reminder recorded for an enterprise whose month's report is missing or was returned and
    not resubmitted, at most one a day per enterprise and month."""

    __tablename__ = "operation_reminders"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "month", "on_day"),
        CheckConstraint(_in("reason", REMINDER_REASONS), name="reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[str] = mapped_column(String(7))
    reason: Mapped[str] = mapped_column(String(16))
    on_day: Mapped[date]
    at: Mapped[datetime]


class OperationReportFile(Base):
    """A district report for a month as generated: the monthly operation report (经济运行月报,
    ``operation``) or the project library's summary (项目库月度汇总, ``projects``); the workbook and
    the PDF, the newest generation kept."""

    __tablename__ = "operation_report_files"
    __table_args__ = (UniqueConstraint("report", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report: Mapped[str] = mapped_column(String(16))
    month: Mapped[str] = mapped_column(String(7))
    generated_at: Mapped[datetime]
    generated_by: Mapped[str] = mapped_column(String(64))
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
