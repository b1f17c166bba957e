"""Policies (惠企政策) as saved versions; grant batches of policies granted without applying
(免申即享), their lines, and every step of a batch and its objections.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.String(length=64), nullable=False),
        _timestamp("saved_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_policy_versions_code_version")),
    )
    op.create_index(op.f("ix_policy_versions_code"), "policy_versions", ["code"])
    op.create_table(
        "grant_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_code", sa.String(length=40), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_wan", sa.Float(), nullable=False),
        sa.Column("computed_by", sa.String(length=64), nullable=False),
        _timestamp("computed_at"),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        _timestamp("decided_at", nullable=True),
        sa.Column("objections_until", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('computed', 'approved', 'discarded')",
            name=op.f("ck_grant_batches_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_batches")),
    )
    op.create_index(op.f("ix_grant_batches_policy_code"), "grant_batches", ["policy_code"])
    op.create_table(
        "grant_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("computed_wan", sa.Float(), nullable=False),
        sa.Column("amount_wan", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objection", sa.Text(), nullable=True),
        sa.Column("objected_by", sa.String(length=64), nullable=True),
        _timestamp("objected_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('listed', 'granted', 'objected', 'amended', 'removed')",
            name=op.f("ck_grant_lines_status"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["grant_batches.id"],
            name=op.f("fk_grant_lines_batch_id_grant_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_grant_lines_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_lines")),
        sa.UniqueConstraint(
            "batch_id", "enterprise_id", name=op.f("uq_grant_lines_batch_id_enterprise_id")
        ),
    )
    op.create_index(op.f("ix_grant_lines_batch_id"), "grant_lines", ["batch_id"])
    op.create_index(op.f("ix_grant_lines_enterprise_id"), "grant_lines", ["enterprise_id"])
    op.create_table(
        "grant_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        _timestamp("at"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("amount_before", sa.Float(), nullable=True),
        sa.Column("amount_after", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["grant_batches.id"],
            name=op.f("fk_grant_events_batch_id_grant_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["grant_lines.id"],
            name=op.f("fk_grant_events_line_id_grant_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_events")),
    )
    op.create_index(op.f("ix_grant_events_batch_id"), "grant_events", ["batch_id"])
    op.create_index(op.f("ix_grant_events_line_id"), "grant_events", ["line_id"])


def downgrade() -> None:
    op.drop_table("grant_events")
    op.drop_table("grant_lines")
    op.drop_table("grant_batches")
    op.drop_table("policy_versions")
