"""Monthly operation (经济运行监测): monthly reports, their reviews, warnings, reminders and the
district's generated monthly reports.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enterprise_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["enterprise_id"],
        ["enterprises.id"],
        name=op.f(f"fk_{table}_enterprise_id_enterprises"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("output_value_wan", sa.Float(), nullable=True),
        sa.Column("revenue_wan", sa.Float(), nullable=True),
        sa.Column("profit_wan", sa.Float(), nullable=True),
        sa.Column("power_kwh", sa.Float(), nullable=True),
        sa.Column("staff", sa.Integer(), nullable=True),
        sa.Column("new_orders_wan", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("first_submitted_at", nullable=True),
        _timestamp("submitted_at", nullable=True),
        _timestamp("accepted_at", nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'park_accepted', 'accepted', 'returned')",
            name=op.f("ck_monthly_reports_state"),
        ),
        _enterprise_fk("monthly_reports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
        sa.UniqueConstraint(
            "enterprise_id", "month", name=op.f("uq_monthly_reports_enterprise_id_month")
        ),
    )
    op.create_index(op.f("ix_monthly_reports_enterprise_id"), "monthly_reports", ["enterprise_id"])
    op.create_index(op.f("ix_monthly_reports_month"), "monthly_reports", ["month"])
    op.create_table(
        "monthly_report_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["monthly_reports.id"],
            name=op.f("fk_monthly_report_events_report_id_monthly_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_report_events")),
    )
    op.create_index(
        op.f("ix_monthly_report_events_report_id"), "monthly_report_events", ["report_id"]
    )
    op.create_table(
        "operation_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        _timestamp("raised_at"),
        _timestamp("last_seen_at"),
        _timestamp("cleared_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        _timestamp("acknowledged_at", nullable=True),
        _enterprise_fk("operation_warnings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_warnings")),
        sa.UniqueConstraint(
            "enterprise_id",
            "rule",
            "subject",
            name=op.f("uq_operation_warnings_enterprise_id_rule_subject"),
        ),
    )
    op.create_index(
        op.f("ix_operation_warnings_enterprise_id"), "operation_warnings", ["enterprise_id"]
    )
    op.create_table(
        "operation_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        _timestamp("at"),
        sa.CheckConstraint(
            "reason IN ('missing', 'returned')", name=op.f("ck_operation_reminders_reason")
        ),
        _enterprise_fk("operation_reminders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_reminders")),
        sa.UniqueConstraint(
            "enterprise_id",
            "month",
            "on_day",
            name=op.f("uq_operation_reminders_enterprise_id_month_on_day"),
        ),
    )
    op.create_index(
        op.f("ix_operation_reminders_enterprise_id"), "operation_reminders", ["enterprise_id"]
    )
    op.create_table(
        "operation_report_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        _timestamp("generated_at"),
        sa.Column("generated_by", sa.String(length=64), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_report_files")),
        sa.UniqueConstraint("report", "month", name=op.f("uq_operation_report_files_report_month")),
    )


def downgrade() -> None:
    op.drop_table("operation_report_files")
    op.drop_table("operation_reminders")
    op.drop_table("operation_warnings")
    op.drop_table("monthly_report_events")
    op.drop_table("monthly_reports")
