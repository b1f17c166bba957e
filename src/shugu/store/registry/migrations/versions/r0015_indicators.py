"""Indicators (指标) with their values by period and yearly targets.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _indicator_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["indicator_id"],
        ["indicators.id"],
        name=op.f(f"fk_{table}_indicator_id_indicators"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("unit_zh", sa.String(length=32), nullable=False),
        sa.Column("unit_en", sa.String(length=32), nullable=False),
        sa.Column("definition_zh", sa.Text(), nullable=False),
        sa.Column("definition_en", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("computation", sa.String(length=64), nullable=True),
        sa.Column("aggregate", sa.String(length=8), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        _timestamp("updated_at"),
        sa.CheckConstraint("source IN ('computed', 'reported')", name=op.f("ck_indicators_source")),
        sa.CheckConstraint(
            "direction IN ('higher', 'lower')", name=op.f("ck_indicators_direction")
        ),
        sa.CheckConstraint(
            "aggregate IN ('sum', 'last', 'mean')", name=op.f("ck_indicators_aggregate")
        ),
        sa.CheckConstraint(
            "(source = 'computed' AND computation IS NOT NULL) OR "
            "(source = 'reported' AND computation IS NULL)",
            name=op.f("ck_indicators_computation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint("code", name=op.f("uq_indicators_code")),
    )
    op.create_table(
        "indicator_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parts", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        _timestamp("entered_at"),
        sa.CheckConstraint(
            "kind IN ('reported', 'snapshot')", name=op.f("ck_indicator_values_kind")
        ),
        _indicator_fk("indicator_values"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_values")),
        sa.UniqueConstraint(
            "indicator_id", "period", name=op.f("uq_indicator_values_indicator_id_period")
        ),
    )
    op.create_index(op.f("ix_indicator_values_indicator_id"), "indicator_values", ["indicator_id"])
    op.create_table(
        "indicator_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        _timestamp("set_at"),
        _indicator_fk("indicator_targets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_targets")),
        sa.UniqueConstraint(
            "indicator_id", "year", name=op.f("uq_indicator_targets_indicator_id_year")
        ),
    )
    op.create_index(
        op.f("ix_indicator_targets_indicator_id"), "indicator_targets", ["indicator_id"]
    )


def downgrade() -> None:
    op.drop_table("indicator_targets")
    op.drop_table("indicator_values")
    op.drop_table("indicators")
