"""The project library (项目库) and enterprise appeals (企业诉求).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = "('filing', 'permits', 'construction', 'production', 'policy')"
TYPES = (
    "('industrial', 'technical_upgrade', 'digital_economy', 'sme_digital_transformation', "
    "'infrastructure', 'other')"
)
CATEGORIES = "('labour', 'electricity', 'transport', 'finance', 'land', 'permits', 'other')"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str | None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _projects() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_uscc", sa.String(length=18), nullable=True),
        sa.Column("park_id", sa.Integer(), nullable=False),
        sa.Column("industry_code", sa.String(length=4), nullable=True),
        sa.Column("project_type", sa.String(length=32), nullable=False),
        sa.Column("total_investment_yuan", sa.BigInteger(), nullable=False),
        sa.Column("official", sa.String(length=100), nullable=False),
        *(
            sa.Column(f"{stage}_planned", sa.Date(), nullable=True)
            for stage in ("filing", "permits", "construction", "production", "policy")
        ),
        sa.Column("go_live_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(f"project_type IN {TYPES}", name=op.f("ck_projects_project_type")),
        sa.CheckConstraint("total_investment_yuan >= 0", name=op.f("ck_projects_total_investment")),
        _fk("projects", "enterprise_id", "enterprises", "SET NULL"),
        _fk("projects", "park_id", "parks", None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_projects_code")),
    )
    op.create_index(op.f("ix_projects_enterprise_id"), "projects", ["enterprise_id"])
    op.create_index(op.f("ix_projects_park_id"), "projects", ["park_id"])


def _appeals() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        _timestamp("filed_at"),
        _timestamp("first_answer_at", nullable=True),
        _timestamp("closed_at", nullable=True),
        sa.Column("closed_by_side", sa.String(length=16), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.CheckConstraint(f"category IN {CATEGORIES}", name=op.f("ck_appeals_category")),
        sa.CheckConstraint(
            "status IN ('open', 'assigned', 'answered', 'closed')", name=op.f("ck_appeals_status")
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name=op.f("ck_appeals_rating")
        ),
        _fk("appeals", "enterprise_id", "enterprises", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_enterprise_id"), "appeals", ["enterprise_id"])
    op.create_table(
        "appeal_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('filed', 'assigned', 'answered', 'confirmed', 'closed')",
            name=op.f("ck_appeal_events_kind"),
        ),
        _fk("appeal_events", "appeal_id", "appeals", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_events")),
    )
    op.create_index(op.f("ix_appeal_events_appeal_id"), "appeal_events", ["appeal_id"])


def _progress() -> None:
    op.create_table(
        "project_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("investment_month_yuan", sa.BigInteger(), nullable=False),
        sa.Column("investment_to_date_yuan", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("stage_reached_on", sa.Date(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        _timestamp("filed_at"),
        sa.CheckConstraint(f"stage IN {STAGES}", name=op.f("ck_project_progress_stage")),
        sa.CheckConstraint(
            "investment_month_yuan >= 0", name=op.f("ck_project_progress_investment_month")
        ),
        sa.CheckConstraint(
            "investment_to_date_yuan >= 0", name=op.f("ck_project_progress_investment_to_date")
        ),
        _fk("project_progress", "project_id", "projects", "CASCADE"),
        _fk("project_progress", "appeal_id", "appeals", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_progress")),
        sa.UniqueConstraint(
            "project_id", "month", name=op.f("uq_project_progress_project_id_month")
        ),
    )
    op.create_index(op.f("ix_project_progress_project_id"), "project_progress", ["project_id"])


def upgrade() -> None:
    _projects()
    _appeals()
    _progress()


def downgrade() -> None:
    op.drop_table("project_progress")
    op.drop_table("appeal_events")
    op.drop_table("appeals")
    op.drop_table("projects")
