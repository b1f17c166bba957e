"""Monitoring: rule and plan documents, alarms with their history, inspection rounds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
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
        "monitor_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _enterprise_fk("monitor_configs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_configs")),
        sa.UniqueConstraint("kind", "ref", name=op.f("uq_monitor_configs_kind_ref")),
    )
    op.create_index(op.f("ix_monitor_configs_enterprise_id"), "monitor_configs", ["enterprise_id"])
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_ref", sa.String(length=120), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("open_key", sa.String(length=140), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _timestamp("raised_at"),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        _timestamp("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        _timestamp("cleared_at", nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        _timestamp("shelved_until", nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("escalation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_alarms_device_id_devices"),
            ondelete="CASCADE",
        ),
        _enterprise_fk("alarms"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alarms_open_key")),
    )
    op.create_index("ix_alarms_enterprise_id_status", "alarms", ["enterprise_id", "status"])
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["alarms.id"],
            name=op.f("fk_alarm_events_alarm_id_alarms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_events")),
    )
    op.create_index(op.f("ix_alarm_events_alarm_id"), "alarm_events", ["alarm_id"])
    op.create_table(
        "inspection_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("slot", sa.String(length=32), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["monitor_configs.id"],
            name=op.f("fk_inspection_rounds_plan_id_monitor_configs"),
            ondelete="CASCADE",
        ),
        _enterprise_fk("inspection_rounds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_rounds")),
        sa.UniqueConstraint("plan_id", "slot", name=op.f("uq_inspection_rounds_plan_id_slot")),
    )
    op.create_index(
        "ix_inspection_rounds_enterprise_id_at", "inspection_rounds", ["enterprise_id", "at"]
    )


def downgrade() -> None:
    op.drop_table("inspection_rounds")
    op.drop_table("alarm_events")
    op.drop_table("alarms")
    op.drop_table("monitor_configs")
