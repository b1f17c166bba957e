"""Shared capacity (统一调配产能): published idle loom capacity, requests for fabric, matches
between them with each step recorded.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enterprise_fk(table: str, column: str = "enterprise_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["enterprises.id"],
        name=op.f(f"fk_{table}_{column}_enterprises"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "capacity_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("hold_back", sa.Float(), nullable=False),
        sa.Column("cells", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        _timestamp("published_at"),
        _timestamp("refreshed_at"),
        _timestamp("withdrawn_at", nullable=True),
        _enterprise_fk("capacity_publications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_publications")),
        sa.UniqueConstraint("enterprise_id", name=op.f("uq_capacity_publications_enterprise_id")),
    )
    op.create_table(
        "capacity_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("fabric", sa.String(length=200), nullable=False),
        sa.Column("loom_type", sa.String(length=16), nullable=True),
        sa.Column("min_width_cm", sa.Float(), nullable=False),
        sa.Column("picks_per_cm", sa.Float(), nullable=False),
        sa.Column("metres", sa.Float(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        _timestamp("closed_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'closed')", name=op.f("ck_capacity_requests_status")
        ),
        _enterprise_fk("capacity_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_requests")),
    )
    op.create_index(
        op.f("ix_capacity_requests_enterprise_id"), "capacity_requests", ["enterprise_id"]
    )
    op.create_table(
        "capacity_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("offerer_id", sa.Integer(), nullable=False),
        sa.Column("ranking", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _timestamp("proposed_at"),
        _timestamp("decided_at", nullable=True),
        sa.Column("delivered_m", sa.Float(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        _timestamp("outcome_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed', 'accepted', 'declined', 'completed')",
            name=op.f("ck_capacity_matches_status"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["capacity_requests.id"],
            name=op.f("fk_capacity_matches_request_id_capacity_requests"),
            ondelete="CASCADE",
        ),
        _enterprise_fk("capacity_matches", "requester_id"),
        _enterprise_fk("capacity_matches", "offerer_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_matches")),
    )
    for column in ("request_id", "requester_id", "offerer_id"):
        op.create_index(op.f(f"ix_capacity_matches_{column}"), "capacity_matches", [column])
    op.create_table(
        "capacity_match_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("delivered_m", sa.Float(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["capacity_matches.id"],
            name=op.f("fk_capacity_match_events_match_id_capacity_matches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_match_events")),
    )
    op.create_index(
        op.f("ix_capacity_match_events_match_id"), "capacity_match_events", ["match_id"]
    )


def downgrade() -> None:
    op.drop_table("capacity_match_events")
    op.drop_table("capacity_matches")
    op.drop_table("capacity_requests")
    op.drop_table("capacity_publications")
